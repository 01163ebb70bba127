// corral hosts' CPU check (lib/cluster/cpu-models.ts, cpu-check.ts): which CPU a VM asks for,
// which nodes it may run on, what libvirt's hypervisor-cpu-compare answers mean (the texts are
// libvirt 9.0's, recorded on this machine), and which VM/node pairs end up as warnings, with the
// nodes' libvirt played by a fake that counts what it was asked.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuCheckInput } from '../../lib/cluster/cpu-check.js';
import {
  checkCpuModels,
  compareVerdict,
  cpuWarningLine,
  hostCpu,
  hostModelCpu,
  mayRunOn,
  vmCpu,
  type CpuAsker,
  type CpuCheckVm,
  type HostCpu,
} from '../../lib/cluster/cpu-models.js';
import type { ConstraintSummary } from '../../lib/cluster/constraints.js';
import type { HostFacts } from '../../lib/cluster/facts.js';
import { parseCib, statusOf } from '../../lib/cluster/snapshot.js';
import { hostRows, hostsJson, hostsText, hostTotals } from '../../lib/cluster/tables.js';
import { buildView } from '../../lib/cluster/view.js';

const domain = (cpu: string, type = 'kvm') => `<domain type="${type}"><name>gum</name><memory>1</memory><os><type arch="x86_64">hvm</type></os>${cpu}</domain>`;

describe('the CPU a VM asks for', () => {
  it('host-model, host-passthrough and maximum by their mode', () => {
    expect(vmCpu(domain('<cpu mode="host-model"/>'))).toEqual({ mode: 'host-model', model: null, xml: null, key: null, platform: { virttype: 'kvm', arch: 'x86_64' } });
    expect(vmCpu(domain('<cpu mode="host-passthrough"><topology sockets="1" cores="2" threads="1"/></cpu>')).mode).toBe('host-passthrough');
    expect(vmCpu(domain('<cpu mode="maximum"/>', 'qemu')).mode).toBe('maximum');
  });

  it('a named model (mode custom is the default mode): the domain XML for hypervisor-cpu-compare, keyed by its <cpu>', () => {
    const cpu = '<cpu match="exact">\n  <model fallback="forbid">Skylake-Server-v4</model>\n  <feature policy="require" name="pcid"/>\n</cpu>';
    const c = vmCpu(domain(cpu));
    expect(c.mode).toBe('custom');
    expect(c.model).toBe('Skylake-Server-v4');
    expect(c.xml).toBe(domain(cpu));
    // another VM with the same <cpu> (attributes in another order) is asked about once
    const other = vmCpu(domain(cpu.replace('<cpu match="exact">', '<cpu match="exact" mode="custom">').replace('policy="require" name="pcid"', 'name="pcid" policy="require"')).replace('gum', 'elm'));
    expect(other.key).not.toBe(c.key); // mode="custom" written out is another element
    const same = vmCpu(domain(cpu.replace('policy="require" name="pcid"', 'name="pcid" policy="require"')).replace('gum', 'elm'));
    expect(same.key).toBe(c.key);
    expect(vmCpu(domain('<cpu><model>Nehalem</model></cpu>')).key).not.toBe(c.key);
  });

  it("no <cpu>, or one with only a topology: the hypervisor's default model, nothing to ask", () => {
    expect(vmCpu(domain('', 'qemu')).mode).toBe('default');
    expect(vmCpu(domain('<cpu><topology sockets="1" cores="2" threads="1"/></cpu>')).mode).toBe('default');
  });
});

