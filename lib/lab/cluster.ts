// The lab as a cluster: N lab nodes (lib/lab/node.ts) running Corosync, Pacemaker, virtlogd and
// libvirtd, with corral installed for them and a real fence device (fence_corral_lab → the lab's
// power controller, lib/lab/power.ts). The API the lab commands, the end-to-end tests and the
// bench use:
//
//   const lab = await createClusterLab({ name: 'e2e', nodes: 3, subnet: '10.213.82' });
//   await clusterExec(lab.nodes[0], 'crm_mon', ['-1']);            // any program, in a node
//   await crmMonXml({}, nodeVia(lab.nodes[0]));                    // lib/host/pacemaker/, in a node
//   await clusterStatus(lab);                                      // lib/cluster/status.ts's model
//   await waitClusterIdle(lab);                                    // all online, DC idle
//   await crashNode(lab, 'n2');  await powerOn(lab, 'n2');         // hard failure, power
//   await destroyClusterLab('e2e');                                // nothing left behind
//
// Fencing is always on (stonith-enabled=true from the first CIB on); a fenced node is rebooted by
// the power controller and rejoins by itself.
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import type { RunResult } from '../host/exec.js';
import { crmMonStatus } from '../cluster/crm-mon.js';
import type { ClusterStatus } from '../cluster/status.js';
import { controllerState, crmMonXml } from '../host/pacemaker/status.js';
import { quorumStatus } from '../host/corosync.js';
import type { NsRunOptions } from '../host/nsenter.js';
import { bootNode, installCorral, mountInstall, nodeVia, startCorosync, startPacemaker, writeClusterFiles, FENCE_DEVICE_ID, type ClusterSettings, type Dist } from './boot.js';
import { createLab, destroyLab, type DestroyReport } from './create.js';
import { installDebOnNode } from './deb.js';
import { startLibvirtAll } from './libvirt.js';
import { nodeExec, nodeRunning } from './node.js';
import { loadLab, type Lab, type LabLocation, type LabNode } from './state.js';
import { startNodeCommandService } from './node-command.js';
import { powerCall, powerSocketPath } from './power-protocol.js';
import { startPowerDaemon } from './power.js';
import { CEPH_MIN_NODES, createCeph, type StorageKind } from './ceph.js';

export type { ClusterStatus } from '../cluster/status.js';
export { nodeVia } from './boot.js';

export interface ClusterLabOptions extends LabLocation {
  name: string;
  /** Node names or a count (n1…nN); default 3. */
  nodes?: number | readonly string[];
  /** First three octets of the lab's /24 (default 10.213.81). */
  subnet?: string;
  /** Bound for the whole bring-up (default 240 s; with storage 360 s). */
  timeoutMs?: number;
  /** Progress lines for people. */
  log?: (line: string) => void;
  /** Corosync token and node capacities (see lib/lab/boot.ts). */
  settings?: Partial<Omit<ClusterSettings, 'version'>>;
  /** corral's built executables (default: found with findDist()). */
  dist?: Dist;
  /** Install corral in these nodes (default: every node) from this Debian package, with dpkg,
   *  instead of overlaying the build (lib/lab/deb.ts). */
  deb?: { file: string; nodes?: readonly string[] };
  /** Shared storage besides the host's files: 'ceph' starts a Ceph cluster in the nodes
   *  (lib/lab/ceph.ts), brought up while Corosync and Pacemaker come up. */
  storage?: StorageKind;
}

interface ClusterLabTimings {
  /** Namespaces, bridge and node files (createLab). */
  nodesMs: number;
  /** libvirtd answering in every node. */
  libvirtMs: number;
  /** Corosync membership complete. */
  corosyncMs: number;
  /** Pacemaker: every node online, DC idle, fence device started. */
  pacemakerMs: number;
  /** With storage: from libvirt up to the storage healthy (alongside Corosync and Pacemaker). */
  storageMs?: number;
  totalMs: number;
}

export interface ClusterLab extends Lab {
  timings?: ClusterLabTimings;
}

const DEFAULT_CLUSTER_SUBNET = '10.213.81';

/**
 * Creates lab NAME and brings its cluster up: nodes, corral installed for them, the power
 * controller, libvirt, Corosync (waits for full membership), Pacemaker (waits until every node is
 * online, the DC is idle and the fence device runs). A lab of that name must not exist. On any
 * failure everything made is removed again.
 */
