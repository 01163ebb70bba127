// Where things run, read from the CIB's status section (node_state and the resource operation
// history), the way Pacemaker's scheduler reads it, for the cases that are plain: every operation
// done and as expected (or still pending). Anything else (a failed or timed-out operation, an
// unclean node, a resource active on two nodes, a half-done migration) is left to Pacemaker
// itself: the result says `needsPacemaker`, and lib/cluster/snapshot.ts then asks crm_mon about
// the very same CIB. So `corral list` costs one CIB query and, in the common case, no scheduler
// run; the tests check this reading against crm_mon's on recorded and generated CIBs.
// ClusterStatus is corral's one model of the cluster's state: lib/cluster/crm-mon.ts reads crm_mon
// into it too, and the lab's waits (lib/lab/cluster.ts) use that reading.
import { z } from 'zod';
import { kid, kids, nvpairs, type XNode } from '../cib/model.js';

export type NodeState = 'online' | 'standby' | 'maintenance' | 'offline' | 'unclean' | 'pending';

export interface NodeStatus {
  name: string;
  id: string;
  state: NodeState;
  online: boolean;
  standby: boolean;
  maintenance: boolean;
  dc: boolean;
}

export type ResourceRole = 'Started' | 'Stopped' | 'Starting' | 'Stopping' | 'Migrating' | 'Failed' | 'Unknown';

export interface ResourceStatus {
  id: string;
  /** class[:provider]:type, e.g. ocf:corral:TransientDomain (from the status section: only once the resource has an operation history). */
  agent?: string;
  role: ResourceRole;
  /** Nodes the resource is active on (or, while starting, being started on). */
  nodes: string[];
  /** While migrating: from and to. */
  migration?: { from: string; to: string };
  /** Something failed and was not recovered since (crm_mon's "FAILED"). */
  failed: boolean;
  /** Fail counts per node (transient attributes fail-count-RSC#OP_INTERVAL, summed). */
  failCounts: Record<string, number>;
  /** The newest failed operation still on record (until a cleanup), if any. */
  lastFailure?: OpFailure;
}

export interface OpFailure {
  node: string;
  operation: string;
  rc: number;
  /** The agent's ocf-exit-reason, if it gave one. */
  reason?: string;
  /** Seconds since the epoch. */
  at?: number;
}

export interface ClusterStatus {
  nodes: NodeStatus[];
  /** The cluster (the DC's partition) has quorum. */
  quorum: boolean;
  resources: Map<string, ResourceStatus>;
  /** Why the plain reading does not suffice (empty: it does). */
  needsPacemaker: string[];
  /** Where the status came from. */
  source: 'cib' | 'crm_mon';
}

/** An lrm_rsc_op as the scheduler reads it; zod checks the fields every decision rests on. */
const opSchema = z.object({
  id: z.string(),
  operation: z.string(),
  'call-id': z.coerce.number().int(),
  'rc-code': z.coerce.number().int(),
  'op-status': z.coerce.number().int(),
  interval: z.coerce.number().int().default(0),
  'transition-key': z.string().optional(),
  migrate_source: z.string().optional(),
  migrate_target: z.string().optional(),
  'last-rc-change': z.coerce.number().optional(),
  'exit-reason': z.string().optional(),
});
export type LrmOp = z.infer<typeof opSchema> & { node: string };

const PCMK_EXEC_DONE = 0;
const PCMK_EXEC_PENDING = -1;
const PCMK_EXEC_CANCELLED = 1;
const OCF_NOT_RUNNING = 7;

/** in_ccm/crmd hold "true"/"online" in Pacemaker 2.1 and a timestamp in later versions. */
function truthy(v: string | undefined, word: string): boolean {
  if (v === undefined) return false;
  return v === word || v === 'true' || /^[1-9]\d*$/.test(v);
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(true|on|yes|y|1)$/i.test(v);
}

/** The expected result encoded in a transition key "ACTION:GRAPH:EXPECTED_RC:UUID". */
function expectedRc(op: LrmOp): number | undefined {
  const parts = op['transition-key']?.split(':');
  if (!parts || parts.length < 4) return undefined;
  const n = Number(parts[2]);
  return Number.isInteger(n) ? n : undefined;
}

