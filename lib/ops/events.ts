// corral events: what happened in the cluster, one event a line, from Pacemaker's own records and
// corral's (lib/cluster/events.ts reads them): every node's series of scheduler inputs
// (/var/lib/pacemaker/pengine: each node keeps those it wrote as DC; the other nodes' are read
// through the node command), the live CIB, the fencer's history and every node's vm audit log.
// --follow looks again every interval at what can have changed: the DC's new scheduler inputs, the
// live CIB, the fencing history, the audit logs.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { filterEvents, readEvents, type AuditRecord, type CibRecord, type ClusterEvent, type FenceRecord, type ReadingCache } from '../cluster/events.js';
import { takeSnapshot } from '../cluster/snapshot.js';
import { hostCibPort } from '../host/pacemaker/cib.js';
import { fenceHistory } from '../host/pacemaker/fencing.js';
import { listPeInputs, listPeInputsVia, PE_DIR, peWindow, readPeInputs, readPeInputsVia, type NodeRunner, type PeInputFile } from '../host/pacemaker/pe-inputs.js';
import { localNodeName } from '../host/pacemaker/status.js';
import { runOnNode } from '../host/remote.js';
import { CorralError } from '../errors.js';
import { ACTIONS } from './actions.js';
import { parseAuditLine } from './audit.js';
import { nodeCommandArgv } from './config.js';

export interface EventsQuery {
  /** Events at or after this time (ms since the epoch). */
  sinceMs: number;
  vm?: string;
  node?: string;
  /** vm's audit log (corral.conf audit_log), on every node. */
  auditLog: string;
  /** corral.conf's node_command: how the other nodes' records are read (none: this node's only). */
  nodeCommand?: readonly string[];
  /** Where the scheduler inputs are (default Pacemaker's). */
  peDir?: string;
  now?: () => number;
}

/** What each source gave: how many records, from when, and what could not be read. */
interface SourceReport {
  source: string;
  records: number;
  /** The oldest record read (ISO), if any. */
  oldest?: string;
  problem?: string;
}

export interface EventsReport {
  since: string;
  events: ClusterEvent[];
  sources: SourceReport[];
  problems: string[];
}

/** --vm or --node names nothing the cluster or its records know. */
class EventsInputError extends CorralError {
  readonly kind = 'refused';
  override name = 'EventsInputError';
}

const VM_ACTIONS: ReadonlySet<string> = new Set(Object.keys(ACTIONS));

/** Bound of one call to another node. */
const NODE_TIMEOUT_MS = 30_000;
/** How many lines of another node's audit log are read (the newest). */
const AUDIT_TAIL_LINES = 20_000;

/** One node's records: read here, or through the node command. */
interface Reader {
  node: string;
  /** Undefined for this node. */
  runOn?: NodeRunner;
}

/** Scheduler inputs already read, by node and file (a file's content never changes under its name and time). */
type PeCache = Map<string, { mtimeMs: number; text: string | Error }>;

interface Collected {
  cibs: CibRecord[];
  fencing: FenceRecord[];
  audit: AuditRecord[];
  sources: SourceReport[];
  /** The DC now, if the CIB says. */
  dc?: string;
  /** The VMs and nodes the live CIB has. */
  vms: string[];
  nodes: string[];
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function auditRecords(text: string, sinceMs: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const line of text.split('\n')) {
    const e = parseAuditLine(line);
    if (e && Date.parse(e.at) >= sinceMs - 1000) out.push(e);
  }
  return out;
}

async function readAudit(r: Reader, file: string, sinceMs: number): Promise<{ records: AuditRecord[]; problem?: string }> {
  if (r.runOn) {
    const res = await r.runOn(['tail', '-n', String(AUDIT_TAIL_LINES), file]);
    if (res.exitCode === 0) return { records: auditRecords(res.stdout, sinceMs) };
    // No file: no vm action was logged on that node.
    if (/No such file or directory/.test(res.stderr)) return { records: [] };
    return { records: [], problem: `tail ${file} exited ${res.exitCode}: ${res.stderr.trim().split('\n').pop() ?? ''}` };
  }
  try {
    return { records: auditRecords(await readFile(file, 'utf8'), sinceMs) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [] };
    return { records: [], problem: `${file}: ${(e as Error).message}` };
  }
}

/** Runs ARGV on NODE through the node command, bounded. */
function nodeRunner(template: readonly string[], node: string): NodeRunner {
  return (argv) => runOnNode(nodeCommandArgv(template, node, argv), NODE_TIMEOUT_MS);
}

