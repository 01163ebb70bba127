// Can every node a VM may run on give it its CPU? A live migration needs the target to provide the
// very CPU the guest runs with; corral hosts asks each node's libvirt (lib/cluster/cpu-check.ts
// does the asking through lib/host/virsh.ts). This file holds the rules, pure:
// - which CPU a VM asks for (its domain XML's <cpu>);
// - which nodes it may run on (its location constraints);
// - what each VM needs asked, of which node, and what the answers mean.
//
// By CPU mode:
// - a named model (mode custom): `virsh hypervisor-cpu-compare` of the VM's <cpu> on each node.
// - host-model: libvirt expands it on the node where the VM starts, and a migration carries that
//   expansion. So the host-model CPU of every node it may start on (`virsh domcapabilities`) must
//   be available on every other node it may run on: compared pairwise, once per pair of nodes
//   whose host-model CPUs differ.
// - host-passthrough (and maximum under KVM): the guest sees the host's own CPU, and libvirt does
//   not check a migration's target; the nodes' host CPUs (vendor, model, features from `virsh
//   capabilities`) must be the same: a node whose CPU has another vendor or model, or lacks a
//   feature another node's has, is warned about (a superset of the same model is not).
// - no <cpu> model (TCG's default, or topology only): the hypervisor's default model (qemu64),
//   which every x86 node provides: nothing to ask.
import { callLimit } from './limit.js';
import { kid, kids, parseXNode, type XNode } from '../cib/model.js';
import type { VmView } from './view.js';

interface Platform {
  virttype?: string;
  emulator?: string;
  arch?: string;
  machine?: string;
}

type CpuMode = 'default' | 'host-model' | 'host-passthrough' | 'maximum' | 'custom';

export interface VmCpu {
  mode: CpuMode;
  /** The named model (custom), else null. */
  model: string | null;
  /**
   * custom: the domain XML, what hypervisor-cpu-compare is given (virsh takes the <cpu> out of a
   * domain XML itself), and KEY the same for the same <cpu>; else null.
   */
  xml: string | null;
  key: string | null;
  platform: Platform;
}

/** N as plain data, for comparing: tag, attributes (sorted), text, children. */
function shape(n: XNode): unknown {
  return [n.tag, Object.entries(n.attrs).sort(), n.text.trim(), n.children.map(shape)];
}

/** The CPU a domain XML (a TransientDomain's config) asks for. Throws when it is not well-formed. */
export function vmCpu(config: string): VmCpu {
  const dom = parseXNode(config);
  const type = kid(kid(dom, 'os'), 'type');
  const platform: Platform = {};
  if (dom.attrs.type) platform.virttype = dom.attrs.type;
  const emulator = kid(kid(dom, 'devices'), 'emulator')?.text.trim();
  if (emulator) platform.emulator = emulator;
  if (type?.attrs.arch) platform.arch = type.attrs.arch;
  if (type?.attrs.machine) platform.machine = type.attrs.machine;
  const none = { model: null, xml: null, key: null, platform };
  const cpu = kid(dom, 'cpu');
  if (dom.tag !== 'domain' || !cpu) return { mode: 'default', ...none };
  const mode = cpu.attrs.mode ?? 'custom';
  if (mode === 'host-model' || mode === 'host-passthrough' || mode === 'maximum') return { mode, ...none };
  const model = kid(cpu, 'model')?.text.trim() || null;
  if (mode !== 'custom' || model === null) return { mode: 'default', ...none };
  return { mode: 'custom', model, xml: config, key: JSON.stringify(shape(cpu)), platform };
}

const NEG_INF = /^-INFINITY$/i;

/**
 * The nodes of NODES that VM may run on: --only-on narrows them, bans (crm_resource --ban) and
 * -INFINITY location scores take nodes away. --pin, preferences and moves do not: the VM still
 * fails over to another node when its own fails, and is live migrated back later.
 */
export function mayRunOn(vm: Pick<VmView, 'constraints'>, nodes: readonly string[]): string[] {
  let allowed = [...nodes];
  for (const c of vm.constraints) {
    const named = c.nodes ?? [];
    if (c.kind === 'only-on') allowed = allowed.filter((n) => named.includes(n));
    else if (c.kind === 'banned' || (c.kind === 'avoid-node' && NEG_INF.test(c.score ?? ''))) allowed = allowed.filter((n) => !named.includes(n));
  }
  return allowed;
}

/** A node's own CPU (`virsh capabilities`, host/cpu): vendor, model and feature names. */
export interface HostCpu {
  vendor: string | null;
  model: string | null;
  features: string[];
}

export function hostCpu(capabilitiesXml: string): HostCpu | null {
  const cpu = kid(kid(parseXNode(capabilitiesXml), 'host'), 'cpu');
  if (!cpu) return null;
  return {
    vendor: kid(cpu, 'vendor')?.text.trim() || null,
    model: kid(cpu, 'model')?.text.trim() || null,
    features: kids(cpu, 'feature')
      .map((f) => f.attrs.name ?? '')
      .filter(Boolean)
      .sort(),
  };
}