/** Whether OP is a failure the scheduler would react to. */
function opFailed(op: LrmOp): boolean {
  if (op['op-status'] === PCMK_EXEC_PENDING || op['op-status'] === PCMK_EXEC_CANCELLED) return false;
  if (op['op-status'] !== PCMK_EXEC_DONE) return true;
  const rc = op['rc-code'];
  // A probe (monitor with interval 0) just finds out: running (0) or not (7) are both answers.
  if (op.operation === 'monitor' && op.interval === 0 && (rc === 0 || rc === OCF_NOT_RUNNING)) return false;
  const expected = expectedRc(op) ?? (op.operation === 'monitor' ? 0 : 0);
  return rc !== expected;
}

export interface StatusInput {
  root: XNode;
  /** Node uname → id, from the configuration. */
  configNodes: { id: string; uname: string; attrs: Record<string, string> }[];
  /** Cluster options (maintenance-mode, stonith-enabled). */
  options: Record<string, string>;
  /** Resource ids to report (others are skipped). */
  resourceIds: ReadonlySet<string>;
}

/** Reads node and resource state from the CIB's status section. */
export function statusFromCib(input: StatusInput): ClusterStatus {
  const { root } = input;
  const needs: string[] = [];
  const status = kid(root, 'status');
  const dcId = root.attrs['dc-uuid'];
  const states = new Map(kids(status, 'node_state').map((s) => [s.attrs.uname ?? '', s]));
  const stonith = input.options['stonith-enabled'] === undefined || isTrue(input.options['stonith-enabled']);
  const clusterMaintenance = isTrue(input.options['maintenance-mode']);

  const nodes: NodeStatus[] = input.configNodes.map((n) => {
    const s = states.get(n.uname);
    const transient = s ? nvpairs(kid(s, 'transient_attributes'), 'instance_attributes') : {};
    const attr = (name: string) => transient[name] ?? n.attrs[name];
    const standby = isTrue(attr('standby'));
    const maintenance = clusterMaintenance || isTrue(attr('maintenance'));
    let state: NodeState;
    let online = false;
    if (!s) {
      state = 'offline';
    } else {
      const inCcm = truthy(s.attrs.in_ccm, 'true');
      const crmd = truthy(s.attrs.crmd, 'online');
      const member = s.attrs.join === 'member';
      if (inCcm && crmd && member) {
        online = true;
        state = maintenance ? 'maintenance' : standby ? 'standby' : 'online';
      } else if (inCcm && !(crmd && member) && s.attrs.expected === 'member') {
        state = 'pending';
      } else if (!inCcm && s.attrs.expected === 'member' && stonith) {
        // It left without saying goodbye: the cluster has to fence it before trusting that
        // nothing of it still runs.
        state = 'unclean';
        needs.push(`node ${n.uname} is unclean`);
      } else {
        state = 'offline';
      }
    }
    return { name: n.uname, id: n.id, state, online, standby, maintenance, dc: dcId !== undefined && dcId === n.id };
  });
  const online = new Set(nodes.filter((n) => n.online).map((n) => n.name));

  // Operation history per resource and node.
  const history = new Map<string, Map<string, LrmOp[]>>();
  const failCounts = new Map<string, Record<string, number>>();
  const agents = new Map<string, string>();
  for (const s of kids(status, 'node_state')) {
    const node = s.attrs.uname ?? '';
    for (const r of kids(kid(kid(s, 'lrm'), 'lrm_resources'), 'lrm_resource')) {
      const rid = r.attrs.id ?? '';
      if (!input.resourceIds.has(rid)) continue;
      if (r.attrs.class && r.attrs.type) agents.set(rid, [r.attrs.class, r.attrs.provider, r.attrs.type].filter((x) => x !== undefined).join(':'));
      const ops: LrmOp[] = [];
      for (const o of kids(r, 'lrm_rsc_op')) {
        const parsed = opSchema.safeParse(o.attrs);
        if (!parsed.success) {
          needs.push(`operation ${o.attrs.id ?? '?'} of ${rid} on ${node} is unreadable`);
          continue;
        }
        ops.push({ ...parsed.data, node });
      }
      let perNode = history.get(rid);
      if (!perNode) history.set(rid, (perNode = new Map()));
      perNode.set(node, ops);
    }
    for (const [name, value] of Object.entries(nvpairs(kid(s, 'transient_attributes'), 'instance_attributes'))) {
      const m = /^fail-count-(.+)#[^#]+$/.exec(name) ?? /^fail-count-(.+)$/.exec(name);
      if (!m || !input.resourceIds.has(m[1] as string)) continue;
      const n = value === 'INFINITY' ? Number.POSITIVE_INFINITY : Number(value);
      if (!Number.isFinite(n) && n !== Number.POSITIVE_INFINITY) continue;
      const fc = failCounts.get(m[1] as string) ?? {};
      fc[node] = (fc[node] ?? 0) + n;
      failCounts.set(m[1] as string, fc);
    }
  }

  const resources = new Map<string, ResourceStatus>();
  for (const rid of input.resourceIds) {
    const perNode = history.get(rid) ?? new Map<string, LrmOp[]>();
    const r = resourceState(rid, perNode, online, needs);
    const agent = agents.get(rid);
    if (agent !== undefined) r.agent = agent;
    r.failCounts = failCounts.get(rid) ?? {};
    const failure = newestFailure([...perNode.values()].flat());
    if (failure) r.lastFailure = failure;
    resources.set(rid, r);
  }
  return { nodes, quorum: isTrue(root.attrs['have-quorum']), resources, needsPacemaker: needs, source: 'cib' };
}

