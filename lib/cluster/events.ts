// What happened in the cluster, read from Pacemaker's own records (pure: text in, events out).
//
// The sources, and what each is best for:
// - A series of CIB snapshots: the scheduler inputs the DC saved (pe-input-N.bz2, each the whole
//   CIB the scheduler ran on, dated by its execution-date) and the live CIB last. Their status
//   sections hold each node's resource operation history (lrm_rsc_op: operation, call-id, rc-code,
//   op-status, last-rc-change, exec-time, exit-reason, transition-key) — the CIB keeps only the
//   last operation of each kind per resource and node, so the series is what keeps the ones in
//   between. Operations are merged across snapshots by node, resource, operation and call-id.
//   Starts, stops, migrations, moves that restarted the VM, and failures come from there.
// - The same series compared snapshot by snapshot: node membership (joined, left, lost), standby,
//   corral's drain marks (corral-drain-state), the rolling reboot's progress, move constraints
//   (crm_resource --move, vm migrate, corral's steering hints), dated by the later snapshot.
// - The balancer's record of its moves (corral-balancer-moves: VM, from, to, when).
// - The fencer's history (stonith_admin --history): fencing, and VMs recovered after it.
// - vm's audit log: each vm action with its caller.
import { Cib, CibError, corralVms, kid, kids, nvpairs, type XNode } from '../cib/model.js';
import { DRAIN_REASON_ATTR, DRAIN_STATE_ATTR } from '../cib/nodes.js';
import type { FenceEvent } from '../host/pacemaker/fencing.js';
import { readXml } from '../xml/read.js';
import { OP_FIELDS as SNAPSHOT_OP_FIELDS } from './snapshot.js';
import { statusFromCib, type NodeStatus } from './status.js';
import { configNodes } from './view.js';

type EventKind =
  | 'vm-started'
  | 'vm-stopped'
  | 'vm-migrated'
  | 'vm-moved'
  | 'vm-recovered'
  | 'vm-failed'
  | 'vm-move-requested'
  | 'vm-move-cleared'
  | 'vm-action'
  | 'corral-action'
  | 'node-joined'
  | 'node-left'
  | 'node-lost'
  | 'node-fenced'
  | 'node-fence-failed'
  | 'node-standby'
  | 'node-online'
  | 'node-draining'
  | 'node-drained'
  | 'node-drain-interrupted'
  | 'node-undrained'
  | 'rolling-reboot'
  | 'balancer-move';

/** Where an event was read. */
type EventSource = 'operation-history' | 'cib-changes' | 'fencing' | 'audit-log' | 'balancer-record';

export interface ClusterEvent {
  /** When it happened (UTC, ISO 8601). */
  at: string;
  kind: EventKind;
  vm?: string;
  /** The VMs of an action on several (vm's audit log: a drain, a pattern). */
  vms?: string[];
  node?: string;
  from?: string;
  to?: string;
  /** How long it took: a start until the VM was ready, a migration from its migrate_to to its migrate_from's end. */
  seconds?: number;
  /** A move: live (migrated) or not (stopped and started again). */
  live?: boolean;
  /** The operation that failed, e.g. "start" or "monitor every 10s". */
  operation?: string;
  rc?: number;
  /** Pacemaker's reason: the agent's exit reason, or the result's name. */
  reason?: string;
  /** Who did it (vm's audit log, the fencing request's origin). */
  user?: string;
  result?: string;
  detail?: string;
  source: EventSource;
  /** The line `corral events` prints after the time. */
  text: string;
}

/** One CIB as recorded: a scheduler input or the live CIB. */
export interface CibRecord {
  xml: string;
  /** When it was taken when the CIB does not say (execution-date): the file's time, or now for the live CIB. */
  atMs: number;
  /** pe-input-12 on n1, the live CIB … */
  source: string;
  /** The live CIB: newer than every scheduler input, whatever the clocks say (the DC's may run ahead of this node's). */
  latest?: boolean;
  /** What makes this record the same as one read before (a file and its time, the CIB's version): its reading is then taken from the cache. */
  key?: string;
}

