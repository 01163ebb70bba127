// corral events: what happened in the cluster, one event a line, from Pacemaker's own records and
// corral's (lib/cluster/events.ts reads them): this node's series of scheduler inputs
// (/var/lib/pacemaker/pengine, kept by the node that was DC), the live CIB, the fencer's history
// and vm's audit log. --follow polls the same sources and prints what is new.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { filterEvents, readEvents, type AuditRecord, type CibRecord, type ClusterEvent, type FenceRecord } from '../cluster/events.js';
import { queryCib } from '../host/pacemaker/cib.js';
import { fenceHistory } from '../host/pacemaker/fencing.js';
import { listPeInputs, PE_DIR, readPeInputs, type PeInputFile } from '../host/pacemaker/pe-inputs.js';
import { parseAuditLine } from './audit.js';

export interface EventsQuery {
  /** Events at or after this time (ms since the epoch). */
  sinceMs: number;
  vm?: string;
  node?: string;
  /** vm's audit log (corral.conf audit_log). */
  auditLog: string;
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

/** Scheduler inputs already read (a file's content never changes under its name and time). */
type PeCache = Map<string, { mtimeMs: number; text: string | Error }>;

interface Collected {
  cibs: CibRecord[];
  fencing: FenceRecord[];
  audit: AuditRecord[];
  sources: SourceReport[];
}

function isoOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

async function readAudit(file: string, sinceMs: number): Promise<{ records: AuditRecord[]; problem?: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // No file: no vm action was logged on this node.
    return code === 'ENOENT' ? { records: [] } : { records: [], problem: `${file}: ${(e as Error).message}` };
  }
  const records: AuditRecord[] = [];
  for (const line of text.split('\n')) {
    const e = parseAuditLine(line);
    if (e && Date.parse(e.at) >= sinceMs - 1000) records.push(e);
  }
  return { records };
}

async function collect(q: EventsQuery, fromMs: number, cache: PeCache): Promise<Collected> {
  const now = q.now ?? Date.now;
  const sources: SourceReport[] = [];
  const cibs: CibRecord[] = [];
  // The scheduler inputs from FROM on (and the one before, the state the window starts from).
  let files: PeInputFile[] = [];
  let peProblem: string | undefined;
  try {
    files = await listPeInputs(fromMs, q.peDir ?? PE_DIR);
  } catch (e) {
    peProblem = `${q.peDir ?? PE_DIR}: ${(e as Error).message}`;
  }
  const listed = new Set(files.map((f) => f.file));
  for (const f of [...cache.keys()]) if (!listed.has(f)) cache.delete(f);
  const fresh = files.filter((f) => cache.get(f.file)?.mtimeMs !== f.mtimeMs);
  const texts = await readPeInputs(fresh);
  fresh.forEach((f, i) => cache.set(f.file, { mtimeMs: f.mtimeMs, text: texts[i] as string | Error }));
  const unread: string[] = [];
  for (const f of files) {
    const t = cache.get(f.file)?.text;
    if (t === undefined || t instanceof Error) {
      unread.push(t instanceof Error ? t.message : f.file);
      continue;
    }
    cibs.push({ xml: t, atMs: f.mtimeMs, source: `${f.series}-${f.n}` });
  }
  const peWithin = files.filter((f) => f.mtimeMs >= fromMs);
  sources.push({
    source: `scheduler inputs (${q.peDir ?? PE_DIR})`,
    records: cibs.length,
    ...(files[0] ? { oldest: isoOf(files[0].mtimeMs) } : {}),
    ...(peProblem || unread.length ? { problem: peProblem ?? `not read: ${unread.join('; ')}` } : peWithin.length === 0 ? { problem: 'none written in this window on this node (only the DC writes them)' } : {}),
  });
  // The live CIB: the newest operation records, node state and corral's records.
  try {
    cibs.push({ xml: await queryCib({ fromFile: true }), atMs: now(), source: 'the live CIB' });
    sources.push({ source: 'the live CIB', records: 1 });
  } catch (e) {
    sources.push({ source: 'the live CIB', records: 0, problem: (e as Error).message });
  }
  let fencing: FenceRecord[] = [];
  try {
    fencing = await fenceHistory('*', { timeoutMs: 20_000 });
    sources.push({ source: 'fencing history (stonith_admin --history)', records: fencing.length });
  } catch (e) {
    sources.push({ source: 'fencing history (stonith_admin --history)', records: 0, problem: (e as Error).message });
  }
  const audit = await readAudit(q.auditLog, fromMs);
  sources.push({ source: `vm's audit log (${q.auditLog})`, records: audit.records.length, ...(audit.problem ? { problem: audit.problem } : {}) });
  return { cibs, fencing, audit: audit.records, sources };
}

/** The events since Q.sinceMs, oldest first, with what each source gave. */
export async function clusterEvents(q: EventsQuery): Promise<EventsReport> {
  const c = await collect(q, q.sinceMs, new Map());
  const r = readEvents({ cibs: c.cibs, fencing: c.fencing, audit: c.audit });
  return {
    since: isoOf(q.sinceMs),
    events: filterEvents(r.events, { sinceMs: q.sinceMs, ...(q.vm ? { vm: q.vm } : {}), ...(q.node ? { node: q.node } : {}) }),
    sources: c.sources,
    problems: [...r.problems, ...c.sources.filter((s) => s.problem && s.records === 0 && !s.source.startsWith('scheduler')).map((s) => `${s.source}: ${s.problem}`)],
  };
}

export interface FollowOptions {
  /** Time between two looks (ms). */
  intervalMs?: number;
  /** Stop after this long (ms; default: until the signal). */
  forMs?: number;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<unknown>;
}

/** How far back each look of --follow reads again (events older than this were printed already). */
const FOLLOW_WINDOW_MS = 10 * 60_000;
/** A change seen in the live CIB and then again in the scheduler input written for it is one event. */
const SAME_CHANGE_MS = 10_000;

/**
 * --follow: the events since Q.sinceMs first, then every INTERVAL the new ones, each handed to EMIT
 * once, until the signal (or FOR). Each look reads the scheduler inputs of the last ten minutes
 * (each file once), the live CIB, the fencing history and the audit log.
 */
export async function followEvents(q: EventsQuery, emit: (e: ClusterEvent) => void, o: FollowOptions = {}): Promise<void> {
  const now = q.now ?? Date.now;
  const wait = o.sleep ?? ((ms: number, signal?: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => undefined));
  const interval = o.intervalMs ?? 1000;
  const end = o.forMs === undefined ? Number.POSITIVE_INFINITY : now() + o.forMs;
  const cache: PeCache = new Map();
  const printed: { key: string; atMs: number }[] = [];
  const filter = { ...(q.vm ? { vm: q.vm } : {}), ...(q.node ? { node: q.node } : {}) };
  let first = true;
  while (!o.signal?.aborted) {
    const from = first ? q.sinceMs : Math.max(q.sinceMs, now() - FOLLOW_WINDOW_MS);
    const c = await collect(q, from, cache);
    const r = readEvents({ cibs: c.cibs, fencing: c.fencing, audit: c.audit });
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
    first = false;
    if (now() >= end) return;
    await wait(Math.min(interval, Math.max(0, end - now())), o.signal);
  }
}
