// The lab's node plumbing on the real host: namespaces with tini as PID 1, libvirtd per node,
// live migration between nodes over qemu+tcp, a libvirtd restart under a running domain, and a
// destroyLab that leaves nothing behind. Needs root, util-linux, iproute2, tini, libvirt and qemu.

import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsInode, netnsList, netnsPids } from '../../lib/host/netns.js';
import { isAlive } from '../../lib/host/procs.js';
import { createLab, destroyLab } from '../../lib/lab/create.js';
import { nodeVirsh, restartLibvirtd, startLibvirt, type LibvirtStart } from '../../lib/lab/libvirt.js';
import { nodeExec, nodeInitPid, nodeProcesses } from '../../lib/lab/node.js';
import { labDir, labNodes, loadLab, nodeUri, type Lab, type LabNode } from '../../lib/lab/state.js';

const LAB = 'it-lab-node';
const NODES = ['itn1', 'itn2'];
const domainXml = (name: string) =>
  `<domain type="qemu"><name>${name}</name><memory unit="MiB">96</memory><vcpu>1</vcpu><os><type arch="x86_64">hvm</type></os><devices><serial type="pty"/></devices><on_poweroff>destroy</on_poweroff></domain>\n`;

const timings: Record<string, number> = {};
let lab: Lab;
let n1: LabNode;
let n2: LabNode;
let starts: LibvirtStart[] = [];
let rootIfacesBefore: string[] = [];

async function rootIfaces(): Promise<string[]> {
  return readdir('/sys/class/net');
}

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await f();
  } finally {
    timings[label] = Date.now() - t;
  }
}

async function qemuOf(node: LabNode, domain: string) {
  return (await nodeProcesses(node)).filter((p) => p.comm.startsWith('qemu-system') && p.cmdline.some((a) => a.includes(`guest=${domain},`)));
}

async function writeDomain(name: string): Promise<string> {
  const file = path.join(lab.dir, `${name}.xml`); // the lab's state directory is visible inside the nodes
  await writeFile(file, domainXml(name));
  return file;
}

beforeAll(async () => {
  await destroyLab(LAB); // leftovers of an interrupted run
  rootIfacesBefore = await rootIfaces();
  lab = await timed('createLab', () => createLab({ name: LAB, nodes: NODES }));
  [n1, n2] = lab.nodes as [LabNode, LabNode];
  starts.push(await timed('startLibvirt itn1', () => startLibvirt(n1)));
  starts.push(await timed('startLibvirt itn2', () => startLibvirt(n2)));
}, 240_000);

afterAll(async () => {
  await destroyLab(LAB).catch(() => undefined);
  console.log(`lab-node timings (ms): ${JSON.stringify(timings)}; libvirt starts: ${JSON.stringify(starts)}`);
}, 120_000);

