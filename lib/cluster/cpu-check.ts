// corral hosts' CPU check: for every VM, whether each node it may run on can provide its CPU,
// asked of each node's libvirt (virsh domcapabilities and hypervisor-cpu-compare through
// lib/host/virsh.ts), in parallel and bounded in time. The rules are lib/cluster/cpu-models.ts.
import { corralVms, type Cib } from '../cib/model.js';
import * as virsh from '../host/virsh.js';
import { checkCpuModels, mayRunOn, vmCpu, type CpuAsker, type CpuCheck, type CpuCheckOptions, type CpuCheckVm, type HostCpu } from './cpu-models.js';
import type { HostFacts, NodeAccess } from './facts.js';
import type { ClusterView } from './view.js';

/** Asks NODE's libvirt through its URI, each call bounded by access.timeoutMs. */
export function virshCpuAsker(access: NodeAccess): CpuAsker {
  const conn = (node: string): virsh.Virsh => ({ uri: access.uri(node), timeoutMs: access.timeoutMs ?? 10_000 });
  return {
    domcapabilities: (node, platform) => virsh.domcapabilitiesXml(conn(node), platform),
    compare: (node, cpu, platform) => virsh.hypervisorCpuCompare(conn(node), cpu, platform),
  };
}

/**
 * The VMs of CIB with their CPU and the nodes they may run on, among the nodes whose libvirt
 * answered (FACTS without a libvirt problem). Also says which nodes were not asked and why.
 */
export function cpuCheckInput(
  cib: Cib,
  view: ClusterView,
  facts: readonly HostFacts[],
): { vms: CpuCheckVm[]; hosts: Map<string, HostCpu | null>; notAsked: { node: string; why: string }[] } {
  const asked = facts.filter((f) => f.libvirt !== null || f.hostCpu !== null).map((f) => f.node);
  const notAsked = view.hosts
    .filter((h) => !asked.includes(h.name))
    .map((h) => ({ node: h.name, why: h.online ? 'its libvirt did not answer' : `it is ${h.state}` }));
  const all = view.hosts.map((h) => h.name);
  const configs = new Map(corralVms(cib).map((v) => [v.name, v.config]));
  const vms = view.vms.map((v): CpuCheckVm => {
    let cpu: CpuCheckVm['cpu'] = null;
    const config = configs.get(v.name);
    if (config) {
      try {
        cpu = vmCpu(config);
      } catch {
        // an unreadable domain XML: corral list and domadd say so; nothing to check here
      }
    }
    return { name: v.name, cpu, nodes: mayRunOn(v, all).filter((n) => asked.includes(n)) };
  });
  return { vms, hosts: new Map(facts.map((f) => [f.node, f.hostCpu])), notAsked };
}

/** The CPU check of the cluster in CIB/VIEW, asking the nodes FACTS answered for. */
export async function clusterCpuCheck(
  cib: Cib,
  view: ClusterView,
  facts: readonly HostFacts[],
  access: NodeAccess,
  opts: CpuCheckOptions = {},
): Promise<CpuCheck & { notAsked: { node: string; why: string }[] }> {
  const input = cpuCheckInput(cib, view, facts);
  const check = await checkCpuModels(input.vms, input.hosts, virshCpuAsker(access), opts);
  return { ...check, notAsked: input.notAsked };
}