export async function createClusterLab(opts: ClusterLabOptions): Promise<ClusterLab> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const deadline = t0 + (opts.timeoutMs ?? (opts.storage ? 360_000 : 240_000));
  const left = () => Math.max(1000, deadline - Date.now());
  const loc: LabLocation = { stateDir: opts.stateDir };
  const count = typeof opts.nodes === 'number' ? opts.nodes : (opts.nodes?.length ?? 3);
  if (opts.storage === 'ceph' && count < CEPH_MIN_NODES) throw new Error(`--storage ceph needs at least ${CEPH_MIN_NODES} nodes, not ${count}`);
  const lab: ClusterLab = await createLab({ name: opts.name, nodes: opts.nodes ?? 3, subnet: opts.subnet ?? DEFAULT_CLUSTER_SUBNET, stateDir: opts.stateDir });
  try {
    const nodesMs = Date.now() - t0;
    log(`nodes ${lab.nodes.map((n) => `${n.name} (${n.address})`).join(', ')} created`);
    await installCorral(lab, opts.dist);
    await writeClusterFiles(lab, opts.settings);
    if (opts.deb) {
      const debNodes = lab.nodes.filter((n) => !opts.deb?.nodes || opts.deb.nodes.includes(n.name));
      for (const n of debNodes) await installDebOnNode(lab, n, opts.deb.file);
      log(`corral installed from ${opts.deb.file} with dpkg on ${debNodes.map((n) => n.name).join(', ')}`);
    }
    await startPowerDaemon(lab, loc);
    log('power controller listening');

    const t1 = Date.now();
    await Promise.all(lab.nodes.map((n) => mountInstall(n, lab)));
    await Promise.all(lab.nodes.map((n) => startNodeCommandService(lab, n)));
    await startLibvirtAll(lab.nodes, { timeoutMs: left() });
    const libvirtMs = Date.now() - t1;
    log(`libvirtd answers on every node (${(libvirtMs / 1000).toFixed(1)} s)`);

    const t2 = Date.now();
    // Storage comes up beside the cluster: Ceph needs the nodes' network only.
    const storage = opts.storage === 'ceph' ? createCeph(lab, { timeoutMs: left(), log }).then(() => Date.now() - t2) : undefined;
    storage?.catch(() => undefined); // awaited below; a failure of the cluster's own must not leave it unhandled
    await Promise.all(lab.nodes.map((n) => startCorosync(n)));
    await waitCorosyncMembership(lab, Math.min(left(), 60_000));
    const corosyncMs = Date.now() - t2;
    log(`corosync membership complete (${(corosyncMs / 1000).toFixed(1)} s)`);

    // Pacemaker only once every node is a member: a node the first DC has not seen would be
    // fenced at startup (startup-fencing), which is right for a real cluster and slow here.
    const t3 = Date.now();
    await Promise.all(lab.nodes.map((n) => startPacemaker(n)));
    await waitClusterIdle(lab, { timeoutMs: left(), resources: [FENCE_DEVICE_ID] });
    const pacemakerMs = Date.now() - t3;
    log(`pacemaker: every node online, the DC idle, ${FENCE_DEVICE_ID} started (${(pacemakerMs / 1000).toFixed(1)} s)`);
    const storageMs = storage ? await storage : undefined;
    lab.timings = { nodesMs, libvirtMs, corosyncMs, pacemakerMs, storageMs, totalMs: Date.now() - t0 };
    return lab;
  } catch (e) {
    const logs = await diagnostics(lab).catch(() => '');
    await destroyLab(opts.name, loc).catch(() => undefined);
    throw new Error(`lab ${opts.name} did not come up: ${(e as Error).message}${logs}`);
  }
}

/** The last lines of each node's corosync and pacemaker logs, for error messages. */
async function diagnostics(lab: Lab): Promise<string> {
  const out: string[] = [];
  for (const n of lab.nodes) {
    for (const f of ['var/log/pacemaker/pacemaker.log', 'var/log/corosync/corosync.log']) {
      const text = await readFile(`${n.dir}/fs/${f}`, 'utf8').catch(() => '');
      const tail = text.trim().split('\n').filter((l) => /error|crit|warn/i.test(l)).slice(-3);
      if (tail.length) out.push(`  ${n.name} ${f}:`, ...tail.map((l) => `    ${l}`));
    }
  }
  return out.length ? `\n${out.join('\n')}` : '';
}

