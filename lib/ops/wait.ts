// Waiting for Pacemaker: the one loop every executor watches the cluster with (drain, undrain
// --return, rebalance --exec's rounds, vm's start/stop/migrate), and vm's waits built on it.
//
// THE SETTLE RULE. Pacemaker is done ("settled") when clusterSettled() — the DC is idle and the
// scheduler, run on the CIB as it is now, wants no action (lib/host/pacemaker/status.ts) — has
// answered yes after two consecutive looks, at least pollMs apart, that saw the watched VMs in the
// same states. One yes is not enough: a look and the question are two moments, and a transition
// may complete (or a VM arrive) between them; the second look, after a pause, with nothing changed,
// says the yes was about the cluster the look saw.
//
// A watch looks, asks the caller what it sees (the goal reached? the watched VMs' states), and
// ends:
//   - 'done'     when the goal is reached — for an idle watch (drain, undrain, a rebalance round:
//                the next step wants a quiet cluster) only once Pacemaker is also done;
//   - 'settled'  when Pacemaker is done without the goal reached (constraints, capacity, a failure
//                keep a VM where it is): the caller says why, rather than poll on to the deadline;
//   - 'timeout'  at the deadline.
// Everything it needs comes in (look, settled, now, sleep), so the same loop runs on the real
// cluster, on the simulated one (test/support/sim-cluster.ts) and in unit tests.
import { setTimeout as sleep } from 'node:timers/promises';
import { takeSnapshot, type Snapshot } from '../cluster/snapshot.js';
import type { ClusterView, VmView } from '../cluster/view.js';
import type { ClusterPort } from '../host/pacemaker/cluster-port.js';

