// The lab's nodes: N "machines" on one host, each a set of namespaces with tini as PID 1.
//
// Layout of a lab named L with nodes A, B… (state under STATE = /var/lib/corral-lab by default):
//   netns corral.L          the switch: bridge br0 with one veth end per node (vn1, vn2, …)
//   netns corral.L.A        node A: eth0 = SUBNET.11/24 (A is node 1), lo
//   STATE/L/lab.json        the lab's definition (names, addresses, libvirt host UUIDs)
//   STATE/L/nodes/A/        keeper.pid (unshare), keeper.log, node.json (PID 1 of the node),
//                           kvm-mask, and fs/… whose directories are bind-mounted in node A onto
//                           /etc/corosync /etc/libvirt /etc/corral /etc/hosts /var/lib/pacemaker
//                           /var/lib/corosync /var/lib/libvirt /var/cache/libvirt /var/log
//   node A's own mounts:    fresh tmpfs on /run (with /run/crm hacluster:haclient, /run/lock) and
//                           /dev/shm; an empty root-only file over /dev/kvm (see below); its uts
//                           hostname is A.
// Nothing is mounted in the root mount namespace and no interface is created in the root network
// namespace: the node's mounts die with its mount namespace, the veth pairs with the lab's
// network namespaces.
//
// libvirt in a node: virtlogd and `libvirtd --listen` (TCP without auth, reachable only on the
// lab's bridge), so `virsh migrate --live DOM qemu+tcp://B/system` works between nodes. The node's
// /etc/libvirt is a copy of the host's without persistent domains or autostarted networks, with:
//   - host_uuid per node (libvirt refuses to migrate to a host with its own UUID);
//   - qemu.conf namespaces = [] and cgroup_controllers = []: the per-domain /dev namespace cannot
//     carry the /dev/kvm mask, and the cgroup hierarchy is shared by all nodes (and the host's own
//     libvirtd), where qemu-ID-NAME cgroups of two nodes would collide and outlive the lab.
// /dev/kvm is hidden behind an empty file because nested KVM does not work on these machines and
// a root-only /dev/kvm makes libvirt throw away its capability cache on every lookup (every
// `virsh create` then re-probes qemu for seconds): with the mask, libvirt consistently sees no KVM.
// qemu capabilities are probed once per machine: the first node's cache is kept in
// /var/cache/corral/qemu-caps and copied into each node's cache before its libvirtd starts.

