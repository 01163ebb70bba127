// What the lab benches share: a median, seconds for people, a bounded poll, and a runner for
// Pacemaker's tools inside a node that answers.
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeVia, reachableNode, type ClusterLab } from '../../lib/lab/cluster.js';
import type { Via } from '../../lib/host/pacemaker/tool.js';

/** The median of XS (NaN for none). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((p, q) => p - q);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** MS as seconds for people: "1.23 s". */
export const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** Polls F every EVERY ms until it gives a value; throws after TIMEOUT ms naming WHAT. */
export async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Pacemaker's tools run inside a node of LAB that answers. */
export async function via(lab: ClusterLab): Promise<Via> {
  const n = await reachableNode(lab);
  if (!n) throw new Error('no lab node answers');
  return nodeVia(n, 60_000);
}
