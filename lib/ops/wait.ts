// Waiting for Pacemaker to carry out what vm asked for (start, stop, migrate), with one progress
// line whenever a VM's state changes. It ends when every VM is where it should be, when the
// cluster has settled without getting there (the scheduler wants nothing more: constraints,
// capacity or failures stand in the way), or when the time is up.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterView, VmView } from '../cluster/view.js';

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
  /** Ask whether the cluster settled after this long without a change (default 4 s). */
  quietMs?: number;
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

export async function waitFor(targets: readonly WaitTarget[], deps: WaitDeps, opts: WaitOptions): Promise<WaitOutcome[]> {
  const now = deps.now ?? Date.now;
  const pause = deps.sleep ?? sleep;
  const pollMs = opts.pollMs ?? 500;
  const quietMs = opts.quietMs ?? 4000;
  const t0 = now();
  const deadline = t0 + opts.timeoutMs;
  const pending = new Map(targets.map((t) => [t.resource, t]));
  const shown = new Map<string, string>();
  const failuresShown = new Map<string, string>();
  const outcomes: WaitOutcome[] = [];
  let lastChange = t0;
  const stamp = () => `[${((now() - t0) / 1000).toFixed(1).padStart(5)}s]`;

  for (;;) {
    const view = await deps.look();
    for (const [rid, t] of pending) {
      const v = view.byResource.get(rid);
      const d = describeVm(v);
      if (shown.get(rid) !== d) {
        shown.set(rid, d);
        lastChange = now();
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
    if (pending.size === 0) return outcomes;
    if (now() >= deadline) break;
    if (now() - lastChange >= quietMs && (await deps.settled())) {
      // Check once more: the last transition may have completed between the look and the ask.
      const again = await deps.look();
      for (const [rid, t] of pending) {
        const v = again.byResource.get(rid);
        if (reached(t.goal, v)) outcomes.push({ vm: t.vm, ok: true, message: describeVm(v), node: v?.node ?? null });
        else {
          const why = v ? failureLine(v) : undefined;
          outcomes.push({
            vm: t.vm,
            ok: false,
            message: `Pacemaker settled with it ${describeVm(v)}${why ? `; ${why}` : ''} (constraints, capacity or failures keep it there: see vm ${t.vm} status)`,
            node: v?.node ?? null,
          });
        }
      }
      return outcomes;
    }
    await pause(pollMs);
  }
  const view = await deps.look();
  for (const t of pending.values()) {
    const v = view.byResource.get(t.resource);
    outcomes.push({ vm: t.vm, ok: reached(t.goal, v), message: `still ${describeVm(v)} after ${Math.round(opts.timeoutMs / 1000)} s`, node: v?.node ?? null });
  }
  return outcomes;
}