/** The lab NAME (its nodes and addresses). */
export async function loadClusterLab(name: string, loc: LabLocation = {}): Promise<ClusterLab> {
  return loadLab(name, loc);
}

/** Removes lab NAME entirely (processes, namespaces, mounts, files), also half-made or crashed ones. */
export async function destroyClusterLab(name: string, loc: LabLocation = {}): Promise<DestroyReport> {
  return destroyLab(name, loc);
}

function nodeOf(lab: Lab, node: LabNode | string): LabNode {
  const name = typeof node === 'string' ? node : node.name;
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`lab ${lab.name} has no node ${name} (nodes: ${lab.nodes.map((x) => x.name).join(' ')})`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Running things in the cluster

/** Runs FILE ARGS inside NODE (bounded, default 60 s); Pacemaker's and corral's tools are on PATH there. */
export async function clusterExec(node: LabNode, file: string, args: readonly string[] = [], opts: NsRunOptions = {}): Promise<RunResult> {
  return nodeExec(node, file, args, { timeoutMs: 60_000, ...opts });
}

/** A powered-on node whose Pacemaker answers (the first one, in lab order), or undefined. */
export async function reachableNode(lab: Lab, prefer?: readonly string[]): Promise<LabNode | undefined> {
  const order = [...lab.nodes].sort((a, b) => Number(!prefer?.includes(a.name)) - Number(!prefer?.includes(b.name)));
  for (const n of order) {
    if (!(await nodeRunning(n))) continue;
    const r = await nodeExec(n, 'crm_mon', ['--one-shot', '--output-as=xml'], { timeoutMs: 10_000 }).catch(() => undefined);
    if (r?.exitCode === 0) return n;
  }
  return undefined;
}

/**
 * The cluster's state as crm_mon reports it (lib/cluster/crm-mon.ts: every primitive, the fence
 * device included), asked of a reachable node; throws when no node's Pacemaker answers.
 */
export async function clusterStatus(lab: Lab): Promise<ClusterStatus> {
  const n = await reachableNode(lab);
  if (!n) throw new Error(`no node of lab ${lab.name} answers (is it up?)`);
  return crmMonStatus(await crmMonXml({}, nodeVia(n, 15_000)));
}

/** With CORRAL_LAB_DEBUG set, waitClusterIdle() prints what it still waits for, each round. */
export interface WaitIdleOptions {
  /** Nodes that must be online (default: every node of the lab). */
  online?: readonly string[];
  /** Resources that must be started (active on exactly one node). */
  resources?: readonly string[];
  /** Default 120 s. */
  timeoutMs?: number;
  /** Quiet for this long: consecutive idle samples must span it (default 1.5 s). */
  quietMs?: number;
}

/**
 * Waits until the expected nodes are online (none pending or unclean), a DC exists and its
 * controller is S_IDLE (no transition under way), the given resources are started, and all of
 * that holds for quietMs. Throws after timeoutMs with what was still missing.
 */
export async function waitClusterIdle(lab: Lab, opts: WaitIdleOptions = {}): Promise<ClusterStatus> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const quietMs = opts.quietMs ?? 1500;
  const want = opts.online ?? lab.nodes.map((n) => n.name);
  const deadline = Date.now() + timeoutMs;
  let idleSince: number | undefined;
  let missing = 'no node answered yet';
  for (;;) {
    const n = await reachableNode(lab, want);
    let ok = false;
    if (n) {
      try {
        const via = nodeVia(n, 15_000);
        const s = crmMonStatus(await crmMonXml({}, via));
        const problems = notIdle(s, want, opts.resources);
        const dc = s.nodes.find((x) => x.dc)?.name;
        if (dc) {
          const state = await controllerState(dc, via);
          if (state !== 'S_IDLE') problems.push(`DC ${dc} in ${state ?? 'no answer'}`);
        }
        ok = problems.length === 0;
        missing = problems.join(', ');
        if (process.env.CORRAL_LAB_DEBUG) process.stderr.write(`${new Date().toISOString()} idle? ${missing || 'yes'}\n`);
        if (ok) {
          idleSince ??= Date.now();
          if (Date.now() - idleSince >= quietMs) return s;
        }
      } catch (e) {
        missing = (e as Error).message;
        if (process.env.CORRAL_LAB_DEBUG) process.stderr.write(`${new Date().toISOString()} idle? ${missing}\n`);
      }
    } else if (process.env.CORRAL_LAB_DEBUG) process.stderr.write(`${new Date().toISOString()} idle? no node answers\n`);
    if (!ok) idleSince = undefined;
    if (Date.now() > deadline) throw new Error(`cluster of lab ${lab.name} not idle after ${timeoutMs} ms: ${missing}`);
    await sleep(ok ? 300 : 500);
  }
}

