// The rebalance planner: a cluster score (lower is better balanced) and a greedy search for the
// moves that lower it most, one VM move at a time, as Ganeti's hbal does. Pure: a cluster model in
// (built from the cluster view), a plan out. lib/ops/rebalance.ts checks every plan with
// crm_simulate on a copy of the CIB and runs it; a load balancer can use the same model, score and
// move checker (balanceModel, scoreOf, moveProblem, bestMove).
//
// The score (README, "corral rebalance", says it for operators) is a weighted sum, over the nodes
// Pacemaker may place VMs on (online, not in standby or maintenance, capacity set with nodecap):
//   1.0 × spread of free memory:  std-dev of (hv_memory − VMs' hv_memory) / hv_memory
//   1.0 × spread of vCPU use:     std-dev of (VMs' cpu) / node cpu
//   1.0 × spread of CPU load:     std-dev of measured CPU load per core, when loads are given;
//                                 without them, std-dev of the number of VMs (hbal: unit loads)
//   3.0 × spread of VM count:     std-dev of the number of VMs (hbal's memory, disk and network
//                                 load without load data: every instance counts 1 of each)
//  20   per VM on a node that takes none (standby, maintenance, down): hbal's 4 + 16 for an
//       instance on an offline node, so such VMs leave first
//   2   per VM that shares a node with a VM it must avoid (an anti-affinity of -INFINITY, or
//       --group-apart TAG:never), counted as hbal counts exclusion-tag conflicts (per group and
//       node: VMs there − 1), and per VM on a node its location rules forbid
//   0.5 per VM that shares a node with a VM it should rather avoid (a finite negative score)
// Standard deviations are over the population of usable nodes. With every weight and term the same
// as hbal's for what htools can see (free memory, vCPU ratio, unit loads, offline instances,
// exclusion tags), corral's score of a cluster is hbal's score of htoolsText(view) on clusters
// without other rules (docs/htools.md; test/integration/rebalance-htools.test.ts asserts it).
//
// A move is allowed (moveProblem) when the VM runs, is managed, moves for the first time in this
// plan, and the target is usable, has room for it (cpu and hv_memory utilization, as Pacemaker
// counts), is a node its location rules allow, and runs no VM it must avoid. Rules the model
// cannot read (location rules with expressions, colocation sets, orderings) are left to the judge:
// crm_simulate.
import type { ClusterView, HostView, VmView } from '../cluster/view.js';

/** Weights of the score's terms (see the top of this file). */
const WEIGHTS = {
  freeMemory: 1,
  vcpus: 1,
  cpuLoad: 1,
  vmCount: 3,
  offline: 20,
  hardConflict: 2,
  softConflict: 0.5,
} as const;

/**
 * Without --min-gain, corral stops as hbal does by default: when the best move lowers the score by
 * less than 0.01 once the score is below 0.1 (hbal's --min-gain and --min-gain-limit). Above 0.1
 * every gain counts: a badly balanced cluster is not left half done for want of big single steps.
 */
export const DEFAULT_MIN_GAIN = 0.01;
export const MIN_GAIN_LIMIT = 0.1;

interface BalanceNode {
  name: string;
  /** Pacemaker places VMs here: online, not in standby or maintenance, capacity set. */
  usable: boolean;
  /** Why not usable (standby, maintenance, offline, no capacity set). */
  why?: string;
  cpus: number;
  memoryMiB: number;
}

/** VMs that must not (hard) or should rather not share a node. */
interface ApartGroup {
  id: string;
  hard: boolean;
  /** Indexes into BalanceModel.vms. */
  members: number[];
}

interface BalanceVm {
  name: string;
  resource: string;
  /** The node it runs on (index into nodes), or -1. */
  node: number;
  vcpus: number;
  memoryMiB: number;
  /** Measured CPU load in cores (1.5 = one and a half cores busy), when known. */
  load: number | null;
  /** Why it may not move at all, or null. */
  fixed: string | null;
  /** Node indexes its location rules allow, or null: any node. */
  allowed: ReadonlySet<number> | null;
  /** Indexes of its apart groups. */
  groups: number[];
}

export interface BalanceModel {
  nodes: BalanceNode[];
  vms: BalanceVm[];
  groups: ApartGroup[];
  /** CPU load was measured (every VM has a load). */
  measuredLoad: boolean;
}

export interface ModelOptions {
  /** Measured CPU load per VM (name → cores busy); used only when every running VM has one. */
  load?: ReadonlyMap<string, number>;
}

