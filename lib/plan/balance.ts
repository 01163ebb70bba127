// The load balancer's decision (corral's DRS): given a short history of CPU samples (what each VM
// used, in cores, and how many CPUs each node has), the moves made lately and the settings, it
// says whether to move one VM now, and which — or why not. Pure: no clock, no I/O; the caller
// passes the samples, the time and a judge of placement (Pacemaker's answer, lib/ops).
//
// The barriers against "migration madness" (a VM moved back and forth), each a reason not to act:
//   - never on one sample: a node is hot only when its samples have been above the threshold
//     without a break for at least `holdS` seconds (the first of them at least that long ago);
//   - loads are averages over the hold window, not the last reading, so one spike moves nothing;
//   - a move must leave the target below the threshold less a margin (so it does not become the
//     next hot node) and relieve the hot node by at least `minGainPct` points;
//   - a VM moved within `cooldownS` stays; no more than `maxMovesPerHour` moves in any hour;
//   - one move per decision: the next decision sees its effect first.
// A move on record dated more than CLOCK_SKEW_S ahead of now (a node with a fast clock, a bad
// write) is not believed: it would hold its VM's cooldown and the hourly cap for as long as it is
// "in the future". It is not counted, not listed, and dropped at the next write of the record.

export interface BalancerSettings {
  /** Seconds between samples. */
  intervalS: number;
  /** A node is hot above this share of its CPUs in use by VMs (percent). */
  thresholdPct: number;
  /** How long (s) a node must stay above the threshold before a VM is moved off it. */
  holdS: number;
  /** A VM that was moved stays at least this long (s). */
  cooldownS: number;
  /** At most this many moves in any 3600 s. */
  maxMovesPerHour: number;
  /** A move must lower the hot node's load by at least this many percentage points. */
  minGainPct: number;
  /** The target must stay this many points below the threshold after the move. */
  marginPct: number;
  /** Nodes it may move VMs off and onto (empty: every node). */
  nodes: readonly string[];
  /** VMs it may move (empty: every VM). */
  vms: readonly string[];
}

export const DEFAULT_BALANCER: BalancerSettings = {
  intervalS: 30,
  thresholdPct: 80,
  holdS: 300,
  cooldownS: 1800,
  maxMovesPerHour: 6,
  minGainPct: 10,
  marginPct: 10,
  nodes: [],
  vms: [],
};

/** Seconds a move on record may be dated ahead of now (nodes' clocks differ a little) and still count. */
export const CLOCK_SKEW_S = 300;
/** How long a move stays on record: the longest cooldown or cap it can matter to, and what status lists. */
const KEEP_S = 24 * 3600;
/** The record keeps at most this many moves (the newest). */
const KEEP_MOVES = 100;

/** The moves of MOVES that count at NOW: none dated more than CLOCK_SKEW_S ahead of it. */
function believed(moves: readonly BalancerMove[], now: number): BalancerMove[] {
  return moves.filter((m) => m.at <= now + CLOCK_SKEW_S);
}

/** The moves `corral balance status` lists at NOW: those of the last 24 h, none from the future. */
export function recentMoves(moves: readonly BalancerMove[], now: number): BalancerMove[] {
  return believed(moves, now).filter((m) => m.at > now - KEEP_S);
}

/**
 * The record after MOVE (made at move.at, now): the earlier moves of the last 24 h and MOVE, newest
 * last, at most KEEP_MOVES; a move dated more than CLOCK_SKEW_S ahead is dropped.
 */
export function recordAfter(move: BalancerMove, earlier: readonly BalancerMove[]): BalancerMove[] {
  return [...recentMoves(earlier, move.at), move].slice(-KEEP_MOVES);
}

/** One sampling round: for each node, its CPUs and the cores each running VM used since the last round. */
export interface LoadSample {
  at: number;
  nodes: Record<string, { cpus: number; vms: Record<string, number> }>;
}

export interface BalancerMove {
  vm: string;
  from: string;
  to: string;
  at: number;
}

