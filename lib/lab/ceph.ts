// Ceph in the lab (`corral lab up --storage ceph`): a real Ceph 16 cluster from Debian 12's
// packages, one monitor, one manager and one OSD per lab node, each running in that node's
// namespaces, so that crashing or fencing a lab node takes its daemons with it as on real hardware.
// Bootstrapped by hand as Ceph's manual deployment documents it (keyrings, monmaptool, ceph-mon
// --mkfs, ceph osd new, ceph-osd --mkfs); no cephadm, no systemd. The keys are made here in
// ceph-authtool's format (cephxKey) and written as keyring files: one program less per key on a
// host where every program started in a node costs.
//
// Files (STATE/L is the lab's state directory, A a node):
//   STATE/L/ceph.json                  the Ceph cluster's definition (fsid, pool, monitors, the OSD
//                                      id of each node); its presence is what makes a node's boot
//                                      start Ceph (startCephNode, called by lib/lab/boot.ts)
//   STATE/L/nodes/A/fs/etc/ceph/       } bind-mounted in node A onto /etc/ceph and /var/lib/ceph
//   STATE/L/nodes/A/fs/var/lib/ceph/   } (only in a Ceph lab): ceph.conf, the admin and
//                                      client.corral keyrings; the monitor's store, the manager's
//                                      key, the OSD's directory with its BlueStore file `block`
//                                      (sparse, created by ceph-osd --mkfs: no kernel module)
//   STATE/L/nodes/A/fs/var/log/ceph/   the daemons' logs (the node's own /var/log)
// `corral lab down` kills the daemons with the node and removes all of it with the state directory.
//
// The daemons run as root (the lab is root's; nothing of the host's /var/lib/ceph is used). Memory
// is kept small: each OSD's osd_memory_target at Ceph's minimum (896 MiB: a ceiling the cache
// grows to under load, not what an idle OSD holds), the monitors' target and RocksDB cache small,
// and the manager with no optional module (mgr_initial_modules = iostat only).
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ceph, cephStatus, type CephStatus } from '../host/ceph.js';
import { missingPackages, installPackages } from '../host/apt.js';
import { nsBindMount, nsMkdir, nsMountpoints } from '../host/mounts.js';
import { nsRunOk, nsStartDaemon } from '../host/nsenter.js';
import type { Via } from '../host/pacemaker/tool.js';
import { nodeExec, nodeInitPid, nodeProcesses, nodeRunning } from './node.js';
import { exists, type Lab, type LabNode } from './state.js';