const HARD = /^-INFINITY$/i;
const POS_INF = /^\+?INFINITY$/i;

function whyUnusable(h: HostView): string | undefined {
  if (!h.online) return h.state === 'online' ? 'offline' : h.state;
  if (h.standby) return 'standby';
  if (h.maintenance) return 'maintenance';
  if (h.cpus === null || h.memoryMiB === null || h.cpus <= 0 || h.memoryMiB <= 0) return 'no capacity set (nodecap)';
  return undefined;
}

function fixedReason(vm: VmView): string | null {
  if (vm.state !== 'running' || vm.node === null || vm.nodes.length !== 1) return `it is ${vm.state === 'running' ? 'active on several nodes' : vm.state}`;
  if (!vm.managed) return 'it is unmanaged';
  if (vm.targetRole !== null && /^stopped$/i.test(vm.targetRole)) return 'its target-role is Stopped';
  for (const c of vm.constraints) {
    if (c.kind === 'with' && (c.score === undefined || POS_INF.test(c.score))) return `it must run with ${c.other} (colocation)`;
  }
  return null;
}

/** Node names a VM's location rules allow (null: any), from the rules the view names. */
function allowedNodes(vm: VmView, names: readonly string[]): Set<string> | null {
  let allowed: Set<string> | null = null;
  const restrict = (nodes: readonly string[]) => {
    allowed = new Set([...(allowed ?? names)].filter((n) => nodes.includes(n)));
  };
  for (const c of vm.constraints) {
    const nodes = c.nodes ?? [];
    if (c.kind === 'only-on') restrict(nodes);
    else if (c.kind === 'pin') restrict(nodes);
    else if (c.kind === 'moved') restrict(nodes);
    else if (c.kind === 'banned' || (c.kind === 'avoid-node' && HARD.test(c.score ?? ''))) restrict(names.filter((n) => !nodes.includes(n)));
  }
  return allowed;
}

/** The model of VIEW for balancing. */
export function balanceModel(view: ClusterView, opts: ModelOptions = {}): BalanceModel {
  const nodes: BalanceNode[] = view.hosts.map((h) => {
    const why = whyUnusable(h);
    return { name: h.name, usable: why === undefined, ...(why ? { why } : {}), cpus: Math.max(0, h.cpus ?? 0), memoryMiB: Math.max(0, h.memoryMiB ?? 0) };
  });
  const nodeIdx = new Map(nodes.map((n, i) => [n.name, i]));
  const names = nodes.map((n) => n.name);
  const measured = opts.load !== undefined && view.vms.filter((v) => v.node !== null).every((v) => opts.load?.has(v.name));
  const vms: BalanceVm[] = view.vms.map((v) => {
    const allowed = allowedNodes(v, names);
    const node = v.node === null ? -1 : (nodeIdx.get(v.node) ?? -1);
    return {
      name: v.name,
      resource: v.resource,
      node,
      vcpus: Math.max(0, v.vcpus ?? 0),
      memoryMiB: Math.max(0, v.memoryMiB ?? 0),
      load: measured ? (opts.load?.get(v.name) ?? 0) : null,
      fixed: node < 0 ? (v.node === null ? `it is ${v.state}` : `it runs on ${v.node}, not a node of the cluster`) : fixedReason(v),
      allowed: allowed === null ? null : new Set([...(allowed as Set<string>)].map((n) => nodeIdx.get(n) as number)),
      groups: [],
    };
  });
  const vmIdx = new Map(vms.map((v, i) => [v.name, i]));
  const groups: ApartGroup[] = [];
  const seen = new Map<string, number>();
  const addGroup = (id: string, hard: boolean, members: number[]) => {
    if (members.length < 2 || seen.has(id)) return;
    seen.set(id, groups.length);
    for (const m of members) (vms[m] as BalanceVm).groups.push(groups.length);
    groups.push({ id, hard, members });
  };
  for (const v of view.vms) {
    for (const c of v.constraints) {
      const hard = HARD.test(c.score ?? '');
      if (c.kind === 'apart' && c.other !== undefined && vmIdx.has(c.other)) {
        addGroup(c.id, hard, [vmIdx.get(v.name) as number, vmIdx.get(c.other) as number]);
      } else if (c.kind === 'group' && c.tag !== undefined) {
        const tag = c.tag;
        addGroup(c.id, hard, view.vms.filter((o) => o.tags.includes(tag)).map((o) => vmIdx.get(o.name) as number));
      }
    }
  }
  return { nodes, vms, groups, measuredLoad: measured };
}