/** One fencing action as the fencer recorded it (stonith_admin --history). */
export type FenceRecord = FenceEvent;

/** One line of vm's audit log. */
export interface AuditRecord {
  at: string;
  user: string;
  action: string;
  vm: string;
  node?: string;
  result: string;
  detail?: string;
}

export interface EventInput {
  /** Snapshots in any order; one that cannot be read is skipped and named in `problems`. */
  cibs: readonly CibRecord[];
  fencing?: readonly FenceRecord[];
  audit?: readonly AuditRecord[];
  /** vm's actions (lib/ops/actions.ts): an audit line whose action is not one of them is corral's own (a drain, a hook). */
  vmActions?: ReadonlySet<string>;
  /** Readings of keyed records, kept from one call to the next (--follow reads the same inputs every look); keys not given this time are dropped. */
  cache?: ReadingCache;
}

/** What one CIB record says, read once. */
interface Reading {
  look: Look;
  /** The CIB's execution-date (ms), if it has one. */
  executedMs?: number;
  ops: [string, Op][];
}

export type ReadingCache = Map<string, Reading>;

export interface EventResult {
  /** Every event found, oldest first. */
  events: ClusterEvent[];
  problems: string[];
}

/** The attributes of an operation record the events are read from: the snapshot's, and when it was run and queued. */
const OP_FIELDS = [...SNAPSHOT_OP_FIELDS, 'last-run', 'queue-time'];

interface Op {
  rid: string;
  vm: string;
  node: string;
  operation: string;
  interval: number;
  callId: number;
  rc: number;
  opStatus: number;
  /** When it ran (last-rc-change: when it was executed, for a recurring monitor when its result last changed; ms). */
  startMs: number;
  /** When it ended (startMs + exec-time). */
  endMs: number;
  /** exec-time, ms. */
  execMs: number;
  /** The transition it belonged to ("GRAPH:UUID"), if the record says. */
  graph?: string;
  expectedRc?: number;
  migrateSource?: string;
  migrateTarget?: string;
  reason?: string;
}

interface Look {
  atMs: number;
  source: string;
  nodes: Map<string, NodeStatus>;
  drain: Map<string, { state?: string; reason?: string }>;
  options: Record<string, string>;
  /** Move constraints: id → resource, node, score. */
  moves: Map<string, { rid: string; node: string; score: string }>;
  vmOf: Map<string, string>;
}

const PCMK_EXEC_PENDING = -1;
const PCMK_EXEC_DONE = 0;
const PCMK_EXEC_CANCELLED = 1;
const OCF_NOT_RUNNING = 7;

const RC_NAMES: Record<number, string> = {
  0: 'ok',
  1: 'error',
  2: 'invalid parameter',
  3: 'unimplemented feature',
  4: 'insufficient privileges',
  5: 'not installed',
  6: 'not configured',
  7: 'not running',
  8: 'promoted',
  9: 'promoted, failed',
};
const EXEC_STATUS: Record<number, string> = { 2: 'timed out', 3: 'not supported', 4: 'error', 5: 'not installed', 6: 'not connected', 7: 'invalid', 8: 'error (hard)', 9: 'error (fatal)' };

/** The rolling reboot's progress option (lib/ops/rolling.ts PROGRESS_OPTION). */
const ROLLING_OPTION = 'corral-rolling-reboot';
/** The balancer's record of its moves (lib/ops/balance.ts). */
const BALANCER_MOVES_OPTION = 'corral-balancer-moves';

/** Constraint id prefixes that mean "move this resource", and who makes them. */
const MOVE_PREFIXES: [string, string][] = [
  ['cli-prefer-', 'crm_resource --move or vm migrate'],
  ['cli-ban-', 'crm_resource --ban'],
  ['corral-steer-', 'corral rebalance or rolling-reboot'],
  ['corral-return-', 'corral node undrain --return'],
];

