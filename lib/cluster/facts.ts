// Per node, what the CIB does not know: libvirt's and qemu's versions, the kernel, the CPU model,
// the cores and memory libvirt sees, and live counters (domstats, nodecpustats, nodememstats).
// Every node is asked in parallel through its remote URI; a node that does not answer in time
// gets nulls and a note, never a hang.
import { release } from 'node:os';
import { runOnNode } from '../host/remote.js';
import * as virsh from '../host/virsh.js';
import { hostCpu, type HostCpu } from './cpu-models.js';
import { parseCounters, parseDomstats, parseNodeinfo, parseVersion, type DomainCounters } from './libvirt.js';

export interface NodeAccess {
  /** libvirt URI of NODE. */
  uri: (node: string) => string;
  /** argv that runs ARGV on NODE (the node command), for what libvirt cannot tell. */
  command: (node: string, argv: readonly string[]) => string[];
  /** This host's node name: asked directly, not through the node command. */
  localNode?: string;
  timeoutMs?: number;
}

export interface HostFacts {
  node: string;
  libvirt: string | null;
  qemu: string | null;
  kernel: string | null;
  /** The node's own CPU (vendor, model, features): `corral hosts`' CPU-MODEL and the CPU check of host-passthrough VMs. */
  hostCpu: HostCpu | null;
  cpus: number | null;
  memoryMiB: number | null;
  /** What went wrong asking (empty: nothing). */
  problems: string[];
}

async function attempt<T>(problems: string[], what: string, f: () => Promise<T>): Promise<T | null> {
  try {
    return await f();
  } catch (e) {
    problems.push(`${what}: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

export async function hostFacts(node: string, access: NodeAccess): Promise<HostFacts> {
  const problems: string[] = [];
  // A node name corral will not put into a URI or a command ("-S", "n3;x"): its row, without facts.
  const uri = await attempt(problems, 'libvirt', async () => access.uri(node));
  if (uri === null) return { node, libvirt: null, qemu: null, kernel: null, hostCpu: null, cpus: null, memoryMiB: null, problems };
  const c: virsh.Virsh = { uri, timeoutMs: access.timeoutMs ?? 10_000 };
  const [ver, caps, info, kernel] = await Promise.all([
    attempt(problems, 'virsh version', async () => parseVersion(await virsh.version(c))),
    attempt(problems, 'virsh capabilities', async () => {
      return hostCpu(await virsh.capabilities(c));
    }),
    attempt(problems, 'virsh nodeinfo', async () => parseNodeinfo(await virsh.nodeinfo(c))),
    attempt(problems, 'uname -r', async () => {
      if (node === access.localNode) return release();
      const r = await runOnNode(access.command(node, ['uname', '-r']), access.timeoutMs ?? 10_000);
      if (r.exitCode !== 0) throw new Error((r.stderr || r.stdout || `exit ${r.exitCode}`).trim().split('\n').pop());
      return r.stdout.trim() || null;
    }),
  ]);
  return {
    node,
    libvirt: ver?.libvirt ?? null,
    qemu: ver?.qemu ?? null,
    kernel: kernel ?? null,
    hostCpu: caps ?? null,
    cpus: info?.cpus ?? null,
    memoryMiB: info?.memoryMiB ?? null,
    problems,
  };
}

export interface NodeSample {
  node: string;
  /** When the sample was taken (ms, monotonic enough: Date.now()). */
  at: number;
  domains: DomainCounters[];
  cpu: Record<string, number> | null;
  memory: Record<string, number> | null;
  problems: string[];
}

/** One reading of NODE's counters: every running domain, the node's CPU times and memory. */
export async function sampleNode(node: string, access: NodeAccess): Promise<NodeSample> {
  const problems: string[] = [];
  const uri = await attempt(problems, 'libvirt', async () => access.uri(node));
  if (uri === null) return { node, at: Date.now(), domains: [], cpu: null, memory: null, problems };
  const c: virsh.Virsh = { uri, timeoutMs: access.timeoutMs ?? 10_000 };
  const [domains, cpu, memory] = await Promise.all([
    attempt(problems, 'virsh domstats', async () => parseDomstats(await virsh.domstats(c))),
    attempt(problems, 'virsh nodecpustats', async () => parseCounters(await virsh.nodecpustats(c))),
    attempt(problems, 'virsh nodememstats', async () => parseCounters(await virsh.nodememstats(c))),
  ]);
  return { node, at: Date.now(), domains: domains ?? [], cpu, memory, problems };
}
