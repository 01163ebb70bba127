// The three tables of `corral`: list (every VM), hosts (every node) and stats (live rates), each
// as text for people and as JSON for scripts. The JSON field names are part of corral's interface:
// add fields, never rename or remove one.
import { constraintWord } from './constraints.js';
import { cpuWarningLine, hostCpuName, type CpuWarning } from './cpu-models.js';
import type { HostFacts } from './facts.js';
import { formatCount, formatMemory, formatPercent, formatRate, printable, renderTable, type Column } from './format.js';
import type { HostRates, VmRates } from './stats.js';
import { localDisksOn, type ClusterView, type HostView, type VmView } from './view.js';

// ---------------------------------------------------------------------------------------------
// corral list

export function listJson(vms: readonly VmView[], source: string) {
  return {
    source,
    vms: vms.map((v) => ({
      name: v.name,
      resource: v.resource,
      state: v.state,
      node: v.node,
      nodes: v.nodes,
      migratingTo: v.migratingTo,
      targetRole: v.targetRole,
      managed: v.managed,
      vcpus: v.vcpus,
      memoryMiB: v.memoryMiB,
      priority: v.priority,
      tags: v.tags,
      constraints: v.constraints,
      failCounts: Object.fromEntries(Object.entries(v.failCounts).map(([n, c]) => [n, Number.isFinite(c) ? c : 'INFINITY'])),
      // The node that holds the VM's disks (domadd --local), or null for shared storage.
      localDisksOn: localDisksOn(v) ?? null,
    })),
  };
}

function stateText(v: VmView): string {
  if (v.state === 'migrating') return v.migratingTo ? `migrating→${v.migratingTo}` : 'migrating';
  const extra = [!v.managed ? 'unmanaged' : '', Object.keys(v.failCounts).length ? 'failures' : ''].filter(Boolean);
  return extra.length ? `${v.state}(${extra.join(',')})` : v.state;
}

const listColumns: Column<VmView>[] = [
  { header: 'NAME', value: (v) => v.name },
  { header: 'NODE', value: (v) => (v.nodes.length > 1 ? v.nodes.join(',') : (v.node ?? '-')) },
  { header: 'STATE', value: stateText },
  { header: 'VCPUS', value: (v) => formatCount(v.vcpus), right: true },
  { header: 'MEMORY', value: (v) => formatMemory(v.memoryMiB), right: true },
  { header: 'PRIO', value: (v) => String(v.priority), right: true },
  { header: 'TAGS', value: (v) => v.tags.join(',') || '-' },
  { header: 'CONSTRAINTS', value: (v) => v.constraints.map(constraintWord).join(' ') || '-' },
];

export function listText(vms: readonly VmView[]): string {
  if (!vms.length) return 'no VMs\n';
  return renderTable(listColumns, vms);
}

// ---------------------------------------------------------------------------------------------
// corral hosts

export interface HostRow extends HostView {
  /** Where cpus/memoryMiB come from: the node's utilization (what Pacemaker places by), else libvirt. */
  capacitySource: 'utilization' | 'libvirt' | null;
  facts: HostFacts | null;
}

/** Hosts with facts; capacity falls back to what libvirt reports when the node has no utilization. */
export function hostRows(view: ClusterView, facts: readonly HostFacts[]): HostRow[] {
  return view.hosts.map((h) => {
    const f = facts.find((x) => x.node === h.name) ?? null;
    const cpus = h.cpus ?? f?.cpus ?? null;
    const memoryMiB = h.memoryMiB ?? f?.memoryMiB ?? null;
    return {
      ...h,
      cpus,
      memoryMiB,
      freeCpus: cpus === null ? null : cpus - h.allocCpus,
      freeMemoryMiB: memoryMiB === null ? null : memoryMiB - h.allocMemoryMiB,
      capacitySource: h.cpus !== null || h.memoryMiB !== null ? 'utilization' : f && (f.cpus !== null || f.memoryMiB !== null) ? 'libvirt' : null,
      facts: f,
    };
  });
}

