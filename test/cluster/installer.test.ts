// The seed's four lines on a 2-node lab cluster: a block device (a loop device over an image file
// stands in for the seed's lvcreate: the nodes share the host's /dev, as hypervisors share an
// iSCSI/cLVM volume), mk_debian_installer on it (debootstrap mode, from the cached root file
// system), create_domxml --disk DEVICE --virt-type qemu, fixup_domxml and domadd inside a node.
// (A plain image file on a local file system boots as well, but libvirt refuses to live-migrate
// it: "Migration without shared storage is unsafe".) The VM boots
// real Debian with systemd under TCG; Pacemaker's start returns only once the guest's
// corral-startup-signal unit has signalled (after multi-user.target); the console log shows the
// login prompt; a live migration keeps it running (a tick the post-install hook installed goes on
// on the other node, no second boot). Prints the times: image, first boot to "ready", migration.
// Lab "inst" on 10.213.102 (CORRAL_INST_LAB / CORRAL_INST_SUBNET), destroyed at the end unless
// CORRAL_KEEP_LAB is set. The nodes see the host's /var/cache/corral, where the image lives.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterExec, clusterStatus, createClusterLab, destroyClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import { labDir, type LabNode } from '../../lib/lab/state.js';
import type { RunResult } from '../../lib/host/exec.js';
import { LabWatcher } from '../../lib/lab/watch.js';
import { mkdi, ROOT } from '../support/debian-installer.js';
import { requireRoot } from '../support/root.js';

const exec = promisify(execFile);
const LAB = { name: process.env.CORRAL_INST_LAB ?? 'inst', subnet: process.env.CORRAL_INST_SUBNET ?? '10.213.102' };
const DIR = '/var/cache/corral/it/inst';
const BIN = path.join(DIR, 'bin');
const IMAGE = path.join(DIR, 'gum.img');
const XML = path.join(DIR, 'gum.xml');
/** The block device over IMAGE (the seed's /dev/vm/gum). */
let disk = '';

let lab: ClusterLab;
let n1: LabNode;
let watcher: LabWatcher;
const times: Record<string, number> = {};
let imageOut = '';
/** The console log (both nodes) at the moment Pacemaker first reported vm-gum Started. */
let consoleAtStarted = '';

async function ok(r: Promise<RunResult>): Promise<RunResult> {
  const x = await r;
  if (x.exitCode !== 0) throw new Error(`${x.command} exited ${x.exitCode}:\n${x.stderr}\n${x.stdout}`);
  return x;
}

/** This build's command run inside NODE with the node's own corral.conf (the lab's). */
function inNode(node: LabNode, command: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return clusterExec(node, path.join(BIN, command), args, { timeoutMs });
}

/** NODE's console log of gum, without the terminal's colour and cursor sequences. */
async function consoleOn(node: string): Promise<string> {
  const text = await readFile(path.join(labDir(LAB.name), 'nodes', node, 'fs/var/log/corral/console/gum.log'), 'utf8').catch(() => '');
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

async function consoles(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of lab.nodes) out[n.name] = await consoleOn(n.name);
  return out;
}

const count = (text: string, s: string) => text.split(s).length - 1;
const lastTick = (text: string) => Math.max(0, ...[...text.matchAll(/gum-tick (\d+)/g)].map((m) => Number(m[1])));