interface NodeLoad {
  node: string;
  /** Percent of the node's CPUs in use by VMs, averaged over the hold window. */
  loadPct: number;
  /** Above the threshold in every sample for at least the hold time (samples' own times). */
  hot: boolean;
  /** Above the threshold in the last sample. */
  above: boolean;
  /** Seconds it has been above the threshold without a break (0 when it is not, or since this sample). */
  overForS: number;
}

export interface BalancerDecision {
  /** What it sees. */
  loads: NodeLoad[];
  /** The move to make now, if any. */
  move: (Omit<BalancerMove, 'at'> & { vmCores: number; fromPct: [number, number]; toPct: [number, number]; gainPct: number }) | null;
  /** Why it acts, or why not — with its numbers. */
  reason: string;
  /** The reason's kind, for counting (corral_balancer_decisions_total). */
  kind: DecisionKind;
}

/**
 * What a decision comes to: move; or no move because there is no sample yet, no node is hot (calm),
 * a node is above the threshold but not yet for the hold time (hold), the moves of the last hour
 * reach the cap (cap), no move would relieve a hot node enough (no-relief), or the cluster is busy
 * with maintenance or a transition (busy: the loop's own, lib/ops/balance.ts).
 */
export const DECISION_KINDS = ['move', 'no-sample', 'calm', 'hold', 'cap', 'no-relief', 'busy'] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

/** Placement as Pacemaker allows it: may VM run on NODE (constraints, capacity, standby)? */
export type Allowed = (vm: string, node: string) => boolean;

const round1 = (x: number): number => Math.round(x * 10) / 10;