// ---------------------------------------------------------------------------------------------
// The state: where every VM is, with per-node sums kept up to date move by move.

export interface BalanceState {
  model: BalanceModel;
  /** Node index of every VM (-1: nowhere). */
  at: number[];
  mem: number[];
  cpu: number[];
  load: number[];
  count: number[];
  /** Per group, per node: members there. */
  groupCount: number[][];
}

export function stateOf(model: BalanceModel, at: readonly number[] = model.vms.map((v) => v.node)): BalanceState {
  const n = model.nodes.length;
  const s: BalanceState = {
    model,
    at: [...at],
    mem: new Array<number>(n).fill(0),
    cpu: new Array<number>(n).fill(0),
    load: new Array<number>(n).fill(0),
    count: new Array<number>(n).fill(0),
    groupCount: model.groups.map(() => new Array<number>(n).fill(0)),
  };
  model.vms.forEach((v, i) => {
    const node = s.at[i] as number;
    if (node >= 0) add(s, i, node, 1);
  });
  return s;
}

function add(s: BalanceState, vi: number, node: number, sign: 1 | -1): void {
  const v = s.model.vms[vi] as BalanceVm;
  s.mem[node] = (s.mem[node] as number) + sign * v.memoryMiB;
  s.cpu[node] = (s.cpu[node] as number) + sign * v.vcpus;
  s.load[node] = (s.load[node] as number) + sign * (v.load ?? 0);
  s.count[node] = (s.count[node] as number) + sign;
  for (const g of v.groups) (s.groupCount[g] as number[])[node] = ((s.groupCount[g] as number[])[node] as number) + sign;
}

/** Moves VM (index) to NODE (index) in S. */
export function applyMove(s: BalanceState, vi: number, node: number): void {
  const from = s.at[vi] as number;
  if (from >= 0) add(s, vi, from, -1);
  s.at[vi] = node;
  add(s, vi, node, 1);
}

// The per-node metrics whose spread is scored, and their weights.
function metrics(s: BalanceState, node: number): [number, number, number, number] {
  const n = s.model.nodes[node] as BalanceNode;
  const count = s.count[node] as number;
  return [
    (n.memoryMiB - (s.mem[node] as number)) / n.memoryMiB,
    (s.cpu[node] as number) / n.cpus,
    s.model.measuredLoad ? (s.load[node] as number) / n.cpus : count,
    count,
  ];
}

function metricWeights(): [number, number, number, number] {
  return [WEIGHTS.freeMemory, WEIGHTS.vcpus, WEIGHTS.cpuLoad, WEIGHTS.vmCount];
}

interface ScoreParts {
  freeMemory: number;
  vcpus: number;
  cpuLoad: number;
  vmCount: number;
  /** VMs on nodes that take none. */
  offline: number;
  /** VMs sharing a node with one they must avoid, or on a node their rules forbid. */
  hardConflicts: number;
  /** VMs sharing a node with one they should rather avoid. */
  softConflicts: number;
}

export interface Score {
  total: number;
  parts: ScoreParts;
}

function conflicts(s: BalanceState, hard: boolean): number {
  let c = 0;
  s.model.groups.forEach((g, gi) => {
    if (g.hard !== hard) return;
    for (const k of s.groupCount[gi] as number[]) if (k > 1) c += k - 1;
  });
  return c;
}

function misplaced(s: BalanceState): number {
  let c = 0;
  s.model.vms.forEach((v, i) => {
    const at = s.at[i] as number;
    if (at >= 0 && v.allowed !== null && !v.allowed.has(at)) c++;
  });
  return c;
}

/** The score of S (lower is better), with its parts. */
export function scoreOf(s: BalanceState): Score {
  const usable = s.model.nodes.map((n, i) => (n.usable ? i : -1)).filter((i) => i >= 0);
  const sd = [0, 0, 0, 0];
  if (usable.length > 0) {
    for (let k = 0; k < 4; k++) {
      const xs = usable.map((i) => metrics(s, i)[k] as number);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      sd[k] = Math.sqrt(xs.reduce((a, x) => a + (x - mean) * (x - mean), 0) / xs.length);
    }
  }
  const offline = s.model.nodes.reduce((a, n, i) => a + (n.usable ? 0 : (s.count[i] as number)), 0);
  const parts: ScoreParts = {
    freeMemory: sd[0] as number,
    vcpus: sd[1] as number,
    cpuLoad: sd[2] as number,
    vmCount: sd[3] as number,
    offline,
    hardConflicts: conflicts(s, true) + misplaced(s),
    softConflicts: conflicts(s, false),
  };
  const w = metricWeights();
  const total =
    w[0] * parts.freeMemory + w[1] * parts.vcpus + w[2] * parts.cpuLoad + w[3] * parts.vmCount + WEIGHTS.offline * offline + WEIGHTS.hardConflict * parts.hardConflicts + WEIGHTS.softConflict * parts.softConflicts;
  return { total, parts };
}

