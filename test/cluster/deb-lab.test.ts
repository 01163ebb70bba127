// The Debian package on the lab cluster: every node gets corral from the .deb (dpkg -i inside the
// node, on the node's own layers over /usr and dpkg's database: lib/lab/deb.ts) instead of the
// lab's overlay of the build, and the cluster runs VMs from the installed paths. Then n1 shuts down
// the way systemd would take it down: the stop of the installed corral-node.service (its ExecStop,
// with systemd saying the system is stopping, within its TimeoutStopSec) drains n1 while Pacemaker,
// Corosync and libvirt still run, and only then do those stop. No VM stops: each moves live (its
// guest goes on counting, no boot), no qemu ever runs twice. Back up, with boot_undrain = return,
// n1 undrains itself and its VMs come back.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile, appendFile, mkdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootClusterNode, clusterExec, clusterStatus, createClusterLab, destroyClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import { nodePath, nodeProcesses, stopNode } from '../../lib/lab/node.js';
import type { LabNode } from '../../lib/lab/state.js';
import { addLabVm, labConsoleLog, ticks } from '../../lib/lab/vms.js';
import { ensureTestGuest } from '../../lib/lab/test-guest.js';
import { LabWatcher } from '../../lib/lab/watch.js';
import { run } from '../../lib/host/exec.js';

const LAB = { name: process.env.CORRAL_DEB_LAB ?? 'deb', subnet: process.env.CORRAL_DEB_SUBNET ?? '10.213.96' };
const ROOT = new URL('../..', import.meta.url).pathname;
const VMS = ['d1', 'd2', 'd3'];
let lab: ClusterLab;
let n1: LabNode;
let n2: LabNode;
let watcher: LabWatcher;
const timings: Record<string, number> = {};

