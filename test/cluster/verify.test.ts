// corral verify on a real 3-node lab cluster, run inside n1 with the node's own corral.conf (the
// lab's node command and qemu+tcp): clean on the healthy lab but for the documented KVM warning
// (the lab hides /dev/kvm; its test guests are type qemu), then, one at a time, the thing a check
// checks is broken for real and its line seen, and put right again: a node's libvirt unreachable
// (its port rejected by the node's own iptables), a disk missing on one node (hidden by a mount in
// that node only) and a VM's local disk present where the VM may not run, fencing disabled, a
// node's capacity removed, a leftover hint and a drain cut off. The lab nodes share the host's
// clock (Linux time namespaces virtualise the monotonic clocks, not the real-time one), so a
// clock off by minutes is the node's `date` made to lie by a bind mount in that node only: the
// path from the node's answer to the line is proved here, the skew rule in test/unit/verify.test.ts.
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../lib/host/exec.js';
import { clusterExec, createClusterLab, destroyClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import type { LabNode } from '../../lib/lab/state.js';
import { ensureTestGuest, testGuestDomainXml } from '../../lib/lab/test-guest.js';
import { ROOT, ok } from '../support/ops-lab.js';

const LAB = { name: process.env.CORRAL_VFY_LAB ?? 'vfy', subnet: process.env.CORRAL_VFY_SUBNET ?? '10.213.123' };
/** This test's own copy of the build and its shared disk (the nodes see the host's /var/cache/corral). */
const DIR = '/var/cache/corral/it/vfy';
const BIN = path.join(DIR, 'bin');
const SHARED = path.join(DIR, 'disks');
const LOCAL_DISK = '/var/lib/libvirt/images/vfy-local.img';

let lab: ClusterLab;
let n1: LabNode;
let n2: LabNode;
let n3: LabNode;

interface Line {
  check: string;
  node: string;
  ok: boolean;
  severity: string;
  message: string;
  fix: string;
}

async function copyBuild(): Promise<void> {
  await mkdir(BIN, { recursive: true, mode: 0o755 });
  for (const d of ['/var/cache/corral', '/var/cache/corral/it', DIR, BIN]) await chmod(d, 0o755).catch(() => undefined);
  for (const f of await readdir(path.join(ROOT, 'dist/bin'))) {
    const tmp = path.join(BIN, `.${f}.new`);
    await copyFile(path.join(ROOT, 'dist/bin', f), tmp);
    await chmod(tmp, 0o755);
    await rename(tmp, path.join(BIN, f));
  }
}

/** This build's command in NODE, with the node's own /etc/corral/corral.conf (the lab's). */
function inNode(node: LabNode, command: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return clusterExec(node, path.join(BIN, command), args, { timeoutMs });
}

async function verify(): Promise<{ exitCode: number; ok: boolean; lines: Line[]; text: string }> {
  // --timeout 60: this machine's two cores are shared with other labs; a node command is a node
  // process started in n1 and another in the node.
  const r = await inNode(n1, 'corral', ['verify', '--json', '--timeout', '60']);
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`corral verify exited ${r.exitCode}:\n${r.stderr}\n${r.stdout}`);
  const j = JSON.parse(r.stdout) as { ok: boolean; checks: Line[] };
  const text = j.checks.filter((l) => !l.ok).map((l) => `${l.severity} ${l.check} ${l.node}: ${l.message}`).join('\n');
  return { exitCode: r.exitCode, ok: j.ok, lines: j.checks, text };
}

/** The problems of a run, without the lab's documented KVM warnings. */
const problems = (lines: Line[]) => lines.filter((l) => !l.ok && !(l.check === 'kvm' && l.severity === 'warning'));

async function addVm(name: string, disk: string, domadd: string[]): Promise<void> {
  const guest = await ensureTestGuest();
  const xml = testGuestDomainXml({ name, guest, memoryMiB: 96 }).replace(
    '</devices>',
    `<disk type="file" device="disk"><driver name="qemu" type="raw"/><source file="${disk}"/><target dev="vdb" bus="virtio"/></disk></devices>`,
  );
  const file = path.join(DIR, `${name}.xml`);
  await writeFile(file, xml, { mode: 0o644 });
  await ok(inNode(n1, 'fixup_domxml', ['-i', file]));
  await ok(inNode(n1, 'domadd', ['--param', 'migration_transport=tcp', ...domadd, file]));
}

const crm = (node: LabNode, file: string, args: string[]) => ok(clusterExec(node, file, args));