export function decideBalancer(samples: readonly LoadSample[], moves: readonly BalancerMove[], s: BalancerSettings, now: number, allowed: Allowed): BalancerDecision {
  const last = samples[samples.length - 1];
  if (!last) return { loads: [], move: null, reason: 'no sample yet', kind: 'no-sample' };
  const window = samples.filter((x) => x.at >= now - s.holdS);
  const covered = samples.some((x) => x.at <= now - s.holdS) && window.length >= 2;
  const mayTouch = (n: string) => s.nodes.length === 0 || s.nodes.includes(n);
  const mayMove = (vm: string) => s.vms.length === 0 || s.vms.includes(vm);

  // A VM's load: its average over the window, counted only while it ran where it runs now.
  const where = new Map<string, string>();
  for (const [node, n] of Object.entries(last.nodes)) for (const vm of Object.keys(n.vms)) where.set(vm, node);
  const vmCores = new Map<string, number>();
  for (const vm of where.keys()) {
    const seen = window.map((x) => x.nodes[where.get(vm) as string]?.vms[vm]).filter((c): c is number => c !== undefined);
    vmCores.set(vm, seen.length ? seen.reduce((a, b) => a + b, 0) / seen.length : 0);
  }
  const pct = (node: string, cores: number) => (100 * cores) / Math.max(1, last.nodes[node]?.cpus ?? 1);
  const loadOf = (node: string, x: LoadSample) => pct(node, Object.values(x.nodes[node]?.vms ?? {}).reduce((a, b) => a + b, 0));

  const loads: NodeLoad[] = Object.keys(last.nodes)
    .sort()
    .map((node) => {
      const avg = window.reduce((a, x) => a + loadOf(node, x), 0) / Math.max(1, window.length);
      let since = now;
      for (let i = samples.length - 1; i >= 0; i--) {
        const x = samples[i] as LoadSample;
        if (!(node in x.nodes) || loadOf(node, x) <= s.thresholdPct) break;
        since = x.at;
      }
      const above = loadOf(node, last) > s.thresholdPct;
      const overForS = above ? now - since : 0;
      return { node, loadPct: round1(avg), hot: above && overForS >= s.holdS, above, overForS };
    });

  const hot = loads.filter((l) => l.hot && mayTouch(l.node)).sort((a, b) => b.loadPct - a.loadPct);
  if (hot.length === 0) {
    const over = loads.filter((l) => l.above);
    if (over.length === 0) return { loads, move: null, reason: `no node above ${s.thresholdPct}%`, kind: 'calm' };
    if (!covered) return { loads, move: null, reason: `${over.map((l) => l.node).join(', ')} above ${s.thresholdPct}%, but the samples cover less than the hold time (${s.holdS} s)`, kind: 'hold' };
    return { loads, move: null, reason: `${over.map((l) => `${l.node} above ${s.thresholdPct}% for ${l.overForS} s`).join(', ')}: not yet ${s.holdS} s`, kind: 'hold' };
  }
  const lastHour = believed(moves, now).filter((m) => m.at > now - 3600);
  if (lastHour.length >= s.maxMovesPerHour) return { loads, move: null, reason: `${hot[0]?.node} is hot (${hot[0]?.loadPct}%), but ${lastHour.length} moves in the last hour reach the cap (${s.maxMovesPerHour})`, kind: 'cap' };

  const byNode = new Map(loads.map((l) => [l.node, l.loadPct]));
  const cooling: string[] = [];
  const refused: string[] = [];
  let best: BalancerDecision['move'] = null;
  let bestGain = -Infinity;
  let bestToAfter = Infinity;
  for (const h of hot) {
    const from = h.node;
    for (const vm of [...where.keys()].filter((v) => where.get(v) === from).sort()) {
      if (!mayMove(vm)) continue;
      const moved = believed(moves, now).filter((m) => m.vm === vm).reduce((a, m) => Math.max(a, m.at), -Infinity);
      if (now - moved < s.cooldownS) {
        cooling.push(`${vm} (moved ${Math.max(0, now - moved)} s ago)`);
        continue;
      }
      const cores = vmCores.get(vm) ?? 0;
      for (const to of [...byNode.keys()].filter((n) => n !== from && mayTouch(n))) {
        const fromAfter = (byNode.get(from) ?? 0) - pct(from, cores);
        const toAfter = (byNode.get(to) ?? 0) + pct(to, cores);
        if (toAfter > s.thresholdPct - s.marginPct) continue;
        const gain = (byNode.get(from) ?? 0) - Math.max(fromAfter, toAfter);
        if (gain < s.minGainPct) continue;
        // the larger relief; between equals, the target left with more room
        if (gain < bestGain || (gain === bestGain && toAfter >= bestToAfter)) continue;
        if (!allowed(vm, to)) {
          refused.push(`${vm} → ${to}`);
          continue;
        }
        bestGain = gain;
        bestToAfter = toAfter;
        best = { vm, from, to, vmCores: round1(cores * 100) / 100, fromPct: [round1(byNode.get(from) ?? 0), round1(fromAfter)], toPct: [round1(byNode.get(to) ?? 0), round1(toAfter)], gainPct: round1(gain) };
      }
    }
    if (best) break; // the hottest node that can be relieved
  }
  const m = best as BalancerDecision['move'];
  if (m) {
    return {
      loads,
      move: m,
      reason: `${m.from} above ${s.thresholdPct}% for ${hot.find((l) => l.node === m.from)?.overForS} s: move ${m.vm} (${m.vmCores} cores) ${m.from} ${m.fromPct[0]}% → ${m.fromPct[1]}%, ${m.to} ${m.toPct[0]}% → ${m.toPct[1]}%`,
      kind: 'move',
    };
  }
  const why = [`no move relieves ${hot.map((l) => `${l.node} (${l.loadPct}%)`).join(', ')} by ${s.minGainPct} points while keeping the target under ${s.thresholdPct - s.marginPct}%`];
  if (cooling.length) why.push(`cooling down: ${cooling.join(', ')}`);
  if (refused.length) why.push(`Pacemaker would not place: ${refused.join(', ')}`);
  return { loads, move: null, reason: why.join('; '), kind: 'no-relief' };
}

/** The decision as lines for people: each node's load, then what it does and why. */
export function describeBalancer(d: BalancerDecision): string[] {
  const lines = d.loads.map((l) => `${l.node} ${l.loadPct}%${l.hot ? ` hot (above for ${l.overForS} s)` : l.above ? ` above for ${l.overForS} s` : ''}`);
  lines.push(d.move ? `move ${d.move.vm} ${d.move.from} → ${d.move.to}: ${d.reason}` : `no move: ${d.reason}`);
  return lines;
}