describe('lab nodes', () => {
  it('records the lab and its nodes', async () => {
    expect((await labNodes(LAB)).map((n) => n.name)).toEqual(NODES);
    expect(lab.nodes.map((n) => n.address)).toEqual(['10.213.77.11', '10.213.77.12']);
    const names = await netnsList();
    expect(names).toEqual(expect.arrayContaining(['corral.it-lab-node', 'corral.it-lab-node.itn1', 'corral.it-lab-node.itn2']));
  });

  it('runs each node with tini as PID 1 in a keeper detached from the caller', async () => {
    for (const node of lab.nodes) {
      const procs = await nodeProcesses(node);
      const init = procs.find((p) => p.nsPid === 1);
      expect(init?.comm).toBe('tini');
      expect(init?.pid).toBe(await nodeInitPid(node));
      const keeperPid = Number((await readFile(path.join(node.dir, 'keeper.pid'), 'utf8')).trim());
      const keeperStat = (await readFile(`/proc/${keeperPid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      const ourStat = (await readFile('/proc/self/stat', 'utf8')).split(') ')[1]?.split(' ') ?? [];
      expect(Number(keeperStat[1])).not.toBe(process.pid); // parent
      expect(keeperStat[3]).not.toBe(ourStat[3]); // session
    }
  });

  it('gives each node its hostname, its own mounts and /run/crm for pacemaker', async () => {
    for (const node of lab.nodes) {
      expect((await nodeExec(node, 'hostname', [], { timeoutMs: 10_000 })).stdout.trim()).toBe(node.name);
      expect((await nodeExec(node, 'uname', ['-n'], { timeoutMs: 10_000 })).stdout.trim()).toBe(node.name);
      const mountinfo = await readFile(`/proc/${await nodeInitPid(node)}/mountinfo`, 'utf8');
      const points = mountinfo.split('\n').map((l) => l.split(' ')[4]);
      for (const p of ['/etc/corosync', '/etc/libvirt', '/etc/hosts', '/var/lib/pacemaker', '/var/lib/corosync', '/var/lib/libvirt', '/var/cache/libvirt', '/var/log', '/run', '/dev/shm']) {
        expect(points).toContain(p);
      }
      // no copy of the host's /run/netns/* (it would keep other labs' namespaces alive)
      expect(mountinfo.split('\n').filter((l) => / - nsfs /.test(l))).toEqual([]);
      const crm = await nodeExec(node, 'stat', ['-c', '%U:%G', '/run/crm'], { timeoutMs: 10_000 });
      expect(crm.stdout.trim()).toBe('hacluster:haclient');
    }
    // per-node libvirt config: different host UUIDs, no shared state directory
    const uuids = await Promise.all(lab.nodes.map(async (n) => (await nodeExec(n, 'grep', ['^host_uuid', '/etc/libvirt/libvirtd.conf'], { timeoutMs: 10_000 })).stdout));
    expect(new Set(uuids).size).toBe(2);
  });

  it("answers on each node's libvirtd", async () => {
    for (const node of lab.nodes) {
      const r = await nodeVirsh(node, ['version']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('Running hypervisor: QEMU');
      const listening = await nodeExec(node, 'ss', ['-Hltn', 'sport = :16509'], { timeoutMs: 10_000 });
      expect(listening.stdout).toContain('16509');
    }
  });

  it('resolves node names and pings between nodes', async () => {
    for (const [from, to] of [[n1, n2], [n2, n1]] as const) {
      const r = await nodeExec(from, 'getent', ['hosts', to.name], { timeoutMs: 10_000 });
      expect(r.stdout.trim().split(/\s+/)[0]).toBe(to.address);
      const ping = await nodeExec(from, 'ping', ['-c', '1', '-W', '2', to.name], { timeoutMs: 10_000 });
      expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
    }
  });

  it("starts the second node from the first node's qemu capability cache", async () => {
    const second = starts[1];
    expect(second?.capsSeeded).toBe(true);
    expect(second?.capsAccepted).toBe(true);
    const file = await writeDomain('ln-caps');
    const r = await timed('first virsh create on itn2', () => nodeVirsh(n2, ['create', file], 60_000));
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await qemuOf(n2, 'ln-caps')).length).toBe(1);
    const d = await nodeVirsh(n2, ['destroy', 'ln-caps']);
    expect(d.exitCode, d.stderr).toBe(0);
  }, 90_000);

  it('live-migrates a qemu domain from itn1 to itn2 over qemu+tcp', async () => {
    const file = await writeDomain('ln-probe');
    const c = await timed('virsh create on itn1', () => nodeVirsh(n1, ['create', file], 60_000));
    expect(c.exitCode, c.stderr).toBe(0);
    expect((await nodeVirsh(n1, ['domstate', 'ln-probe'])).stdout.trim()).toBe('running');

    const m = await timed('virsh migrate --live', () => nodeVirsh(n1, ['migrate', '--live', 'ln-probe', nodeUri(n2)], 90_000));
    expect(m.exitCode, m.stderr).toBe(0);

    const on2 = await nodeVirsh(n2, ['domstate', 'ln-probe']);
    expect(on2.stdout.trim()).toBe('running');
    const on1 = await nodeVirsh(n1, ['domstate', 'ln-probe']);
    expect(on1.exitCode).not.toBe(0);
    expect(on1.stderr).toMatch(/failed to get domain|Domain not found/);
    expect((await qemuOf(n2, 'ln-probe')).length).toBe(1);
    expect((await qemuOf(n1, 'ln-probe')).length).toBe(0);
  }, 150_000);

  it('restarts libvirtd of one node while its qemu keeps running, and libvirtd sees the domain again', async () => {
    const [qemu] = await qemuOf(n2, 'ln-probe');
    expect(qemu).toBeDefined();
    const before = (await nodeProcesses(n2)).filter((p) => p.comm === 'libvirtd').map((p) => p.pid);
    const otherBefore = (await nodeProcesses(n1)).filter((p) => p.comm === 'libvirtd').map((p) => p.pid);
    expect(before.length).toBe(1);

    const r = await timed('restartLibvirtd', () => restartLibvirtd(n2));
    expect(r.alreadyRunning).toBe(false);

    const after = (await nodeProcesses(n2)).filter((p) => p.comm === 'libvirtd').map((p) => p.pid);
    expect(after.length).toBe(1);
    expect(after[0]).not.toBe(before[0]);
    expect(isAlive(qemu!.pid)).toBe(true);
    expect((await qemuOf(n2, 'ln-probe')).map((p) => p.pid)).toEqual([qemu!.pid]);
    expect((await nodeVirsh(n2, ['domstate', 'ln-probe'])).stdout.trim()).toBe('running');
    // the other node's libvirtd was not touched
    expect((await nodeProcesses(n1)).filter((p) => p.comm === 'libvirtd').map((p) => p.pid)).toEqual(otherBefore);
  }, 90_000);

  it('destroyLab leaves no namespace, process, mount, interface or state file', async () => {
    const dir = labDir(LAB);
    const netnsNames = [lab.switchNetns, ...lab.nodes.map((n) => n.netns)];
    const inodes = new Map<string, number | undefined>();
    const pids = new Map<number, number | undefined>(); // pid → its netns inode
    for (const n of netnsNames) {
      const ino = await netnsInode(n);
      inodes.set(n, ino);
      for (const p of await netnsPids(n)) pids.set(p, ino);
    }
    const [qemu] = await qemuOf(n2, 'ln-probe');
    expect(qemu).toBeDefined();
    expect(pids.size).toBeGreaterThan(6); // keepers, tinis, sleeps, virtlogd, libvirtd, qemu

    const report = await timed('destroyLab', () => destroyLab(LAB));
    expect(report.removedDir).toBe(true);

    expect((await netnsList()).filter((n) => n.startsWith('corral.it-lab-node'))).toEqual([]);
    for (const [pid, ino] of pids) {
      if (!isAlive(pid)) continue;
      const now = await stat(`/proc/${pid}/ns/net`).then((s) => s.ino, () => undefined);
      expect(now, `pid ${pid} still in the lab's network namespace`).not.toBe(ino);
    }
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    expect(mountinfo).not.toContain(dir);
    expect(mountinfo).not.toContain('corral.it-lab-node');
    const newIfaces = (await rootIfaces()).filter((i) => !rootIfacesBefore.includes(i));
    expect(newIfaces.filter((i) => /^(vn\d+|br0|eth0)$/.test(i))).toEqual([]);
    await expect(stat(dir)).rejects.toThrow();

    const again = await destroyLab(LAB);
    expect(again).toEqual({ killedNetns: [], deletedNetns: [], removedDir: false });
  }, 60_000);

  it('creates the lab again after destroy, and destroyLab cleans up a lab that lost its state file', async () => {
    const second = await timed('createLab (second)', () => createLab({ name: LAB, nodes: NODES }));
    const [a] = second.nodes as [LabNode, LabNode];
    expect((await nodeExec(a, 'hostname', [], { timeoutMs: 10_000 })).stdout.trim()).toBe('itn1');
    const s = await timed('startLibvirt itn1 (second lab)', () => startLibvirt(a));
    expect(s.capsSeeded).toBe(true);
    expect((await nodeVirsh(a, ['version'])).exitCode).toBe(0);
    await expect(createLab({ name: LAB, nodes: NODES })).rejects.toThrow(/already exists/);
    await expect(loadLab(LAB)).resolves.toBeDefined();

    // a crash that lost the lab's definition: destroyLab finds the namespaces by name
    const pids = (await Promise.all(second.nodes.map((n) => netnsPids(n.netns)))).flat();
    await rm(path.join(second.dir, 'lab.json'));
    const report = await destroyLab(LAB);
    expect(report.deletedNetns.sort()).toEqual([second.switchNetns, ...second.nodes.map((n) => n.netns)].sort());
    expect((await netnsList()).filter((n) => n.startsWith('corral.it-lab-node'))).toEqual([]);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    await expect(stat(second.dir)).rejects.toThrow();
  }, 120_000);
});
