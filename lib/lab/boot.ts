// A lab node as a cluster node: its Corosync/Pacemaker files, corral installed for it, and its
// boot (the services in order). Used by lib/lab/cluster.ts when the lab comes up and by the power
// controller (lib/lab/power.ts) when a node is powered back on.
//
// In the lab's state directory STATE/LAB (next to node.ts's files):
//   cluster.json            the cluster's settings (name, token, node capacity)
//   install/ocf/corral/     corral's OCF agents      } overlaid, inside each node, onto
//   install/sbin/           commands + fence agent   } /usr/lib/ocf/resource.d and /usr/sbin
//   power.sock, power.pid, power.log   the power controller (lib/lab/power.ts)
// and per node, in fs/: etc/corosync/{corosync.conf,authkey}, var/lib/pacemaker/cib/cib.xml
// (the seed configuration, written once before the first start).
// Nothing is written to the host's /usr: the overlays exist only in the nodes' mount namespaces.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { nsBindMount, nsMountOverlay, nsMountpoints } from '../host/mounts.js';
import { nsRunOk, nsStartDaemon } from '../host/nsenter.js';
import type { PcmkRunner, Via } from '../host/pacemaker/tool.js';
import { startLibvirt } from './libvirt.js';
import { startCephNode } from './ceph.js';
import { isDebNode, nodeExec, nodeInitPid, nodeProcesses, startNode } from './node.js';
import type { Lab, LabNode } from './state.js';
import { labCorralConf, startNodeCommandService, writeNodeCommandKey } from './node-command.js';
import { powerSocketPath } from './power-protocol.js';
import { seedCibXml } from '../cib/shapes.js';

const FENCE_AGENT = 'fence_corral_lab';
export const FENCE_DEVICE_ID = 'fence-lab';
const OCF_ROOT = '/usr/lib/ocf/resource.d';
const SBIN = '/usr/sbin';

const clusterFile = z.object({
  version: z.literal(1),
  clusterName: z.string(),
  tokenMs: z.number().int().positive(),
  nodeCpus: z.number().int().positive(),
  nodeMemoryMiB: z.number().int().positive(),
});
export type ClusterSettings = z.infer<typeof clusterFile>;

export const DEFAULT_SETTINGS = { tokenMs: 3000, nodeCpus: 8, nodeMemoryMiB: 2048 } as const;

// ---------------------------------------------------------------------------------------------
// corral's built files, installed for the nodes

export interface Dist {
  /** OCF agents (dist/agents). */
  agents: string;
  /** Commands (dist/bin). */
  bin: string;
  /** Fence agents (dist/fence). */
  fence: string;
}

/**
 * Where corral's built executables are: $CORRAL_DIST, or the dist/ directory this module runs
 * from (a bundle in dist/bin) or next to it (the source tree). Throws with what to do otherwise.
 */
function findDist(): Dist {
  const candidates: string[] = [];
  if (process.env.CORRAL_DIST) candidates.push(process.env.CORRAL_DIST);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    candidates.push(dir, path.join(dir, 'dist'));
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of candidates) {
    const dist = { agents: path.join(d, 'agents'), bin: path.join(d, 'bin'), fence: path.join(d, 'fence') };
    if (existsSync(path.join(dist.agents, 'TransientDomain')) && existsSync(path.join(dist.bin, 'corral'))) {
      if (!existsSync(path.join(dist.fence, FENCE_AGENT))) throw new Error(`${d} has no fence/${FENCE_AGENT}: run npm run build`);
      return dist;
    }
  }
  throw new Error('cannot find corral\'s built executables (dist/agents, dist/bin, dist/fence): run npm run build');
}

function installDir(lab: Lab): { ocf: string; sbin: string } {
  return { ocf: path.join(lab.dir, 'install/ocf'), sbin: path.join(lab.dir, 'install/sbin') };
}

/** The lab's copy of corral: the command that runs the power controller. */
export function installedCorral(lab: Lab): string {
  return path.join(installDir(lab).sbin, 'corral');
}

async function copyExecutables(from: string, to: string): Promise<string[]> {
  await mkdir(to, { recursive: true, mode: 0o755 });
  const names = (await readdir(from)).filter((n) => !n.endsWith('.json') && !n.startsWith('.'));
  for (const n of names) {
    const tmp = path.join(to, `.${n}.new`);
    await copyFile(path.join(from, n), tmp);
    await chmod(tmp, 0o755);
    await rename(tmp, path.join(to, n)); // a running agent never sees a half-written file
  }
  return names;
}

/**
 * Copies corral's agents, commands and fence agent into the lab (install/), where every node sees
 * them as ocf:corral:* and in /usr/sbin. Running it again updates a running lab in place.
 */
export async function installCorral(lab: Lab, dist: Dist = findDist()): Promise<{ agents: string[]; commands: string[] }> {
  const dirs = installDir(lab);
  await mkdir(path.dirname(dirs.ocf), { recursive: true, mode: 0o755 });
  const agents = await copyExecutables(dist.agents, path.join(dirs.ocf, 'corral'));
  const commands = [...(await copyExecutables(dist.bin, dirs.sbin)), ...(await copyExecutables(dist.fence, dirs.sbin))];
  return { agents, commands };
}

