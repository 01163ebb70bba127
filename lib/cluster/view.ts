// The cluster at a glance: every VM (where, state, size, priority, tags, constraints) and every
// node (state, capacity, what is allocated, what is free), from one CIB snapshot: the
// configuration plus the status as lib/cluster/status.ts (or crm_mon) reads it.
import { corralVms, kid, kids, nvpairs, type Cib, type CibVm } from '../cib/model.js';
import { DRAIN_STATE_ATTR, DRAINED_ATTR } from '../cib/nodes.js';
import { domainFromConfig } from '../cib/config.js';
import { domainUtilization } from '../domain/utilization.js';
import { constraintIndex, summarizeConstraints, type ConstraintSummary } from './constraints.js';
import type { ClusterStatus, NodeStatus, OpFailure, ResourceRole } from './status.js';

type VmState = 'running' | 'stopped' | 'disabled' | 'starting' | 'stopping' | 'migrating' | 'failed' | 'unknown';

export interface VmView {
  name: string;
  resource: string;
  state: VmState;
  /** The node it runs on (while migrating: the source), or null. */
  node: string | null;
  /** Every node it is active on (more than one only in trouble). */
  nodes: string[];
  migratingTo: string | null;
  /** The target-role meta attribute, when set. */
  targetRole: string | null;
  managed: boolean;
  vcpus: number | null;
  memoryMiB: number | null;
  priority: number;
  tags: string[];
  constraints: ConstraintSummary[];
  /** Fail counts per node (only nodes with failures). */
  failCounts: Record<string, number>;
  /** The newest failure still on record, or null. */
  lastFailure: OpFailure | null;
}

export interface HostView extends NodeStatus {
  /** Capacity from the node's utilization (nodecap): cpu and hv_memory; null when not set. */
  cpus: number | null;
  memoryMiB: number | null;
  /** What the VMs running there ask for (their utilization). */
  allocCpus: number;
  allocMemoryMiB: number;
  freeCpus: number | null;
  freeMemoryMiB: number | null;
  /** VMs running there (and migrating away). */
  vms: string[];
  /** corral node drain's state for this node (draining, drained, interrupted), or null. */
  drainState: string | null;
  /** VMs the drain took off this node that do not run on it now (undrain --return brings them back). */
  owedVms: string[];
}

export interface ClusterView {
  vms: VmView[];
  hosts: HostView[];
  status: ClusterStatus;
  /** Resource id of a VM → the VM. */
  byResource: Map<string, VmView>;
}

function int(v: string | undefined): number | null {
  if (v === undefined || !/^-?\d+$/.test(v.trim())) return null;
  return Number(v);
}

function roleState(role: ResourceRole, targetRole: string | null): VmState {
  switch (role) {
    case 'Started':
      return 'running';
    case 'Stopped':
      return targetRole !== null && /^stopped$/i.test(targetRole) ? 'disabled' : 'stopped';
    case 'Starting':
      return 'starting';
    case 'Stopping':
      return 'stopping';
    case 'Migrating':
      return 'migrating';
    case 'Failed':
      return 'failed';
    default:
      return 'unknown';
  }
}

/** vCPUs and memory of a VM: its utilization, else (rarely) its domain XML. */
function size(vm: CibVm): { vcpus: number | null; memoryMiB: number | null } {
  let vcpus = int(vm.resource.utilization.cpu);
  let memoryMiB = int(vm.resource.utilization.hv_memory);
  if ((vcpus === null || memoryMiB === null) && vm.config) {
    try {
      const u = domainUtilization(domainFromConfig(vm.config));
      vcpus ??= u.cpu;
      memoryMiB ??= u.memoryMiB;
    } catch {
      // an unreadable domain XML: the size stays unknown
    }
  }
  return { vcpus, memoryMiB };
}