describe('the nodes a VM may run on', () => {
  const nodes = ['n1', 'n2', 'n3', 'n4'];
  const vm = (...constraints: ConstraintSummary[]) => ({ constraints });
  it('all nodes by default; --only-on narrows; bans and -INFINITY scores take nodes away', () => {
    expect(mayRunOn(vm(), nodes)).toEqual(nodes);
    expect(mayRunOn(vm({ kind: 'only-on', id: 'o', nodes: ['n1', 'n3'] }), nodes)).toEqual(['n1', 'n3']);
    expect(mayRunOn(vm({ kind: 'banned', id: 'b', nodes: ['n2'] }), nodes)).toEqual(['n1', 'n3', 'n4']);
    expect(mayRunOn(vm({ kind: 'avoid-node', id: 'a', nodes: ['n4'], score: '-INFINITY' }), nodes)).toEqual(['n1', 'n2', 'n3']);
    expect(
      mayRunOn(vm({ kind: 'only-on', id: 'o', nodes: ['n1', 'n2', 'n3'] }, { kind: 'banned', id: 'b', nodes: ['n1'] }), nodes),
    ).toEqual(['n2', 'n3']);
  });

  it('--pin, preferences, moves and finite negative scores do not: the VM still fails over and migrates back', () => {
    expect(
      mayRunOn(
        vm(
          { kind: 'pin', id: 'p', nodes: ['n1'] },
          { kind: 'prefer', id: 'q', nodes: ['n2'], score: '100' },
          { kind: 'moved', id: 'm', nodes: ['n3'] },
          { kind: 'avoid-node', id: 'a', nodes: ['n4'], score: '-500' },
        ),
        nodes,
      ),
    ).toEqual(nodes);
  });
});

describe("what libvirt's hypervisor-cpu-compare --error answered", () => {
  const r = (exitCode: number, stdout: string, stderr: string, timedOut = false) => ({ exitCode, stdout, stderr, timedOut, failedToStart: false });
  it('exit 0 (identical or superset): the node provides it', () => {
    expect(compareVerdict(r(0, 'The CPU provided by hypervisor on the host is a superset of CPU described in /dev/stdin', ''))).toEqual({ kind: 'provides' });
  });

  it('missing features or a model libvirt does not know: the node cannot provide it, with the reason', () => {
    expect(
      compareVerdict(
        r(1, '', 'error: Failed to compare hypervisor CPU with /dev/stdin\nerror: the CPU is incompatible with host CPU: Host CPU does not provide required features: avx512f, sha-ni'),
      ),
    ).toEqual({ kind: 'cannot', reason: 'Host CPU does not provide required features: avx512f, sha-ni' });
    expect(compareVerdict(r(1, '', 'error: Failed to compare hypervisor CPU with /dev/stdin\nerror: internal error: Unknown CPU model NoSuchModel'))).toEqual({
      kind: 'cannot',
      reason: 'internal error: Unknown CPU model NoSuchModel',
    });
  });

  it('anything else is no answer about the CPU: KVM missing on the node, a timeout, an unreachable libvirt', () => {
    expect(
      compareVerdict(r(1, '', "error: Failed to compare hypervisor CPU with /dev/stdin\nerror: invalid argument: the accel 'kvm' is not supported by '/usr/bin/qemu-system-x86_64' on this host")),
    ).toEqual({ kind: 'unanswered', reason: "invalid argument: the accel 'kvm' is not supported by '/usr/bin/qemu-system-x86_64' on this host" });
    expect(compareVerdict(r(124, '', '', true)).kind).toBe('unanswered');
    expect(compareVerdict(r(1, '', "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/run/libvirt/libvirt-sock'")).kind).toBe('unanswered');
  });
});

const domcaps = (model: string, features: string[], supported = 'yes') =>
  `<domainCapabilities><cpu><mode name='host-passthrough' supported='yes'/><mode name='host-model' supported='${supported}'>` +
  `<model fallback='forbid'>${model}</model><vendor>AMD</vendor>${features.map((f) => `<feature policy='require' name='${f}'/>`).join('')}</mode></cpu></domainCapabilities>`;