/** The files of DIST whose copy in the lab's install/ is missing or different (empty: current). */
export async function staleInstall(lab: Lab, dist: Dist = findDist()): Promise<string[]> {
  const dirs = installDir(lab);
  const pairs: [string, string][] = [];
  for (const [from, to] of [[dist.agents, path.join(dirs.ocf, 'corral')], [dist.bin, dirs.sbin], [dist.fence, dirs.sbin]] as const) {
    for (const n of await readdir(from).catch(() => [] as string[])) {
      if (!n.endsWith('.json') && !n.startsWith('.')) pairs.push([path.join(from, n), path.join(to, n)]);
    }
  }
  const stale: string[] = [];
  for (const [a, b] of pairs) {
    const [x, y] = await Promise.all([readFile(a), readFile(b).catch(() => undefined)]);
    if (y === undefined || !x.equals(y)) stale.push(path.basename(a));
  }
  return stale;
}

/**
 * Overlays the lab's install/ onto the node's /usr/sbin and OCF directory (once per boot). A node
 * that has corral from its Debian package (lib/lab/deb.ts) keeps the package's files and gets only
 * the lab's fence agent, which the package does not ship.
 */
export async function mountInstall(node: LabNode, lab: Lab): Promise<void> {
  const initPid = await nodeInitPid(node);
  const mounted = new Set(await nsMountpoints(initPid));
  const dirs = installDir(lab);
  if (await isDebNode(node)) {
    const fence = path.join(SBIN, FENCE_AGENT);
    if (!mounted.has(fence)) {
      await nsRunOk(initPid, 'touch', [fence], { timeoutMs: 10_000 }); // in the node's own /usr layer
      await nsBindMount(initPid, path.join(dirs.sbin, FENCE_AGENT), fence);
    }
    return;
  }
  if (!mounted.has(OCF_ROOT)) await nsMountOverlay(initPid, [dirs.ocf, OCF_ROOT], OCF_ROOT);
  if (!mounted.has(SBIN)) await nsMountOverlay(initPid, [dirs.sbin, SBIN], SBIN);
}

// ---------------------------------------------------------------------------------------------
// Corosync and the seed CIB

/** corosync.conf for the lab (knet on the lab's addresses). Its parser wants a newline after every {. */
export function corosyncConf(lab: Lab, s: ClusterSettings): string {
  const nodes = lab.nodes
    .map((n) => `  node {\n    name: ${n.name}\n    nodeid: ${n.index}\n    ring0_addr: ${n.address}\n  }\n`)
    .join('');
  const quorum = lab.nodes.length === 2 ? '  two_node: 1\n' : '';
  return (
    `# corral lab ${lab.name}: written by corral lab up\n` +
    `totem {\n  version: 2\n  cluster_name: ${s.clusterName}\n  transport: knet\n  token: ${s.tokenMs}\n` +
    `  crypto_cipher: aes256\n  crypto_hash: sha256\n}\n` +
    `logging {\n  to_stderr: no\n  to_logfile: yes\n  logfile: /var/log/corosync/corosync.log\n  to_syslog: no\n  timestamp: on\n}\n` +
    `quorum {\n  provider: corosync_votequorum\n${quorum}}\n` +
    `nodelist {\n${nodes}}\n`
  );
}

/**
 * The CIB every node starts from the first time: fencing on from the first moment (the lab's
 * fence device is in it), the node capacities, and dc-deadtime short enough that a fresh lab elects
 * its DC in seconds (the default waits 20 s for a DC that cannot exist yet).
 */
export function seedCib(lab: Lab, s: ClusterSettings): string {
  const xml = seedCibXml({
    properties: {
      'cluster-name': s.clusterName,
      'stonith-enabled': 'true',
      'stonith-action': 'reboot',
      'stonith-timeout': '60s',
      'dc-deadtime': '5s',
      'placement-strategy': 'balanced',
      'cluster-recheck-interval': '1min',
      // All nodes share this host's CPUs and each sees the whole machine's load: Pacemaker's
      // throttling (load above 80% per core → one action at a time per node) would serialize the
      // recovery of a crashed node's VMs for a load that is no node's own.
      'load-threshold': '400%',
    },
    nodes: lab.nodes.map((n) => ({ id: String(n.index), uname: n.name, utilization: { cpu: s.nodeCpus, hv_memory: s.nodeMemoryMiB } })),
    fence: {
      id: FENCE_DEVICE_ID,
      type: FENCE_AGENT,
      params: { socket: powerSocketPath(lab.dir), pcmk_host_list: lab.nodes.map((n) => n.name).join(' '), pcmk_host_check: 'static-list' },
    },
    // Stickiness: a VM stays where it runs unless something (a move, anti-affinity) is worth more.
    rscDefaults: { 'resource-stickiness': '100' },
  });
  return `<?xml version="1.0"?>\n${xml.xml}\n`;
}

