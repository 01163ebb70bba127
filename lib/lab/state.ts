// The lab's nodes: N "machines" on one host, each a set of namespaces with tini as PID 1. This file:
// the lab's names, where its state lives, and reading it. Creating and removing a lab: create.ts;
// a node's files: node-files.ts; its processes: node.ts; libvirt in it: libvirt.ts.
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

import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LAB_NAME_RE } from './names.js';

export const DEFAULT_STATE_DIR = '/var/lib/corral-lab';
export const DEFAULT_SUBNET = '10.213.77';

const NETNS_PREFIX = 'corral';
/** The lab's bridge, in the switch namespace. */
export const BRIDGE = 'br0';

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

/** The lab's definition as lab.json keeps it. */
export interface LabFile {
  version: 1;
  name: string;
  subnet: string;
  createdAt: string;
  nodes: { name: string; index: number; address: string; hostUuid: string }[];
}

/** A node's state as node.json keeps it. */
export interface NodeFile {
  keeperPid: number;
  initPid: number;
  ready: boolean;
  startedAt: string;
}

export function checkName(what: string, name: string): void {
  if (!LAB_NAME_RE.test(name)) throw new Error(`invalid ${what} name ${JSON.stringify(name)}: want ${LAB_NAME_RE.source}`);
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

export function toLab(file: LabFile, dir: string): Lab {
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

export async function readNodeFile(node: LabNode): Promise<NodeFile | undefined> {
  try {
    return JSON.parse(await readFile(path.join(node.dir, 'node.json'), 'utf8')) as NodeFile;
  } catch {
    return undefined;
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Writes the node's node.json. */
export async function writeNodeFile(node: LabNode, nf: NodeFile): Promise<void> {
  await writeFile(path.join(node.dir, 'node.json'), `${JSON.stringify(nf)}\n`);
}