export interface WatchDeps<L> {
  /** A fresh look at the cluster. */
  look: () => Promise<L>;
  /** Whether the scheduler wants nothing more, now (clusterSettled). */
  settled: () => Promise<boolean>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface WatchOptions {
  timeoutMs: number;
  /** Between looks (default 500 ms). */
  pollMs?: number;
  /** The goal counts only once Pacemaker is done as well. */
  idle?: boolean;
}

/** What the caller sees in one look. */
export interface Seen {
  /** The goal is reached. */
  done: boolean;
  /** The watched VMs' states, as text: a change between two looks means Pacemaker is not done. */
  state: string;
}

export type WatchEnd = 'done' | 'settled' | 'timeout';

/** Watches until the goal, until Pacemaker is done without it, or until the deadline (see the top). */
export async function watch<L>(deps: WatchDeps<L>, opts: WatchOptions, see: (look: L) => Seen): Promise<{ end: WatchEnd; last: L }> {
  const now = deps.now ?? Date.now;
  const pause = deps.sleep ?? sleep;
  const pollMs = opts.pollMs ?? 500;
  const deadline = now() + opts.timeoutMs;
  let before: { state: string; settled: boolean } | undefined;
  for (;;) {
    const last = await deps.look();
    const seen = see(last);
    if (seen.done && !opts.idle) return { end: 'done', last };
    const settled = await deps.settled();
    if (settled && before?.settled && before.state === seen.state) return { end: seen.done ? 'done' : 'settled', last };
    before = { state: seen.state, settled };
    if (now() >= deadline) return { end: 'timeout', last };
    await pause(pollMs);
  }
}

/** A snapshot of the cluster behind PORT (one CIB query, read as lib/cluster reads it). */
export async function snapshotOf(port: ClusterPort): Promise<Snapshot> {
  return takeSnapshot({ cibXml: await port.query() });
}

/** What a watch of the cluster behind PORT needs: snapshots, its settled answer and its clock. */
export function clusterWatch(port: ClusterPort): WatchDeps<Snapshot> {
  return { look: () => snapshotOf(port), settled: () => port.settled(), now: () => port.now(), sleep: (ms) => port.sleep(ms) };
}

/** A VM's state as a watch compares it between looks (its role, nodes, migration target). */
export function vmState(v: VmView | undefined): string {
  return v ? `${v.resource}:${v.state}@${v.nodes.join(',')}${v.migratingTo ? `>${v.migratingTo}` : ''}` : 'gone';
}

// ---------------------------------------------------------------------------------------------
// vm's waits: a VM running (somewhere, on a node, not on a node) or stopped, with one progress line
// whenever a VM's state changes.
export type Goal = { kind: 'running'; on?: string; notOn?: string } | { kind: 'stopped' };

export interface WaitTarget {
  vm: string;
  resource: string;
  goal: Goal;
}

export interface WaitOutcome {
  vm: string;
  ok: boolean;
  /** Where it ended up, or why not. */
  message: string;
  node: string | null;
}

export interface WaitDeps {
  /** A fresh look at the cluster. */
  look: () => Promise<ClusterView>;
  /** Whether the scheduler wants nothing more (lib/host/pacemaker/status.ts clusterSettled). */
  settled: () => Promise<boolean>;
  progress: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
}

function describeVm(v: VmView | undefined): string {
  if (!v) return 'gone from the configuration';
  switch (v.state) {
    case 'running':
      return v.nodes.length > 1 ? `running on ${v.nodes.join(' and ')}` : `running on ${v.node}`;
    case 'migrating':
      return v.migratingTo ? `migrating ${v.node} → ${v.migratingTo}` : `migrating away from ${v.node}`;
    case 'starting':
      return `starting on ${v.nodes.join(' and ') || v.node}`;
    case 'stopping':
      return `stopping on ${v.nodes.join(' and ') || v.node}`;
    case 'failed':
      return `failed${v.node ? ` on ${v.node}` : ''}`;
    case 'disabled':
      return 'stopped (target-role Stopped)';
    default:
      return v.state;
  }
}

function reached(goal: Goal, v: VmView | undefined): boolean {
  if (!v) return false;
  if (goal.kind === 'stopped') return (v.state === 'stopped' || v.state === 'disabled') && v.nodes.length === 0;
  if (v.state !== 'running' || v.nodes.length !== 1) return false;
  if (goal.on !== undefined && v.node !== goal.on) return false;
  if (goal.notOn !== undefined && v.node === goal.notOn) return false;
  return true;
}

function failureLine(v: VmView): string | undefined {
  const f = v.lastFailure;
  if (!f) return undefined;
  return `${f.operation} failed on ${f.node} (rc ${f.rc}${f.reason ? `: ${f.reason}` : ''})`;
}

/** Waits for TARGETS (see the top: ends at the goal, when Pacemaker is done without it, or at the deadline). */
export async function waitFor(targets: readonly WaitTarget[], deps: WaitDeps, opts: WaitOptions): Promise<WaitOutcome[]> {
  const now = deps.now ?? Date.now;
  const t0 = now();
  const pending = new Map(targets.map((t) => [t.resource, t]));
  const shown = new Map<string, string>();
  const failuresShown = new Map<string, string>();
  const outcomes: WaitOutcome[] = [];
  const stamp = () => `[${((now() - t0) / 1000).toFixed(1).padStart(5)}s]`;

  const { end, last } = await watch(deps, { timeoutMs: opts.timeoutMs, ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}) }, (view) => {
    for (const [rid, t] of pending) {
      const v = view.byResource.get(rid);
      const d = describeVm(v);
      if (shown.get(rid) !== d) {
        shown.set(rid, d);
        deps.progress(`${stamp()} ${t.vm}: ${d}`);
      }
      const f = v ? failureLine(v) : undefined;
      if (f && failuresShown.get(rid) !== f && (v?.lastFailure?.at ?? Number.POSITIVE_INFINITY) * 1000 >= t0 - 2000) {
        failuresShown.set(rid, f);
        deps.progress(`${stamp()} ${t.vm}: ${f}`);
      }
      if (reached(t.goal, v)) {
        outcomes.push({ vm: t.vm, ok: true, message: d, node: v?.node ?? null });
        pending.delete(rid);
      } else if (!v) {
        outcomes.push({ vm: t.vm, ok: false, message: d, node: null });
        pending.delete(rid);
      }
    }
    return { done: pending.size === 0, state: [...pending.keys()].map((rid) => `${rid}=${shown.get(rid)}`).join(' ') };
  });
  for (const t of pending.values()) {
    const v = last.byResource.get(t.resource);
    if (end === 'settled') {
      const why = v ? failureLine(v) : undefined;
      outcomes.push({
        vm: t.vm,
        ok: false,
        message: `Pacemaker settled with it ${describeVm(v)}${why ? `; ${why}` : ''} (constraints, capacity or failures keep it there: see vm ${t.vm} status)`,
        node: v?.node ?? null,
      });
    } else outcomes.push({ vm: t.vm, ok: false, message: `still ${describeVm(v)} after ${Math.round(opts.timeoutMs / 1000)} s`, node: v?.node ?? null });
  }
  return outcomes;
}