/** Writes cluster.json, the node-command key and, in every node's files, corosync.conf, the shared
 *  authkey, the seed CIB and /etc/corral/corral.conf (lib/lab/node-command.ts). */
export async function writeClusterFiles(lab: Lab, settings: Partial<Omit<ClusterSettings, 'version'>> = {}): Promise<ClusterSettings> {
  const s: ClusterSettings = { version: 1, clusterName: lab.name, ...DEFAULT_SETTINGS, ...settings };
  await writeFile(path.join(lab.dir, 'cluster.json'), `${JSON.stringify(s, null, 2)}\n`);
  const key = randomBytes(256);
  await writeNodeCommandKey(lab);
  const corralConf = labCorralConf(lab);
  const conf = corosyncConf(lab, s);
  const cib = seedCib(lab, s);
  for (const n of lab.nodes) {
    const fs = path.join(n.dir, 'fs');
    await writeFile(path.join(fs, 'etc/corosync/corosync.conf'), conf, { mode: 0o644 });
    await writeFile(path.join(fs, 'etc/corosync/authkey'), key, { mode: 0o400 });
    // Where corral's VMs keep their continuous console logs (qemu's serial <log> needs the directory).
    await mkdir(path.join(fs, 'var/log/corral/console'), { recursive: true, mode: 0o755 });
    // corral's settings for vm and corral in the node (libvirt over tcp, the lab's node command).
    await mkdir(path.join(fs, 'etc/corral'), { recursive: true, mode: 0o755 });
    await writeFile(path.join(fs, 'etc/corral/corral.conf'), corralConf, { mode: 0o644 });
    const cibDir = path.join(fs, 'var/lib/pacemaker/cib');
    await mkdir(cibDir, { recursive: true, mode: 0o750 });
    const owner = await stat(cibDir);
    const file = path.join(cibDir, 'cib.xml');
    for (const old of await readdir(cibDir)) await rm(path.join(cibDir, old), { force: true });
    await writeFile(file, cib, { mode: 0o600 });
    await chown(file, owner.uid, owner.gid);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Booting a node

/** Environment of Pacemaker's daemons in a node: logs to the node's own /var/log, no syslog. */
const PACEMAKER_ENV = {
  PCMK_logfile: '/var/log/pacemaker/pacemaker.log',
  PCMK_logfacility: 'none',
  HA_LOGFILE: '/var/log/pacemaker/pacemaker.log',
} as const;

export async function startCorosync(node: LabNode): Promise<void> {
  if ((await nodeProcesses(node)).some((p) => p.comm === 'corosync')) return;
  // corosync daemonizes itself; start-stop-daemon only for the clean session and --oknodo.
  await nsStartDaemon(await nodeInitPid(node), '/usr/sbin/corosync', ['-f'], { logFile: '/var/log/corosync/corosync.out' });
}

export async function startPacemaker(node: LabNode): Promise<void> {
  if ((await nodeProcesses(node)).some((p) => p.comm === 'pacemakerd')) return;
  await nsStartDaemon(await nodeInitPid(node), '/usr/sbin/pacemakerd', [], { env: PACEMAKER_ENV, logFile: '/var/log/pacemaker/pacemakerd.out' });
}

export interface BootOptions {
  /** Start corosync and pacemakerd (default true). */
  cluster?: boolean;
  log?: (line: string) => void;
  /** Awaited after libvirt and before Corosync starts (the power controller waits there until
   *  the cluster has recorded the node's fencing: see lib/lab/power.ts). */
  beforeCluster?: () => Promise<void>;
}

/** A runner for lib/host/pacemaker/ and lib/host/corosync.ts that runs the tool inside NODE. */
export function nodeVia(node: LabNode, timeoutMs?: number): Via {
  const runner: PcmkRunner = (file, args, o) => nodeExec(node, file, args, { timeoutMs: o.timeoutMs, input: o.input });
  return { runner, timeoutMs };
}

/**
 * Powers NODE on and boots it: namespaces and mounts (startNode), corral's overlays, the
 * node-command service, virtlogd and libvirtd, Ceph's daemons in a Ceph lab, Corosync,
 * Pacemaker. Idempotent: what runs already is left alone.
 */
export async function bootNode(lab: Lab, node: LabNode, opts: BootOptions = {}): Promise<void> {
  const log = opts.log ?? (() => undefined);
  await startNode(node);
  await mountInstall(node, lab);
  if (await startNodeCommandService(lab, node)) log(`${node.name}: node-command service listening`);
  const lv = await startLibvirt(node);
  log(`${node.name}: libvirtd ${lv.alreadyRunning ? 'was running' : `answered after ${lv.readyMs} ms`}`);
  // Storage: a node of a Ceph lab starts its monitor, manager and OSD (lib/lab/ceph.ts).
  if (await startCephNode(lab, node)) log(`${node.name}: ceph-mon, ceph-mgr and ceph-osd started`);
  if (opts.cluster ?? true) {
    await opts.beforeCluster?.();
    await startCorosync(node);
    await startPacemaker(node);
    log(`${node.name}: corosync and pacemakerd started`);
  }
}
