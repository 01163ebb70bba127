// Generated clusters for the rebalance planner's tests and bench: a cluster view (no CIB) of N
// nodes and M running VMs of mixed sizes, placed unevenly (some nodes fuller than others, one node
// just rejoined empty), every placement within Pacemaker's capacity. Deterministic for a seed.
import type { ClusterView, HostView, VmView } from '../../lib/cluster/view.js';

export interface GenOptions {
  nodes: number;
  vms: number;
  seed?: number;
  /** Nodes (by index) that are empty, as after a rejoin (default: the last one). */
  empty?: number[];
  /** Nodes (by index) in standby, VMs still on them. */
  standby?: number[];
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

export function generatedView(o: GenOptions): ClusterView {
  const r = rng(o.seed ?? 1);
  const empty = new Set(o.empty ?? [o.nodes - 1]);
  const standby = new Set(o.standby ?? []);
  // Enough room for every VM with some to spare: node sizes scale with the VMs per node.
  const perNode = Math.max(1, o.vms / Math.max(1, o.nodes - empty.size));
  const nodes = Array.from({ length: o.nodes }, (_, i) => {
    const big = r() < 0.5 ? 1 : 1.5;
    return { name: `n${i + 1}`, cpus: Math.ceil(perNode * 4 * big * 1.6), memoryMiB: Math.ceil(perNode * 4096 * big * 1.6), weight: 0.3 + r() * 2 };
  });
  const sizes = [
    { vcpus: 1, memoryMiB: 1024 },
    { vcpus: 1, memoryMiB: 2048 },
    { vcpus: 2, memoryMiB: 2048 },
    { vcpus: 2, memoryMiB: 4096 },
    { vcpus: 4, memoryMiB: 8192 },
    { vcpus: 8, memoryMiB: 8192 },
  ];
  const cpu = nodes.map(() => 0);
  const mem = nodes.map(() => 0);
  const vms: VmView[] = [];
  for (let i = 0; i < o.vms; i++) {
    const size = pick(r, sizes);
    // Weighted choice among nodes with room (skewed placement), else any with room.
    const fits = nodes.map((n, k) => k).filter((k) => !empty.has(k) && (cpu[k] as number) + size.vcpus <= (nodes[k] as { cpus: number }).cpus && (mem[k] as number) + size.memoryMiB <= (nodes[k] as { memoryMiB: number }).memoryMiB);
    if (fits.length === 0) continue;
    const total = fits.reduce((a, k) => a + (nodes[k] as { weight: number }).weight, 0);
    let x = r() * total;
    let at = fits[0] as number;
    for (const k of fits) {
      x -= (nodes[k] as { weight: number }).weight;
      if (x <= 0) {
        at = k;
        break;
      }
    }
    cpu[at] = (cpu[at] as number) + size.vcpus;
    mem[at] = (mem[at] as number) + size.memoryMiB;
    const node = (nodes[at] as { name: string }).name;
    vms.push({
      name: `vm${i + 1}`,
      resource: `vm-vm${i + 1}`,
      state: 'running',
      node,
      nodes: [node],
      migratingTo: null,
      targetRole: null,
      managed: true,
      vcpus: size.vcpus,
      memoryMiB: size.memoryMiB,
      priority: 0,
      tags: [],
      constraints: [],
      failCounts: {},
      lastFailure: null,
    });
  }
  const hosts: HostView[] = nodes.map((n, k) => {
    const here = vms.filter((v) => v.node === n.name);
    return {
      name: n.name,
      id: String(k + 1),
      state: standby.has(k) ? 'standby' : 'online',
      online: true,
      standby: standby.has(k),
      maintenance: false,
      dc: k === 0,
      cpus: n.cpus,
      memoryMiB: n.memoryMiB,
      allocCpus: cpu[k] as number,
      allocMemoryMiB: mem[k] as number,
      freeCpus: n.cpus - (cpu[k] as number),
      freeMemoryMiB: n.memoryMiB - (mem[k] as number),
      vms: here.map((v) => v.name),
      drainState: null,
      owedVms: [],
    } as HostView;
  });
  return {
    vms,
    hosts,
    status: { nodes: hosts.map((h) => ({ name: h.name, id: h.id, state: h.state, online: h.online, standby: h.standby, maintenance: h.maintenance, dc: h.dc })), quorum: true, resources: new Map(), needsPacemaker: [], source: 'cib' },
    byResource: new Map(vms.map((v) => [v.resource, v])),
  };
}