describe("a node's host-model CPU (domcapabilities)", () => {
  it('its model, and one key for the same CPU whatever the order of its features', () => {
    const a = hostModelCpu(domcaps('EPYC-Rome', ['x2apic', 'avx2']));
    expect(a).toMatchObject({ supported: true, model: 'AMD EPYC-Rome' });
    expect(hostModelCpu(domcaps('EPYC-Rome', ['avx2', 'x2apic'])).key).toBe(a.key);
    expect(hostModelCpu(domcaps('EPYC-Rome', ['avx2'])).key).not.toBe(a.key);
    expect(hostModelCpu(domcaps('EPYC', [], 'no')).supported).toBe(false);
  });
});

/** A fake cluster of libvirts: each node's host-model CPU, and the models each node provides. */
function fakeCluster(nodes: Record<string, { hostModel: string; provides: string[] }>) {
  const calls: string[] = [];
  const asker: CpuAsker = {
    async domcapabilities(node) {
      calls.push(`domcapabilities ${node}`);
      const n = nodes[node];
      if (!n) throw new Error(`failed to connect to the hypervisor (${node})`);
      return domcaps(n.hostModel, []);
    },
    async compare(node, cpu) {
      calls.push(`compare ${node}`);
      const model = /<model[^>]*>([^<]+)<\/model>/.exec(cpu)?.[1] ?? '';
      const n = nodes[node];
      if (!n) return { exitCode: 1, stdout: '', stderr: 'error: failed to connect to the hypervisor', timedOut: false, failedToStart: false };
      return n.provides.includes(model)
        ? { exitCode: 0, stdout: 'The CPU provided by hypervisor on the host is a superset of CPU described in /dev/stdin', stderr: '', timedOut: false, failedToStart: false }
        : {
            exitCode: 1,
            stdout: '',
            stderr: `error: Failed to compare hypervisor CPU with /dev/stdin\nerror: the CPU is incompatible with host CPU: Host CPU does not provide required features: ${model}-only`,
            timedOut: false,
            failedToStart: false,
          };
    },
  };
  return { asker, calls };
}

const named = (model: string) => vmCpu(domain(`<cpu mode="custom" match="exact"><model fallback="forbid">${model}</model></cpu>`));
const hostModel = vmCpu(domain('<cpu mode="host-model"/>'));
const noHosts = new Map<string, HostCpu | null>();