export interface HostTotals {
  hosts: number;
  online: number;
  standby: number;
  offline: number;
  cores: number;
  vms: number;
  running: number;
  vcpusAllocated: number;
  memoryMiB: number;
  memoryFreeMiB: number;
}

export function hostTotals(view: ClusterView, rows: readonly HostRow[]): HostTotals {
  return {
    hosts: rows.length,
    online: rows.filter((r) => r.state === 'online').length,
    standby: rows.filter((r) => r.state === 'standby' || r.state === 'maintenance').length,
    offline: rows.filter((r) => !['online', 'standby', 'maintenance'].includes(r.state)).length,
    cores: rows.reduce((s, r) => s + (r.cpus ?? 0), 0),
    vms: view.vms.length,
    running: view.vms.filter((v) => v.state === 'running' || v.state === 'migrating').length,
    vcpusAllocated: rows.reduce((s, r) => s + r.allocCpus, 0),
    memoryMiB: rows.reduce((s, r) => s + (r.memoryMiB ?? 0), 0),
    memoryFreeMiB: rows.reduce((s, r) => s + (r.freeMemoryMiB ?? 0), 0),
  };
}

/** "3 hosts (2 online, 1 standby), 48 cores, 71 VMs (69 running); 96 vCPUs allocated; memory 80.2G free of 183.9G" */
export function totalsLine(t: HostTotals): string {
  const states = [`${t.online} online`, t.standby ? `${t.standby} standby` : '', t.offline ? `${t.offline} offline` : ''].filter(Boolean).join(', ');
  return (
    `${t.hosts} host${t.hosts === 1 ? '' : 's'} (${states}), ${t.cores} cores, ${t.vms} VM${t.vms === 1 ? '' : 's'} (${t.running} running); ` +
    `${t.vcpusAllocated} vCPUs allocated; memory ${formatMemory(t.memoryFreeMiB)} free of ${formatMemory(t.memoryMiB)}`
  );
}

/**
 * CPUWARNINGS: every VM whose CPU a node it may run on cannot provide (lib/cluster/cpu-models.ts);
 * null when not checked (--no-facts).
 */
export function hostsJson(rows: readonly HostRow[], totals: HostTotals, cpuWarnings: readonly CpuWarning[] | null = null) {
  return {
    hosts: rows.map((r) => ({
      name: r.name,
      id: r.id,
      state: r.state,
      dc: r.dc,
      cpus: r.cpus,
      cpusAllocated: r.allocCpus,
      cpusFree: r.freeCpus,
      memoryMiB: r.memoryMiB,
      memoryAllocatedMiB: r.allocMemoryMiB,
      memoryFreeMiB: r.freeMemoryMiB,
      capacitySource: r.capacitySource,
      vms: r.vms.length,
      vmNames: r.vms,
      libvirt: r.facts?.libvirt ?? null,
      qemu: r.facts?.qemu ?? null,
      kernel: r.facts?.kernel ?? null,
      cpuModel: hostCpuName(r.facts?.hostCpu),
      problems: r.facts?.problems ?? [],
      standby: r.standby,
      drainState: r.drainState,
      owes: r.owedVms.length,
      owedVms: r.owedVms,
    })),
    totals,
    cpuWarnings: cpuWarnings?.map((w) => ({ vm: w.vm, node: w.node, cpu: w.cpu, from: w.from, reason: w.reason })) ?? null,
  };
}

const hostColumns: Column<HostRow>[] = [
  { header: 'HOST', value: (r) => `${r.name}${r.dc ? '*' : ''}` },
  { header: 'STATE', value: (r) => r.state },
  { header: 'DRAIN', value: (r) => (r.drainState ? `${r.drainState}${r.owedVms.length ? `, owes ${r.owedVms.length}` : ''}` : r.owedVms.length ? `owes ${r.owedVms.length}` : '-') },
  { header: 'VMS', value: (r) => String(r.vms.length), right: true },
  { header: 'CPUS', value: (r) => formatCount(r.cpus), right: true },
  { header: 'CPU-USED', value: (r) => String(r.allocCpus), right: true },
  { header: 'CPU-FREE', value: (r) => formatCount(r.freeCpus), right: true },
  { header: 'MEMORY', value: (r) => formatMemory(r.memoryMiB), right: true },
  { header: 'MEM-USED', value: (r) => formatMemory(r.allocMemoryMiB), right: true },
  { header: 'MEM-FREE', value: (r) => formatMemory(r.freeMemoryMiB), right: true },
  { header: 'LIBVIRT', value: (r) => r.facts?.libvirt ?? '-' },
  { header: 'QEMU', value: (r) => r.facts?.qemu ?? '-' },
  { header: 'KERNEL', value: (r) => r.facts?.kernel ?? '-' },
  { header: 'CPU-MODEL', value: (r) => hostCpuName(r.facts?.hostCpu) ?? '-' },
];