async function where(): Promise<{ role: string; nodes: string[] } | undefined> {
  const r = (await clusterStatus(lab)).resources.get('vm-gum');
  return r ? { role: r.role, nodes: r.nodes } : undefined;
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 1000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The post-install hook: a unit that prints a counter on the serial console every second. */
const TICK_HOOK = `#!/bin/sh
set -e
cat > "$TARGET/etc/systemd/system/gum-tick.service" <<'EOF'
[Unit]
Description=a tick on the serial console (the installer lab test)
After=multi-user.target
[Service]
ExecStart=/bin/sh -c 'i=0; while :; do i=$((i+1)); echo "gum-tick $i" > /dev/ttyS0; sleep 1; done'
[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/gum-tick.service "$TARGET/etc/systemd/system/multi-user.target.wants/gum-tick.service"
`;

describe('mk_debian_installer → create_domxml → domadd on the lab cluster', () => {
  beforeAll(async () => {
    requireRoot('the installer suite on the lab', 'it writes disks and runs a lab cluster');
    await mkdir(BIN, { recursive: true, mode: 0o755 });
    for (const f of await readdir(path.join(ROOT, 'dist/bin'))) {
      await copyFile(path.join(ROOT, 'dist/bin', f), path.join(BIN, `.${f}.new`));
      await chmod(path.join(BIN, `.${f}.new`), 0o755);
      await rename(path.join(BIN, `.${f}.new`), path.join(BIN, f));
    }
    await rm(IMAGE, { force: true });
    // 0. the seed's lvcreate: a 3 GiB block device
    await writeFile(IMAGE, '');
    await exec('truncate', ['-s', '3g', IMAGE]);
    disk = (await exec('losetup', ['--find', '--show', IMAGE])).stdout.trim();
    const hook = path.join(DIR, 'tick-hook.sh');
    await writeFile(hook, TICK_HOOK, { mode: 0o755 });
    const key = path.join(DIR, 'key.pub');
    await writeFile(key, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIInstLabTestKeyOnly inst@lab\n');
    // 1. the disk: as the seed's lvcreate + mk_debian_installer, with an image file
    let t = Date.now();
    const r = await mkdi(['--hostname', 'gum', '--ssh-key', key, '--post-install', hook, disk]);
    times.image = (Date.now() - t) / 1000;
    imageOut = r.stdout;
    if (r.code !== 0) throw new Error(`mk_debian_installer exited ${r.code}: ${r.stderr}\n${r.stdout}`);
    await destroyClusterLab(LAB.name).catch(() => undefined);
    lab = await createClusterLab({ name: LAB.name, nodes: 2, subnet: LAB.subnet, timeoutMs: 300_000 });
    n1 = lab.nodes[0] as LabNode;
    watcher = new LabWatcher(lab);
    watcher.start();
    // 2. create_domxml, 3. domadd (fixup_domxml in between, as domadd would do it anyway)
    await ok(inNode(n1, 'create_domxml', ['--name', 'gum', '--cpus', '1', '--mem', '512m', '--virt-type', 'qemu', '--no-vnc', '--disk', disk, '-o', XML]));
    await ok(inNode(n1, 'fixup_domxml', ['-i', XML]));
    t = Date.now();
    await ok(inNode(n1, 'domadd', ['--param', 'migration_transport=tcp', XML]));
    await waitFor(
      'vm-gum Started',
      async () => {
        const w = await where();
        if (w?.role !== 'Started') return false;
        consoleAtStarted = Object.values(await consoles()).join('');
        return true;
      },
      480_000,
    );
    times.ready = (Date.now() - t) / 1000;
  }, 1_500_000);

  afterAll(async () => {
    await watcher?.stop();
    process.stdout.write(
      `installer lab: image ${times.image?.toFixed(1)} s (${/root file system from the cache/.test(imageOut) ? 'cached root' : 'debootstrap'}), ` +
        `domadd to ready ${times.ready?.toFixed(1)} s (first boot under TCG), live migration ${times.migrate?.toFixed(1)} s\n`,
    );
    if (lab && !process.env.CORRAL_KEEP_LAB) await destroyClusterLab(LAB.name);
    if (!process.env.CORRAL_KEEP_LAB) {
      if (disk) await exec('losetup', ['--detach', disk]).catch(() => undefined);
      await rm(IMAGE, { force: true });
    }
  }, 180_000);

  it('the VM boots real Debian with systemd: kernel, systemd, the login prompt on the console log', async () => {
    const text = Object.values(await consoles()).join('');
    expect(text).toMatch(/Linux version 6\.\d+\.\d+-\d+-amd64/);
    expect(text).toMatch(/systemd\[1\]: systemd \d+/);
    expect(text).toContain('Reached target multi-user.target');
    await waitFor('the login prompt', async () => /Debian GNU\/Linux 12 gum ttyS0[\s\S]*gum login:/.test(Object.values(await consoles()).join('')), 60_000);
  });

  it("Pacemaker's start returned only once the guest's startup-signal unit ran (after multi-user.target)", async () => {
    // When crm_mon first said Started, the guest had already reached multi-user and started the unit.
    expect(consoleAtStarted).toContain('Reached target multi-user.target');
    expect(consoleAtStarted).toMatch(/Start(ing|ed) .*corral startup signal/);
    // The start operation itself lasted the boot (a plain qemu start takes under a second).
    const status = (await ok(clusterExec(n1, 'cibadmin', ['--query', '--scope', 'status']))).stdout;
    const start = [...status.matchAll(/<lrm_rsc_op [^>]*operation="start"[^>]*>/g)].map((m) => m[0]).find((op) => op.includes('id="vm-gum_last_0"'));
    expect(start, status).toBeDefined();
    expect(start).toMatch(/rc-code="0"/);
    const execMs = Number(/exec-time="(\d+)"/.exec(start as string)?.[1]);
    process.stdout.write(`start operation of vm-gum: ${(execMs / 1000).toFixed(1)} s\n`);
    expect(execMs).toBeGreaterThan(10_000);
  });

  it('a live migration keeps it running: the tick goes on on the other node, no second boot', async () => {
    const from = (await where())?.nodes[0] as string;
    const to = lab.nodes.find((n) => n.name !== from)?.name as string;
    const before = lastTick(await consoleOn(from));
    expect(before).toBeGreaterThan(0);
    const t = Date.now();
    await ok(inNode(n1, 'vm', ['gum', 'migrate', to], 300_000));
    times.migrate = (Date.now() - t) / 1000;
    const w = await where();
    expect(w).toEqual({ role: 'Started', nodes: [to] });
    await waitFor('ticks on the target', async () => lastTick(await consoleOn(to)) > before, 60_000);
    const after = await consoleOn(to);
    const first = Number(/gum-tick (\d+)/.exec(after)?.[1]);
    expect(first).toBeGreaterThan(before - 1); // it went on, it did not start again at 1
    const all = Object.values(await consoles()).join('');
    expect(count(all, 'Linux version')).toBe(1);
    await ok(inNode(n1, 'vm', ['gum', 'clear']));
    await waitClusterIdle(lab, { resources: ['vm-gum'], timeoutMs: 120_000 });
    expect(await where()).toEqual({ role: 'Started', nodes: [to] });
  });

  it('the watcher never saw the VM on two nodes, nor vanish from the CIB', async () => {
    const report = await watcher.stop();
    expect(report.violations).toEqual([]);
    expect(report.samples).toBeGreaterThan(10);
  });
});