async function ok(p: ReturnType<typeof clusterExec>) {
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`${r.command} exited ${r.exitCode}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

async function where(): Promise<Record<string, string>> {
  const s = await clusterStatus(lab);
  return Object.fromEntries(VMS.map((v) => [v, s.resources.get(`vm-${v}`)?.nodes.join(',') ?? '']));
}

/** Boots of VM seen in every node's console log of it. */
async function boots(vm: string): Promise<number> {
  let n = 0;
  for (const node of lab.nodes) n += (await readFile(path.join(node.dir, 'fs/var/log/corral/console', `${vm}.log`), 'utf8').catch(() => '')).split('corral-test-guest: booted').length - 1;
  return n;
}

/** A [Service]/[Unit] setting of a unit file (the last one given, as systemd reads it). */
function setting(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1] as string);
}

function seconds(value: string): number {
  const m = /^(\d+)(min|s)?$/.exec(value.trim());
  if (!m) throw new Error(`cannot read the time span ${value}`);
  return Number(m[1]) * (m[2] === 'min' ? 60 : 1);
}

describe('the Debian package on the lab cluster', () => {
  beforeAll(async () => {
    await destroyClusterLab(LAB.name).catch(() => undefined);
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const t0 = Date.now();
    const built = await run(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'scripts/dev/deb.ts')], { timeoutMs: 300_000 });
    if (built.exitCode !== 0) throw new Error(`npm run deb failed: ${built.stderr}`);
    timings.debBuildMs = Date.now() - t0;
    const t1 = Date.now();
    lab = await createClusterLab({ name: LAB.name, nodes: 3, subnet: LAB.subnet, timeoutMs: 300_000, deb: { file: path.join(ROOT, 'dist', `corral_${version}_${execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim()}.deb`) } });
    timings.labUpMs = Date.now() - t1;
    [n1, n2] = lab.nodes as [LabNode, LabNode];
    const guest = await ensureTestGuest();
    for (const name of VMS) await addLabVm(lab, n2, { name, guest, tick: true });
    await waitClusterIdle(lab, { timeoutMs: 300_000, resources: VMS.map((v) => `vm-${v}`) });
    // All of them onto n1 (vm from the package), then no constraint left.
    await ok(clusterExec(n2, 'vm', ['d*', 'migrate', 'n1', '--yes'], { timeoutMs: 300_000 }));
    await ok(clusterExec(n2, 'vm', ['d*', 'clear', '--yes']));
    await waitClusterIdle(lab, { timeoutMs: 120_000 });
    watcher = new LabWatcher(lab);
    for (const v of VMS) watcher.expect(`vm-${v}`);
    watcher.start();
  }, 900_000);

  afterAll(async () => {
    await watcher?.stop();
    process.stderr.write(`deb-lab timings: ${JSON.stringify(timings)}\n`);
    if (lab && !process.env.CORRAL_KEEP_LAB) await destroyClusterLab(LAB.name);
  }, 120_000);

  it('runs corral from the package dpkg installed in every node, and from nothing else', async () => {
    for (const node of lab.nodes) {
      const st = await ok(clusterExec(node, 'dpkg-query', ['-W', '-f', '${Status}', 'corral']));
      expect(st.stdout, node.name).toBe('install ok installed');
      // Every installed file is the package's, but for corral.conf: the lab had written its own
      // before the install, and dpkg kept it as an operator's (the package's is beside it).
      expect((await ok(clusterExec(node, 'dpkg', ['-V', 'corral']))).stdout.trim(), node.name).toBe('??5?????? c /etc/corral/corral.conf');
      expect((await ok(clusterExec(node, 'ls', ['/etc/corral']))).stdout.split('\n'), node.name).toContain('corral.conf.dpkg-dist');
      expect((await ok(clusterExec(node, 'grep', ['-c', 'libvirt_uri = qemu+tcp', '/etc/corral/corral.conf']))).stdout.trim()).toBe('1');
      const mounts = (await ok(clusterExec(node, 'findmnt', ['-rn', '-o', 'TARGET']))).stdout.split('\n');
      expect(mounts, node.name).not.toContain('/usr/sbin');
      expect(mounts, node.name).not.toContain('/usr/lib/ocf/resource.d');
    }
    // The host itself has no corral package: the nodes' /usr and dpkg database are their own.
    expect((await run('dpkg-query', ['-W', 'corral'])).exitCode).not.toBe(0);
    expect(await where()).toEqual({ d1: 'n1', d2: 'n1', d3: 'n1' });
  });

  it('a shutdown of n1 (corral-node.service stopped as systemd would) drains it before its daemons stop; no VM stops', async () => {
    const unit = await readFile(await nodePath(n1, '/lib/systemd/system/corral-node.service'), 'utf8');
    const after = setting(unit, 'After').join(' ').split(/\s+/);
    for (const u of ['pacemaker.service', 'corosync.service', 'libvirtd.service', 'virt-guest-shutdown.target', 'libvirt-guests.service']) expect(after).toContain(u);
    const [execStop] = setting(unit, 'ExecStop');
    const timeout = seconds(setting(unit, 'TimeoutStopSec').at(-1) ?? '90s');
    expect(execStop).toBe('/usr/sbin/corral node on-shutdown');
    const bootsBefore = Object.fromEntries(await Promise.all(VMS.map(async (v) => [v, await boots(v)] as const)));
    const ticksBefore = Object.fromEntries(await Promise.all(VMS.map(async (v) => [v, Math.max(0, ...ticks(await labConsoleLog(n1, v)))] as const)));

    // What systemd gives the stop command: INVOCATION_ID, and a system that says it is stopping.
    const stub = path.join(lab.dir, 'systemd-stub');
    await mkdir(stub, { recursive: true, mode: 0o755 });
    await writeFile(path.join(stub, 'systemctl'), '#!/bin/sh\n[ "$1" = is-system-running ] && echo stopping\nexit 1\n');
    await chmod(path.join(stub, 'systemctl'), 0o755);
    const t0 = Date.now();
    const stop = await clusterExec(n1, '/bin/sh', ['-c', execStop as string], {
      timeoutMs: timeout * 1000,
      env: { INVOCATION_ID: 'corral-deb-lab', PATH: `${stub}:/usr/sbin:/usr/bin:/sbin:/bin` },
    });
    timings.shutdownDrainMs = Date.now() - t0;
    expect(stop.exitCode, `${stop.stdout}\n${stop.stderr}`).toBe(0);
    expect(stop.stdout).toMatch(/draining n1 before its cluster stack stops \(the system is shutting down/);
    for (const v of VMS) expect(stop.stdout).toMatch(new RegExp(`${v}: n1 → n[23] \\(live migration`));
    expect(stop.stdout).toMatch(/n1 drained: 3 VMs moved live/);

    // The drain is over, and n1's daemons are all still running: only now do they stop.
    const procs = (await nodeProcesses(n1)).map((p) => p.comm);
    for (const d of ['pacemakerd', 'corosync', 'libvirtd']) expect(procs).toContain(d);
    const w = await where();
    for (const v of VMS) expect(w[v]).toMatch(/^n[23]$/);
    const attrs = (await ok(clusterExec(n2, 'cibadmin', ['--query', '--scope', 'nodes']))).stdout;
    expect(attrs).toMatch(/name="corral-drain-reason" value="shutdown"/);

    // The rest of the shutdown, in the order the unit's After= makes systemd follow: Pacemaker,
    // Corosync, libvirt, then the machine goes off.
    for (const d of ['pacemakerd', 'corosync', 'libvirtd']) {
      const pids = (await nodeProcesses(n1)).filter((p) => p.comm === d).map((p) => p.pid);
      for (const pid of pids) process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 120_000;
      while ((await nodeProcesses(n1)).some((p) => pids.includes(p.pid))) {
        if (Date.now() > deadline) throw new Error(`${d} on n1 did not stop`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await stopNode(n1);
    await waitClusterIdle(lab, { online: ['n2', 'n3'], timeoutMs: 120_000 });

    const s = await clusterStatus(lab);
    for (const v of VMS) expect(s.resources.get(`vm-${v}`)?.nodes).toHaveLength(1);
    for (const v of VMS) expect(await boots(v), v).toBe(bootsBefore[v]);
    for (const v of VMS) {
      const node = lab.nodes.find((n) => n.name === w[v]) as LabNode;
      expect(Math.max(0, ...ticks(await labConsoleLog(node, v))), v).toBeGreaterThan(ticksBefore[v] as number);
    }
    expect(watcher.report.violations).toEqual([]);
  }, 600_000);

  it('back up with boot_undrain = return, n1 undrains itself and its VMs come back live', async () => {
    await appendFile(path.join(n1.dir, 'fs/etc/corral/corral.conf'), 'boot_undrain = return\n');
    await bootClusterNode(lab, n1);
    const t0 = Date.now();
    // corral-node-undrain.service's ExecStart, as systemd starts it at boot.
    const unit = await readFile(await nodePath(n1, '/lib/systemd/system/corral-node-undrain.service'), 'utf8');
    const [execStart] = setting(unit, 'ExecStart');
    const r = await clusterExec(n1, '/bin/sh', ['-c', execStart as string], { timeoutMs: 600_000, env: { INVOCATION_ID: 'corral-deb-lab' } });
    timings.bootUndrainMs = Date.now() - t0;
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/undraining n1 \(boot_undrain = return\)\nundrain n1: out of standby; 3 VMs to come back\n/);
    expect(r.stdout).toMatch(/n1 undrained: 3 VMs back, live/);
    await waitClusterIdle(lab, { timeoutMs: 120_000 });
    expect(await where()).toEqual({ d1: 'n1', d2: 'n1', d3: 'n1' });
    const s = await clusterStatus(lab);
    expect(s.nodes.find((n) => n.name === 'n1')?.standby).toBe(false);
    expect(watcher.report.violations).toEqual([]);
  }, 600_000);
});