type NodeVerdict = {
  active: boolean;
  pending?: LrmOp;
  /** The newest completed operation is a migrate_to (the source of a migration not yet stopped). */
  migratedTo?: string;
};

/** What the history of one resource on one node says, or undefined when it is not plain. */
function nodeVerdict(rid: string, node: string, ops: LrmOp[], needs: string[]): NodeVerdict | undefined {
  const sorted = ops.filter((o) => o['op-status'] !== PCMK_EXEC_CANCELLED).sort((a, b) => order(a) - order(b));
  let active = false;
  let pending: LrmOp | undefined;
  const done = sorted.filter((o) => o['op-status'] !== PCMK_EXEC_PENDING);
  const newest = done[done.length - 1];
  for (const op of sorted) {
    if (op['op-status'] === PCMK_EXEC_PENDING) {
      pending = op;
      continue;
    }
    if (opFailed(op)) {
      // A failure that later operations on this node superseded (the recovery's stop or start)
      // is history; the newest one decides, and that is Pacemaker's to interpret.
      if (newest !== undefined && order(op) >= order(newest)) {
        needs.push(`${op.operation} of ${rid} on ${node} failed (rc ${op['rc-code']}, status ${op['op-status']})`);
        return undefined;
      }
      continue;
    }
    pending = undefined;
    switch (op.operation) {
      case 'start':
      case 'migrate_from':
      case 'promote':
      case 'demote':
        active = true;
        break;
      case 'stop':
        active = false;
        break;
      case 'monitor':
        active = op['rc-code'] !== OCF_NOT_RUNNING;
        break;
      case 'migrate_to':
        // Still here until the stop that ends the migration (see resourceState).
        active = true;
        break;
      case 'notify':
      case 'meta-data':
      case 'validate-all':
        break;
      default:
        needs.push(`${rid} has a ${op.operation} operation on ${node}`);
        return undefined;
    }
  }
  const last = done[done.length - 1];
  if (active && last?.operation === 'migrate_to') {
    if (!last.migrate_target) {
      needs.push(`${rid} has a migrate_to without a target on ${node}`);
      return undefined;
    }
    return { active, pending, migratedTo: last.migrate_target };
  }
  return { active, pending };
}

