// `corral lab up --storage ceph` as a user runs it (the built dist/bin/corral), on one 3-node lab
// for the whole file: what `ceph -s` says from a node, the VM pool's replication, what the
// client.corral key may and may not do, an RBD VM end to end (create_domxml --rbd POOL/IMAGE with
// the node's corral.conf, domadd, the agent's libvirt secret on every node, start, live migration,
// failover when its node crashes), I/O going on with one node crashed (2 of 3) and the node's
// daemons back after Pacemaker has fenced and rebooted it, and `lab down` leaving nothing.
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../lib/host/exec.js';
import { cephStatus, lockHoldersFrom, rbd } from '../../lib/host/ceph.js';
import { netnsList } from '../../lib/host/netns.js';
import { BLOCKLIST_EXPIRE_SECONDS, CEPH_CLIENT, CEPH_POOL, readCephFile, waitCephHealthy } from '../../lib/lab/ceph.js';
import { clusterExec, clusterStatus, destroyClusterLab, loadClusterLab, nodeVia, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import { ensureTestGuest } from '../../lib/lab/test-guest.js';
import { ticks } from '../../lib/lab/vms.js';
import { bootsOf, consoleLogOn, waitUntil } from '../support/ops-lab.js';
import { ensureDebianInstaller } from '../support/debian-installer.js';
import { nodeProcesses } from '../../lib/lab/node.js';
import { labDir, type LabNode } from '../../lib/lab/state.js';

const ROOT = new URL('../..', import.meta.url).pathname;
/** A private copy of this build (a build started meanwhile empties dist/ first). */
let dist = '';
const LAB = process.env.CORRAL_CEPH_LAB ?? 'cephit';
const SUBNET = process.env.CORRAL_CEPH_SUBNET ?? '10.213.121';
const client = { id: CEPH_CLIENT };

async function corral(...args: string[]) {
  const r = await run(process.execPath, [path.join(dist, 'bin/corral'), ...args], { cwd: ROOT, timeoutMs: 420_000, env: { CORRAL_DIST: dist } });
  return { code: r.exitCode, out: r.stdout, err: r.stderr };
}

/** `ceph ARGS` in NODE as admin (or CLIENT): the whole result. */
async function cephIn(node: LabNode, args: readonly string[], id?: string) {
  return clusterExec(node, 'ceph', [...(id ? ['--id', id] : []), '--connect-timeout', '20', ...args], { timeoutMs: 30_000 });
}

function labNetns(names: string[]): string[] {
  return names.filter((n) => n === `corral.${LAB}` || n.startsWith(`corral.${LAB}.`));
}

let lab: ClusterLab;
let upMs = 0;

/** The RBD VM: its image in the VM pool, its files where every node sees them. */
const VM = 'rbdvm';
const IMAGE = `${CEPH_POOL}/${VM}`;
const VM_DIR = '/var/cache/corral/it/ceph';
const IMAGE_MIB = 32;
let imageSum = '';
/** The crash test's node crash: when, and where the RBD VM then ran (watched from then on). */
let failover: Promise<{ node: string; ms: number }> | undefined;

/** A command of this build as installed in the lab's nodes (/usr/sbin), with the node's own corral.conf. */
function inLab(node: LabNode, command: string, args: readonly string[], timeoutMs = 120_000) {
  return clusterExec(node, `/usr/sbin/${command}`, args, { timeoutMs });
}

function nodeNamed(name: string): LabNode {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

/** Where Pacemaker runs the RBD VM (one node once started). */
async function vmNodes(): Promise<string[]> {
  return (await clusterStatus(lab)).resources.get(`vm-${VM}`)?.nodes ?? [];
}

/** The clients that have IMAGE open (`rbd status`): their addresses without port and nonce. */
async function watchers(node: LabNode, image = IMAGE): Promise<string[]> {
  const r = await rbd(['status', '--format', 'json', image], { via: nodeVia(node, 60_000), client });
  expect(r.exitCode, r.stderr).toBe(0);
  return ((JSON.parse(r.stdout) as { watchers?: { address: string }[] }).watchers ?? []).map((w) => w.address.replace(/^v\d:/, '').split(':')[0] as string);
}

async function imageSha(node: LabNode): Promise<string> {
  const r = await clusterExec(node, 'sh', ['-c', `rbd --id ${CEPH_CLIENT} export ${IMAGE} - 2>/dev/null | sha256sum`], { timeoutMs: 120_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return r.stdout.split(/\s+/)[0] as string;
}

/** Waits until NODE's QEMU is the image's one client (a client that went away unannounced, as
 *  with a crashed node, keeps its watch until Ceph's 30 s watch timeout). */
async function onlyWatcher(node: LabNode): Promise<void> {
  let seen: string[] = [];
  await waitUntil(`${node.name} the only client of ${IMAGE} (now: ${seen.join(' ')})`, async () => {
    seen = await watchers(node);
    return (seen.length === 1 && seen[0] === node.address) || undefined;
  }, 90_000, 1000);
}

/** vm VM migrate TO as an operator types it in a node, then its move constraint dropped; the time it took. */
async function migrate(to: string): Promise<number> {
  const t = Date.now();
  const r = await inLab(nodeNamed(to), 'vm', [VM, 'migrate', to, '--yes'], 300_000);
  const ms = Date.now() - t;
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(await vmNodes()).toEqual([to]);
  const c = await inLab(nodeNamed(to), 'vm', [VM, 'clear']);
  expect(c.exitCode, c.stderr).toBe(0);
  return ms;
}

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dist/bin/corral')), 'npm run build first').toBe(true);
  dist = await mkdtemp(path.join(tmpdir(), 'corral-ceph-dist-'));
  await cp(path.join(ROOT, 'dist'), dist, { recursive: true });
  await destroyClusterLab(LAB);
}, 60_000);

afterAll(async () => {
  await destroyClusterLab(LAB).catch(() => undefined);
  if (dist) await rm(dist, { recursive: true, force: true });
}, 60_000);

describe('corral lab up --storage ceph', () => {
  it('refuses a storage it does not know, and Ceph on fewer than 3 nodes, starting nothing (exit 2)', async () => {
    const bad = await corral('lab', 'up', '--name', LAB, '--subnet', SUBNET, '--storage', 'nfs', '--no-packages', '--no-build');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--storage: the lab\'s storage is one of: ceph');
    const two = await corral('lab', 'up', '--name', LAB, '--subnet', SUBNET, '--nodes', '2', '--storage', 'ceph', '--no-packages', '--no-build');
    expect(two.code).toBe(2);
    expect(two.err).toContain('Ceph needs at least 3 nodes');
    expect(existsSync(labDir(LAB))).toBe(false);
    expect(labNetns(await netnsList())).toEqual([]);
  });

  it('starts a 3-node lab with a monitor, a manager and an OSD in every node, and status names the pool', async () => {
    const t = Date.now();
    const r = await corral('lab', 'up', '--name', LAB, '--subnet', SUBNET, '--storage', 'ceph', '--no-packages', '--no-build');
    upMs = Date.now() - t;
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/lab: ceph: HEALTH_OK, 3 monitors in quorum, 3 OSDs up and in, (\d+)\/\1 PGs active\+clean/);
    process.stderr.write(`ceph lab up in ${(upMs / 1000).toFixed(1)} s\n${r.err}\n`);
    lab = await loadClusterLab(LAB);

    const s = await corral('lab', 'status', '--name', LAB, '--json');
    expect(s.code, s.err).toBe(0);
    const j = JSON.parse(s.out) as {
      nodes: { name: string; power: string; daemons: string[] }[];
      storage: { kind: string; pool: string; size: number; minSize: number; client: string; keyring: string; monitors: { node: string; address: string }[]; health: string };
    };
    expect(j.storage).toEqual({
      kind: 'ceph',
      pool: CEPH_POOL,
      size: 3,
      minSize: 2,
      client: CEPH_CLIENT,
      keyring: `/etc/ceph/ceph.client.${CEPH_CLIENT}.keyring`,
      monitors: lab.nodes.map((n) => ({ node: n.name, address: n.address })),
      health: 'HEALTH_OK',
    });
    for (const n of j.nodes) {
      expect(n.power).toBe('on');
      expect(n.daemons).toEqual(expect.arrayContaining(['corosync', 'pacemakerd', 'libvirtd', 'ceph-mon', 'ceph-mgr', 'ceph-osd']));
    }
    const text = await corral('lab', 'status', '--name', LAB);
    expect(text.out).toMatch(/^ceph: HEALTH_OK; 3\/3 monitors in quorum \(n1 n2 n3\); 3\/3 OSDs up, 3 in; /m);
  }, 480_000);

  it('ceph -s in a node: HEALTH_OK, 3 monitors in quorum, 3 OSDs up and in; the pool is size 3, min_size 2, for rbd', async () => {
    const n2 = lab.nodes[1] as LabNode;
    const s = await cephIn(n2, ['-s']);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/health: HEALTH_OK/);
    expect(s.stdout).toMatch(/mon: 3 daemons, quorum n1,n2,n3/);
    expect(s.stdout).toMatch(/osd: 3 osds: 3 up \(since [^)]*\), 3 in/);
    expect(s.stdout).toMatch(/mgr: n\d\(active/);
    for (const [key, want] of [['size', 'size: 3'], ['min_size', 'min_size: 2']] as const) {
      const g = await cephIn(n2, ['osd', 'pool', 'get', CEPH_POOL, key]);
      expect(g.stdout.trim(), g.stderr).toBe(want);
    }
    const app = await cephIn(n2, ['osd', 'pool', 'application', 'get', CEPH_POOL]);
    expect(JSON.parse(app.stdout)).toHaveProperty('rbd');
    // Each replica on its own node (failure domain host).
    const tree = JSON.parse((await cephIn(n2, ['osd', 'tree', '--format', 'json'])).stdout) as { nodes: { type: string; name: string; children?: number[] }[] };
    expect(tree.nodes.filter((x) => x.type === 'host').map((x) => [x.name, x.children?.length]).sort()).toEqual([['n1', 1], ['n2', 1], ['n3', 1]]);
  });

  it('every node has ceph.conf with the monitors and client.corral\'s private keyring; the key works in the pool and nowhere else', async () => {
    for (const n of lab.nodes) {
      const conf = await clusterExec(n, 'cat', ['/etc/ceph/ceph.conf']);
      expect(conf.stdout).toContain(`mon_host = ${lab.nodes.map((x) => `[v2:${x.address}:3300,v1:${x.address}:6789]`).join(',')}`);
      const mode = await clusterExec(n, 'stat', ['-c', '%a %U', `/etc/ceph/ceph.client.${CEPH_CLIENT}.keyring`]);
      expect(mode.stdout.trim()).toBe('600 root');
    }
    const n3 = lab.nodes[2] as LabNode;
    const via = nodeVia(n3, 60_000);
    const created = await rbd(['create', '--size', '64M', `${CEPH_POOL}/disk1`], { via, client });
    expect(created.exitCode, created.stderr).toBe(0);
    const ls = await rbd(['ls', CEPH_POOL], { via, client });
    expect(ls.stdout.split('\n')).toContain('disk1');
    const info = await rbd(['info', '--format', 'json', `${CEPH_POOL}/disk1`], { via, client });
    expect(JSON.parse(info.stdout)).toMatchObject({ size: 64 * 1024 ** 2, features: expect.arrayContaining(['exclusive-lock']) });

    // Refused: making a pool, reading the admin's key, an image in another pool.
    const pool = await cephIn(n3, ['osd', 'pool', 'create', 'not-allowed', '8'], CEPH_CLIENT);
    expect(pool.exitCode).not.toBe(0);
    expect(pool.stderr).toMatch(/EACCES|access denied/i);
    const admin = await cephIn(n3, ['auth', 'get', 'client.admin'], CEPH_CLIENT);
    expect(admin.exitCode).not.toBe(0);
    expect(admin.stdout).not.toMatch(/key\s*=/);
    const other = await rbd(['create', '--size', '8M', 'device_health_metrics/x'], { via, client });
    expect(other.exitCode).not.toBe(0);
    const pools = await cephIn(n3, ['osd', 'pool', 'ls']);
    expect(pools.stdout.split('\n')).not.toContain('not-allowed');
  }, 180_000);

  it('an RBD VM: create_domxml --rbd POOL/IMAGE alone takes the Ceph settings from corral.conf; it starts, with a private libvirt secret on every node and the key in no argument and not in the CIB', async () => {
    const [n1] = lab.nodes as [LabNode, ...LabNode[]];
    const ceph = await readCephFile(lab);
    expect(ceph?.secretUuid).toMatch(/^[0-9a-f-]{36}$/);
    const uuid = ceph?.secretUuid as string;
    // The image: random bytes imported as client.corral (a file every node sees).
    await mkdir(VM_DIR, { recursive: true, mode: 0o755 });
    for (const d of ['/var/cache/corral', '/var/cache/corral/it', VM_DIR]) await chmod(d, 0o755);
    const raw = path.join(VM_DIR, `${VM}.img`);
    expect((await clusterExec(n1, 'sh', ['-c', `head -c ${IMAGE_MIB}M /dev/urandom > ${raw}`])).exitCode).toBe(0);
    const imported = await rbd(['import', raw, IMAGE], { via: nodeVia(n1, 120_000), client });
    expect(imported.exitCode, imported.stderr).toBe(0);
    imageSum = (await clusterExec(n1, 'sha256sum', [raw])).stdout.split(/\s+/)[0] as string;
    await rm(raw, { force: true });

    const guest = await ensureTestGuest();
    const made = await inLab(n1, 'create_domxml', [
      '--name', VM, '--cpus', '1', '--mem', '128m', '--virt-type', 'qemu', '--no-vnc',
      '--kernel', guest.kernel, '--initrd', guest.initrd, '--cmdline', 'console=ttyS0 corral.tick=1',
      '--rbd', IMAGE,
    ]);
    expect(made.exitCode, made.stderr).toBe(0);
    expect(made.stdout).toContain('<auth username="corral">');
    expect(made.stdout).toContain(`<secret type="ceph" uuid="${uuid}"/>`);
    for (const n of lab.nodes) expect(made.stdout).toContain(`<host name="${n.address}"/>`);
    const file = path.join(VM_DIR, `${VM}.xml`);
    await writeFile(file, made.stdout, { mode: 0o644 });
    const t = Date.now();
    const added = await inLab(n1, 'domadd', ['--param', 'migration_transport=tcp', file]);
    expect(added.exitCode, `${added.stdout}\n${added.stderr}`).toBe(0);
    await waitClusterIdle(lab, { resources: [`vm-${VM}`], timeoutMs: 240_000 });
    const startMs = Date.now() - t;
    const [on] = await vmNodes();
    expect(on).toBeDefined();
    const node = nodeNamed(on as string);
    await waitUntil('the guest ticks', async () => ticks(await consoleLogOn(lab, node.name, VM)).length >= 1 || undefined, 60_000, 500);
    process.stderr.write(`RBD VM ${VM}: domadd to started (startup signal) on ${node.name} in ${(startMs / 1000).toFixed(1)} s\n`);
    // QEMU there has the image open (its one watcher), through the secret the agent made.
    await onlyWatcher(node);
    // vm NAME status names who has the image open and who holds its lock, by node.
    const st = await inLab(n1, 'vm', [VM, 'status', '--json']);
    expect(st.exitCode, st.stderr).toBe(0);
    const rbdStatus = (JSON.parse(st.stdout) as { rbd?: { disk: string; image: string; openBy: string[]; lockHolder: string | null }[] }).rbd;
    expect(rbdStatus).toEqual([expect.objectContaining({ disk: 'vda', image: IMAGE, openBy: [`${node.name} (${node.address})`] })]);
    const stText = await inLab(n1, 'vm', [VM, 'status']);
    expect(stText.stdout).toContain(`rbd vda ${IMAGE}: open by ${node.name} (${node.address}); `);
    process.stderr.write(`vm ${VM} status: ${stText.stdout.split('\n').find((l) => l.includes('rbd vda'))?.trim()}\n`);

    // Every node has the secret (the probes made it from each node's own key file): persistent,
    // private (libvirt never gives the value back), for client.corral.
    const key = (await readFile(path.join(n1.dir, 'fs/etc/ceph/ceph.client.corral.keyring'), 'utf8')).match(/key = (\S+)/)?.[1] as string;
    expect(key).toBeTruthy();
    for (const n of lab.nodes) {
      const x = await clusterExec(n, 'virsh', ['-c', 'qemu:///system', 'secret-dumpxml', uuid]);
      expect(x.exitCode, `${n.name}: ${x.stderr}`).toBe(0);
      expect(x.stdout).toMatch(/<secret ephemeral='no' private='yes'>/);
      expect(x.stdout).toContain('<name>client.corral secret</name>');
      const v = await clusterExec(n, 'virsh', ['-c', 'qemu:///system', 'secret-get-value', uuid]);
      expect(v.exitCode).not.toBe(0);
      expect(v.stdout).not.toContain(key);
      // No temporary key file left behind.
      expect((await clusterExec(n, 'sh', ['-c', 'ls -d /run/corral-secret-* 2>/dev/null | wc -l'])).stdout.trim()).toBe('0');
    }
    // Never in the CIB, never in QEMU's arguments.
    const cib = await clusterExec(n1, 'cibadmin', ['-Q']);
    expect(cib.stdout).toContain(`vm-${VM}`);
    expect(cib.stdout).not.toContain(key);
    const qemu = (await nodeProcesses(node)).filter((p) => p.comm.startsWith('qemu-system'));
    expect(qemu.length).toBe(1);
    const argv = await readFile(`/proc/${qemu[0]?.pid}/cmdline`, 'utf8');
    // libvirt hands QEMU the key encrypted with a per-domain master key (a secret object), never as is.
    expect(argv).toMatch(/"driver":"rbd","pool":"corral-vms","image":"rbdvm"/);
    expect(argv).toContain('"user":"corral"');
    expect(argv).toMatch(/"qom-type":"secret","id":"libvirt-\d+-storage-auth-secret0","data":"[^"]+","keyid":"masterKey0"/);
    expect(argv).not.toContain(key);
  }, 480_000);

  it('corral verify checks the RBD VM\'s key file and libvirt secret on every node it may run on: all there, and a missing key file is an error naming the node', async () => {
    const [n1, , n3] = lab.nodes as [LabNode, LabNode, LabNode];
    type Check = { check: string; node: string; ok: boolean; severity?: string; message: string };
    const verify = async () => {
      const r = await inLab(n1, 'corral', ['verify', '--json', '--all', '--timeout', '60'], 180_000);
      expect([0, 1], `${r.stderr}${r.stdout}`).toContain(r.exitCode);
      return (JSON.parse(r.stdout) as { checks: Check[] }).checks.filter((c) => c.check === 'disks');
    };
    const before = await verify();
    expect(before.filter((c) => !c.ok), JSON.stringify(before)).toEqual([]);
    expect(before.map((c) => c.node).sort()).toEqual(['n1', 'n2', 'n3']);
    const keyring = path.join(n3.dir, 'fs/etc/ceph/ceph.client.corral.keyring');
    await rename(keyring, `${keyring}.away`);
    try {
      const after = await verify();
      expect(after.filter((c) => !c.ok).map((c) => [c.node, c.message.split(':')[0]])).toEqual([['n3', `${VM}'s RBD disk ${IMAGE} needs client.corral's key here, and /etc/ceph/ceph.client.corral.keyring is missing`]]);
    } finally {
      await rename(`${keyring}.away`, keyring);
    }
  }, 420_000);

  it('domadd and fixup_domxml refuse an RBD image that does not exist and one another client has open, changing nothing; the running VM\'s own image is allowed', async () => {
    const [n1, , n3] = lab.nodes as [LabNode, LabNode, LabNode];
    const guest = await ensureTestGuest();
    const xmlOf = async (name: string) => {
      const made = await inLab(n1, 'create_domxml', ['--name', name, '--cpus', '1', '--mem', '128m', '--virt-type', 'qemu', '--no-vnc', '--kernel', guest.kernel, '--initrd', guest.initrd, '--rbd', `${CEPH_POOL}/${name}`]);
      expect(made.exitCode, made.stderr).toBe(0);
      const file = path.join(VM_DIR, `${name}.xml`);
      await writeFile(file, made.stdout, { mode: 0o644 });
      return file;
    };
    const cibBefore = (await clusterExec(n1, 'cibadmin', ['-Q', '-o', 'resources'])).stdout;

    // No such image.
    const ghost = await xmlOf('ghost');
    for (const [cmd, args] of [['domadd', ['--param', 'migration_transport=tcp', ghost]], ['fixup_domxml', ['-i', ghost]]] as const) {
      const r = await inLab(n1, cmd, args);
      expect(r.exitCode, `${cmd}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`vda: the RBD image ${CEPH_POOL}/ghost does not exist`);
    }

    // An image another client has open: `rbd watch` in n3 holds a watch on it, as a QEMU or a mapping would.
    expect((await rbd(['create', '--size', '8M', `${CEPH_POOL}/held`], { via: nodeVia(n3, 60_000), client })).exitCode).toBe(0);
    // (rbd watch holds until a line or the end of its input: a sleep keeps the input open.)
    const holder = clusterExec(n3, 'sh', ['-c', `sleep 117 | rbd --id ${CEPH_CLIENT} watch ${CEPH_POOL}/held`], { timeoutMs: 150_000 });
    try {
      await waitUntil('the watch on held', async () => (await watchers(n3, `${CEPH_POOL}/held`)).length > 0 || undefined, 60_000, 500);
      const held = await xmlOf('held');
      for (const [cmd, args] of [['domadd', ['--param', 'migration_transport=tcp', held]], ['fixup_domxml', [held]]] as const) {
        const r = await inLab(n1, cmd, args);
        expect(r.exitCode, `${cmd}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`vda: the RBD image ${CEPH_POOL}/held is open by another client (rbd status: watcher at ${n3.address})`);
      }
    } finally {
      const mine = (await nodeProcesses(n3)).filter((x) => (x.comm === 'rbd' && x.cmdline.includes('watch')) || x.cmdline.join(' ') === 'sleep 117');
      for (const p of mine) process.kill(p.pid, 'SIGTERM');
      await holder;
    }
    expect((await clusterExec(n1, 'cibadmin', ['-Q', '-o', 'resources'])).stdout).toBe(cibBefore);

    // The VM's own image, open by its own QEMU where Pacemaker runs it: fixup_domxml and domadd --replace take it.
    const config = await clusterExec(n1, 'crm_resource', ['--resource', `vm-${VM}`, '--get-parameter', 'config']);
    expect(config.exitCode, config.stderr).toBe(0);
    const own = path.join(VM_DIR, `${VM}-cib.xml`);
    await writeFile(own, config.stdout, { mode: 0o644 });
    const fixed = await inLab(n1, 'fixup_domxml', [own]);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    const replaced = await inLab(n1, 'domadd', ['--replace', '--param', 'migration_transport=tcp', own]);
    expect(replaced.exitCode, `${replaced.stdout}${replaced.stderr}`).toBe(0);
    expect(replaced.stdout).toContain('already like this; nothing changed');
    expect(await vmNodes()).toHaveLength(1);
  }, 300_000);

  it('the RBD VM live-migrates with vm NAME migrate NODE: one boot, its ticks go on, the image\'s watcher moves with it, its bytes unchanged', async () => {
    const [from] = await vmNodes();
    // It ends on n1, the node the crash test crashes.
    const hops = from === 'n1' ? ['n2', 'n1'] : ['n1'];
    const boots = await bootsOf(lab, VM);
    let last = from as string;
    for (const to of hops) {
      const before = ticks(await consoleLogOn(lab, last, VM));
      const ms = await migrate(to);
      await waitUntil(`ticks on ${to}`, async () => ticks(await consoleLogOn(lab, to, VM)).some((x) => x > (before[before.length - 1] ?? 0)) || undefined, 60_000, 500);
      await onlyWatcher(nodeNamed(to));
      process.stderr.write(`RBD VM ${VM}: vm migrate ${last} -> ${to} in ${(ms / 1000).toFixed(1)} s\n`);
      last = to;
    }
    expect(await bootsOf(lab, VM)).toBe(boots);
    expect(await imageSha(nodeNamed('n3'))).toBe(imageSum);
  }, 660_000);

  it('with a node crashed, I/O goes on with 2 of 3; fenced and rebooted, the node\'s daemons rejoin and Ceph is healthy again', async () => {
    const [n1, n2] = lab.nodes as [LabNode, LabNode, ...LabNode[]];
    const before = (await nodeProcesses(n1)).filter((p) => p.comm.startsWith('ceph-')).map((p) => p.pid);
    expect(before.length).toBe(3);
    // Pacemaker fences a crashed node at once and the reboot starts its Ceph again within seconds:
    // `noup` keeps n1's OSD down while the test writes, so that the writes are served by 2 of 3.
    expect((await cephIn(n2, ['osd', 'set', 'noup'])).exitCode).toBe(0);
    expect(await vmNodes()).toEqual([n1.name]);
    const crash = await corral('lab', 'crash', '--name', LAB, n1.name);
    expect(crash.code, crash.err).toBe(0);
    const t = Date.now();
    // The RBD VM on n1 (the migration test left it there): watched until it runs elsewhere.
    failover = waitUntil(
      `${VM} running on another node`,
      async () => {
        const on = await vmNodes().catch(() => []);
        return on.length === 1 && on[0] !== n1.name ? { node: on[0] as string, ms: Date.now() - t } : undefined;
      },
      300_000,
      1000,
    );
    failover.catch(() => undefined); // awaited by the next test
    const via = nodeVia(n2, 60_000);
    // Every placement group has a copy on n1's OSD (size 3 on 3 OSDs): a write completes only once
    // Ceph has marked that OSD down and the other two serve the group.
    const made = await rbd(['create', '--size', '32M', `${CEPH_POOL}/during-outage`], { via, client });
    const ioMs = Date.now() - t;
    expect(made.exitCode, made.stderr).toBe(0);
    expect(ioMs).toBeLessThan(60_000);
    process.stderr.write(`rbd create with ${n1.name} crashed: ${(ioMs / 1000).toFixed(1)} s after the crash\n`);
    const w = await rbd(['bench', '--io-type', 'write', '--io-size', '64K', '--io-total', '4M', `${CEPH_POOL}/during-outage`], { via, client });
    expect(w.exitCode, w.stderr).toBe(0);
    const during = await cephStatus({ via });
    expect(during.osds).toMatchObject({ total: 3, up: 2 });
    // The monitors answered during the outage (ceph status needs a quorum), n2 and n3 among them.
    // Whether n2 and n3 elected a leader without n1 (Ceph's own log) depends on how soon n1's
    // monitor is back: the lab fences and boots a crashed node in seconds, which on an idle machine
    // can be before the election without it ends.
    expect(during.quorum).toEqual(expect.arrayContaining(['n2', 'n3']));
    const clusterLog = path.join(n2.dir, 'fs/var/log/ceph/ceph.log');
    const quorumOfTwo = /mon\.n2 is new leader, mons n2,n3 in quorum/.test(await readFile(clusterLog, 'utf8').catch(() => ''));
    process.stderr.write(`monitors during the outage: ${quorumOfTwo ? 'n2 and n3 formed a quorum without n1' : `n1's monitor was back before a quorum without it formed (quorum ${during.quorum.join(',')})`}\n`);

    // Pacemaker fenced n1 (a reboot through the lab's power controller); its boot started Ceph.
    expect((await cephIn(n2, ['osd', 'unset', 'noup'])).exitCode).toBe(0);
    const back = Date.now();
    const healthy = await waitCephHealthy(lab, { timeoutMs: 300_000 });
    expect(healthy.quorum).toEqual(['n1', 'n2', 'n3']);
    expect(healthy.osds).toEqual({ total: 3, up: 3, in: 3 });
    process.stderr.write(`ceph healthy again ${((Date.now() - back) / 1000).toFixed(1)} s after noup was lifted\n`);
    const after = (await nodeProcesses(n1)).filter((p) => p.comm.startsWith('ceph-'));
    expect(after.map((p) => p.comm).sort()).toEqual(['ceph-mgr', 'ceph-mon', 'ceph-osd']);
    expect(after.some((p) => before.includes(p.pid))).toBe(false);
    const ls = await rbd(['ls', CEPH_POOL], { via: nodeVia(n1, 60_000), client });
    expect(ls.stdout.split('\n').sort()).toEqual(['disk1', 'during-outage', 'held', VM]);
  }, 420_000);

  it('the RBD VM on the crashed node was started on another node (fenced first), its image intact', async () => {
    const f = await (failover as Promise<{ node: string; ms: number }>);
    process.stderr.write(`RBD VM ${VM}: node crash to running on ${f.node} in ${(f.ms / 1000).toFixed(1)} s\n`);
    const node = nodeNamed(f.node);
    await waitUntil(`the guest ticks on ${f.node}`, async () => ticks(await consoleLogOn(lab, f.node, VM)).length >= 1 || undefined, 120_000, 500);
    await onlyWatcher(node);
    expect(await imageSha(node)).toBe(imageSum);
  }, 420_000);

  it('mk_debian_installer --size 2g rbd:POOL/IMAGE makes the image (built in a file under /var/tmp, imported, the file gone; an existing image refused), and a VM on it boots its installer from RBD', async () => {
    const n2 = nodeNamed('n2');
    const di = await ensureDebianInstaller();
    const args = ['--di', di, '--size', '2g', '--hostname', 'inst', `rbd:${CEPH_POOL}/inst`];
    const t = Date.now();
    const r = await inLab(n2, 'mk_debian_installer', args, 600_000);
    const ms = Date.now() - t;
    expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/imported into rbd:corral-vms\/inst \([\d.]+ s\)/);
    const info = JSON.parse((await rbd(['info', '--format', 'json', `${CEPH_POOL}/inst`], { via: nodeVia(n2, 60_000), client })).stdout) as { size: number; features: string[] };
    expect(info.size).toBe(2 * 1024 ** 3);
    expect(info.features).toContain('exclusive-lock');
    expect((await clusterExec(n2, 'sh', ['-c', 'ls -d /var/tmp/mk_debian_installer-rbd.* 2>/dev/null | wc -l'])).stdout.trim()).toBe('0');
    process.stderr.write(`mk_debian_installer --di --size 2g rbd:${CEPH_POOL}/inst: ${(ms / 1000).toFixed(1)} s\n${r.stdout.trimEnd()}\n`);
    const again = await inLab(n2, 'mk_debian_installer', args, 120_000);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`rbd:${CEPH_POOL}/inst exists already`);

    // README's flow with the image: create_domxml --rbd, domadd; SeaBIOS and GRUB read the disk through QEMU's RBD driver.
    const made = await inLab(n2, 'create_domxml', ['--name', 'inst', '--cpus', '1', '--mem', '512m', '--virt-type', 'qemu', '--no-vnc', '--no-startup-signal', '--rbd', `${CEPH_POOL}/inst`]);
    expect(made.exitCode, made.stderr).toBe(0);
    const file = path.join(VM_DIR, 'inst.xml');
    await writeFile(file, made.stdout, { mode: 0o644 });
    const added = await inLab(n2, 'domadd', ['--param', 'migration_transport=tcp', file]);
    expect(added.exitCode, `${added.stdout}${added.stderr}`).toBe(0);
    const t2 = Date.now();
    const booted = await waitUntil(
      'the installer\'s kernel on inst\'s console',
      async () => {
        for (const n of lab.nodes) if (/Linux version 6\.\d+\.\d+-\d+-amd64/.test(await consoleLogOn(lab, n.name, 'inst'))) return n.name;
        return undefined;
      },
      180_000,
      1000,
    );
    process.stderr.write(`VM inst on rbd:${CEPH_POOL}/inst: the installer's kernel booted on ${booted} ${((Date.now() - t2) / 1000).toFixed(1)} s after domadd\n`);
  }, 600_000);

  it('two writers are impossible: a frozen writer\'s lock is broken by the next one, which blocklists it for a week; resumed, its writes fail', async () => {
    const [n1, n2] = lab.nodes as [LabNode, LabNode, ...LabNode[]];
    const image = `${CEPH_POOL}/twowriters`;
    expect((await rbd(['create', '--size', '64M', image], { via: nodeVia(n1, 60_000), client })).exitCode).toBe(0);
    // The first writer (librbd, as QEMU uses it) holds the image's exclusive lock while it writes.
    const first = clusterExec(n1, 'rbd', ['--id', CEPH_CLIENT, 'bench', '--io-type', 'write', '--io-size', '4K', '--io-threads', '1', '--io-total', '1G', '--io-pattern', 'rand', image], { timeoutMs: 300_000 });
    let address = '';
    await waitUntil('the first writer', async () => {
      const r = await rbd(['status', '--format', 'json', image], { via: nodeVia(n2, 60_000), client });
      address = (JSON.parse(r.stdout) as { watchers?: { address: string }[] }).watchers?.[0]?.address ?? '';
      return address || undefined;
    }, 60_000, 500);
    await sleep(3000); // writing by now, so the lock is its own
    // rbd lock ls names it as the exclusive lock's holder (what vm NAME status reads).
    const locks = await rbd(['lock', 'ls', '--format', 'json', image], { via: nodeVia(n2, 60_000), client });
    expect(lockHoldersFrom(locks.stdout)).toEqual([{ client: expect.stringMatching(/^client\.\d+$/), host: n1.address, exclusive: true }]);
    const writer = (await nodeProcesses(n1)).find((p) => p.comm === 'rbd' && p.cmdline.includes('bench'));
    expect(writer).toBeDefined();
    // Frozen, as a QEMU on a node that is cut off: no answer to the lock request, its watch times out.
    process.kill(writer?.pid as number, 'SIGSTOP');
    try {
      const t = Date.now();
      const second = await rbd(['bench', '--io-type', 'write', '--io-size', '4K', '--io-total', '1M', image], { via: nodeVia(n2, 180_000), client });
      expect(second.exitCode, second.stderr).toBe(0);
      process.stderr.write(`two writers: the second got the lock ${((Date.now() - t) / 1000).toFixed(1)} s after the first froze\n`);
      const list = await cephIn(n2, ['osd', 'blocklist', 'ls']);
      const entry = list.stdout.split('\n').find((l) => l.startsWith(`${address.replace(/^v\d:/, '')} `));
      expect(entry, list.stdout).toBeDefined();
      const until = Date.parse(entry?.split(' ')[1] as string);
      expect(Math.abs(until - (Date.now() + BLOCKLIST_EXPIRE_SECONDS * 1000))).toBeLessThan(3_600_000);
    } finally {
      process.kill(writer?.pid as number, 'SIGCONT');
    }
    const resumed = await first;
    expect(resumed.exitCode).not.toBe(0);
    expect(resumed.stderr).toMatch(/\(108\) Cannot send after transport endpoint shutdown/);
  }, 300_000);

  it('lab down stops every Ceph daemon and removes their data', async () => {
    const pids: number[] = [];
    for (const n of lab.nodes) pids.push(...(await nodeProcesses(n)).filter((p) => p.comm.startsWith('ceph-')).map((p) => p.pid));
    expect(pids.length).toBe(9);
    const block = path.join(lab.dir, 'nodes/n1/fs/var/lib/ceph/osd/ceph-0/block');
    expect((await stat(block)).size).toBe(16 * 1024 ** 3);
    const d = await corral('lab', 'down', '--name', LAB);
    expect(d.code, d.err).toBe(0);
    await sleep(200);
    for (const pid of pids) expect(await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => 'gone')).toBe('gone');
    expect(existsSync(lab.dir)).toBe(false);
    expect(labNetns(await netnsList())).toEqual([]);
  }, 120_000);
});
