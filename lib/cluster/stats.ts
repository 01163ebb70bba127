// Live rates from two readings of each node's counters (lib/cluster/facts.ts sampleNode): per
// VM CPU (100 % = one core busy), memory, disk and network throughput; per host CPU use (100 % =
// every core busy), memory in use, and the sums of its VMs' disk and network traffic.
import type { NodeSample } from './facts.js';

export interface VmRates {
  name: string;
  node: string;
  /** CPU time used per wall time, in % of one core. */
  cpuPercent: number | null;
  vcpus: number | null;
  memoryMiB: number | null;
  rssMiB: number | null;
  diskReadBps: number;
  diskWriteBps: number;
  netRxBps: number;
  netTxBps: number;
}

export interface HostRates {
  node: string;
  /** Share of all cores busy, %. */
  cpuPercent: number | null;
  memoryTotalMiB: number | null;
  memoryUsedMiB: number | null;
  vms: number;
  diskReadBps: number;
  diskWriteBps: number;
  netRxBps: number;
  netTxBps: number;
  problems: string[];
}

function rate(a: number | null, b: number | null, seconds: number): number | null {
  if (a === null || b === null || seconds <= 0) return null;
  return Math.max(0, (b - a) / seconds);
}

/** Host CPU busy share between two nodecpustats readings (user, system, idle, iowait in ns). */
export function hostCpuPercent(a: Record<string, number> | null, b: Record<string, number> | null): number | null {
  if (!a || !b) return null;
  const keys = ['user', 'system', 'idle', 'iowait'];
  if (!keys.every((k) => k in a && k in b)) return null;
  const total = keys.reduce((s, k) => s + ((b[k] as number) - (a[k] as number)), 0);
  if (total <= 0) return null;
  const idle = (b.idle as number) - (a.idle as number) + ((b.iowait as number) - (a.iowait as number));
  return Math.min(100, Math.max(0, 100 * (1 - idle / total)));
}

export function computeRates(first: readonly NodeSample[], second: readonly NodeSample[]): { hosts: HostRates[]; vms: VmRates[] } {
  const hosts: HostRates[] = [];
  const vms: VmRates[] = [];
  for (const b of second) {
    const a = first.find((s) => s.node === b.node);
    const seconds = a ? (b.at - a.at) / 1000 : 0;
    const here: VmRates[] = [];
    for (const d of b.domains) {
      const prev = a?.domains.find((x) => x.name === d.name);
      const cpu = prev && seconds > 0 && d.cpuTimeNs !== null && prev.cpuTimeNs !== null ? (100 * (d.cpuTimeNs - prev.cpuTimeNs)) / (seconds * 1e9) : null;
      here.push({
        name: d.name,
        node: b.node,
        cpuPercent: cpu === null ? null : Math.max(0, cpu),
        vcpus: d.vcpus,
        memoryMiB: d.memoryKiB === null ? null : Math.round(d.memoryKiB / 1024),
        rssMiB: d.rssKiB === null ? null : Math.round(d.rssKiB / 1024),
        diskReadBps: (prev && rate(prev.blockReadBytes, d.blockReadBytes, seconds)) ?? 0,
        diskWriteBps: (prev && rate(prev.blockWriteBytes, d.blockWriteBytes, seconds)) ?? 0,
        netRxBps: (prev && rate(prev.netRxBytes, d.netRxBytes, seconds)) ?? 0,
        netTxBps: (prev && rate(prev.netTxBytes, d.netTxBytes, seconds)) ?? 0,
      });
    }
    const mem = b.memory;
    const total = mem?.total ?? null;
    const free = mem ? (mem.free ?? 0) + (mem.buffers ?? 0) + (mem.cached ?? 0) : null;
    const sum = (k: 'diskReadBps' | 'diskWriteBps' | 'netRxBps' | 'netTxBps') => here.reduce((s, v) => s + v[k], 0);
    hosts.push({
      node: b.node,
      cpuPercent: hostCpuPercent(a?.cpu ?? null, b.cpu),
      memoryTotalMiB: total === null ? null : Math.round(total / 1024),
      memoryUsedMiB: total === null || free === null ? null : Math.round((total - free) / 1024),
      vms: here.length,
      diskReadBps: sum('diskReadBps'),
      diskWriteBps: sum('diskWriteBps'),
      netRxBps: sum('netRxBps'),
      netTxBps: sum('netTxBps'),
      problems: [...new Set([...(a?.problems ?? []), ...b.problems])],
    });
    vms.push(...here);
  }
  hosts.sort((x, y) => x.node.localeCompare(y.node, 'en', { numeric: true }));
  vms.sort((x, y) => x.name.localeCompare(y.name, 'en', { numeric: true }));
  return { hosts, vms };
}
