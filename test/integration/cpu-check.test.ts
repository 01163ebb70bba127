// corral hosts' CPU check against a real libvirtd (9.0) and qemu: hypervisor-cpu-compare, asked
// through lib/host/virsh.ts as corral hosts asks it, says a node provides a model its CPU has and
// refuses, with libvirt's reason, one it has not; the whole check turns that into a warning.
//
// TCG: this machine has no /dev/kvm, so every question is asked for virttype qemu (what QEMU's
// emulation can give), not kvm. Which named models this host can and cannot provide is read from
// its own domcapabilities (usable yes/no), not assumed. libvirtd runs in a one-node lab (its own
// namespaces; tini as PID 1); the test reaches its socket through /proc/PID/root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { virshCpuAsker } from '../../lib/cluster/cpu-check.js';
import { checkCpuModels, compareVerdict, hostModelCpu, vmCpu, type HostCpu } from '../../lib/cluster/cpu-models.js';
import * as virsh from '../../lib/host/virsh.js';
import { createLab, destroyLab } from '../../lib/lab/create.js';
import { startLibvirtAll } from '../../lib/lab/libvirt.js';
import { nodeInitPid } from '../../lib/lab/node.js';
import { requireRoot } from '../support/root.js';

const LAB = 'it-cpu';
const TCG = { virttype: 'qemu', arch: 'x86_64' };
let uri = '';
let usable: string[] = [];
let unusable: string[] = [];

const domain = (model: string) =>
  `<domain type="qemu"><name>c-${model}</name><memory unit="MiB">128</memory><vcpu>1</vcpu><os><type arch="x86_64">hvm</type></os>` +
  `<cpu mode="custom" match="exact"><model fallback="forbid">${model}</model></cpu></domain>`;

beforeAll(async () => {
  requireRoot('the CPU check suite', 'it starts libvirtd in a lab node');
  await destroyLab(LAB);
  const lab = await createLab({ name: LAB, nodes: ['cp1'], subnet: '10.213.117' });
  await startLibvirtAll(lab.nodes);
  uri = `qemu:///system?socket=/proc/${await nodeInitPid(lab.nodes[0]!)}/root/run/libvirt/libvirt-sock`;
  const caps = await virsh.domcapabilitiesXml({ uri, timeoutMs: 60_000 }, TCG);
  const models = [...caps.matchAll(/<model usable='(yes|no)'[^>]*>([^<]+)<\/model>/g)];
  usable = models.filter((m) => m[1] === 'yes').map((m) => m[2] as string);
  unusable = models.filter((m) => m[1] === 'no').map((m) => m[2] as string);
}, 180_000);

afterAll(async () => {
  await destroyLab(LAB);
}, 120_000);

describe('hypervisor-cpu-compare on the real libvirtd (TCG)', () => {
  it('this host offers models it can and cannot provide, and a host-model CPU', async () => {
    expect(usable).toContain('qemu64');
    expect(unusable.length).toBeGreaterThan(0);
    const hm = hostModelCpu(await virsh.domcapabilitiesXml({ uri, timeoutMs: 30_000 }, TCG));
    expect(hm.supported).toBe(true);
    expect(hm.model).toMatch(/\S/);
  });

  it('answers "provides" for a model the host has, and "cannot" with the missing features for one it has not', async () => {
    const c = { uri, timeoutMs: 30_000 };
    const has = usable.find((m) => m !== 'qemu64') ?? 'qemu64';
    const lacks = unusable[0] as string;
    expect(compareVerdict(await virsh.hypervisorCpuCompare(c, domain(has), TCG))).toEqual({ kind: 'provides' });
    const no = compareVerdict(await virsh.hypervisorCpuCompare(c, domain(lacks), TCG));
    expect(no.kind).toBe('cannot');
    expect(no.kind === 'cannot' && no.reason).toMatch(/^Host CPU does not provide required features: \S/);
    // a model libvirt does not know at all is refused too, in libvirt's words
    const unknown = compareVerdict(await virsh.hypervisorCpuCompare(c, domain('NoSuchModel'), TCG));
    expect(unknown).toEqual({ kind: 'cannot', reason: 'internal error: Unknown CPU model NoSuchModel' });
  });

  it('the check: a warning for the VM whose model the node lacks, none for the one it has; each question once', async () => {
    const lacks = unusable[0] as string;
    const vms = [
      { name: 'fits', cpu: vmCpu(domain('qemu64')), nodes: ['cp1'] },
      { name: 'big', cpu: vmCpu(domain(lacks)), nodes: ['cp1'] },
      { name: 'big2', cpu: vmCpu(domain(lacks).replace('c-', 'd-')), nodes: ['cp1'] },
    ];
    const asker = virshCpuAsker({ uri: () => uri, command: () => [], timeoutMs: 30_000 });
    const t0 = Date.now();
    const check = await checkCpuModels(vms, new Map<string, HostCpu | null>(), asker);
    const ms = Date.now() - t0;
    expect(check.problems).toEqual([]);
    expect(check.warnings.map((w) => [w.vm, w.node, w.cpu])).toEqual([
      ['big', 'cp1', lacks],
      ['big2', 'cp1', lacks],
    ]);
    expect(check.warnings[0]?.reason).toMatch(/^Host CPU does not provide required features: /);
    expect(check.calls).toBe(2);
    expect(ms).toBeLessThan(10_000);
  });
});