describe('the check across the cluster', () => {
  const cluster = {
    n1: { hostModel: 'EPYC-Rome', provides: ['EPYC-Rome', 'EPYC', 'Nehalem'] },
    n2: { hostModel: 'EPYC-Rome', provides: ['EPYC-Rome', 'EPYC', 'Nehalem'] },
    n3: { hostModel: 'EPYC', provides: ['EPYC', 'Nehalem'] },
  };

  it('a named model: one warning per node that cannot provide it, with libvirt\'s reason; each (model, node) asked once', async () => {
    const { asker, calls } = fakeCluster(cluster);
    const vms: CpuCheckVm[] = [
      { name: 'db', cpu: named('EPYC-Rome'), nodes: ['n1', 'n2', 'n3'] },
      { name: 'web', cpu: named('EPYC-Rome'), nodes: ['n1', 'n2', 'n3'] },
      { name: 'old', cpu: named('Nehalem'), nodes: ['n1', 'n2', 'n3'] },
      { name: 'pinned', cpu: named('EPYC-Rome'), nodes: ['n1', 'n2'] },
    ];
    const check = await checkCpuModels(vms, noHosts, asker);
    expect(check.warnings).toEqual([
      { vm: 'db', node: 'n3', cpu: 'EPYC-Rome', from: null, reason: 'Host CPU does not provide required features: EPYC-Rome-only' },
      { vm: 'web', node: 'n3', cpu: 'EPYC-Rome', from: null, reason: 'Host CPU does not provide required features: EPYC-Rome-only' },
    ]);
    expect(check.problems).toEqual([]);
    expect(calls.filter((c) => c.startsWith('compare')).sort()).toEqual(['compare n1', 'compare n1', 'compare n2', 'compare n2', 'compare n3', 'compare n3']);
    expect(cpuWarningLine(check.warnings[0]!)).toBe('db: its CPU (EPYC-Rome) is not available on n3: Host CPU does not provide required features: EPYC-Rome-only');
  });

  it("host-model: a node's host-model CPU compared on the others only where they differ; a VM started on n1 cannot move to n3", async () => {
    const { asker, calls } = fakeCluster(cluster);
    const check = await checkCpuModels([{ name: 'gum', cpu: hostModel, nodes: ['n1', 'n2', 'n3'] }], noHosts, asker);
    expect(check.warnings).toEqual([
      { vm: 'gum', node: 'n3', cpu: 'host-model', from: 'n1', reason: 'AMD EPYC-Rome: Host CPU does not provide required features: EPYC-Rome-only' },
    ]);
    // n1 and n2 are the same CPU: not compared with each other; n3's EPYC is provided by both
    expect(calls.filter((c) => c.startsWith('compare')).sort()).toEqual(['compare n1', 'compare n2', 'compare n3']);
    expect(cpuWarningLine(check.warnings[0]!)).toBe(
      'gum: its CPU (host-model, as started on n1) is not available on n3: AMD EPYC-Rome: Host CPU does not provide required features: EPYC-Rome-only',
    );
  });

  it('host-model on nodes with one CPU, or a VM that may run on one node only: nothing to warn, nothing compared', async () => {
    const { asker, calls } = fakeCluster(cluster);
    const check = await checkCpuModels(
      [
        { name: 'a', cpu: hostModel, nodes: ['n1', 'n2'] },
        { name: 'b', cpu: hostModel, nodes: ['n3'] },
        { name: 'tcg', cpu: vmCpu(domain('', 'qemu')), nodes: ['n1', 'n2', 'n3'] },
      ],
      noHosts,
      asker,
    );
    expect(check.warnings).toEqual([]);
    expect(calls.filter((c) => c.startsWith('compare'))).toEqual([]);
  });

  it('host-passthrough: a warning for each node whose host CPU differs, naming what it lacks', async () => {
    const { asker } = fakeCluster(cluster);
    const hosts = new Map<string, HostCpu | null>([
      ['n1', { vendor: 'AMD', model: 'EPYC-Rome', features: ['avx2', 'sha-ni'] }],
      ['n2', { vendor: 'AMD', model: 'EPYC-Rome', features: ['avx2', 'sha-ni'] }],
      ['n3', { vendor: 'AMD', model: 'EPYC-Rome', features: ['avx2'] }],
    ]);
    const pt = vmCpu(domain('<cpu mode="host-passthrough"/>'));
    const check = await checkCpuModels([{ name: 'fast', cpu: pt, nodes: ['n1', 'n2', 'n3'] }], hosts, asker);
    expect(check.warnings.map((w) => [w.node, w.from, w.reason])).toEqual([
      // a guest started on n1 sees sha-ni, which n3 lacks; n3's CPU is a subset of n1's: no line for n1
      ['n3', 'n1', "both host CPUs are AMD EPYC-Rome, but n3's lacks sha-ni"],
    ]);
    hosts.set('n2', { vendor: 'Intel', model: 'Skylake-Server-IBRS', features: ['avx2', 'sha-ni'] });
    const mixed = await checkCpuModels([{ name: 'fast', cpu: pt, nodes: ['n1', 'n2'] }], hosts, asker);
    expect(mixed.warnings.map((w) => [w.node, w.from, w.reason])).toEqual([
      ['n1', 'n2', 'the host CPUs differ: Intel Skylake-Server-IBRS on n2, AMD EPYC-Rome on n1'],
      ['n2', 'n1', 'the host CPUs differ: AMD EPYC-Rome on n1, Intel Skylake-Server-IBRS on n2'],
    ]);
    expect(cpuWarningLine(mixed.warnings[0]!)).toBe(
      'fast: its CPU (host-passthrough, as started on n2) is not available on n1: the host CPUs differ: Intel Skylake-Server-IBRS on n2, AMD EPYC-Rome on n1',
    );
    hosts.set('n2', { vendor: 'AMD', model: 'EPYC-Rome', features: ['avx2', 'sha-ni'] });
    const same = await checkCpuModels([{ name: 'fast', cpu: pt, nodes: ['n1', 'n2'] }], hosts, asker);
    expect(same.warnings).toEqual([]);
  });

  it('a node that does not answer is a problem of that node, not a warning', async () => {
    const { asker } = fakeCluster({ n1: cluster.n1 });
    const check = await checkCpuModels([{ name: 'db', cpu: named('EPYC'), nodes: ['n1', 'gone'] }], noHosts, asker);
    expect(check.warnings).toEqual([]);
    expect(check.problems).toEqual([
      { node: 'gone', vm: 'db', message: "hypervisor-cpu-compare of db's CPU EPYC: failed to connect to the hypervisor" },
    ]);
  });

  it('bounded: at most PARALLEL calls at once, and none started once the time is up', async () => {
    let inFlight = 0;
    let most = 0;
    const slow: CpuAsker = {
      domcapabilities: async () => domcaps('EPYC', []),
      compare: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return { exitCode: 0, stdout: '', stderr: '', timedOut: false, failedToStart: false };
      },
    };
    const vms = ['A', 'B', 'C', 'D', 'E'].map((m) => ({ name: m, cpu: named(m), nodes: ['n1', 'n2'] }));
    const check = await checkCpuModels(vms, noHosts, slow, { parallel: 3 });
    expect(check.calls).toBe(10);
    expect(most).toBe(3);

    let t = 0;
    const late = await checkCpuModels(vms, noHosts, slow, { parallel: 1, budgetMs: 1000, now: () => (t += 600) });
    expect(late.calls).toBeLessThan(10);
    expect(late.problems.some((p) => p.message === 'not asked: the check ran out of time')).toBe(true);
  });
});