/**
 * Why VM (index) may not move to NODE (index) in S, or null when the model allows it. Capacity is
 * Pacemaker's: the VMs' cpu and hv_memory utilization summed on the node may not exceed the node's.
 */
export function moveProblem(s: BalanceState, vi: number, node: number): string | null {
  const v = s.model.vms[vi] as BalanceVm;
  const n = s.model.nodes[node] as BalanceNode;
  if (v.fixed) return v.fixed;
  if (s.at[vi] === node) return `it runs on ${n.name} already`;
  if (!n.usable) return `${n.name} takes no VMs (${n.why})`;
  if (v.allowed !== null && !v.allowed.has(node)) return `its location rules keep it off ${n.name}`;
  if ((s.cpu[node] as number) + v.vcpus > n.cpus) return `${n.name} has ${n.cpus - (s.cpu[node] as number)} vCPU free, it needs ${v.vcpus}`;
  if ((s.mem[node] as number) + v.memoryMiB > n.memoryMiB) return `${n.name} has ${n.memoryMiB - (s.mem[node] as number)} MiB free, it needs ${v.memoryMiB}`;
  for (const g of v.groups) {
    const group = s.model.groups[g] as ApartGroup;
    if (group.hard && ((s.groupCount[g] as number[])[node] as number) > 0) return `${n.name} runs a VM it must avoid (${group.id})`;
  }
  return null;
}

// Incremental scoring: sums and sums of squares of each metric over the usable nodes.
interface Sums {
  n: number;
  s1: number[];
  s2: number[];
  /** The score's terms that are not spreads (offline, conflicts), weighted. */
  counts: number;
}

function sumsOf(s: BalanceState): Sums {
  const sums: Sums = { n: 0, s1: [0, 0, 0, 0], s2: [0, 0, 0, 0], counts: 0 };
  s.model.nodes.forEach((node, i) => {
    if (!node.usable) return;
    sums.n++;
    const m = metrics(s, i);
    for (let k = 0; k < 4; k++) {
      (sums.s1[k] as number) += m[k] as number;
      (sums.s2[k] as number) += (m[k] as number) * (m[k] as number);
    }
  });
  const sc = scoreOf(s);
  sums.counts = WEIGHTS.offline * sc.parts.offline + WEIGHTS.hardConflict * sc.parts.hardConflicts + WEIGHTS.softConflict * sc.parts.softConflicts;
  return sums;
}

function spreadTotal(n: number, s1: readonly number[], s2: readonly number[]): number {
  if (n === 0) return 0;
  const w = metricWeights();
  let t = 0;
  for (let k = 0; k < 4; k++) {
    const mean = (s1[k] as number) / n;
    t += (w[k] as number) * Math.sqrt(Math.max(0, (s2[k] as number) / n - mean * mean));
  }
  return t;
}

