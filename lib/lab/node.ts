// A lab node's processes: starting it (network namespace, veth, the keeper whose tini is the
// node's PID 1, its mounts and hostname), hard power-off, and running programs inside it. See
// state.ts for the layout of a lab.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../host/exec.js';
import { nsBindMount, nsMkdir, nsMountOverlayRw, nsMountpoints, nsMountTmpfs, nsSetHostname, nsUnmountTree } from '../host/mounts.js';
import { ensureBridge, ensureVeth, netnsAdd, netnsInode } from '../host/netns.js';
import { nsRun, nsRunAttached, startKeeper, type NsRunOptions } from '../host/nsenter.js';
import { fixKvmDevice } from '../host/kvm-device.js';
import { isNsInit, killNetnsProcesses, pidNsProcesses, type NsProcess } from '../host/ns-procs.js';
import { NODE_BIND_DIRS } from './node-files.js';
import { BRIDGE, exists, readNodeFile, switchNetnsName, writeNodeFile, type LabNode, type NodeFile } from './state.js';

const NODE_IF = 'eth0';

/** Host PID of the node's PID 1 (tini), verified to be that node's; throws when it is not running. */
export async function nodeInitPid(node: LabNode): Promise<number> {
  const nf = await readNodeFile(node);
  const inode = await netnsInode(node.netns);
  if (nf && inode !== undefined && (await isNsInit(nf.initPid, inode))) return nf.initPid;
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
  await netnsAdd(lab);
  await ensureBridge(lab, BRIDGE);
  await netnsAdd(node.netns);
  await ensureVeth({
    switchNetns: lab,
    bridge: BRIDGE,
    switchIf: node.switchIf,
    nodeNetns: node.netns,
    nodeIf: NODE_IF,
    cidr: `${node.address}/24`,
  });

  const pidFile = path.join(node.dir, 'keeper.pid');
  await rm(pidFile, { force: true });
  const { keeperPid, initPid } = await startKeeper({ netns: node.netns, pidFile, logFile: path.join(node.dir, 'keeper.log') });
  const nf: NodeFile = { keeperPid, initPid, ready: false, startedAt: new Date().toISOString() };
  await writeNodeFile(node, nf);

  await setUpNodeMounts(node, initPid);
  await nsSetHostname(initPid, node.name);
  await writeNodeFile(node, { ...nf, ready: true });
}

async function setUpNodeMounts(node: LabNode, initPid: number): Promise<void> {
  const fs = path.join(node.dir, 'fs');
  // Mounts under /run copied from the host (notably /run/netns/*, which would keep every lab's
  // network namespaces alive as long as this node lives) are detached, then /run is fresh.
  const mounts = await nsMountpoints(initPid);
  const underRun = mounts.filter((m) => m.startsWith('/run/') || m.startsWith('/var/run/'));
  const tops = underRun.filter((m) => !underRun.some((o) => o !== m && m.startsWith(`${o}/`)));
  for (const m of [...new Set(tops)]) await nsUnmountTree(initPid, m);

  await mountDebLayers(node, initPid);

  // Labs made before /etc/corral was one of the node's own directories have no copy of it.
  await mkdir(path.join(fs, 'etc/corral'), { recursive: true, mode: 0o755 });
  for (const target of NODE_BIND_DIRS) {
    const source = path.join(fs, target);
    if (!(await exists(target))) await mkdir(target, { recursive: true, mode: 0o755 }); // a mount point only
    await nsBindMount(initPid, source, target);
  }
  await nsBindMount(initPid, path.join(fs, 'etc/hosts'), '/etc/hosts');
  if (await exists('/dev/kvm')) {
    // Left as Debian's udev rule would (root:kvm 0660) for the host's own libvirt, then hidden.
    try {
      fixKvmDevice();
    } catch {
      // no group kvm on this host: the mask below hides /dev/kvm from the nodes' libvirt all the same
    }
    await nsBindMount(initPid, path.join(node.dir, 'kvm-mask'), '/dev/kvm');
  }

  await nsMountTmpfs(initPid, '/run', 'mode=0755,nosuid,nodev');
  await nsMkdir(initPid, '/run/lock', '1777');
  await nsMkdir(initPid, '/run/crm', '0750', 'hacluster:haclient');
  await nsMountTmpfs(initPid, '/dev/shm', 'mode=1777,nosuid,nodev');
}

/**
 * A node that runs corral from its Debian package (lib/lab/deb.ts) has its own writable layer over
 * each of these host directories (overlayfs, changes in STATE/L/nodes/A/deb/): what dpkg writes
 * when it installs the package there (files, its database, the units it enables, man-db's index)
 * stays in that node.
 */
const DEB_LAYER_DIRS = ['/usr', '/etc/systemd', '/etc/logrotate.d', '/var/lib/dpkg', '/var/lib/systemd', '/var/cache/man'] as const;

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
  const mounted = new Set(await nsMountpoints(pid));
  for (const target of DEB_LAYER_DIRS) {
    if (mounted.has(target)) continue;
    const name = target.slice(1).replace(/\//g, '_');
    const upper = path.join(debLayersDir(node), 'upper', name);
    const work = path.join(debLayersDir(node), 'work', name);
    await mkdir(upper, { recursive: true, mode: 0o755 });
    await mkdir(work, { recursive: true, mode: 0o700 });
    if (!(await exists(target))) await mkdir(target, { recursive: true, mode: 0o755 }); // a mount point only
    await nsMountOverlayRw(pid, target, upper, work, target);
  }
}

/** Hard power-off: SIGKILLs every process of the node (qemu included). The namespace, veth and
 *  files stay, so startNode brings the node back. */
export async function stopNode(node: LabNode): Promise<void> {
  const nf = await readNodeFile(node);
  await killNetnsProcesses(node.netns, nf?.initPid);
  if (nf) await writeNodeFile(node, { ...nf, ready: false });
}

/** Runs FILE ARGS inside the node (`nsenter -t PID1 -m -u -n -p`). With timeoutMs, the program is
 *  killed inside the node when it overruns (result: timedOut, exit code 124). */
export async function nodeExec(node: LabNode, file: string, args: readonly string[], opts: NsRunOptions = {}): Promise<RunResult> {
  return nsRun(await nodeInitPid(node), file, args, opts);
}

/** Runs FILE ARGS inside the node on our stdin, stdout and stderr (a terminal, when we have one,
 *  reaches the program: `corral lab exec n1 -- vm web console`); resolves with its exit code. */
export async function nodeExecAttached(node: LabNode, file: string, args: readonly string[], opts: { timeoutMs: number; terminal?: boolean }): Promise<number> {
  return nsRunAttached(await nodeInitPid(node), file, args, { timeoutMs: opts.timeoutMs, foreground: opts.terminal });
}

/** Path on the host through which a file of the node's own view is reached (/proc/PID1/root/…). */
export async function nodePath(node: LabNode, p: string): Promise<string> {
  return `/proc/${await nodeInitPid(node)}/root${p.startsWith('/') ? p : `/${p}`}`;
}

/** The live processes of the node (host PID, PID inside the node, name, command line). */
export async function nodeProcesses(node: LabNode): Promise<NsProcess[]> {
  return pidNsProcesses(await nodeInitPid(node));
}
