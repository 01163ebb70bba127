// The drain planner: what Pacemaker would do with the VMs of NODES if those nodes were put in
// standby. Pure: the cluster view before, and crm_simulate's answer for a copy of the CIB with the
// nodes in standby (lib/ops/maintenance.ts asks it), in; the plan out. Pacemaker decides where
// each VM goes; this only reads its decision and says, for a VM that would stop, why that is
// likely (only-on, anti-affinity, capacity), from the constraints and sizes it can see.
import type { ClusterView, HostView, VmView } from '../cluster/view.js';

/** One resource action of a simulated transition (lib/host/pacemaker/simulate.ts SimulatedAction). */
interface SimAction {
  action: string;
  resource: string;
  node?: string;
  source?: string;
  reason?: string;
}

export interface Simulated {
  /** resource id → nodes it is active on after the transition ([] = stopped) */
  placement: ReadonlyMap<string, readonly string[]>;
  actions: readonly SimAction[];
}

export interface PlannedMove {
  vm: string;
  from: string;
  to: string;
  /** A live migration (false: Pacemaker would stop it and start it there). */
  live: boolean;
  /** Its disks are local to FROM: they are copied live to TO with its memory (domadd --local). */
  copy?: true;
}

export interface PlannedStop {
  vm: string;
  from: string;
  why: string;
}

export interface DrainPlan {
  nodes: string[];
  moves: PlannedMove[];
  /** VMs that would stop: VMs of the drained nodes that cannot move, and others that make room for them. */
  stops: PlannedStop[];
  /** What else the transition would do to VMs not on the drained nodes (restarts, starts …). */
  sideEffects: string[];
}

function vmOf(view: ClusterView, rid: string): VmView | undefined {
  return view.byResource.get(rid);
}

/**
 * The plan for draining NODES, from VIEW (now) and SIM (crm_simulate on the CIB with NODES in
 * standby). Every VM active on a drained node either moves (live or not) or stops. LOCAL (VM name
 * → the node that holds its disks) names the VMs on local disks: SIM must be asked with each
 * one's constraint naming its target (lib/ops/maintenance.ts does), and such a VM moves only live.
 */
export function planDrain(view: ClusterView, nodes: readonly string[], sim: Simulated, local: ReadonlyMap<string, string> = new Map()): DrainPlan {
  const drained = new Set(nodes);
  const moves: PlannedMove[] = [];
  const stops: PlannedStop[] = [];
  const sideEffects: string[] = [];
  const byRsc = new Map<string, SimAction[]>();
  for (const a of sim.actions) {
    const list = byRsc.get(a.resource);
    if (list) list.push(a);
    else byRsc.set(a.resource, [a]);
  }
  for (const vm of view.vms) {
    const from = vm.nodes.find((n) => drained.has(n));
    const acts = byRsc.get(vm.resource) ?? [];
    if (from === undefined) {
      const stopsNow = vm.nodes.length > 0 && (sim.placement.get(vm.resource) ?? []).length === 0;
      if (stopsNow) stops.push({ vm: vm.name, from: vm.nodes[0] as string, why: 'it would be stopped to make room for the drained VMs (their priority is higher, or they are placed first)' });
      else for (const a of acts) sideEffects.push(describe(vm.name, a));
      continue;
    }
    const after = (sim.placement.get(vm.resource) ?? []).filter((n) => !drained.has(n));
    const to = after[0];
    const disks = local.get(vm.name);
    if (to === undefined) {
      const why = whyStopped(view, vm, drained);
      stops.push({ vm: vm.name, from, why: disks ? `its disks are local to ${disks}: it leaves only by a live copy of them, and Pacemaker would place it on no other node (${why})` : why });
      continue;
    }
    const live = acts.some((a) => a.action.toLowerCase() === 'migrate');
    if (disks && !live) {
      // A stop and a start elsewhere would find no disks there: only a live migration copies them.
      stops.push({ vm: vm.name, from, why: `its disks are local to ${disks} and it cannot migrate live (allow-migrate is off): started on ${to} it would find no disks` });
      continue;
    }
    moves.push({ vm: vm.name, from, to, live, ...(disks ? { copy: true as const } : {}) });
  }
  moves.sort((a, b) => a.from.localeCompare(b.from) || a.vm.localeCompare(b.vm, 'en', { numeric: true }));
  return { nodes: [...nodes], moves, stops, sideEffects };
}

function describe(vm: string, a: SimAction): string {
  const where = a.source && a.node ? `${a.source} → ${a.node}` : (a.node ?? a.source ?? '');
  return `${vm}: ${a.action.toLowerCase()}${where ? ` (${where})` : ''}${a.reason ? `, ${a.reason}` : ''}`;
}

/** Nodes that could take a VM at all: online, not in standby, not being drained. */
function candidates(view: ClusterView, drained: ReadonlySet<string>): HostView[] {
  return view.hosts.filter((h) => h.online && !h.standby && !h.maintenance && !drained.has(h.name));
}

/** The likeliest reason Pacemaker leaves VM stopped, in words an operator acts on. */
function whyStopped(view: ClusterView, vm: VmView, drained: ReadonlySet<string>): string {
  const left = candidates(view, drained);
  if (left.length === 0) return 'no other node is online and out of standby';
  const onlyOn = vm.constraints.filter((c) => c.kind === 'only-on').flatMap((c) => c.nodes ?? []);
  if (onlyOn.length && !left.some((h) => onlyOn.includes(h.name))) {
    return `it may run only on ${onlyOn.join(', ')} (--only-on)`;
  }
  const banned = new Set(vm.constraints.filter((c) => c.kind === 'avoid-node' || c.kind === 'banned').flatMap((c) => c.nodes ?? []));
  const allowed = left.filter((h) => !banned.has(h.name) && (!onlyOn.length || onlyOn.includes(h.name)));
  if (allowed.length === 0) return `every other node is banned for it (${[...banned].join(', ')})`;
  const apart = vm.constraints.filter((c) => (c.kind === 'apart' && /^-INFINITY$/i.test(c.score ?? '')) || (c.kind === 'group' && /^-INFINITY$/i.test(c.score ?? '')));
  if (apart.length) {
    const kept = new Set<string>();
    for (const c of apart) {
      const others = c.kind === 'apart' ? view.vms.filter((v) => v.name === c.other) : view.vms.filter((v) => v.name !== vm.name && v.tags.includes(c.tag ?? ''));
      for (const o of others) for (const n of o.nodes) kept.add(n);
    }
    if (allowed.every((h) => kept.has(h.name))) {
      return `anti-affinity: every node it may use already runs a VM it must avoid (${apart.map((c) => (c.kind === 'group' ? `group ${c.tag}` : c.other)).join(', ')})`;
    }
  }
  const fits = allowed.filter((h) => (h.freeCpus === null || h.freeCpus >= (vm.vcpus ?? 0)) && (h.freeMemoryMiB === null || h.freeMemoryMiB >= (vm.memoryMiB ?? 0)));
  if (fits.length === 0) {
    const best = [...allowed].sort((a, b) => (b.freeMemoryMiB ?? 0) - (a.freeMemoryMiB ?? 0))[0];
    return `capacity: it needs ${vm.vcpus ?? '?'} vCPU and ${vm.memoryMiB ?? '?'} MiB; the most free is ${best?.freeCpus ?? '?'} vCPU, ${best?.freeMemoryMiB ?? '?'} MiB on ${best?.name ?? '?'}`;
  }
  return 'Pacemaker places it nowhere (capacity taken by VMs of higher priority, or constraints)';
}