/** The live CIB as one look needs it. */
interface LiveCib {
  xml: string;
  /** Its version (admin_epoch.epoch.num_updates): the key of its reading. */
  version: string;
  online: string[];
  dc?: string;
  vms: string[];
  nodes: string[];
}

async function readLiveCib(): Promise<LiveCib> {
  const snap = await takeSnapshot();
  const a = snap.root.attrs;
  const dc = snap.view.hosts.find((h) => h.dc)?.name;
  return {
    xml: snap.xml,
    version: `${a.admin_epoch ?? ''}.${a.epoch ?? ''}.${a.num_updates ?? ''}`,
    online: snap.view.hosts.filter((h) => h.online).map((h) => h.name),
    ...(dc ? { dc } : {}),
    vms: snap.view.vms.map((v) => v.name),
    nodes: snap.view.hosts.map((h) => h.name),
  };
}

/**
 * What --follow keeps from one look to the next: the live CIB, read again only when its version
 * changed (one cibadmin call for the root); when it last changed; the last listings of scheduler
 * inputs and the last fencing history, looked at again only while the CIB is changing (a new
 * scheduler input, a fencing, comes with a change of the CIB) and QUIET_AFTER_MS after.
 */
interface LiveCache {
  last?: LiveCib;
  changedAtMs?: number;
  listed?: Listed[];
  fencing?: FenceRecord[];
}

interface Listed {
  r: Reader;
  files: PeInputFile[];
  problem?: string;
}

const QUIET_AFTER_MS = 5000;

interface LookOptions {
  fromMs: number;
  cache: PeCache;
  live?: LiveCache;
  /** Whose scheduler inputs to read (default: every online node). */
  peNodes?: (all: Reader[], dc: string | undefined) => Reader[];
  /** Read the other nodes' audit logs too. */
  remoteAudit: boolean;
}