describe('corral hosts with the check, on the recorded cluster', () => {
  const REC = path.join(new URL('../fixtures/recorded', import.meta.url).pathname);
  const read = (f: string) => readFileSync(path.join(REC, f), 'utf8');

  it('every VM with its CPU and the nodes asked; warnings as lines and as cpuWarnings in --json', async () => {
    const xml = read('steady/cib.xml');
    const { root, cib } = parseCib(xml);
    const view = buildView(cib, await statusOf(xml, root, cib, { crmMonXml: read('steady/crm_mon.xml') }));
    const facts: HostFacts[] = ['n1', 'n2'].map((node) => ({
      node,
      libvirt: '9.0.0',
      qemu: '7.2.0',
      kernel: null,
      hostCpu: hostCpu(read(`libvirt/${node}-capabilities.xml`)),
      cpus: 2,
      memoryMiB: 2048,
      problems: [],
    }));
    const input = cpuCheckInput(cib, view, facts);
    expect(input.vms.length).toBe(view.vms.length);
    // the recorded lab's guests are TCG without a <cpu>; n3 gave no facts, so it is not asked
    expect(input.vms.every((v) => v.cpu?.mode === 'default' && !v.nodes.includes('n3'))).toBe(true);
    expect(input.notAsked).toEqual([{ node: 'n3', why: 'its libvirt did not answer' }]);

    const rows = hostRows(view, facts);
    const totals = hostTotals(view, rows);
    const w = { vm: 'db', node: 'n3', cpu: 'EPYC-Rome', from: null, reason: 'Host CPU does not provide required features: avx512f' };
    expect(hostsText(rows, totals, [w]).trimEnd().split('\n').pop()).toBe(
      'warning: db: its CPU (EPYC-Rome) is not available on n3: Host CPU does not provide required features: avx512f',
    );
    expect(hostsJson(rows, totals, [w]).cpuWarnings).toEqual([w]);
    expect(hostsJson(rows, totals).cpuWarnings).toBeNull();
  });
});
