// A VM on a local disk (domadd --local) on a real 2-node lab: each node's /var/lib/libvirt is its
// own (lib/lab/node-files.ts), so a disk under /var/lib/libvirt/images is really on one node only.
// `vm NAME migrate n2` must copy it live: the disk's content on n2 equals what was written on n1
// (the test guest does not write to it, so the checksum before the move is the one to match), the
// guest kept running (its console ticks went on, one boot), the source copy is gone, and the
// constraint names n2. Then n2 crashes: Pacemaker must not start the VM on n1, which lacks the
// disk; once n2 is back the VM runs there again. Then `corral node drain n2` copies it live to n1
// before n2 goes into standby (same checksum, one boot, ticks went on), and a drain of n1 whose copy
// fails (n2 cannot hold the disk) leaves the VM running on n1, not rebooted, and n1 out of standby.
// The lab is its own (a node is crashed) and is
// removed afterwards unless CORRAL_KEEP_LAB is set.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterExec, clusterStatus, crashNode, createClusterLab, destroyClusterLab, loadClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import { nodeRunning } from '../../lib/lab/node.js';
import { labDir, type LabNode } from '../../lib/lab/state.js';
import { ensureTestGuest, testGuestDomainXml } from '../../lib/lab/test-guest.js';
import { ticks } from '../../lib/lab/vms.js';
import { bootsOf, consoleLogOn, copyBuild, inNode, ok, ROOT, waitUntil } from '../support/ops-lab.js';
import { requireRoot } from '../support/root.js';

const LAB = process.env.CORRAL_LOCAL_LAB ?? 'localdisk';
const SUBNET = '10.213.131';
const DIR = '/var/cache/corral/it/localdisk';
const ETC = path.join(DIR, 'etc');
const VM = 't-local';
const DISK = `/var/lib/libvirt/images/${VM}.img`;
const DISK_MIB = 128;

let lab: ClusterLab;
let sumBefore = '';