async function collect(q: EventsQuery, o: LookOptions): Promise<Collected> {
  const now = q.now ?? Date.now;
  const sources: SourceReport[] = [];
  const cibs: CibRecord[] = [];
  const dir = q.peDir ?? PE_DIR;

  // The live CIB first: the newest records, the nodes to ask, the DC.
  let online: string[] = [];
  let dc: string | undefined;
  let vms: string[] = [];
  let nodes: string[] = [];
  const cibFile = process.env.CIB_file !== undefined;
  try {
    let live: LiveCib | undefined;
    if (o.live?.last) {
      const v = await hostCibPort()
        .version()
        .then((x) => `${x.adminEpoch}.${x.epoch}.${x.numUpdates}`)
        .catch(() => undefined);
      if (v === o.live.last.version) live = o.live.last;
    }
    if (!live) {
      live = await readLiveCib();
      if (o.live) o.live.changedAtMs = now();
    }
    if (o.live) o.live.last = live;
    cibs.push({ xml: live.xml, atMs: now(), source: 'the live CIB', latest: true, key: `the live CIB ${live.version}` });
    ({ online, vms, nodes } = live);
    dc = live.dc;
    sources.push({ source: 'the live CIB', records: 1 });
  } catch (e) {
    sources.push({ source: 'the live CIB', records: 0, problem: (e as Error).message });
  }
  // With CIB_file (a CIB read from a file, not a cluster) only this node's records are read.
  const local = cibFile ? undefined : await localNodeName().catch(() => undefined);
  const readers: Reader[] = [{ node: local ?? 'this node' }];
  if (!cibFile && q.nodeCommand) for (const n of online) if (n !== local) readers.push({ node: n, runOn: nodeRunner(q.nodeCommand, n) });

  const quiet = o.live?.changedAtMs !== undefined && now() - o.live.changedAtMs > QUIET_AFTER_MS;

  // Scheduler inputs: every reader's list, one window over all of them, then the files in it.
  const peReaders = o.peNodes ? o.peNodes(readers, dc) : readers;
  const listed: Listed[] =
    quiet && o.live?.listed
      ? o.live.listed
      : await Promise.all(
          peReaders.map(async (r): Promise<Listed> => {
            try {
              return { r, files: r.runOn ? await listPeInputsVia(r.runOn, dir) : await listPeInputs(dir) };
            } catch (e) {
              return { r, files: [], problem: (e as Error).message };
            }
          }),
        );
  if (o.live) o.live.listed = listed;
  const all = listed.flatMap((l) => l.files.map((f) => ({ ...f, node: l.r.node })));
  const chosen = peWindow(all, o.fromMs) as (PeInputFile & { node: string })[];
  const keyOf = (f: PeInputFile & { node: string }) => `${f.node}\u0000${f.file}`;
  const keep = new Set(chosen.map(keyOf));
  for (const k of [...o.cache.keys()]) if (!keep.has(k)) o.cache.delete(k);
  await Promise.all(
    listed.map(async (l) => {
      const mine = chosen.filter((f) => f.node === l.r.node && o.cache.get(keyOf(f))?.mtimeMs !== f.mtimeMs);
      if (!mine.length) return;
      const texts = l.r.runOn ? await readPeInputsVia(l.r.runOn, mine) : await readPeInputs(mine);
      mine.forEach((f, i) => o.cache.set(keyOf(f), { mtimeMs: f.mtimeMs, text: texts[i] as string | Error }));
    }),
  );
  for (const l of listed) {
    const mine = chosen.filter((f) => f.node === l.r.node);
    const unread: string[] = [];
    let read = 0;
    for (const f of mine) {
      const t = o.cache.get(keyOf(f))?.text;
      if (typeof t !== 'string') {
        unread.push(t instanceof Error ? t.message : f.file);
        continue;
      }
      read++;
      cibs.push({ xml: t, atMs: f.mtimeMs, source: `${f.series}-${f.n} on ${l.r.node}`, key: `${keyOf(f)}\u0000${f.mtimeMs}` });
    }
    const problem = l.problem ?? (unread.length ? `not read: ${unread.join('; ')}` : undefined);
    sources.push({ source: `scheduler inputs of ${l.r.node} (${dir})`, records: read, ...(mine[0] ? { oldest: isoOf(mine[0].mtimeMs) } : {}), ...(problem ? { problem } : {}) });
  }
  if (!chosen.some((f) => f.mtimeMs >= o.fromMs)) {
    sources.push({ source: 'scheduler inputs', records: 0, problem: `none written since ${isoOf(o.fromMs)} on the nodes read (only the DC writes them${q.nodeCommand ? '' : '; the other nodes are read through node_command'})` });
  }

  let fencing: FenceRecord[] = [];
  if (quiet && o.live?.fencing) fencing = o.live.fencing;
  else if (!cibFile) {
    try {
      fencing = await fenceHistory('*', { timeoutMs: 20_000 });
      if (o.live) o.live.fencing = fencing;
      sources.push({ source: 'fencing history (stonith_admin --history)', records: fencing.length });
    } catch (e) {
      sources.push({ source: 'fencing history (stonith_admin --history)', records: 0, problem: (e as Error).message });
    }
  }
  const audited = await Promise.all((o.remoteAudit ? readers : readers.filter((r) => !r.runOn)).map(async (r) => ({ r, a: await readAudit(r, q.auditLog, o.fromMs) })));
  const audit: AuditRecord[] = [];
  for (const { r, a } of audited) {
    audit.push(...a.records);
    sources.push({ source: `vm's audit log of ${r.node} (${q.auditLog})`, records: a.records.length, ...(a.problem ? { problem: a.problem } : {}) });
  }
  audit.sort((a, b) => a.at.localeCompare(b.at));
  return { cibs, fencing, audit, sources, vms, nodes, ...(dc ? { dc } : {}) };
}

/**
 * Refuses --vm and --node names that neither the live CIB nor any event of the records knows (a VM
 * removed since still has its events). Only when the CIB could be read: without it nothing is known.
 */
function checkNames(q: EventsQuery, c: Collected, events: readonly ClusterEvent[]): void {
  if (!c.nodes.length) return;
  if (q.vm !== undefined && !c.vms.includes(q.vm) && !events.some((e) => e.vm === q.vm || e.vms?.includes(q.vm as string))) {
    throw new EventsInputError(`--vm ${q.vm}: no such VM in the cluster, and none in its records since ${isoOf(q.sinceMs)}`);
  }
  if (q.node !== undefined && !c.nodes.includes(q.node) && !events.some((e) => e.node?.split(',').includes(q.node as string) || e.from === q.node || e.to === q.node)) {
    throw new EventsInputError(`--node ${q.node}: no such node in the cluster (${c.nodes.join(', ')}), and none in its records since ${isoOf(q.sinceMs)}`);
  }
}

