// N+1 and room, as Pacemaker's scheduler answers them. Pure: the placement of every VM in the
// settled cluster, and crm_simulate's placement with each node down in turn (lib/ops/maintenance.ts
// runs them), in; per node, the VMs that would stay stopped if it failed, out.
import type { Simulated } from './drain.js';

interface NodeFailure {
  name: string;
  /** VMs (names as `corral list` prints them) that run now and would stay stopped if NAME failed. */
  stopped: string[];
}

export interface CapacityReport {
  /** Nodes that were online (the ones whose failure is asked about), each with its answer. */
  nodes: { name: string; ifFails: { stopped: string[] } }[];
  /** No single node failure leaves any running VM stopped. */
  nPlusOne: boolean;
  /** VMs that do not run even now (they are not counted against N+1). */
  notRunning: string[];
}

/** Resource ids running (active on a node) in SIM. */
function running(sim: Simulated, resources: readonly string[]): string[] {
  return resources.filter((r) => (sim.placement.get(r) ?? []).length > 0);
}

/**
 * The N+1 answer for RESOURCES (id → name) from BASE (the settled placement) and FAILED (node →
 * the placement after that node went down).
 */
export function capacityReport(names: ReadonlyMap<string, string>, base: Simulated, failed: ReadonlyMap<string, Simulated>): CapacityReport {
  const ids = [...names.keys()];
  const up = new Set(running(base, ids));
  const nodes = [...failed.entries()].map(([name, sim]) => {
    const stopped = ids.filter((r) => up.has(r) && (sim.placement.get(r) ?? []).length === 0).map((r) => names.get(r) ?? r);
    return { name, ifFails: { stopped: stopped.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })) } };
  });
  nodes.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  return {
    nodes,
    nPlusOne: nodes.every((n) => n.ifFails.stopped.length === 0),
    notRunning: ids.filter((r) => !up.has(r)).map((r) => names.get(r) ?? r).sort(),
  };
}

/**
 * The largest K in [0, MAX] for which FITS(K) holds, FITS being monotone (true up to some K, false
 * after): how many more VMs of one size Pacemaker would place. Exponential search, then binary.
 */
export async function largestFitting(fits: (k: number) => Promise<boolean>, max: number): Promise<number> {
  if (!(await fits(1))) return 0;
  let lo = 1;
  let hi = 2;
  while (hi <= max && (await fits(hi))) {
    lo = hi;
    hi *= 2;
  }
  hi = Math.min(hi, max + 1); // fits(hi) is false, or hi is past MAX
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