/** The time to the second, cut as Pacemaker's own records are (not rounded: a line logged at .6 must not come after one of the next second). */
function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function round1(s: number): number {
  return Math.round(s * 10) / 10;
}

function secondsText(s: number | undefined): string {
  return s === undefined ? '' : `${s < 10 ? round1(s) : Math.round(s)} s`;
}

/** crm_config's cluster options of a CIB root. */
function clusterOptions(root: XNode): Record<string, string> {
  return nvpairs(kid(kid(root, 'configuration'), 'crm_config'), 'cluster_property_set');
}

function readCib(rec: CibRecord, problems: string[]): Reading | undefined {
  let root: XNode;
  try {
    root = readXml(rec.xml, rec.source, { keep: { lrm_rsc_op: OP_FIELDS }, error: CibError });
  } catch (e) {
    problems.push(`${rec.source}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
  if (root.tag !== 'cib') {
    problems.push(`${rec.source}: not a CIB (<${root.tag}>)`);
    return undefined;
  }
  const cib = new Cib(root);
  const executed = Number(root.attrs['execution-date']);
  const executedMs = Number.isFinite(executed) && executed > 0 ? executed * 1000 : undefined;
  const vms = corralVms(cib);
  const vmOf = new Map(vms.map((v) => [v.resourceId, v.name]));
  const cfgNodes = configNodes(cib);
  const status = statusFromCib({ root, configNodes: cfgNodes, options: cib.options, resourceIds: new Set() });
  const drain = new Map(cfgNodes.map((n) => [n.uname, { state: n.attrs[DRAIN_STATE_ATTR], reason: n.attrs[DRAIN_REASON_ATTR] }]));
  const moves = new Map<string, { rid: string; node: string; score: string }>();
  for (const c of kids(kid(kid(root, 'configuration'), 'constraints'), 'rsc_location')) {
    const id = c.attrs.id ?? '';
    if (!MOVE_PREFIXES.some(([p]) => id.startsWith(p)) || !c.attrs.rsc) continue;
    // crm_resource --move writes node= or, with a lifetime, a rule on #uname.
    const rule = kids(c, 'rule')[0];
    const expr = kids(rule, 'expression').find((e) => e.attrs.attribute === '#uname' && e.attrs.operation === 'eq');
    const node = c.attrs.node ?? expr?.attrs.value;
    if (!node) continue;
    moves.set(id, { rid: c.attrs.rsc, node, score: c.attrs.score ?? rule?.attrs.score ?? '' });
  }
  const ops = new Map<string, Op>();
  collectOps(root, vmOf, ops);
  const look = { atMs: executedMs ?? rec.atMs, source: rec.source, nodes: new Map(status.nodes.map((n) => [n.name, n])), drain, options: clusterOptions(root), moves, vmOf };
  return { look, ...(executedMs !== undefined ? { executedMs } : {}), ops: [...ops] };
}

/** The VM a resource's history belongs to: a TransientDomain (by the status section's own record of its agent, so that a VM removed since still counts). */
function vmOfResource(r: XNode, vmOf: ReadonlyMap<string, string>): string | undefined {
  const rid = r.attrs.id ?? '';
  const known = vmOf.get(rid);
  if (known) return known;
  if (r.attrs.class === 'ocf' && r.attrs.provider === 'corral' && r.attrs.type === 'TransientDomain') return rid.startsWith('vm-') ? rid.slice(3) : rid;
  return undefined;
}

function num(v: string | undefined, dflt = Number.NaN): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  return Number.isFinite(n) ? n : dflt;
}

function collectOps(root: XNode, vmOf: ReadonlyMap<string, string>, ops: Map<string, Op>): void {
  for (const s of kids(kid(root, 'status'), 'node_state')) {
    const node = s.attrs.uname ?? '';
    for (const r of kids(kid(kid(s, 'lrm'), 'lrm_resources'), 'lrm_resource')) {
      const vm = vmOfResource(r, vmOf);
      if (!vm) continue;
      for (const o of kids(r, 'lrm_rsc_op')) {
        const a = o.attrs;
        const callId = num(a['call-id']);
        const rc = num(a['rc-code']);
        const opStatus = num(a['op-status']);
        const changed = num(a['last-rc-change']);
        if (!a.operation || !Number.isInteger(callId) || !Number.isInteger(rc) || !Number.isInteger(opStatus) || !Number.isFinite(changed)) continue;
        if (opStatus === PCMK_EXEC_PENDING || callId < 0) continue;
        const interval = num(a.interval, 0);
        const key = `${node}\u0000${r.attrs.id}\u0000${a.operation}\u0000${interval}\u0000${callId}\u0000${changed}`;
        if (ops.has(key)) continue;
        const tk = a['transition-key']?.split(':');
        ops.set(key, {
          rid: r.attrs.id ?? '',
          vm,
          node,
          operation: a.operation,
          interval,
          callId,
          rc,
          opStatus,
          startMs: changed * 1000,
          endMs: changed * 1000 + num(a['exec-time'], 0),
          execMs: num(a['exec-time'], 0),
          ...(tk && tk.length >= 4 ? { graph: `${tk[1]}:${tk[3]}`, expectedRc: num(tk[2]) } : {}),
          ...(a.migrate_source ? { migrateSource: a.migrate_source } : {}),
          ...(a.migrate_target ? { migrateTarget: a.migrate_target } : {}),
          ...(a['exit-reason'] ? { reason: a['exit-reason'] } : {}),
        });
      }
    }
  }
}

function failed(op: Op): boolean {
  if (op.opStatus === PCMK_EXEC_CANCELLED) return false;
  if (op.opStatus !== PCMK_EXEC_DONE) return true;
  // A probe finds out: running (0) or not (7) are both answers.
  if (op.operation === 'monitor' && op.interval === 0 && (op.rc === 0 || op.rc === OCF_NOT_RUNNING)) return false;
  return op.rc !== (Number.isInteger(op.expectedRc) ? op.expectedRc : 0);
}

/** The most a migration's migrate_to and migrate_from lie apart. */
const MIGRATION_PAIR_MS = 120_000;

/** The order of one move's steps that started in the same second. */
function rank(op: Op): number {
  const i = ['migrate_to', 'migrate_from', 'stop', 'start'].indexOf(op.operation);
  return i === -1 ? 4 : i;
}

function opName(op: Op): string {
  if (op.operation === 'monitor' && op.interval === 0) return 'probe';
  return op.interval ? `${op.operation} every ${op.interval / 1000}s` : op.operation;
}

/** Each VM's starts, stops, migrations, moves and failures from its merged operation records. */
function vmEvents(ops: Op[], fencing: readonly FenceRecord[]): ClusterEvent[] {
  const out: ClusterEvent[] = [];
  const byVm = new Map<string, Op[]>();
  for (const op of ops) {
    const l = byVm.get(op.vm) ?? [];
    l.push(op);
    byVm.set(op.vm, l);
  }
  const fenced = fencing.filter((f) => f.status === 'success' && f.completedMs !== undefined && (f.action === 'reboot' || f.action === 'off'));
  for (const [vm, list] of byVm) {
    // Within a second (Pacemaker's records have no finer time) a move's steps in their order; call
    // ids count per node, so they order only one node's operations.
    list.sort((a, b) => a.startMs - b.startMs || rank(a) - rank(b) || (a.node === b.node ? a.callId - b.callId : 0));
    const used = new Set<Op>();
    /** Where the VM was last seen started, and since when. */
    let where: { node: string; sinceMs: number } | undefined;
    for (const op of list) {
      if (used.has(op)) continue;
      if (failed(op)) {
        const why = op.opStatus !== PCMK_EXEC_DONE ? (EXEC_STATUS[op.opStatus] ?? `status ${op.opStatus}`) : `rc ${op.rc} (${RC_NAMES[op.rc] ?? 'unknown'})`;
        out.push({
          at: iso(op.endMs),
          kind: 'vm-failed',
          vm,
          node: op.node,
          operation: opName(op),
          rc: op.rc,
          reason: op.reason ?? why,
          source: 'operation-history',
          text: `vm ${vm} failed: ${opName(op)} on ${op.node}: ${why}${op.reason ? `: ${op.reason}` : ''}`,
        });
        continue;
      }
      if (op.rc !== 0 || op.interval !== 0) continue;
      if (op.operation === 'migrate_from' || op.operation === 'migrate_to') {
        const from = op.migrateSource ?? (op.operation === 'migrate_to' ? op.node : undefined);
        const to = op.migrateTarget ?? (op.operation === 'migrate_from' ? op.node : undefined);
        // One migration: migrate_to on the source, then migrate_from on the target, then stop on
        // the source (Pacemaker keeps the two migrate records beside the last one, so all three
        // are usually on record). The migrate_from may come in a later transition than the
        // migrate_to when the first was aborted.
        // The other half: the nearest unused one of the same source and target (the nodes' clocks
        // may differ, so it is looked for on both sides in time).
        const other = op.operation === 'migrate_to' ? 'migrate_from' : 'migrate_to';
        const partner = list
          .filter((o) => !used.has(o) && o !== op && o.operation === other && o.rc === 0 && o.interval === 0 && o.migrateSource === from && o.migrateTarget === to && Math.abs(o.startMs - op.startMs) <= MIGRATION_PAIR_MS)
          .sort((a, b) => Math.abs(a.startMs - op.startMs) - Math.abs(b.startMs - op.startMs))[0];
        if (partner) used.add(partner);
        const mFrom = op.operation === 'migrate_from' ? op : partner;
        const mTo = op.operation === 'migrate_to' ? op : partner;
        // The source's stop that ends it (a migrate_to alone, whose target's record is gone, ends there).
        const last = mFrom ?? op;
        const stop = list.find((o) => !used.has(o) && o.operation === 'stop' && o.rc === 0 && o.node === from && o.startMs >= last.startMs - 1000 && ((last.graph !== undefined && o.graph === last.graph) || o.startMs - last.endMs <= 60_000));
        if (stop) used.add(stop);
        const end = last.endMs;
        const seconds = mTo && mFrom ? (end - mTo.startMs) / 1000 : undefined;
        out.push({
          at: iso(end),
          kind: 'vm-migrated',
          vm,
          ...(from ? { from } : {}),
          ...(to ? { to } : {}),
          ...(seconds !== undefined ? { seconds: round1(seconds) } : {}),
          live: true,
          source: 'operation-history',
          text: `vm ${vm} migrated ${from ?? '?'} -> ${to ?? '?'}, live${seconds !== undefined ? ` in ${secondsText(seconds)}` : ''}`,
        });
        if (to) where = { node: to, sinceMs: end };
        continue;
      }
      if (op.operation === 'stop') {
        // A stop followed by a start elsewhere in the same transition (or within 30 s): a move that restarted the VM.
        const start = list.find((o) => !used.has(o) && o.operation === 'start' && o.rc === 0 && o.node !== op.node && o.startMs >= op.startMs && ((op.graph !== undefined && o.graph === op.graph) || o.startMs - op.endMs <= 30_000));
        if (start) {
          used.add(start);
          const seconds = (start.endMs - op.startMs) / 1000;
          out.push({
            at: iso(start.endMs),
            kind: 'vm-moved',
            vm,
            from: op.node,
            to: start.node,
            seconds: round1(seconds),
            live: false,
            source: 'operation-history',
            text: `vm ${vm} moved ${op.node} -> ${start.node}, restarted (not live) in ${secondsText(seconds)}`,
          });
          where = { node: start.node, sinceMs: start.endMs };
          continue;
        }
        out.push({ at: iso(op.endMs), kind: 'vm-stopped', vm, node: op.node, seconds: round1(op.execMs / 1000), source: 'operation-history', text: `vm ${vm} stopped on ${op.node} (in ${secondsText(op.execMs / 1000)})` });
        if (where?.node === op.node) where = undefined;
        continue;
      }
      if (op.operation === 'start') {
        const seconds = op.execMs / 1000;
        const prev = where;
        const fence = prev && prev.node !== op.node ? fenced.find((f) => f.target === prev.node && (f.completedMs as number) >= prev.sinceMs && (f.completedMs as number) <= op.endMs) : undefined;
        if (fence && prev) {
          out.push({
            at: iso(op.endMs),
            kind: 'vm-recovered',
            vm,
            node: op.node,
            from: prev.node,
            to: op.node,
            seconds: round1(seconds),
            live: false,
            source: 'operation-history',
            text: `vm ${vm} recovered on ${op.node} after ${prev.node} was fenced (ready in ${secondsText(seconds)})`,
          });
        } else {
          out.push({ at: iso(op.endMs), kind: 'vm-started', vm, node: op.node, seconds: round1(seconds), source: 'operation-history', text: `vm ${vm} started on ${op.node} (ready in ${secondsText(seconds)})` });
        }
        where = { node: op.node, sinceMs: op.endMs };
      }
    }
  }
  return out;
}

/** What changed from one snapshot to the next: membership, standby, drains, the rolling reboot, move constraints. */
function changeEvents(prev: Look, cur: Look): ClusterEvent[] {
  const out: ClusterEvent[] = [];
  const at = iso(cur.atMs);
  const ev = (e: Omit<ClusterEvent, 'at' | 'source'>) => out.push({ at, source: 'cib-changes', ...e });
  for (const [name, n] of cur.nodes) {
    const p = prev.nodes.get(name);
    if (!p) continue;
    if (!p.online && n.online) ev({ kind: 'node-joined', node: name, text: `node ${name} joined` });
    if (p.online && !n.online) {
      if (n.state === 'unclean') ev({ kind: 'node-lost', node: name, text: `node ${name} lost (left uncleanly: to be fenced)` });
      else ev({ kind: 'node-left', node: name, text: `node ${name} left` });
    }
    // A standby of lifetime reboot ends when the node leaves: that is the leave, not a change of standby.
    if (p.online === n.online) {
      if (!p.standby && n.standby) ev({ kind: 'node-standby', node: name, text: `node ${name} put in standby` });
      if (p.standby && !n.standby) ev({ kind: 'node-online', node: name, text: `node ${name} out of standby` });
    }
    const pd = prev.drain.get(name)?.state;
    const d = cur.drain.get(name);
    if (d && d.state !== pd) {
      const why = d.reason ? ` (${d.reason})` : '';
      if (d.state === 'draining') ev({ kind: 'node-draining', node: name, text: `corral node drain ${name} started${why}` });
      else if (d.state === 'drained') ev({ kind: 'node-drained', node: name, text: `node ${name} drained (corral node drain)${why}` });
      else if (d.state === 'interrupted') ev({ kind: 'node-drain-interrupted', node: name, text: `corral node drain ${name} interrupted` });
      else if (d.state === undefined) ev({ kind: 'node-undrained', node: name, text: `node ${name} undrained (corral node undrain)` });
    }
  }
  const pr = prev.options[ROLLING_OPTION];
  const r = cur.options[ROLLING_OPTION];
  if (pr !== r) {
    ev({ kind: 'rolling-reboot', ...(r ? { detail: r } : {}), text: r ? `corral rolling-reboot: ${r}` : 'corral rolling-reboot: finished' });
  }
  const vmName = (rid: string) => cur.vmOf.get(rid) ?? prev.vmOf.get(rid) ?? rid;
  for (const [id, m] of cur.moves) {
    if (prev.moves.has(id)) continue;
    const who = MOVE_PREFIXES.find(([p]) => id.startsWith(p))?.[1] ?? '';
    const ban = id.startsWith('cli-ban-');
    ev({ kind: 'vm-move-requested', vm: vmName(m.rid), node: m.node, detail: id, text: `vm ${vmName(m.rid)}: ${ban ? `banned from ${m.node}` : `move to ${m.node} requested`} (${who}: ${id})` });
  }
  for (const [id, m] of prev.moves) {
    if (cur.moves.has(id)) continue;
    ev({ kind: 'vm-move-cleared', vm: vmName(m.rid), node: m.node, detail: id, text: `vm ${vmName(m.rid)}: constraint ${id} removed` });
  }
  return out;
}

function balancerEvents(look: Look | undefined): ClusterEvent[] {
  const text = look?.options[BALANCER_MOVES_OPTION] ?? '';
  const out: ClusterEvent[] = [];
  for (const w of text.split(/\s+/)) {
    const m = /^([^:\s]+):([^:\s]+):([^:\s]+):(\d+)$/.exec(w);
    if (!m) continue;
    const n = Number(m[4]);
    const ms = n > 1e11 ? n : n * 1000;
    out.push({ at: iso(ms), kind: 'balancer-move', vm: m[1] as string, from: m[2] as string, to: m[3] as string, source: 'balancer-record', text: `corral balance moved vm ${m[1]} ${m[2]} -> ${m[3]}` });
  }
  return out;
}

function fenceEvents(fencing: readonly FenceRecord[]): ClusterEvent[] {
  return fencing
    .filter((f) => f.completedMs !== undefined && (f.status === 'success' || f.status === 'failed'))
    .map((f) => {
      const ok = f.status === 'success';
      const by = [f.executioner ? `by ${f.executioner}` : '', f.origin ? `asked by ${f.origin}${f.client ? ` (${f.client})` : ''}` : ''].filter(Boolean).join(', ');
      return {
        at: iso(f.completedMs as number),
        kind: ok ? ('node-fenced' as const) : ('node-fence-failed' as const),
        node: f.target,
        operation: f.action,
        result: f.status,
        ...(f.origin ? { user: f.origin } : {}),
        source: 'fencing' as const,
        text: `node ${f.target} ${ok ? 'fenced' : 'fencing failed'} (${f.action}${by ? `, ${by}` : ''})`,
      };
    });
}

function auditEvents(audit: readonly AuditRecord[], vmActions: ReadonlySet<string> | undefined): ClusterEvent[] {
  const out: ClusterEvent[] = [];
  audit.forEach((a, i) => {
    const ms = Date.parse(a.at);
    if (!Number.isFinite(ms)) return;
    // "started" is followed by the outcome: one line for both, at the outcome.
    if (a.result === 'started' && audit.slice(i + 1).some((b) => b.user === a.user && b.action === a.action && b.vm === a.vm && b.result !== 'started')) return;
    const vms = a.vm === '-' || a.vm === '' ? [] : a.vm.split(',');
    const vmAction = vmActions ? vmActions.has(a.action.split(' ')[0] as string) : !a.action.startsWith('node-') && !a.action.startsWith('hook ');
    const one = vms.length === 1 && vmAction ? vms[0] : undefined;
    const tail = `by ${a.user}${a.node ? ` on ${a.node}` : ''}: ${a.result}${a.detail ? ` (${a.detail})` : ''}`;
    out.push({
      at: iso(ms),
      kind: one ? 'vm-action' : 'corral-action',
      ...(one ? { vm: one } : {}),
      ...(vms.length > 1 || (vms.length && !one) ? { vms } : {}),
      ...(a.node ? { node: a.node } : {}),
      operation: a.action,
      user: a.user,
      result: a.result,
      ...(a.detail ? { detail: a.detail } : {}),
      source: 'audit-log',
      // vm's lines name the node the VM was on; corral's operations the nodes they work on.
      text: one ? `vm ${one} ${a.action} ${tail}` : `corral ${a.action}${a.node ? ` ${a.node.split(',').join(' ')}` : ''}${vms.length ? ` (${vms.join(', ')})` : ''} by ${a.user}: ${a.result}${a.detail ? ` (${a.detail})` : ''}`,
    });
  });
  return out;
}

const KIND_ORDER: EventKind[] = [
  'vm-action',
  'corral-action',
  'node-draining',
  'rolling-reboot',
  'vm-move-requested',
  'node-standby',
  'node-lost',
  'node-left',
  'node-fenced',
  'node-fence-failed',
  'vm-failed',
  'vm-stopped',
  'vm-migrated',
  'vm-moved',
  'vm-recovered',
  'vm-started',
  'balancer-move',
  'node-drained',
  'node-drain-interrupted',
  'vm-move-cleared',
  'node-joined',
  'node-online',
  'node-undrained',
];

/** Every event the records show, oldest first (within one second: causes before effects). */
export function readEvents(input: EventInput): EventResult {
  const problems: string[] = [];
  const ops = new Map<string, Op>();
  const used = new Set<string>();
  const read = input.cibs.map((c) => {
    let reading = c.key !== undefined ? input.cache?.get(c.key) : undefined;
    if (!reading) {
      reading = readCib(c, problems);
      if (reading && c.key !== undefined) input.cache?.set(c.key, reading);
    }
    if (c.key !== undefined) used.add(c.key);
    for (const [k, op] of reading?.ops ?? []) if (!ops.has(k)) ops.set(k, op);
    // A CIB without execution-date (the live one) is as of when it was read: this time's.
    return { c, look: reading ? { ...reading.look, atMs: reading.executedMs ?? c.atMs } : undefined };
  });
  if (input.cache) for (const k of [...input.cache.keys()]) if (!used.has(k)) input.cache.delete(k);
  const newest = Math.max(0, ...read.filter((r) => !r.c.latest && r.look).map((r) => (r.look as Look).atMs));
  for (const r of read) if (r.c.latest && r.look) r.look.atMs = Math.max(r.look.atMs, newest);
  const looks = read
    .map((r) => r.look)
    .filter((l): l is Look => l !== undefined)
    .sort((a, b) => a.atMs - b.atMs);
  const fencing = input.fencing ?? [];
  const events: ClusterEvent[] = [...vmEvents([...ops.values()], fencing)];
  for (let i = 1; i < looks.length; i++) events.push(...changeEvents(looks[i - 1] as Look, looks[i] as Look));
  events.push(...balancerEvents(looks[looks.length - 1]), ...fenceEvents(fencing), ...auditEvents(input.audit ?? [], input.vmActions));
  const seen = new Set<string>();
  const unique = events.filter((e) => {
    const k = `${e.at} ${e.kind} ${e.text}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  unique.sort((a, b) => a.at.localeCompare(b.at) || KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
  return { events: unique, problems };
}

export interface EventFilter {
  sinceMs?: number;
  vm?: string;
  node?: string;
}

/** The events at or after SINCE, about VM, touching NODE (as the node itself, or a move from or to it). */
export function filterEvents(events: readonly ClusterEvent[], f: EventFilter): ClusterEvent[] {
  return events.filter(
    (e) =>
      (f.sinceMs === undefined || Date.parse(e.at) >= Math.floor(f.sinceMs / 1000) * 1000) &&
      (f.vm === undefined || e.vm === f.vm || (e.vms?.includes(f.vm) ?? false)) &&
      (f.node === undefined || e.node === f.node || e.from === f.node || e.to === f.node || (e.node?.split(',').includes(f.node) ?? false)),
  );
}

/** One line per event: "TIME  TEXT". */
export function eventLine(e: ClusterEvent): string {
  return `${e.at}  ${e.text}`;
}