/** The score after moving VM (index) to NODE (index), computed from SUMS without changing S. */
function scoreAfter(s: BalanceState, sums: Sums, vi: number, node: number): number {
  const v = s.model.vms[vi] as BalanceVm;
  const from = s.at[vi] as number;
  const measured = s.model.measuredLoad;
  // The four metrics' sums, changed at FROM (one VM less) and NODE (one more); scalars, no arrays:
  // this runs for every VM and node at every step.
  let a0 = sums.s1[0] as number, a1 = sums.s1[1] as number, a2 = sums.s1[2] as number, a3 = sums.s1[3] as number;
  let b0 = sums.s2[0] as number, b1 = sums.s2[1] as number, b2 = sums.s2[2] as number, b3 = sums.s2[3] as number;
  for (const [i, sign] of [[from, -1], [node, 1]] as const) {
    if (i < 0) continue;
    const n = s.model.nodes[i] as BalanceNode;
    if (!n.usable) continue;
    const mem = s.mem[i] as number, cpu = s.cpu[i] as number, count = s.count[i] as number;
    const m0 = (n.memoryMiB - mem) / n.memoryMiB, m1 = cpu / n.cpus, m2 = measured ? (s.load[i] as number) / n.cpus : count, m3 = count;
    const count2 = count + sign;
    const x0 = (n.memoryMiB - mem - sign * v.memoryMiB) / n.memoryMiB, x1 = (cpu + sign * v.vcpus) / n.cpus;
    const x2 = measured ? ((s.load[i] as number) + sign * (v.load ?? 0)) / n.cpus : count2, x3 = count2;
    a0 += x0 - m0; a1 += x1 - m1; a2 += x2 - m2; a3 += x3 - m3;
    b0 += x0 * x0 - m0 * m0; b1 += x1 * x1 - m1 * m1; b2 += x2 * x2 - m2 * m2; b3 += x3 * x3 - m3 * m3;
  }
  const k = sums.n;
  const sd = (a: number, b: number) => Math.sqrt(Math.max(0, b / k - (a / k) * (a / k)));
  const spread = k === 0 ? 0 : WEIGHTS.freeMemory * sd(a0, b0) + WEIGHTS.vcpus * sd(a1, b1) + WEIGHTS.cpuLoad * sd(a2, b2) + WEIGHTS.vmCount * sd(a3, b3);
  let counts = sums.counts;
  if (from >= 0 && !(s.model.nodes[from] as BalanceNode).usable) counts -= WEIGHTS.offline;
  if (v.allowed !== null) {
    if (from >= 0 && !v.allowed.has(from)) counts -= WEIGHTS.hardConflict;
    if (!v.allowed.has(node)) counts += WEIGHTS.hardConflict;
  }
  for (const g of v.groups) {
    const group = s.model.groups[g] as ApartGroup;
    const w = group.hard ? WEIGHTS.hardConflict : WEIGHTS.softConflict;
    const per = s.groupCount[g] as number[];
    if (from >= 0 && (per[from] as number) > 1) counts -= w;
    if ((per[node] as number) > 0) counts += w;
  }
  return spread + counts;
}

interface Candidate {
  vm: number;
  to: number;
  score: number;
}

/**
 * The move that lowers S's score most among VMs not in DONE (indexes) and moves not in REJECTED
 * ("vm>node" by names), or null when no allowed move lowers it. Ties go to the first VM by name,
 * then the first node.
 */
export function bestMove(s: BalanceState, done: ReadonlySet<number> = new Set(), rejected: ReadonlySet<string> = new Set(), sums: Sums = sumsOf(s)): Candidate | null {
  const current = spreadTotal(sums.n, sums.s1, sums.s2) + sums.counts;
  let best: Candidate | null = null;
  const nodes = s.model.nodes;
  const vms = s.model.vms;
  const withRejections = new Set([...rejected].map((r) => r.slice(0, r.lastIndexOf('>'))));
  // VMs alike (same node, size and load, no rules of their own) have the same moves with the same
  // scores: only the first of them by name is tried (ties go to it anyway).
  const tried = new Set<string>();
  for (let vi = 0; vi < vms.length; vi++) {
    const v = vms[vi] as BalanceVm;
    if (v.fixed || done.has(vi) || (s.at[vi] as number) < 0) continue;
    if (v.allowed === null && v.groups.length === 0 && !withRejections.has(v.name)) {
      const key = `${s.at[vi]}|${v.vcpus}|${v.memoryMiB}|${v.load ?? ''}`;
      if (tried.has(key)) continue;
      tried.add(key);
    }
    for (let ni = 0; ni < nodes.length; ni++) {
      if (moveProblem(s, vi, ni) !== null) continue;
      if (withRejections.has(v.name) && rejected.has(`${v.name}>${(nodes[ni] as BalanceNode).name}`)) continue;
      const score = scoreAfter(s, sums, vi, ni);
      if (score < current - 1e-12 && (best === null || score < best.score - 1e-12)) best = { vm: vi, to: ni, score };
    }
  }
  return best;
}

export interface RebalanceMove {
  vm: string;
  from: string;
  to: string;
  /** The score after this move. */
  score: number;
  /** The parallel round it runs in (0-based): moves of a round touch disjoint nodes. */
  round: number;
}

export interface RebalancePlan {
  score: { before: number; after: number };
  parts: { before: ScoreParts; after: ScoreParts };
  /** In run order. */
  moves: RebalanceMove[];
  /** Moves grouped into rounds (the moves' indexes). */
  rounds: number[][];
  /** VMs that may not move, and why (not running, unmanaged, colocated, …). */
  fixed: { vm: string; why: string }[];
  /** VMs on nodes that take none and that no allowed move takes off. */
  stranded: string[];
}