/** Pending operations (call-id -1) come last; otherwise the order is the call-id's. */
function order(op: LrmOp): number {
  return op['op-status'] === PCMK_EXEC_PENDING || op['call-id'] < 0 ? Number.MAX_SAFE_INTEGER : op['call-id'];
}

function resourceState(rid: string, perNode: Map<string, LrmOp[]>, online: ReadonlySet<string>, needs: string[]): ResourceStatus {
  const active: string[] = [];
  const pending: LrmOp[] = [];
  const sources: { node: string; to: string }[] = [];
  let plain = true;
  for (const [node, ops] of perNode) {
    const v = nodeVerdict(rid, node, ops, needs);
    if (!v) {
      plain = false;
      continue;
    }
    if (!online.has(node)) continue; // an offline (clean) node runs nothing
    if (v.active) active.push(node);
    if (v.pending) pending.push(v.pending);
    if (v.migratedTo) sources.push({ node, to: v.migratedTo });
  }
  const base = { id: rid, failed: false, failCounts: {} };
  if (!plain) return { ...base, role: 'Unknown', nodes: active };
  // A live migration between its steps: migrate_to done on the source, and on the target a
  // migrate_from pending, done, or not yet begun; the source's stop ends it.
  const src = sources[0];
  if (src) {
    const others = active.filter((n) => n !== src.node && n !== src.to);
    const targetPending = pending.filter((p) => p.node !== src.node && p.node !== src.to);
    if (sources.length > 1 || others.length || targetPending.length || !online.has(src.to)) {
      needs.push(`${rid} is in a migration Pacemaker has to sort out`);
      return { ...base, role: 'Unknown', nodes: active };
    }
    return { ...base, role: 'Migrating', nodes: [src.node], migration: { from: src.node, to: src.to } };
  }
  if (active.length > 1) {
    needs.push(`${rid} is active on ${active.join(' and ')}`);
    return { ...base, role: 'Unknown', nodes: active };
  }
  const p = pending[0];
  if (pending.length > 1) needs.push(`${rid} has pending operations on several nodes`);
  if (p) {
    if (p.operation === 'migrate_to' || p.operation === 'migrate_from') {
      const from = p.migrate_source ?? active[0] ?? p.node;
      const to = p.migrate_target ?? p.node;
      return { ...base, role: 'Migrating', nodes: active.length ? active : [from], migration: { from, to } };
    }
    if (p.operation === 'start') return { ...base, role: 'Starting', nodes: [p.node] };
    if (p.operation === 'stop') return { ...base, role: 'Stopping', nodes: active.length ? active : [p.node] };
  }
  return { ...base, role: active.length ? 'Started' : 'Stopped', nodes: active };
}

function newestFailure(ops: LrmOp[]): OpFailure | undefined {
  const failed = ops.filter(opFailed).sort((a, b) => (a['last-rc-change'] ?? 0) - (b['last-rc-change'] ?? 0) || order(a) - order(b));
  const f = failed[failed.length - 1];
  if (!f) return undefined;
  return {
    node: f.node,
    operation: f.interval ? `${f.operation} (every ${f.interval / 1000} s)` : f.operation,
    rc: f['rc-code'],
    ...(f['exit-reason'] ? { reason: f['exit-reason'] } : {}),
    ...(f['last-rc-change'] !== undefined ? { at: f['last-rc-change'] } : {}),
  };
}

/** The operation history of one resource, newest last, from every node (for `vm NAME log`). */
export function operationHistory(root: XNode, rid: string): LrmOp[] {
  const out: LrmOp[] = [];
  for (const s of kids(kid(root, 'status'), 'node_state')) {
    for (const r of kids(kid(kid(s, 'lrm'), 'lrm_resources'), 'lrm_resource')) {
      if (r.attrs.id !== rid) continue;
      for (const o of kids(r, 'lrm_rsc_op')) {
        const parsed = opSchema.safeParse(o.attrs);
        if (parsed.success) out.push({ ...parsed.data, node: s.attrs.uname ?? '' });
      }
    }
  }
  return out.sort((a, b) => (a['last-rc-change'] ?? 0) - (b['last-rc-change'] ?? 0) || order(a) - order(b));
}
