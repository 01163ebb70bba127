// The web view's data (`corral serve`'s /api/state): the same snapshot and background answers the
// metrics are rendered from (lib/ops/serve.ts keeps them), as one JSON document the page
// (lib/ops/web-page.ts) draws. Nothing here reads the cluster again or parses anything: the
// snapshot's view (lib/cluster/view.ts) is the one model of the cluster's status.
import type { ClusterEvent } from '../cluster/events.js';
import type { Snapshot } from '../cluster/snapshot.js';
import { listJson } from '../cluster/tables.js';
import { balancerResource, recordedMoves, type readDecisionRecord } from './balance.js';
import { nodeState, rebalanceScore, type CapacityState } from './metrics.js';
import { maintenanceUnderWay } from './operation.js';

/** A VM as `corral list --json` has it (lib/cluster/tables.ts listJson: the page and a script read the same fields), and its newest failure on record. */
type WebVm = ReturnType<typeof listJson>['vms'][number] & {
  lastFailure: { node?: string; operation?: string; rc?: number; at?: number; reason?: string } | null;
};

interface WebNode {
  name: string;
  /** corral_node_state's one state: online, standby, draining, drained, maintenance, pending, offline, unclean. */
  state: string;
  dc: boolean;
  cpus: number | null;
  memoryMiB: number | null;
  allocCpus: number;
  allocMemoryMiB: number;
  vms: string[];
  owedVms: string[];
  /** N+1 for this node: the running VMs that would stay stopped if it failed (null: not asked, or Pacemaker could not say). */
  ifFails: { stopped: string[]; errors?: string[] } | null;
}

export interface WebState {
  /** The CIB's version (admin_epoch.epoch.num_updates) the state was built from. */
  version: string;
  /** When it was built (ms since the epoch). */
  at: number;
  /** Why the cluster could not be read (then nodes and vms are empty). */
  error?: string;
  cluster: {
    quorum: boolean;
    dc: string | null;
    maintenanceMode: boolean;
    /** corral maintenance under way: nodes draining, a rolling reboot's progress. */
    maintenance: { draining: string[]; rolling: string | null };
    rebalanceScore: number | null;
  } | null;
  nodes: WebNode[];
  vms: WebVm[];
  /** N+1 as last computed in the background (null: not yet). */
  capacity: { nPlusOne: boolean | null; at: number; seconds: number; error?: string; notRunning: string[] } | null;
  balancer: {
    configured: boolean;
    enabled: boolean;
    runningOn: string | null;
    moves: { vm: string; from: string; to: string; at: number }[];
    /** The decisions of the balancer when it runs on this node (its record is local). */
    decisions: { since: number; counts: Record<string, number>; last: { at: number; kind: string; reason: string } } | null;
  };
  /** The newest events (corral events), newest last; null when the events are not read. */
  events: ClusterEvent[] | null;
}

export interface WebInput {
  snap: Snapshot | null;
  snapError?: string;
  version: string;
  capacity?: CapacityState;
  balancerDecisions?: Awaited<ReturnType<typeof readDecisionRecord>>;
  events?: ClusterEvent[] | null;
}

const TRUE = /^(true|on|yes|y|1)$/i;

/** The web view's JSON for INPUT. */
export function webState(input: WebInput): WebState {
  const { snap } = input;
  const cap = input.capacity;
  const ifFails = new Map((cap?.report?.nodes ?? []).map((n) => [n.name, n.ifFails]));
  const base: WebState = {
    version: input.version,
    at: Date.now(),
    ...(input.snapError !== undefined ? { error: input.snapError } : {}),
    cluster: null,
    nodes: [],
    vms: [],
    capacity: cap ? { nPlusOne: cap.report?.nPlusOne ?? null, at: cap.at, seconds: cap.seconds, ...(cap.error !== undefined ? { error: cap.error } : {}), notRunning: cap.report?.notRunning ?? [] } : null,
    balancer: { configured: false, enabled: false, runningOn: null, moves: [], decisions: input.balancerDecisions ?? null },
    events: input.events ?? null,
  };
  if (!snap) return base;
  const { view, cib } = snap;
  const m = maintenanceUnderWay(snap);
  base.cluster = {
    quorum: view.status.quorum,
    dc: view.hosts.find((h) => h.dc)?.name ?? null,
    maintenanceMode: TRUE.test(cib.options['maintenance-mode'] ?? ''),
    maintenance: { draining: m?.draining ?? [], rolling: m?.rolling ?? null },
    rebalanceScore: (() => {
      try {
        return rebalanceScore(snap);
      } catch {
        return null;
      }
    })(),
  };
  base.nodes = view.hosts.map((h) => {
    const f = ifFails.get(h.name);
    return {
      name: h.name,
      state: nodeState(h),
      dc: h.dc,
      cpus: h.cpus,
      memoryMiB: h.memoryMiB,
      allocCpus: h.allocCpus,
      allocMemoryMiB: h.allocMemoryMiB,
      vms: h.vms,
      owedVms: h.owedVms,
      ifFails: f ? { stopped: f.stopped, ...(f.errors ? { errors: f.errors } : {}) } : null,
    };
  });
  const lastFailure = new Map(view.vms.map((v) => [v.name, v.lastFailure ? { ...v.lastFailure } : null]));
  base.vms = listJson(view.vms, '').vms.map((v) => ({ ...v, lastFailure: lastFailure.get(v.name) ?? null }));
  const bal = balancerResource(snap);
  if (bal) {
    const st = view.status.resources.get(bal.id);
    base.balancer.configured = true;
    base.balancer.enabled = !/^stopped$/i.test(bal.meta['target-role'] ?? 'Started');
    base.balancer.runningOn = st && st.role === 'Started' ? (st.nodes[0] ?? null) : null;
    base.balancer.moves = recordedMoves(snap).slice(-10);
  }
  return base;
}