function node(name: string): LabNode {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

/** vm, corral, domadd … of this build inside NODE, with this lab's corral.conf. */
const run = (n: string, command: string, args: readonly string[], timeoutMs = 120_000) => inNode(node(n), command, args, { timeoutMs, env: { CORRAL_ETC: ETC } });

const sh = (n: string, script: string) => clusterExec(node(n), 'sh', ['-c', script], { timeoutMs: 60_000 });

async function sha256On(n: string): Promise<string | undefined> {
  const r = await sh(n, `sha256sum ${DISK}`);
  return r.exitCode === 0 ? r.stdout.split(/\s+/)[0] : undefined;
}

async function listed(): Promise<{ state: string; node: string | null; localDisksOn: string | null; constraints: { kind: string; nodes?: string[] }[] }> {
  const r = await ok(run('n1', 'corral', ['list', '--json']));
  const vm = (JSON.parse(r.stdout) as { vms: { name: string; state: string; node: string | null; localDisksOn: string | null; constraints: { kind: string; nodes?: string[] }[] }[] }).vms.find((v) => v.name === VM);
  if (!vm) throw new Error(`${VM} is not listed`);
  return vm;
}

async function runningOn(): Promise<string[]> {
  const s = await clusterStatus(lab);
  return s.resources.get(`vm-${VM}`)?.nodes ?? [];
}

describe('a VM on a local disk', () => {
  beforeAll(async () => {
    requireRoot('the local-disk lab test', 'it runs a lab cluster');
    let reused: ClusterLab | undefined;
    try {
      reused = await loadClusterLab(LAB);
      if (!(await Promise.all(reused.nodes.map(nodeRunning))).every(Boolean)) reused = undefined;
    } catch {
      reused = undefined;
    }
    if (reused) await destroyClusterLab(LAB).catch(() => undefined);
    lab = await createClusterLab({ name: LAB, nodes: 2, subnet: SUBNET, timeoutMs: 300_000 });
    await mkdir(ETC, { recursive: true, mode: 0o755 });
    for (const d of ['/var/cache/corral', '/var/cache/corral/it', DIR, ETC]) await chmod(d, 0o755);
    await writeFile(
      path.join(ETC, 'corral.conf'),
      `libvirt_uri = qemu+tcp://{node}/system\nnode_command = ${process.execPath} ${path.join(ROOT, 'test/support/lab-node-command.mjs')} ${labDir(LAB)} {node}\n`,
      { mode: 0o644 },
    );
    await copyBuild();

    // The disk: a known pattern, on n1 only.
    await ok(sh('n1', `mkdir -p /var/lib/libvirt/images && head -c ${DISK_MIB}M /dev/urandom > ${DISK}`));
    sumBefore = (await sha256On('n1')) as string;
    expect(await sha256On('n2')).toBeUndefined();

    const guest = await ensureTestGuest();
    const xml = testGuestDomainXml({ name: VM, guest, memoryMiB: 128, tick: true }).replace(
      '<devices>',
      `<devices><disk type="file" device="disk"><driver name="qemu" type="raw"/><source file="${DISK}"/><target dev="vda" bus="virtio"/></disk>`,
    );
    const file = path.join(DIR, `${VM}.xml`);
    await writeFile(file, xml, { mode: 0o644 });
    await ok(run('n1', 'fixup_domxml', ['-i', file]));
    const added = await ok(run('n1', 'domadd', ['--param', 'migration_transport=tcp', '--local', 'n1', file]));
    expect(added.stdout).toMatch(/disks local to n1/);
    await waitClusterIdle(lab, { resources: [`vm-${VM}`], timeoutMs: 240_000 });
  }, 600_000);

  afterAll(async () => {
    if (lab && !process.env.CORRAL_KEEP_LAB) await destroyClusterLab(LAB);
  }, 120_000);

  it('runs on the node with its disk, and corral list says the disk is local to it', async () => {
    expect(await runningOn()).toEqual(['n1']);
    const v = await listed();
    expect(v.localDisksOn).toBe('n1');
    expect(v.constraints).toContainEqual(expect.objectContaining({ kind: 'local', nodes: ['n1'] }));
    const text = await ok(run('n1', 'corral', ['list']));
    expect(text.stdout).toMatch(new RegExp(`${VM}\\s.*local:n1`));
  });

  it('vm migrate n2 copies the disk live: same content on n2, the guest kept running, n1 copy gone, constraint on n2', async () => {
    await waitUntil('the guest ticks', async () => ticks(await consoleLogOn(lab, 'n1', VM)).length >= 3 || undefined, 60_000, 500);
    const bootsBefore = await bootsOf(lab, VM);
    const t0 = Date.now();
    const r = await run('n1', 'vm', [VM, 'migrate', 'n2', '--yes'], 600_000);
    const ms = Date.now() - t0;
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await runningOn()).toEqual(['n2']);
    // The same bytes on n2; none left on n1.
    expect(await sha256On('n2')).toBe(sumBefore);
    expect(await sha256On('n1')).toBeUndefined();
    const v = await listed();
    expect(v.localDisksOn).toBe('n2');
    // One boot, and the ticks went on on n2 (the console log follows the VM: it is per node here).
    await waitUntil('ticks on n2', async () => ticks(await consoleLogOn(lab, 'n2', VM)).length >= 2 || undefined, 30_000, 500);
    expect(await bootsOf(lab, VM)).toBe(bootsBefore);
    const before = ticks(await consoleLogOn(lab, 'n1', VM));
    const after = ticks(await consoleLogOn(lab, 'n2', VM));
    expect(after[0]).toBeGreaterThan(before[before.length - 1] as number);
    // What the agent said about the copy (its lines in Pacemaker's log on n1).
    const plog = await readFile(path.join(labDir(LAB), 'nodes/n1/fs/var/log/pacemaker/pacemaker.log'), 'utf8').catch(() => '');
    const lines = plog.split('\n').filter((l) => l.includes(VM) && /copying|copied|storage pool|source copy/.test(l));
    console.log(`vm ${VM} migrate n2: ${(ms / 1000).toFixed(1)} s for a ${DISK_MIB} MiB disk\n${r.stdout}${lines.map((l) => `  ${l.slice(l.indexOf('TransientDomain') >= 0 ? l.indexOf('TransientDomain') : 0)}`).join('\n')}`);
    expect(lines.some((l) => /removed the source copy/.test(l))).toBe(true);
  }, 660_000);

  it('a crash of its node does not start it where its disk is not; it comes back with the node', async () => {
    const t0 = Date.now();
    await crashNode(lab, 'n2');
    // Until n2 rejoins (fenced and rebooted by the lab's fence device), the VM never runs on n1:
    // first Pacemaker notices that n2 is gone, then the VM stays stopped until n2 is back.
    let stoppedLine = '';
    let gone = false;
    for (;;) {
      const on = await runningOn().catch(() => [] as string[]);
      expect(on).not.toContain('n1');
      if (!gone && !on.includes('n2')) gone = true;
      if (gone && !stoppedLine) {
        const v = await listed().catch(() => undefined);
        if (v && v.state !== 'running' && v.localDisksOn === 'n2') {
          stoppedLine = (await run('n1', 'corral', ['list'])).stdout.split('\n').find((l) => l.startsWith(VM)) ?? '?';
        }
      }
      if ((gone && on.includes('n2')) || Date.now() - t0 > 300_000) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const sawStopped = stoppedLine !== '';
    console.log(`after the crash of n2, corral list said: ${stoppedLine}`);
    expect(sawStopped).toBe(true);
    await waitClusterIdle(lab, { resources: [`vm-${VM}`], timeoutMs: 240_000 });
    expect(await runningOn()).toEqual(['n2']);
    expect(await sha256On('n2')).toBe(sumBefore);
    console.log(`crash of n2: ${VM} stayed off n1 and ran on n2 again after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 600_000);

  it('node drain n2 copies its disk live to n1 before the standby: same content on n1, the guest kept running, n2 copy gone', async () => {
    expect(await runningOn()).toEqual(['n2']);
    await waitUntil('the guest ticks on n2', async () => ticks(await consoleLogOn(lab, 'n2', VM)).length >= 2 || undefined, 60_000, 500);
    const bootsBefore = await bootsOf(lab, VM);
    // The plan names the copy, and N+1 is not claimed for a VM whose disks are on one node.
    const dry = await ok(run('n1', 'corral', ['node', 'drain', 'n2', '--dry-run']));
    expect(dry.stdout).toMatch(new RegExp(`${VM}: n2 → n1 \\(live migration with a copy of its disks, local to n2`));
    const cap = await run('n1', 'corral', ['capacity']);
    expect(cap.exitCode).toBe(1);
    expect(cap.stdout).toMatch(new RegExp(`if n2 fails: ${VM} \\(disks local to n2\\) would stay stopped`));
    const t0 = Date.now();
    const r = await run('n1', 'corral', ['node', 'drain', 'n2'], 900_000);
    const ms = Date.now() - t0;
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(await runningOn()).toEqual(['n1']);
    expect(await sha256On('n1')).toBe(sumBefore);
    expect(await sha256On('n2')).toBeUndefined();
    expect((await listed()).localDisksOn).toBe('n1');
    const lastOnN2 = Math.max(...ticks(await consoleLogOn(lab, 'n2', VM)));
    await waitUntil('ticks on n1 after the drain', async () => ticks(await consoleLogOn(lab, 'n1', VM)).some((t) => t > lastOnN2) || undefined, 30_000, 500);
    expect(await bootsOf(lab, VM)).toBe(bootsBefore);
    console.log(`corral node drain n2: ${(ms / 1000).toFixed(1)} s with a ${DISK_MIB} MiB local disk copied\n${dry.stdout.trim()}\n${r.stdout.trim()}\n${r.stderr.trim()}`);
    await ok(run('n1', 'corral', ['node', 'undrain', 'n2']));
  }, 960_000);

  it('a copy that fails leaves the VM running on its node, not rebooted, and the node out of standby (exit 1)', async () => {
    expect(await runningOn()).toEqual(['n1']);
    const bootsBefore = await bootsOf(lab, VM);
    // n2 cannot take the disk: a file where its image directory should be (no storage pool there).
    await ok(sh('n2', 'rm -rf /var/lib/libvirt/images && touch /var/lib/libvirt/images'));
    try {
      const r = await run('n1', 'corral', ['node', 'drain', 'n1'], 900_000);
      console.log(`corral node drain n1 with n2 unable to take the disk (exit ${r.exitCode}):\n${r.stdout.trim()}\n${r.stderr.trim()}`);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/n1 NOT put in standby/);
      expect(r.stderr).toMatch(new RegExp(`${VM}: the copy of its disks to n2 did not complete; it runs on n1`));
      await waitClusterIdle(lab, { resources: [`vm-${VM}`], timeoutMs: 240_000 });
      expect(await runningOn()).toEqual(['n1']);
      expect((await listed()).localDisksOn).toBe('n1');
      expect(await sha256On('n1')).toBe(sumBefore);
      expect(await bootsOf(lab, VM)).toBe(bootsBefore);
      expect((await clusterStatus(lab)).nodes.find((n) => n.name === 'n1')?.standby).toBe(false);
      const lastTick = Math.max(...ticks(await consoleLogOn(lab, 'n1', VM)));
      await waitUntil('ticks go on on n1', async () => ticks(await consoleLogOn(lab, 'n1', VM)).some((t) => t > lastTick) || undefined, 30_000, 500);
    } finally {
      await sh('n2', 'rm -f /var/lib/libvirt/images; mkdir -p /var/lib/libvirt/images');
    }
  }, 960_000);
});