/** The host CPU as libvirt names it: "AMD EPYC-Rome", "Intel Skylake-Server-IBRS"; null if it says neither. */
export function hostCpuName(c: HostCpu | null | undefined): string | null {
  return [c?.vendor, c?.model].filter(Boolean).join(' ') || null;
}

/** The host-model CPU of a node's `virsh domcapabilities`: its model, and a key equal for equal CPUs. */
export function hostModelCpu(domcapabilitiesXml: string): { supported: boolean; model: string | null; key: string } {
  const mode = kids(kid(parseXNode(domcapabilitiesXml), 'cpu'), 'mode').find((m) => m.attrs.name === 'host-model');
  if (!mode || mode.attrs.supported !== 'yes') return { supported: false, model: null, key: '' };
  const model = kid(mode, 'model')?.text.trim() || null;
  const vendor = kid(mode, 'vendor')?.text.trim() || '';
  const features = kids(mode, 'feature')
    .map((f) => `${f.attrs.policy ?? ''}:${f.attrs.name ?? ''}`)
    .sort();
  return { supported: true, model: [vendor, model].filter(Boolean).join(' ') || null, key: JSON.stringify([vendor, model, features]) };
}

/** What libvirt answered to hypervisor-cpu-compare (virsh's result). */
export interface CompareResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  failedToStart: boolean;
}

export type CompareVerdict =
  | { kind: 'provides' }
  | { kind: 'cannot'; reason: string }
  | { kind: 'unanswered'; reason: string };

// What libvirt 9 says when the CPU is the answer: the node cannot provide it.
const CPU_VERDICT = /incompatible with host CPU|does not provide required features|Unknown CPU model|CPU model .* is not supported|guest and host CPU are not compatible|is incompatible with/i;

/** The meaning of virsh hypervisor-cpu-compare --error's result. */
export function compareVerdict(r: CompareResult): CompareVerdict {
  if (r.exitCode === 0) return { kind: 'provides' };
  if (r.failedToStart) return { kind: 'unanswered', reason: `cannot run virsh: ${r.stderr.trim()}` };
  if (r.timedOut) return { kind: 'unanswered', reason: 'virsh hypervisor-cpu-compare timed out' };
  const lines = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.replace(/^error: /, '').trim())
    .filter((l) => l && !/^Failed to compare hypervisor CPU/i.test(l));
  const reason = lines.join('; ') || `virsh exited ${r.exitCode}`;
  if (CPU_VERDICT.test(reason)) {
    // "the CPU is incompatible with host CPU: Host CPU does not provide required features: a, b"
    return { kind: 'cannot', reason: reason.replace(/^the CPU is incompatible with host CPU: /i, '') };
  }
  return { kind: 'unanswered', reason };
}

/** A VM whose CPU a node it may run on cannot provide. */
export interface CpuWarning {
  vm: string;
  /** The node that cannot provide it. */
  node: string;
  /** host-model, host-passthrough, maximum, or the named model. */
  cpu: string;
  /** host-model and host-passthrough: the node whose CPU the VM has when it starts there. */
  from: string | null;
  /** libvirt's reason (or, for host-passthrough, how the host CPUs differ). */
  reason: string;
}

/** Something that could not be asked or answered; the check is then incomplete for VM on NODE. */
interface CpuProblem {
  node: string;
  vm: string | null;
  message: string;
}

/** How cpu-check asks a node's libvirt (lib/host/virsh.ts in the product, a fake in tests). */
export interface CpuAsker {
  domcapabilities(node: string, platform: Platform): Promise<string>;
  compare(node: string, cpu: string, platform: Platform): Promise<CompareResult>;
}

export interface CpuCheckVm {
  name: string;
  /** null: its domain XML could not be read (nothing to check). */
  cpu: VmCpu | null;
  /** The nodes it may run on that were asked (online, libvirt reachable). */
  nodes: string[];
}

export interface CpuCheckOptions {
  /** Calls in flight at most (default 8). */
  parallel?: number;
  /** No new call starts after this many ms from the start (default 20 s): the check ends, incomplete. */
  budgetMs?: number;
  now?: () => number;
}

export interface CpuCheck {
  warnings: CpuWarning[];
  problems: CpuProblem[];
  /** libvirt calls made. */
  calls: number;
}

function platformKey(p: Platform): string {
  return JSON.stringify([p.virttype ?? '', p.emulator ?? '', p.arch ?? '', p.machine ?? '']);
}

/**
 * Asks what VMS need asked (each question once, at most PARALLEL at a time, none started after
 * the budget) and says which VM's CPU which node cannot provide. HOSTS: each asked node's own CPU
 * (for host-passthrough).
 */