export function hostsText(rows: readonly HostRow[], totals: HostTotals, cpuWarnings: readonly CpuWarning[] = []): string {
  const warnings = cpuWarnings.map((w) => `warning: ${printable(cpuWarningLine(w))}\n`).join('');
  return `${renderTable(hostColumns, rows)}${totalsLine(totals)}\n${warnings}`;
}

// ---------------------------------------------------------------------------------------------
// corral stats

export function statsJson(intervalSeconds: number, hosts: readonly HostRates[], vms: readonly VmRates[]) {
  return {
    intervalSeconds,
    hosts: hosts.map((h) => ({
      name: h.node,
      cpuPercent: h.cpuPercent,
      memoryTotalMiB: h.memoryTotalMiB,
      memoryUsedMiB: h.memoryUsedMiB,
      vms: h.vms,
      diskReadBps: h.diskReadBps,
      diskWriteBps: h.diskWriteBps,
      netRxBps: h.netRxBps,
      netTxBps: h.netTxBps,
      problems: h.problems,
    })),
    vms: vms.map((v) => ({
      name: v.name,
      node: v.node,
      cpuPercent: v.cpuPercent,
      vcpus: v.vcpus,
      memoryMiB: v.memoryMiB,
      rssMiB: v.rssMiB,
      diskReadBps: v.diskReadBps,
      diskWriteBps: v.diskWriteBps,
      netRxBps: v.netRxBps,
      netTxBps: v.netTxBps,
    })),
  };
}

export function statsText(hosts: readonly HostRates[], vms: readonly VmRates[]): string {
  const h = renderTable<HostRates>(
    [
      { header: 'HOST', value: (r) => r.node },
      { header: 'CPU', value: (r) => formatPercent(r.cpuPercent), right: true },
      { header: 'MEM-USED', value: (r) => formatMemory(r.memoryUsedMiB), right: true },
      { header: 'MEMORY', value: (r) => formatMemory(r.memoryTotalMiB), right: true },
      { header: 'VMS', value: (r) => String(r.vms), right: true },
      { header: 'DISK-RD', value: (r) => formatRate(r.diskReadBps), right: true },
      { header: 'DISK-WR', value: (r) => formatRate(r.diskWriteBps), right: true },
      { header: 'NET-RX', value: (r) => formatRate(r.netRxBps), right: true },
      { header: 'NET-TX', value: (r) => formatRate(r.netTxBps), right: true },
    ],
    hosts,
  );
  const v = renderTable<VmRates>(
    [
      { header: 'VM', value: (r) => r.name },
      { header: 'HOST', value: (r) => r.node },
      { header: 'CPU', value: (r) => formatPercent(r.cpuPercent), right: true },
      { header: 'VCPUS', value: (r) => formatCount(r.vcpus), right: true },
      { header: 'MEMORY', value: (r) => formatMemory(r.memoryMiB), right: true },
      { header: 'RSS', value: (r) => formatMemory(r.rssMiB), right: true },
      { header: 'DISK-RD', value: (r) => formatRate(r.diskReadBps), right: true },
      { header: 'DISK-WR', value: (r) => formatRate(r.diskWriteBps), right: true },
      { header: 'NET-RX', value: (r) => formatRate(r.netRxBps), right: true },
      { header: 'NET-TX', value: (r) => formatRate(r.netTxBps), right: true },
    ],
    vms,
  );
  return `${h}\n${vms.length ? v : 'no running VMs\n'}`;
}