export interface PlanOptions {
  /** At most this many moves (default: no limit but each VM once). */
  maxMoves?: number;
  /** Stop when the best move lowers the score by less (default DEFAULT_MIN_GAIN)… */
  minGain?: number;
  /** …once the score is below this (default: MIN_GAIN_LIMIT without minGain, always with it). */
  minGainBelow?: number;
  /** Moves not to make ("vm>node"): the ones Pacemaker would not honour. */
  rejected?: ReadonlySet<string>;
}

/**
 * Groups MOVES (in the order they were chosen) into rounds whose moves touch disjoint nodes: each
 * move goes into the round after the last one that touches its source or target. A move that
 * depends on an earlier one (room made on its target, a VM gone from beside it) shares a node with
 * it, so it still comes later; moves on other nodes do not wait for it. Round indexes, in order;
 * within a round, the order of choice.
 */
export function roundsOf(moves: readonly { from: string; to: string }[]): number[][] {
  const rounds: number[][] = [];
  const last = new Map<string, number>();
  moves.forEach((m, i) => {
    const r = Math.max(last.get(m.from) ?? -1, last.get(m.to) ?? -1) + 1;
    if (r === rounds.length) rounds.push([]);
    (rounds[r] as number[]).push(i);
    last.set(m.from, r);
    last.set(m.to, r);
  });
  return rounds;
}

/** The greedy plan for MODEL: the best single move at a time, each VM at most once. */
export function planRebalance(model: BalanceModel, opts: PlanOptions = {}): RebalancePlan {
  const s = stateOf(model);
  const before = scoreOf(s);
  const minGain = opts.minGain ?? DEFAULT_MIN_GAIN;
  const minGainBelow = opts.minGainBelow ?? (opts.minGain === undefined ? MIN_GAIN_LIMIT : Number.POSITIVE_INFINITY);
  const maxMoves = opts.maxMoves ?? Number.POSITIVE_INFINITY;
  const done = new Set<number>();
  const moves: Omit<RebalanceMove, 'round'>[] = [];
  let current = before.total;
  while (moves.length < maxMoves) {
    const c = bestMove(s, done, opts.rejected ?? new Set());
    if (c === null || (current - c.score < minGain && current < minGainBelow)) break;
    const from = s.at[c.vm] as number;
    applyMove(s, c.vm, c.to);
    done.add(c.vm);
    current = scoreOf(s).total; // exact, not accumulated
    moves.push({ vm: (model.vms[c.vm] as BalanceVm).name, from: (model.nodes[from] as BalanceNode).name, to: (model.nodes[c.to] as BalanceNode).name, score: current });
  }
  const after = scoreOf(s);
  // Run order: round by round. Each move's score is the score once it and those before it ran.
  const chosen = roundsOf(moves);
  const replay = stateOf(model);
  const byName = new Map(model.vms.map((v, i) => [v.name, i]));
  const nodeIdx = new Map(model.nodes.map((n, i) => [n.name, i]));
  const ordered: RebalanceMove[] = [];
  chosen.forEach((r, round) => {
    for (const i of r) {
      const m = moves[i] as Omit<RebalanceMove, 'round'>;
      applyMove(replay, byName.get(m.vm) as number, nodeIdx.get(m.to) as number);
      ordered.push({ ...m, score: scoreOf(replay).total, round });
    }
  });
  let k = 0;
  const rounds = chosen.map((r) => r.map(() => k++));
  return {
    score: { before: before.total, after: after.total },
    parts: { before: before.parts, after: after.parts },
    moves: ordered,
    rounds,
    fixed: model.vms.filter((v) => v.fixed && v.node >= 0).map((v) => ({ vm: v.name, why: v.fixed as string })),
    stranded: model.vms.filter((v, i) => (s.at[i] as number) >= 0 && !(model.nodes[s.at[i] as number] as BalanceNode).usable).map((v) => v.name),
  };
}

/** Where every VM that runs ends after PLAN (name → node), for placeVms and htoolsText. */
export function endPlacement(model: BalanceModel, plan: RebalancePlan): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of model.vms) if (v.node >= 0) out.set(v.name, (model.nodes[v.node] as BalanceNode).name);
  for (const m of plan.moves) out.set(m.vm, m.to);
  return out;
}