import { randomUUID } from 'node:crypto';
import { chmod, chown, copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../host/exec.js';
import * as ns from '../host/namespaces.js';

export const DEFAULT_STATE_DIR = '/var/lib/corral-lab';
/** Machine-wide copy of a lab node's qemu capability cache (kept across labs). */
export const CAPS_CACHE_DIR = '/var/cache/corral/qemu-caps';
export const DEFAULT_SUBNET = '10.213.77';

const NETNS_PREFIX = 'corral';
const BRIDGE = 'br0';
const NODE_IF = 'eth0';
const NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;
const VIRSH_URI = 'qemu:///system';
const NODE_CAPS = 'var/cache/libvirt/qemu/capabilities';

/**
 * A node that runs corral from its Debian package (lib/lab/deb.ts) has its own writable layer over
 * each of these host directories (overlayfs, changes in STATE/L/nodes/A/deb/): what dpkg writes
 * when it installs the package there (files, its database, the units it enables, man-db's index)
 * stays in that node.
 */
export const DEB_LAYER_DIRS = ['/usr', '/etc/systemd', '/etc/logrotate.d', '/var/lib/dpkg', '/var/lib/systemd', '/var/cache/man'] as const;

/** Host directories that each node gets its own copy of (bind mounts, in this order). */
export const NODE_BIND_DIRS = [
  '/etc/corosync',
  '/etc/libvirt',
  '/etc/corral',
  '/var/lib/pacemaker',
  '/var/lib/corosync',
  '/var/lib/libvirt',
  '/var/cache/libvirt',
  '/var/log',
] as const;

export interface LabOptions {
  name: string;
  /** Node names (hostnames: lowercase letters, digits, '-') or a count (nodes n1…nN). */
  nodes: readonly string[] | number;
  /** Directory that holds the lab's state directory (default /var/lib/corral-lab). */
  stateDir?: string;
  /** First three octets of the lab's /24 (default 10.213.77); node i gets .(10+i). */
  subnet?: string;
}

export interface LabLocation {
  stateDir?: string;
}

export interface LabNode {
  lab: string;
  name: string;
  /** 1-based position in the lab. */
  index: number;
  address: string;
  hostUuid: string;
  /** The node's network namespace (`ip netns` name). */
  netns: string;
  /** Name of the node's veth end in the switch namespace. */
  switchIf: string;
  /** The node's state directory on the host. */
  dir: string;
}

export interface Lab {
  name: string;
  /** The lab's state directory. */
  dir: string;
  subnet: string;
  /** Network namespace that holds the lab's bridge. */
  switchNetns: string;
  bridge: string;
  nodes: LabNode[];
}

interface LabFile {
  version: 1;
  name: string;
  subnet: string;
  createdAt: string;
  nodes: { name: string; index: number; address: string; hostUuid: string }[];
}

interface NodeFile {
  keeperPid: number;
  initPid: number;
  ready: boolean;
  startedAt: string;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Names and state

function checkName(what: string, name: string): void {
  if (!NAME_RE.test(name)) throw new Error(`invalid ${what} name ${JSON.stringify(name)}: want ${NAME_RE.source}`);
}

export function labDir(name: string, loc: LabLocation = {}): string {
  checkName('lab', name);
  return path.join(loc.stateDir ?? DEFAULT_STATE_DIR, name);
}

export function switchNetnsName(lab: string): string {
  return `${NETNS_PREFIX}.${lab}`;
}

export function nodeNetnsName(lab: string, node: string): string {
  return `${NETNS_PREFIX}.${lab}.${node}`;
}

/** The libvirt URI of NODE as seen from the other nodes. */
export function nodeUri(node: LabNode): string {
  return `qemu+tcp://${node.name}/system`;
}

function toLab(file: LabFile, dir: string): Lab {
  const nodes = file.nodes.map<LabNode>((n) => ({
    lab: file.name,
    name: n.name,
    index: n.index,
    address: n.address,
    hostUuid: n.hostUuid,
    netns: nodeNetnsName(file.name, n.name),
    switchIf: `vn${n.index}`,
    dir: path.join(dir, 'nodes', n.name),
  }));
  return { name: file.name, dir, subnet: file.subnet, switchNetns: switchNetnsName(file.name), bridge: BRIDGE, nodes };
}

/** Reads a lab's definition; throws when the lab does not exist. */
export async function loadLab(name: string, loc: LabLocation = {}): Promise<Lab> {
  const dir = labDir(name, loc);
  const file = JSON.parse(await readFile(path.join(dir, 'lab.json'), 'utf8')) as LabFile;
  return toLab(file, dir);
}

export async function labNodes(name: string, loc: LabLocation = {}): Promise<LabNode[]> {
  return (await loadLab(name, loc)).nodes;
}

export async function labNode(labName: string, nodeName: string, loc: LabLocation = {}): Promise<LabNode> {
  const node = (await labNodes(labName, loc)).find((n) => n.name === nodeName);
  if (!node) throw new Error(`lab ${labName} has no node ${nodeName}`);
  return node;
}

async function readNodeFile(node: LabNode): Promise<NodeFile | undefined> {
  try {
    return JSON.parse(await readFile(path.join(node.dir, 'node.json'), 'utf8')) as NodeFile;
  } catch {
    return undefined;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Creating and destroying a lab

/**
 * Creates the lab's namespaces, bridge, veths, per-node files and starts every node (PID 1 only:
 * no daemon yet). A lab of the same name must not exist. On failure, whatever was made is removed.
 */
export async function createLab(opts: LabOptions): Promise<Lab> {
  const dir = labDir(opts.name, opts);
  const subnet = opts.subnet ?? DEFAULT_SUBNET;
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new Error(`invalid subnet ${subnet}: want three octets`);
  const names = typeof opts.nodes === 'number' ? Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`) : [...opts.nodes];
  if (names.length < 1 || names.length > 200) throw new Error(`a lab has 1 to 200 nodes, not ${names.length}`);
  names.forEach((n) => checkName('node', n));
  if (new Set(names).size !== names.length) throw new Error(`duplicate node names: ${names.join(' ')}`);
  for (const reserved of ['/run', '/dev', ...NODE_BIND_DIRS]) {
    if (dir === reserved || dir.startsWith(`${reserved}/`)) throw new Error(`state directory ${dir} would be hidden inside the nodes (${reserved})`);
  }

  const leftovers = (await ns.netnsList()).filter((n) => n === switchNetnsName(opts.name) || n.startsWith(`${switchNetnsName(opts.name)}.`));
  if (leftovers.length > 0 || (await exists(dir))) {
    throw new Error(`lab ${opts.name} already exists (${leftovers.length > 0 ? leftovers.join(' ') : dir}); destroyLab it first`);
  }

  const file: LabFile = {
    version: 1,
    name: opts.name,
    subnet,
    createdAt: new Date().toISOString(),
    nodes: names.map((name, i) => ({ name, index: i + 1, address: `${subnet}.${11 + i}`, hostUuid: randomUUID() })),
  };
  const lab = toLab(file, dir);
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await writeFile(path.join(dir, 'lab.json'), `${JSON.stringify(file, null, 2)}\n`);
    await ns.netnsAdd(lab.switchNetns);
    await ns.ensureBridge(lab.switchNetns, lab.bridge);
    const hosts = hostsFile(lab);
    await Promise.all(lab.nodes.map((n) => prepareNodeFiles(n, hosts)));
    await Promise.all(lab.nodes.map((n) => startNode(n)));
    return lab;
  } catch (e) {
    await destroyLab(opts.name, opts).catch(() => undefined);
    throw e;
  }
}

export interface DestroyReport {
  killedNetns: string[];
  deletedNetns: string[];
  removedDir: boolean;
}

/**
 * Removes every process, namespace, interface, mount and file of the lab. Works from whatever is
 * left (lab.json or not, after a crash or a half-failed create) and is idempotent. Processes are
 * found only through the lab's own network namespaces.
 */
export async function destroyLab(name: string, loc: LabLocation = {}): Promise<DestroyReport> {
  const dir = labDir(name, loc);
  const sw = switchNetnsName(name);
  const nodeNs = new Map<string, number | undefined>(); // netns → recorded PID 1 of the node
  for (const n of await ns.netnsList()) if (n.startsWith(`${sw}.`)) nodeNs.set(n, undefined);
  try {
    for (const node of (await loadLab(name, loc)).nodes) nodeNs.set(node.netns, (await readNodeFile(node))?.initPid);
  } catch {
    // no lab.json: the namespaces found by name are all there is to go by
  }
  if (await exists(path.join(dir, 'nodes'))) {
    for (const entry of await readdir(path.join(dir, 'nodes'))) {
      if (!NAME_RE.test(entry)) continue;
      const nf = await readFile(path.join(dir, 'nodes', entry, 'node.json'), 'utf8').catch(() => undefined);
      const initPid = nf ? (JSON.parse(nf) as NodeFile).initPid : undefined;
      nodeNs.set(nodeNetnsName(name, entry), initPid ?? nodeNs.get(nodeNetnsName(name, entry)));
    }
  }

  // The switch's namespace first: it holds the lab's host-side daemons (the power controller),
  // which must not power a node back on while the nodes are being taken down.
  await ns.killNetnsProcesses(sw, undefined);
  const killed: string[] = [];
  await Promise.all(
    [...nodeNs].map(async ([netns, initPid]) => {
      if (!(await ns.netnsExists(netns))) return;
      await ns.killNetnsProcesses(netns, initPid);
      killed.push(netns);
    }),
  );
  await ns.killNetnsProcesses(sw, undefined);
  const deleted: string[] = [];
  for (const netns of [...nodeNs.keys(), sw]) {
    if (!(await ns.netnsExists(netns))) continue;
    await ns.netnsDelete(netns);
    deleted.push(netns);
  }

  // Nothing of ours is mounted in the root namespace; never delete through a mount if something is.
  for (const m of (await ns.rootMountsUnder(dir)).reverse()) await ns.umountRootLazy(m);
  const still = await ns.rootMountsUnder(dir);
  if (still.length > 0) throw new Error(`refusing to remove ${dir}: still mounted: ${still.join(' ')}`);
  const hadDir = await exists(dir);
  await rm(dir, { recursive: true, force: true });
  return { killedNetns: killed, deletedNetns: deleted, removedDir: hadDir };
}

function hostsFile(lab: Lab): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const n of lab.nodes) lines.push(`${n.address}\t${n.name}`);
  return `${lines.join('\n')}\n`;
}

/** Creates DST with the mode and owner of SRC (or MODE, root) — an empty copy of a directory. */
async function mirrorDir(src: string, dst: string, fallbackMode = 0o755): Promise<void> {
  await mkdir(dst, { recursive: true });
  try {
    const s = await stat(src);
    await chmod(dst, s.mode & 0o7777);
    await chown(dst, s.uid, s.gid);
  } catch {
    await chmod(dst, fallbackMode);
  }
}

/** Sets KEY = VALUE lines in a libvirt-style config text, dropping earlier active settings. */
function setConfKeys(text: string, entries: Record<string, string>): string {
  const keys = new Set(Object.keys(entries));
  const out: string[] = [];
  let skipping = false;
  for (const line of text.split('\n')) {
    if (skipping) {
      if (line.includes(']')) skipping = false;
      continue;
    }
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (m && keys.has(m[1] ?? '')) {
      const rest = m[2] ?? '';
      if (rest.includes('[') && !rest.includes(']')) skipping = true;
      continue;
    }
    out.push(line);
  }
  out.push('', '# corral lab node', ...Object.entries(entries).map(([k, v]) => `${k} = ${v}`), '');
  return out.join('\n');
}

async function prepareNodeFiles(node: LabNode, hosts: string): Promise<void> {
  const fs = path.join(node.dir, 'fs');
  await mkdir(node.dir, { recursive: true, mode: 0o755 });
  await mkdir(path.join(fs, 'etc'), { recursive: true, mode: 0o755 });
  await mkdir(path.join(fs, 'var/lib'), { recursive: true, mode: 0o755 });
  await mkdir(path.join(fs, 'var/cache'), { recursive: true, mode: 0o755 });

  // /etc/corosync: the packaged configuration, rewritten per node later.
  if (await exists('/etc/corosync')) await ns.copyTree('/etc/corosync', path.join(fs, 'etc/corosync'));
  else await mkdir(path.join(fs, 'etc/corosync'), { mode: 0o755 });

  // /etc/libvirt: the host's configuration without persistent objects, plus the node's settings.
  const etcLibvirt = path.join(fs, 'etc/libvirt');
  await ns.copyTree('/etc/libvirt', etcLibvirt);
  for (const p of ['qemu/autostart', 'qemu/networks/autostart', 'storage', 'secrets', 'nodedev']) {
    await rm(path.join(etcLibvirt, p), { recursive: true, force: true });
  }
  await mkdir(path.join(etcLibvirt, 'qemu/networks/autostart'), { recursive: true, mode: 0o755 });
  for (const f of await readdir(path.join(etcLibvirt, 'qemu')).catch(() => [] as string[])) {
    if (f.endsWith('.xml')) await rm(path.join(etcLibvirt, 'qemu', f), { force: true });
  }
  const libvirtdConf = path.join(etcLibvirt, 'libvirtd.conf');
  const lconf = await readFile(libvirtdConf, 'utf8').catch(() => '');
  await writeFile(
    libvirtdConf,
    setConfKeys(lconf, { listen_tcp: '1', listen_tls: '0', auth_tcp: '"none"', host_uuid: `"${node.hostUuid}"` }),
  );
  const qemuConf = path.join(etcLibvirt, 'qemu.conf');
  const qconf = await readFile(qemuConf, 'utf8').catch(() => '');
  await writeFile(qemuConf, setConfKeys(qconf, { namespaces: '[ ]', cgroup_controllers: '[ ]' }), { mode: 0o600 });

  // /etc/corral: the node's own settings for corral's commands (boot.ts writes corral.conf). The
  // host's /etc/corral, if any, stays hidden from the node; where there is none, an empty one is
  // made as the mount point (a bind mount needs one) and left there.
  await mkdir(path.join(fs, 'etc/corral'), { recursive: true, mode: 0o755 });

  // /var/lib/*: empty directories with the host's owners and modes.
  await mirrorDir('/var/lib/pacemaker', path.join(fs, 'var/lib/pacemaker'), 0o750);
  for (const sub of await readdir('/var/lib/pacemaker', { withFileTypes: true }).catch(() => [])) {
    if (sub.isDirectory()) await mirrorDir(path.join('/var/lib/pacemaker', sub.name), path.join(fs, 'var/lib/pacemaker', sub.name), 0o750);
  }
  await mirrorDir('/var/lib/corosync', path.join(fs, 'var/lib/corosync'));
  await mirrorDir('/var/lib/libvirt', path.join(fs, 'var/lib/libvirt'));
  await mirrorDir('/var/cache/libvirt', path.join(fs, 'var/cache/libvirt'), 0o711);
  await mirrorDir('/var/cache/libvirt/qemu', path.join(fs, 'var/cache/libvirt/qemu'), 0o711);
  await mkdir(path.join(fs, NODE_CAPS), { recursive: true, mode: 0o755 });

  // /var/log with the directories the node's daemons expect.
  await mirrorDir('/var/log', path.join(fs, 'var/log'));
  for (const d of ['libvirt', 'libvirt/qemu', 'pacemaker', 'corosync', 'crmsh']) {
    await mirrorDir(path.join('/var/log', d), path.join(fs, 'var/log', d));
  }

  await writeFile(path.join(fs, 'etc/hosts'), hosts, { mode: 0o644 });
  await writeFile(path.join(node.dir, 'kvm-mask'), '', { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------------
// Nodes

/** Host PID of the node's PID 1 (tini), verified to be that node's; throws when it is not running. */
export async function nodeInitPid(node: LabNode): Promise<number> {
  const nf = await readNodeFile(node);
  const inode = await ns.netnsInode(node.netns);
  if (nf && inode !== undefined && (await ns.isNsInit(nf.initPid, inode))) return nf.initPid;
  throw new Error(`lab node ${node.name} (${node.lab}) is not running`);
}

export async function nodeRunning(node: LabNode): Promise<boolean> {
  const nf = await readNodeFile(node);
  return nf?.ready === true && (await nodeInitPid(node).then(() => true, () => false));
}

/**
 * Starts the node: its network namespace and veth (if missing), the detached keeper
 * (`unshare … tini -- sleep infinity`, PID recorded in keeper.pid and node.json), the node's mounts
 * and hostname. Idempotent: a running, fully set-up node is left alone; a half set-up one restarts.
 */
export async function startNode(node: LabNode): Promise<void> {
  if (await nodeRunning(node)) return;
  await stopNode(node);
  const lab = switchNetnsName(node.lab);
  await ns.netnsAdd(lab);
  await ns.ensureBridge(lab, BRIDGE);
  await ns.netnsAdd(node.netns);
  await ns.ensureVeth({
    switchNetns: lab,
    bridge: BRIDGE,
    switchIf: node.switchIf,
    nodeNetns: node.netns,
    nodeIf: NODE_IF,
    cidr: `${node.address}/24`,
  });

  const pidFile = path.join(node.dir, 'keeper.pid');
  await rm(pidFile, { force: true });
  const { keeperPid, initPid } = await ns.startKeeper({ netns: node.netns, pidFile, logFile: path.join(node.dir, 'keeper.log') });
  const nf: NodeFile = { keeperPid, initPid, ready: false, startedAt: new Date().toISOString() };
  await writeFile(path.join(node.dir, 'node.json'), `${JSON.stringify(nf)}\n`);

  await setUpNodeMounts(node, initPid);
  await ns.nsSetHostname(initPid, node.name);
  await writeFile(path.join(node.dir, 'node.json'), `${JSON.stringify({ ...nf, ready: true })}\n`);
}

async function setUpNodeMounts(node: LabNode, initPid: number): Promise<void> {
  const fs = path.join(node.dir, 'fs');
  // Mounts under /run copied from the host (notably /run/netns/*, which would keep every lab's
  // network namespaces alive as long as this node lives) are detached, then /run is fresh.
  const mounts = await ns.nsMountpoints(initPid);
  const underRun = mounts.filter((m) => m.startsWith('/run/') || m.startsWith('/var/run/'));
  const tops = underRun.filter((m) => !underRun.some((o) => o !== m && m.startsWith(`${o}/`)));
  for (const m of [...new Set(tops)]) await ns.nsUnmountTree(initPid, m);

  await mountDebLayers(node, initPid);

  // Labs made before /etc/corral was one of the node's own directories have no copy of it.
  await mkdir(path.join(fs, 'etc/corral'), { recursive: true, mode: 0o755 });
  for (const target of NODE_BIND_DIRS) {
    const source = path.join(fs, target);
    if (!(await exists(target))) await mkdir(target, { recursive: true, mode: 0o755 }); // a mount point only
    await ns.nsBindMount(initPid, source, target);
  }
  await ns.nsBindMount(initPid, path.join(fs, 'etc/hosts'), '/etc/hosts');
  if (await exists('/dev/kvm')) await ns.nsBindMount(initPid, path.join(node.dir, 'kvm-mask'), '/dev/kvm');

  await ns.nsMountTmpfs(initPid, '/run', 'mode=0755,nosuid,nodev');
  await ns.nsMkdir(initPid, '/run/lock', '1777');
  await ns.nsMkdir(initPid, '/run/crm', '0750', 'hacluster:haclient');
  await ns.nsMountTmpfs(initPid, '/dev/shm', 'mode=1777,nosuid,nodev');
}

/** The directory of a node's own layers when corral is installed there from its package. */
export function debLayersDir(node: LabNode): string {
  return path.join(node.dir, 'deb');
}

export async function isDebNode(node: LabNode): Promise<boolean> {
  return exists(debLayersDir(node));
}

/** For a package node: its writable layers over DEB_LAYER_DIRS (each once per boot). */
export async function mountDebLayers(node: LabNode, initPid?: number): Promise<void> {
  if (!(await isDebNode(node))) return;
  const pid = initPid ?? (await nodeInitPid(node));
  const mounted = new Set(await ns.nsMountpoints(pid));
  for (const target of DEB_LAYER_DIRS) {
    if (mounted.has(target)) continue;
    const name = target.slice(1).replace(/\//g, '_');
    const upper = path.join(debLayersDir(node), 'upper', name);
    const work = path.join(debLayersDir(node), 'work', name);
    await mkdir(upper, { recursive: true, mode: 0o755 });
    await mkdir(work, { recursive: true, mode: 0o700 });
    if (!(await exists(target))) await mkdir(target, { recursive: true, mode: 0o755 }); // a mount point only
    await ns.nsMountOverlayRw(pid, target, upper, work, target);
  }
}

/** Hard power-off: SIGKILLs every process of the node (qemu included). The namespace, veth and
 *  files stay, so startNode brings the node back. */
export async function stopNode(node: LabNode): Promise<void> {
  const nf = await readNodeFile(node);
  await ns.killNetnsProcesses(node.netns, nf?.initPid);
  if (nf) await writeFile(path.join(node.dir, 'node.json'), `${JSON.stringify({ ...nf, ready: false })}\n`);
}

/** Runs FILE ARGS inside the node (`nsenter -t PID1 -m -u -n -p`). With timeoutMs, the program is
 *  killed inside the node when it overruns (result: timedOut, exit code 124). */
export async function nodeExec(node: LabNode, file: string, args: readonly string[], opts: ns.NsRunOptions = {}): Promise<RunResult> {
  return ns.nsRun(await nodeInitPid(node), file, args, opts);
}

/** Runs FILE ARGS inside the node on our stdin, stdout and stderr (a terminal, when we have one,
 *  reaches the program: `corral lab exec n1 -- vm web console`); resolves with its exit code. */
export async function nodeExecAttached(node: LabNode, file: string, args: readonly string[], opts: { timeoutMs: number; terminal?: boolean }): Promise<number> {
  return ns.nsRunAttached(await nodeInitPid(node), file, args, { timeoutMs: opts.timeoutMs, foreground: opts.terminal });
}

/** Path on the host through which a file of the node's own view is reached (/proc/PID1/root/…). */
export async function nodePath(node: LabNode, p: string): Promise<string> {
  return `/proc/${await nodeInitPid(node)}/root${p.startsWith('/') ? p : `/${p}`}`;
}

/** The live processes of the node (host PID, PID inside the node, name, command line). */
export async function nodeProcesses(node: LabNode): Promise<ns.NsProcess[]> {
  return ns.pidNsProcesses(await nodeInitPid(node));
}

// ---------------------------------------------------------------------------------------------
// libvirt in a node

export interface LibvirtStart {
  node: string;
  /** libvirtd (and virtlogd) were already running: nothing was started. */
  alreadyRunning: boolean;
  /** From starting the daemons until `virsh version` answered. */
  readyMs: number;
  /** Time of `virsh domcapabilities --virttype qemu` right after (a probe when the cache was cold). */
  capsMs: number;
  /** The machine-wide capability cache was copied into the node before libvirtd started. */
  capsSeeded: boolean;
  /** libvirt kept the seeded cache (its files were not rewritten); undefined when not seeded. */
  capsAccepted: boolean | undefined;
}

export interface LibvirtOptions {
  /** Bound for libvirtd to answer, and separately for the capability probe (default 120 s). */
  timeoutMs?: number;
}

/** virsh -c qemu:///system ARGS inside the node. */
export async function nodeVirsh(node: LabNode, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return nodeExec(node, 'virsh', ['-c', VIRSH_URI, ...args], { timeoutMs });
}

async function daemonsOf(initPid: number): Promise<{ virtlogd: ns.NsProcess[]; libvirtd: ns.NsProcess[] }> {
  const procs = await ns.pidNsProcesses(initPid);
  return { virtlogd: procs.filter((p) => p.comm === 'virtlogd'), libvirtd: procs.filter((p) => p.comm === 'libvirtd') };
}

/**
 * Starts virtlogd and `libvirtd --listen` in the node (unless running) and waits until
 * `virsh -c qemu:///system version` answers inside it. A cold node first gets the machine-wide
 * qemu capability cache; afterwards the node's cache is published there.
 */
export async function startLibvirt(node: LabNode, opts: LibvirtOptions = {}): Promise<LibvirtStart> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const initPid = await nodeInitPid(node);
  const running = await daemonsOf(initPid);
  const t0 = Date.now();
  let seeded: Map<string, number> | undefined;
  if (running.libvirtd.length === 0) {
    seeded = await seedCaps(node);
    if (running.virtlogd.length === 0) await ns.nsRunOk(initPid, 'virtlogd', ['-d'], { cleanEnv: true, timeoutMs: 15_000 });
    await ns.nsRunOk(initPid, 'libvirtd', ['-d', '--listen'], { cleanEnv: true, timeoutMs: 30_000 });
  }
  const deadline = t0 + timeoutMs;
  for (;;) {
    const r = await ns.nsRun(initPid, 'virsh', ['-c', VIRSH_URI, 'version'], { timeoutMs: Math.min(15_000, Math.max(1000, deadline - Date.now())) });
    if (r.exitCode === 0) break;
    const { libvirtd } = await daemonsOf(initPid);
    if (libvirtd.length === 0 || Date.now() > deadline) {
      const log = await readFile(path.join(node.dir, 'fs/var/log/libvirt/libvirtd.log'), 'utf8').catch(() => '');
      const tail = log.trim().split('\n').slice(-5).join(' / ');
      throw new Error(
        `libvirtd on ${node.name} ${libvirtd.length === 0 ? 'is not running' : `did not answer within ${timeoutMs} ms`}: ${(r.stderr || r.stdout).trim()}${tail ? ` — libvirtd.log: ${tail}` : ''}`,
      );
    }
    await sleepMs(100);
  }
  const readyMs = Date.now() - t0;
  const t1 = Date.now();
  await ns.nsRunOk(initPid, 'virsh', ['-c', VIRSH_URI, 'domcapabilities', '--virttype', 'qemu'], { timeoutMs });
  const capsMs = Date.now() - t1;
  let accepted: boolean | undefined;
  if (seeded !== undefined && seeded.size > 0) {
    accepted = true;
    for (const [file, mtime] of seeded) {
      const now = await stat(path.join(node.dir, 'fs', NODE_CAPS, file)).then((s) => s.mtimeMs, () => -1);
      if (now !== mtime) accepted = false;
    }
  }
  await publishCaps(node);
  return {
    node: node.name,
    alreadyRunning: running.libvirtd.length > 0,
    readyMs,
    capsMs,
    capsSeeded: seeded !== undefined && seeded.size > 0,
    capsAccepted: accepted,
  };
}

/** Starts libvirt on every node: with a cold machine-wide cache the first node probes alone and
 *  the others start from its cache; otherwise all start at once. */
export async function startLibvirtAll(nodes: readonly LabNode[], opts: LibvirtOptions = {}): Promise<LibvirtStart[]> {
  const warm = (await readdir(CAPS_CACHE_DIR).catch(() => [] as string[])).some((f) => f.endsWith('.xml'));
  const [first, ...rest] = nodes;
  if (first === undefined) return [];
  if (warm) return Promise.all(nodes.map((n) => startLibvirt(n, opts)));
  const r0 = await startLibvirt(first, opts);
  return [r0, ...(await Promise.all(rest.map((n) => startLibvirt(n, opts))))];
}

/** Copies the machine-wide capability cache into an empty node cache; returns the copied files'
 *  mtimes (to tell afterwards whether libvirt kept them). */
async function seedCaps(node: LabNode): Promise<Map<string, number>> {
  const dst = path.join(node.dir, 'fs', NODE_CAPS);
  const seeded = new Map<string, number>();
  const have = (await readdir(dst).catch(() => [] as string[])).filter((f) => f.endsWith('.xml'));
  if (have.length > 0) return seeded;
  await mkdir(dst, { recursive: true, mode: 0o755 });
  for (const f of await readdir(CAPS_CACHE_DIR).catch(() => [] as string[])) {
    if (!f.endsWith('.xml')) continue;
    const target = path.join(dst, f);
    await copyFile(path.join(CAPS_CACHE_DIR, f), target);
    await chmod(target, 0o600);
    seeded.set(f, (await stat(target)).mtimeMs);
  }
  return seeded;
}

/** Publishes the node's capability cache machine-wide where it differs (atomic per file). */
async function publishCaps(node: LabNode): Promise<void> {
  const src = path.join(node.dir, 'fs', NODE_CAPS);
  await mkdir(CAPS_CACHE_DIR, { recursive: true, mode: 0o700 });
  for (const f of await readdir(src).catch(() => [] as string[])) {
    if (!f.endsWith('.xml')) continue;
    const mine = await readFile(path.join(src, f));
    const theirs = await readFile(path.join(CAPS_CACHE_DIR, f)).catch(() => undefined);
    if (theirs !== undefined && theirs.equals(mine)) continue;
    const tmp = path.join(CAPS_CACHE_DIR, `.${f}.${process.pid}.tmp`);
    await writeFile(tmp, mine, { mode: 0o600 });
    await rename(tmp, path.join(CAPS_CACHE_DIR, f));
  }
}

/**
 * Stops only the node's libvirtd: the process named by the node's /run/libvirtd.pid (or, without
 * it, each libvirtd of the node's pid namespace); SIGTERM, SIGKILL after timeoutMs. qemu processes
 * and virtlogd keep running. Returns the host PIDs stopped.
 */
export async function stopLibvirtd(node: LabNode, opts: { timeoutMs?: number } = {}): Promise<number[]> {
  const initPid = await nodeInitPid(node);
  const { libvirtd } = await daemonsOf(initPid);
  const pidInNode = await ns.readPidFile(`/proc/${initPid}/root/run/libvirtd.pid`);
  const byPidFile = libvirtd.filter((p) => p.nsPid === pidInNode);
  const targets = (byPidFile.length > 0 ? byPidFile : libvirtd).map((p) => p.pid);
  if (targets.length === 0) return [];
  ns.signalPids(targets, 'SIGTERM');
  if (!(await ns.waitPidsGone(targets, opts.timeoutMs ?? 20_000))) {
    ns.signalPids(targets, 'SIGKILL');
    if (!(await ns.waitPidsGone(targets, 5_000))) throw new Error(`libvirtd on ${node.name} (host PIDs ${targets.join(' ')}) did not exit`);
  }
  return targets;
}

/** Stops the node's libvirtd and starts it again (domains keep running), waiting until it answers. */
export async function restartLibvirtd(node: LabNode, opts: LibvirtOptions & { stopTimeoutMs?: number } = {}): Promise<LibvirtStart> {
  await stopLibvirtd(node, { timeoutMs: opts.stopTimeoutMs });
  return startLibvirt(node, opts);
}