export async function checkCpuModels(
  vms: readonly CpuCheckVm[],
  hosts: ReadonlyMap<string, HostCpu | null>,
  asker: CpuAsker,
  opts: CpuCheckOptions = {},
): Promise<CpuCheck> {
  const now = opts.now ?? Date.now;
  const limit = callLimit(Math.max(1, opts.parallel ?? 8), { deadline: now() + (opts.budgetMs ?? 20_000), now });
  let calls = 0;
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, f: () => Promise<T>): Promise<T> => {
    let p = memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = limit(() => {
        calls++;
        return f();
      });
      p.catch(() => undefined);
      memo.set(key, p);
    }
    return p;
  };
  const caps = (node: string, p: Platform) => once(`caps ${node} ${platformKey(p)}`, () => asker.domcapabilities(node, p));
  const compare = (node: string, key: string, cpu: string, p: Platform) =>
    once(`cmp ${node} ${platformKey(p)} ${key}`, async () => compareVerdict(await asker.compare(node, cpu, p)));

  const warnings: CpuWarning[] = [];
  const problems: CpuProblem[] = [];
  const problem = (node: string, vm: string | null, e: unknown) => {
    const message = e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e);
    if (!problems.some((x) => x.node === node && x.vm === vm && x.message === message)) problems.push({ node, vm, message });
  };

  await Promise.all(
    vms.map(async (vm) => {
      const cpu = vm.cpu;
      if (!cpu || vm.nodes.length === 0) return;
      if (cpu.mode === 'custom' && cpu.xml !== null && cpu.key !== null) {
        const { xml, key } = cpu;
        await Promise.all(
          vm.nodes.map(async (node) => {
            try {
              const v = await compare(node, key, xml, cpu.platform);
              if (v.kind === 'cannot') warnings.push({ vm: vm.name, node, cpu: cpu.model ?? 'custom', from: null, reason: v.reason });
              else if (v.kind === 'unanswered') problem(node, vm.name, `hypervisor-cpu-compare of ${vm.name}'s CPU ${cpu.model}: ${v.reason}`);
            } catch (e) {
              problem(node, vm.name, e);
            }
          }),
        );
        return;
      }
      if (cpu.mode === 'host-model') {
        if (vm.nodes.length < 2) return;
        const models = new Map<string, { xml: string; model: ReturnType<typeof hostModelCpu> }>();
        await Promise.all(
          vm.nodes.map(async (node) => {
            try {
              const xml = await caps(node, cpu.platform);
              models.set(node, { xml, model: hostModelCpu(xml) });
            } catch (e) {
              problem(node, null, `virsh domcapabilities: ${(e as Error).message}`);
            }
          }),
        );
        await Promise.all(
          vm.nodes.map(async (target) => {
            const t = models.get(target);
            if (!t) return;
            for (const from of vm.nodes) {
              const f = models.get(from);
              if (from === target || !f || !f.model.supported) continue;
              if (t.model.supported && f.model.key === t.model.key) continue;
              try {
                const v = await compare(target, `host-model ${from}`, f.xml, cpu.platform);
                if (v.kind === 'cannot') {
                  warnings.push({ vm: vm.name, node: target, cpu: 'host-model', from, reason: `${f.model.model ?? 'its CPU'}: ${v.reason}` });
                  return; // one line per VM and node
                }
                if (v.kind === 'unanswered') problem(target, null, `hypervisor-cpu-compare of ${from}'s host-model CPU: ${v.reason}`);
              } catch (e) {
                problem(target, null, e);
              }
            }
          }),
        );
        return;
      }
      if (cpu.mode === 'host-passthrough' || (cpu.mode === 'maximum' && cpu.platform.virttype === 'kvm')) {
        for (const target of vm.nodes) {
          const t = hosts.get(target);
          if (!t) continue;
          for (const from of vm.nodes) {
            const f = hosts.get(from);
            if (from === target || !f) continue;
            const missing = f.features.filter((x) => !t.features.includes(x));
            if (f.vendor === t.vendor && f.model === t.model && missing.length === 0) continue;
            const reason =
              f.vendor === t.vendor && f.model === t.model
                ? `both host CPUs are ${hostCpuName(t) ?? 'unknown'}, but ${target}'s lacks ${missing.join(', ')}`
                : `the host CPUs differ: ${hostCpuName(f) ?? 'unknown'} on ${from}, ${hostCpuName(t) ?? 'unknown'} on ${target}`;
            warnings.push({ vm: vm.name, node: target, cpu: cpu.mode, from, reason });
            break;
          }
        }
      }
    }),
  );
  const order = (a: { vm: string | null; node: string }, b: { vm: string | null; node: string }) =>
    (a.vm ?? '').localeCompare(b.vm ?? '', 'en', { numeric: true }) || a.node.localeCompare(b.node, 'en', { numeric: true });
  warnings.sort(order);
  problems.sort(order);
  return { warnings, problems, calls };
}

/** One line per warning, for people: "gum: its CPU (host-model, as on n1) is not available on n2: …". */
export function cpuWarningLine(w: CpuWarning): string {
  const what = w.from ? `${w.cpu}, as started on ${w.from}` : w.cpu;
  return `${w.vm}: its CPU (${what}) is not available on ${w.node}: ${w.reason}`;
}
