// N+1 and room, as Pacemaker's scheduler answers them. Pure: the placement of every VM in the
// settled cluster, and crm_simulate's placement with each node failing in turn (lib/ops/maintenance.ts
// runs them), in; per node, the VMs that would stay stopped if it failed (or Pacemaker's reasons
// when it could not say), out.
import type { Simulated } from './drain.js';

/** Pacemaker's answer for one node's failure: the placement after it, or its errors when it could not say. */
export type FailureAnswer = Simulated | { errors: readonly string[] };

export interface CapacityReport {
  /**
   * Nodes that were online (the ones whose failure is asked about), each with its answer: the VMs
   * that would stay stopped, or (errors) Pacemaker's reasons why it could not say.
   */
  nodes: { name: string; ifFails: { stopped: string[]; errors?: string[]; lost?: LostVm[] } }[];
  /**
   * true: no single node failure leaves any running VM stopped; false: some node's failure does;
   * null: none is known to, but Pacemaker could not say for some node (its ifFails.errors).
   */
  nPlusOne: boolean | null;
  /** VMs that do not run even now (they are not counted against N+1). */
  notRunning: string[];
  /**
   * Only when some running VM has local disks: N+1 for the others. A VM on local disks is lost
   * when its node fails (it cannot run where its disks are not), so N+1 never holds for it; this
   * says whether it holds for the rest.
   */
  nPlusOneShared?: boolean | null;
}

/** A VM that stays stopped when a node fails because its disks are on that node only (ifFails.lost). */
interface LostVm {
  vm: string;
  why: string;
}

/** Resource ids running (active on a node) in SIM. */
function running(sim: Simulated, resources: readonly string[]): string[] {
  return resources.filter((r) => (sim.placement.get(r) ?? []).length > 0);
}

/**
 * The N+1 answer for RESOURCES (id → name) from BASE (the settled placement) and FAILED (node →
 * the placement after that node failed, or Pacemaker's errors). A node whose failure stops a VM is
 * a "no" whatever the others say; without one, a node Pacemaker could not answer for leaves the
 * answer open (null).
 */
export function capacityReport(names: ReadonlyMap<string, string>, base: Simulated, failed: ReadonlyMap<string, FailureAnswer>, local: ReadonlyMap<string, string> = new Map()): CapacityReport {
  const ids = [...names.keys()];
  const up = new Set(running(base, ids));
  const byName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  const nodes = [...failed.entries()].map(([name, answer]): CapacityReport['nodes'][number] => {
    if (!('placement' in answer)) return { name, ifFails: { stopped: [], errors: [...answer.errors] } };
    const gone = ids.filter((r) => up.has(r) && (answer.placement.get(r) ?? []).length === 0);
    const stopped = gone.map((r) => names.get(r) ?? r).sort(byName);
    // Its disks are on the failed node: no other node can run it, whatever the room.
    const lost = gone.filter((r) => local.get(r) === name).map((r) => ({ vm: names.get(r) ?? r, why: `disks local to ${name}` }));
    lost.sort((a, b) => byName(a.vm, b.vm));
    return { name, ifFails: { stopped, ...(lost.length ? { lost } : {}) } };
  });
  nodes.sort((a, b) => byName(a.name, b.name));
  const no = nodes.some((n) => n.ifFails.stopped.length > 0);
  const open = nodes.some((n) => n.ifFails.errors !== undefined);
  const anyLocal = ids.some((r) => up.has(r) && local.has(r));
  const noShared = nodes.some((n) => n.ifFails.stopped.length > (n.ifFails.lost?.length ?? 0));
  return {
    nodes,
    nPlusOne: no ? false : open ? null : true,
    notRunning: ids.filter((r) => !up.has(r)).map((r) => names.get(r) ?? r).sort(),
    ...(anyLocal ? { nPlusOneShared: noShared ? false : open ? null : true } : {}),
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