describe('corral verify on the lab cluster', () => {
  beforeAll(async () => {
    await destroyClusterLab(LAB.name).catch(() => undefined);
    await copyBuild();
    await mkdir(SHARED, { recursive: true, mode: 0o755 });
    await writeFile(path.join(SHARED, 'vfy-shared.img'), Buffer.alloc(1 << 20), { mode: 0o644 });
    lab = await createClusterLab({ name: LAB.name, nodes: 3, subnet: LAB.subnet, timeoutMs: 300_000 });
    [n1, n2, n3] = lab.nodes as [LabNode, LabNode, LabNode];
    // A VM on shared storage (one file every node sees), and one on n1's own disk, only on n1.
    await mkdir(path.dirname(path.join(n1.dir, 'fs', LOCAL_DISK)), { recursive: true });
    await writeFile(path.join(n1.dir, 'fs', LOCAL_DISK), Buffer.alloc(1 << 20), { mode: 0o644 });
    await addVm('vfy-shared', path.join(SHARED, 'vfy-shared.img'), []);
    await addVm('vfy-local', LOCAL_DISK, ['--only-on', 'n1']);
    // Stopped: a VM held to one node stays stopped when that node fails, which verify rightly
    // calls "not N+1"; the disk check reads its configuration whether it runs or not.
    await crm(n1, 'crm_resource', ['--resource', 'vm-vfy-local', '--meta', '--set-parameter', 'target-role', '--parameter-value', 'Stopped']);
    await waitClusterIdle(lab, { timeoutMs: 300_000 });
  }, 900_000);

  afterAll(async () => {
    if (lab && !process.env.CORRAL_KEEP_LAB) await destroyClusterLab(lab.name);
  }, 120_000);

  it('the healthy lab: exit 0, every check passed but the KVM warning of a lab without /dev/kvm (its VMs are type qemu)', async () => {
    const r = await verify();
    expect(problems(r.lines), r.text).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.ok).toBe(true);
    const checks = new Set(r.lines.filter((l) => l.ok).map((l) => l.check));
    for (const c of ['membership', 'quorum', 'fencing', 'node-command', 'versions', 'clock', 'migration', 'console-log', 'disks', 'capacity', 'n-plus-one', 'hints', 'drain', 'balancer']) expect(checks, c).toContain(c);
    for (const n of ['n1', 'n2', 'n3']) expect(r.lines.filter((l) => l.check === 'migration' && l.node === n).map((l) => l.ok)).toEqual([true]);
    // Text for people: the warnings, a line each, and the summary; exit 0.
    const text = await inNode(n1, 'corral', ['verify', '--timeout', '60']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^verified: \d+ checks on 3 nodes: 0 errors, \d+ warnings?$/m);
    for (const l of text.stdout.trim().split('\n').slice(0, -1)) expect(l).toMatch(/^n\d: warning: libvirt offers no KVM here .* — fix: /);
  }, 180_000);

  it("a node's libvirt unreachable: every other node's line names it and the migration URI", async () => {
    const rule = ['INPUT', '-p', 'tcp', '--dport', '16509', '-j', 'REJECT', '--reject-with', 'tcp-reset'];
    await crm(n3, 'iptables', ['-I', ...rule]);
    try {
      const r = await verify();
      expect(r.exitCode).toBe(1);
      const lines = problems(r.lines).filter((l) => l.check === 'migration');
      expect(lines.map((l) => l.node).sort(), r.text).toEqual(['n1', 'n2']);
      for (const l of lines) expect(l.message).toMatch(/^cannot reach n3's libvirt with qemu\+tcp:\/\/n3\/system \(the migration URI of vfy-shared, vfy-local\): .*a live migration from n\d to n3 would fail$/);
      expect(problems(r.lines).find((l) => l.check === 'libvirt')?.node).toBe('n3');
    } finally {
      await crm(n3, 'iptables', ['-D', ...rule]);
    }
    expect(problems((await verify()).lines)).toEqual([]);
  }, 180_000);

  it('a disk missing on one node, and a local disk on a node its VM may not run on', async () => {
    await crm(n2, 'mount', ['-t', 'tmpfs', '-o', 'size=1m', 'vfy-hide', SHARED]);
    const copy = path.join(n3.dir, 'fs', LOCAL_DISK);
    await mkdir(path.dirname(copy), { recursive: true });
    await writeFile(copy, Buffer.alloc(4096), { mode: 0o644 });
    try {
      const r = await verify();
      expect(r.exitCode).toBe(1);
      const lines = problems(r.lines).filter((l) => l.check === 'disks');
      expect(lines.map((l) => `${l.severity} ${l.node}: ${l.message}`), r.text).toEqual([
        `error n2: vfy-shared's disk ${SHARED}/vfy-shared.img is missing here (vfy-shared may run on n1, n2, n3)`,
        `warning n3: vfy-local's disk ${LOCAL_DISK} exists here, on local storage, though vfy-local may not run here: a copy that is not its disk`,
      ]);
    } finally {
      await crm(n2, 'umount', [SHARED]);
      await rm(copy, { force: true });
    }
    expect(problems((await verify()).lines)).toEqual([]);
  }, 180_000);

  it('fencing disabled, and a node without capacity', async () => {
    const mem = (await crm(n1, 'crm_attribute', ['--node', 'n2', '--utilization', '--name', 'hv_memory', '--query', '--quiet'])).stdout.trim();
    await crm(n1, 'crm_attribute', ['--type', 'crm_config', '--name', 'stonith-enabled', '--update', 'false']);
    await crm(n1, 'crm_attribute', ['--node', 'n2', '--utilization', '--name', 'hv_memory', '--delete']);
    try {
      const r = await verify();
      expect(r.exitCode).toBe(1);
      const lines = problems(r.lines);
      expect(lines.find((l) => l.check === 'fencing')?.message, r.text).toMatch(/^stonith-enabled is false: a node that fails is not fenced/);
      expect(lines.find((l) => l.check === 'capacity')).toMatchObject({ node: 'n2', message: expect.stringMatching(/^no capacity set \(utilization hv_memory\)/), fix: 'nodecap n2 (its CPUs and memory, or --cpus N --mem SIZE)' });
    } finally {
      await crm(n1, 'crm_attribute', ['--type', 'crm_config', '--name', 'stonith-enabled', '--update', 'true']);
      await crm(n1, 'crm_attribute', ['--node', 'n2', '--utilization', '--name', 'hv_memory', '--update', mem]);
    }
    await waitClusterIdle(lab, { timeoutMs: 120_000 });
    expect(problems((await verify()).lines)).toEqual([]);
  }, 240_000);

  it("a leftover hint and a drain cut off", async () => {
    const hint = '<rsc_location id="corral-steer-vm-vfy-shared-n2" rsc="vm-vfy-shared" node="n2" score="0"/>';
    await crm(n1, 'cibadmin', ['--create', '--scope', 'constraints', '--xml-text', hint]);
    await crm(n1, 'crm_attribute', ['--node', 'n3', '--name', 'corral-drain-state', '--update', 'draining']);
    try {
      const r = await verify();
      expect(r.exitCode).toBe(1);
      const lines = problems(r.lines);
      expect(lines.find((l) => l.check === 'hints'), r.text).toMatchObject({ node: 'n2', message: expect.stringMatching(/^corral's placement hint corral-steer-vm-vfy-shared-n2 .* is left over/) });
      expect(lines.find((l) => l.check === 'drain')).toMatchObject({ node: 'n3', fix: 'corral node drain n3 to finish it, or corral node undrain n3' });
    } finally {
      await crm(n1, 'cibadmin', ['--delete', '--scope', 'constraints', '--xml-text', '<rsc_location id="corral-steer-vm-vfy-shared-n2"/>']);
      await crm(n1, 'crm_attribute', ['--node', 'n3', '--name', 'corral-drain-state', '--delete']);
    }
    expect(problems((await verify()).lines)).toEqual([]);
  }, 180_000);

  it("a clock five minutes ahead on one node (that node's date made to lie: the nodes share the host's clock)", async () => {
    const real = path.join(DIR, 'date.real');
    const liar = path.join(DIR, 'date-ahead');
    await copyFile('/usr/bin/date', real);
    await chmod(real, 0o755);
    await writeFile(liar, `#!/bin/sh\nexec ${real} -d 'now + 300 seconds' "$@"\n`, { mode: 0o755 });
    await crm(n2, 'mount', ['--bind', liar, '/usr/bin/date']);
    try {
      const r = await verify();
      expect(r.exitCode).toBe(1);
      expect(problems(r.lines).filter((l) => l.check === 'clock').map((l) => `${l.node}: ${l.message}`), r.text).toEqual([
        expect.stringMatching(/^n2: clock (2[89]\d|3[01]\d)\.\d s ahead of the cluster's \(the median of 3 nodes, ±\d+\.\d s; limit 2\.0 s\)$/),
      ]);
    } finally {
      await crm(n2, 'umount', ['/usr/bin/date']);
    }
  }, 180_000);
});