export function buildView(cib: Cib, status: ClusterStatus): ClusterView {
  const index = constraintIndex(cib);
  const tagsOf = new Map<string, string[]>();
  for (const [tag, members] of cib.tags) {
    for (const m of members) {
      const list = tagsOf.get(m);
      if (list) list.push(tag);
      else tagsOf.set(m, [tag]);
    }
  }
  const rscDefaults = nvpairs(kid(cib.configuration, 'rsc_defaults'), 'meta_attributes');

  const vms: VmView[] = corralVms(cib).map((vm) => {
    const st = status.resources.get(vm.resourceId);
    const meta = vm.resource.meta;
    const targetRole = meta['target-role'] ?? null;
    const role = st?.role ?? 'Stopped';
    const tags = (tagsOf.get(vm.resourceId) ?? []).sort();
    const managedText = meta['is-managed'] ?? rscDefaults['is-managed'];
    return {
      name: vm.name,
      resource: vm.resourceId,
      state: roleState(role, targetRole),
      node: st?.migration?.from ?? st?.nodes[0] ?? null,
      nodes: st?.nodes ?? [],
      migratingTo: st?.migration?.to ?? null,
      targetRole,
      managed: managedText === undefined || !/^(false|no|off|0)$/i.test(managedText),
      ...size(vm),
      priority: int(meta.priority ?? rscDefaults.priority) ?? 0,
      tags,
      constraints: summarizeConstraints(vm.resourceId, tags, index),
      failCounts: st?.failCounts ?? {},
      lastFailure: st?.lastFailure ?? null,
    };
  });
  vms.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));

  const byNode = new Map<string, VmView[]>();
  for (const vm of vms) {
    for (const n of vm.nodes) {
      const list = byNode.get(n);
      if (list) list.push(vm);
      else byNode.set(n, [vm]);
    }
  }
  const nodeAttrs = new Map(configNodes(cib).map((n) => [n.uname, n.attrs]));
  const hosts: HostView[] = status.nodes.map((n) => {
    const util = cib.node(n.name)?.utilization ?? {};
    const cpus = int(util.cpu);
    const memoryMiB = int(util.hv_memory);
    const here = byNode.get(n.name) ?? [];
    const allocCpus = here.reduce((s, v) => s + (v.vcpus ?? 0), 0);
    const allocMemoryMiB = here.reduce((s, v) => s + (v.memoryMiB ?? 0), 0);
    return {
      name: n.name,
      id: n.id,
      state: n.state,
      online: n.online,
      standby: n.standby,
      maintenance: n.maintenance,
      dc: n.dc,
      cpus,
      memoryMiB,
      allocCpus,
      allocMemoryMiB,
      freeCpus: cpus === null ? null : cpus - allocCpus,
      freeMemoryMiB: memoryMiB === null ? null : memoryMiB - allocMemoryMiB,
      vms: here.map((v) => v.name),
      drainState: nodeAttrs.get(n.name)?.[DRAIN_STATE_ATTR] ?? null,
      owedVms: (nodeAttrs.get(n.name)?.[DRAINED_ATTR] ?? '')
        .split(/[\s,]+/)
        .filter((name) => name && !here.some((v) => v.name === name)),
    };
  });
  hosts.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  return { vms, hosts, status, byResource: new Map(vms.map((v) => [v.resource, v])) };
}

/** Nodes of the configuration with their permanent attributes (standby, maintenance). */
export function configNodes(cib: Cib): { id: string; uname: string; attrs: Record<string, string> }[] {
  return kids(kid(cib.configuration, 'nodes'), 'node').map((n) => ({
    id: n.attrs.id ?? '',
    uname: n.attrs.uname ?? '',
    attrs: nvpairs(n, 'instance_attributes'),
  }));
}

/** The node that holds V's disks (its vm-NAME-local constraint: domadd --local), or undefined for shared storage. */
export function localDisksOn(v: Pick<VmView, 'constraints'>): string | undefined {
  return v.constraints.find((c) => c.kind === 'local')?.nodes?.[0];
}