/** The events since Q.sinceMs, oldest first, with what each source gave. */
export async function clusterEvents(q: EventsQuery): Promise<EventsReport> {
  const c = await collect(q, { fromMs: q.sinceMs, cache: new Map(), remoteAudit: true });
  const r = readEvents({ cibs: c.cibs, fencing: c.fencing, audit: c.audit, vmActions: VM_ACTIONS });
  checkNames(q, c, r.events);
  return {
    since: isoOf(q.sinceMs),
    events: filterEvents(r.events, { sinceMs: q.sinceMs, ...(q.vm ? { vm: q.vm } : {}), ...(q.node ? { node: q.node } : {}) }),
    sources: c.sources,
    problems: r.problems,
  };
}

export interface FollowOptions {
  /** Time between two looks (ms). */
  intervalMs?: number;
  /** Stop after this long (ms; default: until the signal). */
  forMs?: number;
  signal?: AbortSignal;
  /** Called after each look (tests change the records between looks). */
  onLook?: () => void;
}

/** How far back each look of --follow reads again (events older than this were printed already). */
const FOLLOW_WINDOW_MS = 10 * 60_000;
/** A change seen in the live CIB and then again in the scheduler input written for it is one event. */
const SAME_CHANGE_MS = 10_000;
/** --follow reads the other nodes' audit logs every this many looks. */
const REMOTE_AUDIT_EVERY = 10;

/**
 * --follow: the events since Q.sinceMs first, then every interval the new ones, each handed to
 * EMIT once, until the signal (or FOR). The first look reads every node; the next ones the live
 * CIB (when its version changed), and while it is changing the DC's and this node's scheduler
 * inputs of the last ten minutes (each file read once) and the fencing history; this node's audit
 * log every look, the others' every tenth.
 */
export async function followEvents(q: EventsQuery, emit: (e: ClusterEvent) => void, o: FollowOptions = {}): Promise<void> {
  const now = q.now ?? Date.now;
  const interval = o.intervalMs ?? 1000;
  const end = o.forMs === undefined ? Number.POSITIVE_INFINITY : now() + o.forMs;
  const cache: PeCache = new Map();
  const readings: ReadingCache = new Map();
  const live: LiveCache = {};
  const printed: { key: string; atMs: number }[] = [];
  const filter = { ...(q.vm ? { vm: q.vm } : {}), ...(q.node ? { node: q.node } : {}) };
  for (let look = 0; !o.signal?.aborted; look++) {
    const fromMs = look === 0 ? q.sinceMs : Math.max(q.sinceMs, now() - FOLLOW_WINDOW_MS);
    const c = await collect(q, {
      fromMs,
      cache,
      live,
      remoteAudit: look % REMOTE_AUDIT_EVERY === 0,
      ...(look === 0 ? {} : { peNodes: (all: Reader[], dc: string | undefined) => all.filter((r) => !r.runOn || r.node === dc) }),
    });
    const r = readEvents({ cibs: c.cibs, fencing: c.fencing, audit: c.audit, vmActions: VM_ACTIONS, cache: readings });
    // A scheduler input once read is kept as its reading only (a big cluster's CIB is tens of MB).
    for (const [k, v] of cache) if (typeof v.text === 'string' && readings.has(`${k}\u0000${v.mtimeMs}`)) v.text = '';
    if (look === 0) {
      const cib = c.sources.find((x) => x.source === 'the live CIB');
      if (cib?.problem) throw new Error(`cannot read the cluster: ${cib.problem}`);
      checkNames(q, c, r.events);
    }
    for (const e of filterEvents(r.events, { sinceMs: q.sinceMs, ...filter })) {
      const key = `${e.kind} ${e.text}`;
      const at = Date.parse(e.at);
      if (printed.some((p) => p.key === key && Math.abs(p.atMs - at) <= (e.source === 'cib-changes' ? SAME_CHANGE_MS : 0))) continue;
      printed.push({ key, atMs: at });
      emit(e);
    }
    // Forget what is too old to come again.
    const keepAfter = now() - FOLLOW_WINDOW_MS - SAME_CHANGE_MS;
    for (let i = printed.length - 1; i >= 0; i--) if ((printed[i] as { atMs: number }).atMs < keepAfter) printed.splice(i, 1);
    o.onLook?.();
    if (now() >= end) return;
    await sleep(Math.min(interval, Math.max(0, end - now())), undefined, { signal: o.signal }).catch(() => undefined);
  }
}