/** The storage kinds `corral lab up --storage` knows. */
export const STORAGE_KINDS = ['ceph'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

/** Debian 12 packages Ceph in the lab needs (qemu-block-extra: QEMU's RBD driver, for VMs). */
const CEPH_PACKAGES = ['ceph-mon', 'ceph-osd', 'ceph-mgr', 'ceph-common', 'qemu-block-extra'] as const;

/** The pool for VMs and the client that uses it (`profile rbd` on that pool only). */
export const CEPH_POOL = 'corral-vms';
export const CEPH_CLIENT = 'corral';
/** Placement groups of the VM pool: fixed (the autoscaler is off in the lab, see cephConf). */
const POOL_PGS = 32;
/** The BlueStore file of each OSD: sparse, so this is what the pool can hold, not what it uses. */
const OSD_BLOCK_BYTES = 16 * 1024 ** 3;
/** Ceph's minimum for osd_memory_target (896 MiB). */
const OSD_MEMORY_TARGET = 896 * 1024 ** 2;
/** How long Ceph blocklists a client whose image lock was broken (mon_osd_blocklist_default_expire): a week. */
export const BLOCKLIST_EXPIRE_SECONDS = 7 * 24 * 3600;
/** Nodes a Ceph lab needs: 3 monitors, so that a quorum survives one node; 3 hosts for size 3. */
export const CEPH_MIN_NODES = 3;

/** The Ceph cluster's definition as ceph.json keeps it. */
export interface CephFile {
  version: 1;
  fsid: string;
  pool: string;
  /** Replicas of every object, and how many must be up for I/O to go on. */
  size: number;
  minSize: number;
  /** The client VMs use: client.corral, keyring /etc/ceph/ceph.client.corral.keyring on every node. */
  client: string;
  monitors: { node: string; address: string }[];
  /** The OSD id of each node. */
  osds: Record<string, number>;
  /** The libvirt secret (uuid) of the client, named in every node's corral.conf (ceph_secret). */
  secretUuid: string;
}

/** What `corral lab status --json` says about the lab's storage. */
export interface LabStorage {
  kind: StorageKind;
  pool: string;
  size: number;
  minSize: number;
  client: string;
  keyring: string;
  monitors: { node: string; address: string }[];
}

function cephFilePath(lab: Lab): string {
  return path.join(lab.dir, 'ceph.json');
}

/** The lab's Ceph definition, or undefined for a lab without Ceph. */
export async function readCephFile(lab: Lab): Promise<CephFile | undefined> {
  const text = await readFile(cephFilePath(lab), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as CephFile);
}

/** The lab's storage as `lab status --json` shows it (null: the lab's file stand-in only). */
export async function labStorage(lab: Lab): Promise<LabStorage | null> {
  const c = await readCephFile(lab);
  if (!c) return null;
  return { kind: 'ceph', pool: c.pool, size: c.size, minSize: c.minSize, client: c.client, keyring: clientKeyring(c.client), monitors: c.monitors };
}

function clientKeyring(client: string): string {
  return `/etc/ceph/ceph.client.${client}.keyring`;
}

/** Runs ceph (and friends) inside NODE. */
function cephVia(node: LabNode, timeoutMs = 30_000): Via {
  return { runner: (file, args, o) => nodeExec(node, file, args, { timeoutMs: o.timeoutMs, input: o.input }), timeoutMs };
}

/** Checks (and with INSTALL installs) Ceph's packages; throws naming what is missing. */
export async function ensureCephPackages(install: boolean, log: (line: string) => void = () => undefined): Promise<void> {
  const missing = await missingPackages(CEPH_PACKAGES);
  if (missing.length === 0) return;
  if (!install) throw new Error(`--storage ceph needs the Debian packages ${missing.join(' ')} (apt-get install them, or leave out --no-packages)`);
  if (process.getuid?.() !== 0) throw new Error(`missing packages (${missing.join(' ')}) and not root: install them or run as root`);
  log(`installing ${missing.join(' ')} (apt-get)`);
  await installPackages(missing);
}

/** /etc/ceph/ceph.conf of every node: the cluster, and the lab's small settings (each says why). */
function cephConf(lab: Lab, c: Pick<CephFile, 'fsid' | 'size' | 'minSize'>): string {
  const monHost = lab.nodes.map((n) => `[v2:${n.address}:3300,v1:${n.address}:6789]`).join(',');
  return [
    `# corral lab ${lab.name}: written by corral lab up --storage ceph`,
    '[global]',
    `fsid = ${c.fsid}`,
    `mon_initial_members = ${lab.nodes.map((n) => n.name).join(', ')}`,
    `mon_host = ${monHost}`,
    `public_network = ${lab.subnet}.0/24`,
    'auth_cluster_required = cephx',
    'auth_service_required = cephx',
    'auth_client_required = cephx',
    // A fresh Ceph 16 cluster otherwise warns (AUTH_INSECURE_GLOBAL_ID_RECLAIM_ALLOWED): every client here is 16.
    'auth_allow_insecure_global_id_reclaim = false',
    'ms_bind_ipv6 = false',
    `osd_pool_default_size = ${c.size}`,
    `osd_pool_default_min_size = ${c.minSize}`,
    // Fixed placement groups: the autoscaler would split or merge them while tests run.
    'osd_pool_default_pg_autoscale_mode = off',
    // The lab shares the host's disk, which is often more than 70% full: Ceph's default (warn
    // below 30% free) would keep the cluster in HEALTH_WARN for a disk the lab does not own.
    'mon_data_avail_warn = 10',
    'mon_allow_pool_delete = false',
    // A client whose exclusive lock on an image another client broke (a frozen or cut-off QEMU)
    // is blocklisted for this long (Ceph's default: 1 hour, after which it could write again).
    // A week, set here for the whole cluster: librbd's own rbd_blocklist_expire_seconds makes the
    // lock break itself fail on Ceph 16 (EINVAL: the new writer never gets the lock).
    `mon_osd_blocklist_default_expire = ${BLOCKLIST_EXPIRE_SECONDS}`,
    // Small memory: the monitors' cache target and RocksDB cache, the OSDs' target at its minimum.
    `mon_memory_target = ${256 * 1024 ** 2}`,
    `rocksdb_cache_size = ${64 * 1024 ** 2}`,
    `osd_memory_target = ${OSD_MEMORY_TARGET}`,
    // No optional manager modules (the default adds restful and nfs).
    'mgr_initial_modules = iostat',
    '',
    '[osd]',
    'osd_objectstore = bluestore',
    'bluestore_block_create = true',
    `bluestore_block_size = ${OSD_BLOCK_BYTES}`,
    '',
  ].join('\n');
}

/**
 * The lines a Ceph lab adds to every node's /etc/corral/corral.conf: create_domxml --rbd POOL/IMAGE
 * then names the monitors, client.corral and its libvirt secret by itself, and the agent makes that
 * secret on each node from /etc/ceph/ceph.client.corral.keyring.
 */
function corralConfCeph(c: CephFile): string {
  return [
    '# Ceph (corral lab up --storage ceph): the defaults of create_domxml --rbd POOL/IMAGE.',
    `ceph_monitors = ${c.monitors.map((m) => m.address).join(' ')}`,
    `ceph_client = ${c.client}`,
    `ceph_secret = ${c.secretUuid}`,
    '',
  ].join('\n');
}

/** The node's Ceph directories on the host (its fs/, as for its other own directories). */
function nodeCephDirs(node: LabNode): { etc: string; lib: string; log: string } {
  const fs = path.join(node.dir, 'fs');
  return { etc: path.join(fs, 'etc/ceph'), lib: path.join(fs, 'var/lib/ceph'), log: path.join(fs, 'var/log/ceph') };
}

/** Bind-mounts the node's /etc/ceph and /var/lib/ceph and makes /run/ceph (once per boot). */
async function mountCephDirs(node: LabNode): Promise<void> {
  const initPid = await nodeInitPid(node);
  const d = nodeCephDirs(node);
  const mounted = new Set(await nsMountpoints(initPid));
  for (const [source, target] of [[d.etc, '/etc/ceph'], [d.lib, '/var/lib/ceph']] as const) {
    if (mounted.has(target)) continue;
    if (!(await exists(target))) await mkdir(target, { recursive: true, mode: 0o755 }); // a mount point only
    await nsBindMount(initPid, source, target);
  }
  await nsMkdir(initPid, '/run/ceph', '0770');
}

type Daemon = 'mon' | 'mgr' | 'osd';

/** Starts the node's monitor, manager and OSD (or those of ONLY), each unless it runs already. */
async function startCephDaemons(node: LabNode, c: CephFile, only: readonly Daemon[] = ['mon', 'mgr', 'osd']): Promise<void> {
  const initPid = await nodeInitPid(node);
  const running = new Set((await nodeProcesses(node)).map((p) => p.comm));
  for (const d of only) {
    const id = d === 'osd' ? c.osds[node.name] : node.name;
    if (id === undefined || running.has(`ceph-${d}`)) continue;
    await nsStartDaemon(initPid, `/usr/bin/ceph-${d}`, ['-f', '--cluster', 'ceph', '-i', String(id)], { logFile: `/var/log/ceph/ceph-${d}.${id}.out` });
  }
}

/**
 * The boot of a node of a Ceph lab starts its Ceph daemons (lib/lab/boot.ts calls this for every
 * node it boots; a lab without Ceph costs one stat here). Returns whether it started anything.
 */
export async function startCephNode(lab: Lab, node: LabNode): Promise<boolean> {
  const c = await readCephFile(lab);
  if (!c) return false;
  await mountCephDirs(node);
  await startCephDaemons(node, c);
  return true;
}

/** Runs FILE ARGS in NODE, throwing with its last line unless it succeeds. */
async function inNode(node: LabNode, file: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await nsRunOk(await nodeInitPid(node), file, args, { timeoutMs: opts.timeoutMs ?? 60_000, input: opts.input }).catch((e: unknown) => {
    throw new Error(`${node.name}: ${file} ${args.slice(0, 2).join(' ')}: ${(e as Error).message.split('\n').slice(-1)[0]}`);
  });
  return r.stdout;
}

async function deadlineWait<T>(what: string, deadline: number, probe: () => Promise<{ done: boolean; value: T; missing: string }>): Promise<T> {
  let missing = 'no answer yet';
  for (;;) {
    try {
      const p = await probe();
      if (p.done) return p.value;
      missing = p.missing;
    } catch (e) {
      missing = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: still ${missing}`);
    await sleep(1000);
  }
}

export interface CephUpOptions {
  /** Bound for the whole bring-up, health included (default 240 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Creates the lab's Ceph cluster on its running nodes and waits until it is healthy (see
 * waitCephHealthy): keys, monitor map, a monitor and a manager per node, an OSD per node (OSD i-1
 * on node i), the VM pool (size 3, min_size 2) with `rbd pool init`, and client.corral's key on
 * every node. Progress goes to LOG. Throws with what was missing when a step overruns its bound.
 */
export async function createCeph(lab: Lab, opts: CephUpOptions = {}): Promise<CephFile> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const deadline = t0 + (opts.timeoutMs ?? 240_000);
  if (lab.nodes.length < CEPH_MIN_NODES) throw new Error(`--storage ceph needs at least ${CEPH_MIN_NODES} nodes (3 monitors, 3 replicas), not ${lab.nodes.length}`);
  const [first] = lab.nodes as [LabNode, ...LabNode[]];
  const c: CephFile = {
    version: 1,
    fsid: randomUUID(),
    pool: CEPH_POOL,
    size: 3,
    minSize: 2,
    client: CEPH_CLIENT,
    monitors: lab.nodes.map((n) => ({ node: n.name, address: n.address })),
    osds: Object.fromEntries(lab.nodes.map((n, i) => [n.name, i])),
    secretUuid: randomUUID(),
  };

  // Every key is made here and handed to the monitors' first store (ceph-mon --mkfs imports the
  // keyring with its caps), so that the managers start with the monitors and no later call has to
  // ask for a key: mon., client.admin, mgr.NODE, and client.corral with `profile rbd` on the pool
  // only. Each node gets ceph.conf, the admin's key and client.corral's (0600), and its manager's.
  const conf = cephConf(lab, c);
  const admin = keyringEntry('client.admin', cephxKey(), { mds: 'allow *', mgr: 'allow *', mon: 'allow *', osd: 'allow *' });
  const clientEntry = keyringEntry(`client.${c.client}`, cephxKey(), { mgr: `profile rbd pool=${c.pool}`, mon: 'profile rbd', osd: `profile rbd pool=${c.pool}` });
  const managers = new Map(lab.nodes.map((n) => [n.name, keyringEntry(`mgr.${n.name}`, cephxKey(), { mds: 'allow *', mon: 'allow profile mgr', osd: 'allow *' })]));
  const boot = path.join(lab.dir, 'ceph-bootstrap');
  await mkdir(boot, { recursive: true, mode: 0o700 });
  const monKeyring = path.join(boot, 'mon.keyring');
  const monmap = path.join(boot, 'monmap');
  await writeFile(monKeyring, [keyringEntry('mon.', cephxKey(), { mon: 'allow *' }), admin, clientEntry, ...managers.values()].join(''), { mode: 0o600 });
  for (const n of lab.nodes) {
    const d = nodeCephDirs(n);
    const mgrDir = path.join(d.lib, 'mgr', `ceph-${n.name}`);
    for (const dir of [d.etc, d.log, mgrDir, ...['mon', 'osd', 'tmp'].map((x) => path.join(d.lib, x))]) await mkdir(dir, { recursive: true, mode: 0o755 });
    await writeFile(path.join(d.etc, 'ceph.conf'), conf, { mode: 0o644 });
    await writeFile(path.join(d.etc, 'ceph.client.admin.keyring'), admin, { mode: 0o600 });
    await writeFile(path.join(d.etc, `ceph.client.${c.client}.keyring`), clientEntry, { mode: 0o600 });
    await writeFile(path.join(mgrDir, 'keyring'), managers.get(n.name) as string, { mode: 0o600 });
    await appendFile(path.join(n.dir, 'fs/etc/corral/corral.conf'), corralConfCeph(c));
  }
  const addv = lab.nodes.flatMap((n) => ['--addv', n.name, `[v2:${n.address}:3300,v1:${n.address}:6789]`]);
  await inNode(first, 'monmaptool', ['--create', '--fsid', c.fsid, ...addv, monmap]);
  await Promise.all(
    lab.nodes.map(async (n) => {
      await mountCephDirs(n);
      await inNode(n, 'ceph-mon', ['--mkfs', '-i', n.name, '--monmap', monmap, '--keyring', monKeyring]);
      await startCephDaemons(n, c, ['mon', 'mgr']);
    }),
  );
  await rm(boot, { recursive: true, force: true });
  // From here on a node that boots (a power cycle, a fence) starts its Ceph daemons itself.
  await writeFile(cephFilePath(lab), `${JSON.stringify(c, null, 2)}\n`);
  log(`ceph: ${lab.nodes.length} monitors and managers started (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  // No wait for the quorum here: the next calls wait for the monitors themselves (a call of the
  // CLI alone takes seconds on a busy host), and the health wait at the end checks the quorum.
  const via = cephVia(first, 90_000);

  // The OSDs and the pool at once (the CLI's calls take seconds each on a busy host): each node
  // registers its OSD (`ceph osd new` with the id and a key made here), makes its BlueStore file
  // (ceph-osd --mkfs) and starts it; the pool is made meanwhile (size and min_size from ceph.conf's
  // defaults), and its `rbd pool init` waits for the OSDs.
  const osds = Promise.all(
    lab.nodes.map(async (n) => {
      const id = c.osds[n.name] as number;
      const key = cephxKey();
      const uuid = randomUUID();
      const got = (
        await ceph(['osd', 'new', uuid, String(id), '-i', '-'], { via: cephVia(n, 90_000), input: JSON.stringify({ cephx_secret: key }) }).catch((e: unknown) => {
          throw new Error(`${n.name}: registering OSD ${id} (do the monitors form a quorum?): ${(e as Error).message}`);
        })
      ).trim();
      if (got !== String(id)) throw new Error(`ceph osd new gave OSD id ${JSON.stringify(got)} for ${n.name}, not ${id}`);
      const dir = path.join(nodeCephDirs(n).lib, 'osd', `ceph-${id}`);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await writeFile(path.join(dir, 'keyring'), keyringEntry(`osd.${id}`, key, {}), { mode: 0o600 });
      await inNode(n, 'ceph-osd', ['--cluster', 'ceph', '-i', String(id), '--mkfs', '--osd-uuid', uuid], { timeoutMs: 120_000 });
      await startCephDaemons(n, c, ['osd']);
    }),
  );
  const pool = (async () => {
    await ceph(['osd', 'pool', 'create', c.pool, String(POOL_PGS), String(POOL_PGS), 'replicated'], { via });
    await osds;
    await inNode(first, 'rbd', ['pool', 'init', c.pool], { timeoutMs: Math.max(10_000, deadline - Date.now()) });
  })();
  pool.catch(() => undefined); // awaited below, after the OSDs, whose failure is the one to say
  await osds;
  log(`ceph: ${lab.nodes.length} OSDs made and started (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  await pool;
  log(`ceph: pool ${c.pool} (size ${c.size}, min_size ${c.minSize}, ${POOL_PGS} PGs), client.${c.client} (${clientKeyring(c.client)} on every node) (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const s = await waitCephHealthy(lab, { timeoutMs: Math.max(1000, deadline - Date.now()) });
  log(`ceph: ${s.health}, ${s.quorum.length} monitors in quorum, ${s.osds.up} OSDs up and in, ${s.pgs.activeClean}/${s.pgs.total} PGs active+clean (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return c;
}

/**
 * A new cephx secret as ceph-authtool --gen-print-key makes it: base64 of the key's type (1: AES,
 * 16 bits), its creation time (seconds and nanoseconds, 32 bits each), its length (16, 16 bits)
 * and 16 random bytes, all little-endian.
 */
function cephxKey(now = Date.now()): string {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(1, 0);
  b.writeUInt32LE(Math.floor(now / 1000), 2);
  b.writeUInt32LE((now % 1000) * 1_000_000, 6);
  b.writeUInt16LE(16, 10);
  randomBytes(16).copy(b, 12);
  return b.toString('base64');
}

/** One entity of a keyring file (Ceph's ini format): its key and caps. */
function keyringEntry(entity: string, key: string, caps: Record<string, string>): string {
  return `[${entity}]\n\tkey = ${key}\n${Object.entries(caps).map(([k, v]) => `\tcaps ${k} = "${v}"\n`).join('')}`;
}

/** Health checks that are understood and allowed in the lab (none today: the lab's settings avoid
 *  every warning a fresh cluster raises). */
const ALLOWED_WARNINGS: readonly string[] = [];

/** Why S is not yet what waitCephHealthy waits for (empty: healthy). */
function notHealthy(s: CephStatus, nodes: number, want: { osds: number; monitors: number }): string[] {
  const problems: string[] = [];
  const raised = s.checks.filter((c) => !ALLOWED_WARNINGS.some((a) => c.startsWith(`${a}:`)));
  if (s.health !== 'HEALTH_OK' && raised.length > 0) problems.push(`${s.health} (${raised.join('; ')})`);
  if (s.quorum.length < want.monitors) problems.push(`${s.quorum.length} of ${nodes} monitors in quorum`);
  if (s.osds.up < want.osds || s.osds.in < want.osds) problems.push(`${s.osds.up} of ${nodes} OSDs up, ${s.osds.in} in`);
  if (!s.mgr.active) problems.push('no active manager');
  if (s.pgs.total === 0 || s.pgs.activeClean !== s.pgs.total) {
    const other = Object.entries(s.pgs.states).filter(([k]) => k !== 'active+clean').map(([k, v]) => `${v} ${k}`);
    problems.push(`${s.pgs.activeClean}/${s.pgs.total} PGs active+clean${other.length ? ` (${other.join(', ')})` : ''}`);
  }
  return problems;
}

/**
 * Waits until the lab's Ceph is HEALTH_OK with every monitor in quorum, every OSD up and in and
 * every placement group active+clean, asked of the first running node; throws after timeoutMs
 * (default 120 s) saying what was still missing.
 */
export async function waitCephHealthy(lab: Lab, opts: { timeoutMs?: number } = {}): Promise<CephStatus> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const n = lab.nodes.length;
  return deadlineWait(`ceph of lab ${lab.name} not healthy after ${Math.round(timeoutMs / 1000)} s`, Date.now() + timeoutMs, async () => {
    const node = await firstRunning(lab);
    const s = await cephStatus({ via: cephVia(node, 15_000) });
    const problems = notHealthy(s, n, { osds: n, monitors: n });
    return { done: problems.length === 0, value: s, missing: problems.join(', ') };
  });
}

/** The lab's Ceph as `ceph status` says it, asked of the first running node (undefined: no
 *  running node, or no answer within TIMEOUTMS). */
export async function labCephStatus(lab: Lab, timeoutMs = 15_000): Promise<CephStatus | undefined> {
  try {
    return await cephStatus({ via: cephVia(await firstRunning(lab), timeoutMs) });
  } catch {
    return undefined;
  }
}

/** One line for people: health, quorum, OSDs, placement groups. */
export function cephSummary(s: CephStatus): string {
  const checks = s.checks.length ? ` (${s.checks.join('; ')})` : '';
  const mgr = s.mgr.active ? `a manager active, ${s.mgr.standbys} standby` : 'no active manager';
  return `${s.health}${checks}; ${s.quorum.length}/${s.monitors} monitors in quorum (${s.quorum.join(' ')}); ${s.osds.up}/${s.osds.total} OSDs up, ${s.osds.in} in; ${mgr}; ${s.pgs.activeClean}/${s.pgs.total} PGs active+clean`;
}

async function firstRunning(lab: Lab): Promise<LabNode> {
  for (const n of lab.nodes) if (await nodeRunning(n)) return n;
  throw new Error('no node is running');
}