/**
 * What keeps S from being idle in waitClusterIdle()'s sense, short of asking the DC's controller:
 * a node of WANT that is not online (a member, neither pending nor unclean), any unclean node, a
 * resource of RESOURCES not started (active on exactly one node), no DC. Empty: nothing.
 */
export function notIdle(s: ClusterStatus, want: readonly string[], resources: readonly string[] = []): string[] {
  const problems: string[] = [];
  for (const w of want) if (!s.nodes.find((x) => x.name === w)?.online) problems.push(`${w} not online`);
  for (const x of s.nodes) if (x.state === 'unclean') problems.push(`${x.name} unclean`);
  // crm_mon lists no node for a stopped resource
  for (const id of resources) if (s.resources.get(id)?.nodes.length !== 1) problems.push(`${id} not started`);
  if (!s.nodes.some((x) => x.dc)) problems.push('no DC');
  return problems;
}

async function waitCorosyncMembership(lab: Lab, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const all = lab.nodes.map((n) => n.name).sort().join(' ');
  for (;;) {
    const views = await Promise.all(lab.nodes.map((n) => quorumStatus(nodeVia(n, 10_000)).catch(() => undefined)));
    const complete = views.every((v) => v?.quorate && [...v.members].sort().join(' ') === all);
    if (complete) return;
    if (Date.now() > deadline) {
      const seen = views.map((v, i) => `${lab.nodes[i]!.name}: ${v ? `${v.members.join(',') || 'none'}${v.quorate ? '' : ' (no quorum)'}` : 'no answer'}`);
      throw new Error(`corosync membership incomplete after ${timeoutMs} ms (${seen.join('; ')})`);
    }
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// Power: through the lab's power controller (serialized with fencing, logged in power.log)

function power(lab: Lab, op: 'on' | 'off' | 'reboot' | 'restart' | 'crash' | 'status', node: LabNode | string) {
  // A clean restart waits for Pacemaker and Corosync to stop (up to a minute each) before the power cycle.
  return powerCall(powerSocketPath(lab.dir), { op, node: nodeOf(lab, node).name, by: 'corral' }, op === 'restart' ? 180_000 : 60_000);
}

/** A hard failure of NODE without Pacemaker's knowledge: every process of it killed at once. */
export async function crashNode(lab: Lab, node: LabNode | string): Promise<void> {
  await power(lab, 'crash', node);
}

/** Hard power-off of NODE (what fencing does). */
export async function powerOff(lab: Lab, node: LabNode | string): Promise<void> {
  await power(lab, 'off', node);
}

/** Powers NODE on; it boots (libvirt, Corosync, Pacemaker) in the background and rejoins. */
export async function powerOn(lab: Lab, node: LabNode | string): Promise<void> {
  await power(lab, 'on', node);
}

/** A clean reboot: Pacemaker and Corosync stopped (the node leaves the cluster), then off and on. */
export async function powerRestart(lab: Lab, node: LabNode | string): Promise<void> {
  await power(lab, 'restart', node);
}

/** Off, then on. */
export async function powerCycle(lab: Lab, node: LabNode | string): Promise<void> {
  await power(lab, 'reboot', node);
}

export async function powerState(lab: Lab, node: LabNode | string): Promise<'on' | 'off'> {
  return (await power(lab, 'status', node)).state ?? 'off';
}


/** Boots NODE in the caller's process (no power controller needed): used by tests. */
export async function bootClusterNode(lab: Lab, node: LabNode | string): Promise<void> {
  await bootNode(lab, nodeOf(lab, node));
}
