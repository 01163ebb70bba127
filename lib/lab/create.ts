// Creating and removing a whole lab: its namespaces, bridge, files and nodes (create), and every
// process, namespace, mount and file of it, from whatever is left (destroy).
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rootMountsUnder, umountRootLazy } from '../host/mounts.js';
import { ensureBridge, netnsAdd, netnsDelete, netnsExists, netnsList } from '../host/netns.js';
import { killNetnsProcesses } from '../host/ns-procs.js';
import { LAB_NAME_RE } from './names.js';
import { NODE_BIND_DIRS, hostsFile, prepareNodeFiles } from './node-files.js';
import { startNode } from './node.js';
import {
  DEFAULT_SUBNET,
  checkName,
  exists,
  labDir,
  loadLab,
  nodeNetnsName,
  readNodeFile,
  switchNetnsName,
  toLab,
  type Lab,
  type LabFile,
  type LabLocation,
  type LabOptions,
  type NodeFile,
} from './state.js';

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

  const leftovers = (await netnsList()).filter((n) => n === switchNetnsName(opts.name) || n.startsWith(`${switchNetnsName(opts.name)}.`));
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
    await netnsAdd(lab.switchNetns);
    await ensureBridge(lab.switchNetns, lab.bridge);
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
  for (const n of await netnsList()) if (n.startsWith(`${sw}.`)) nodeNs.set(n, undefined);
  try {
    for (const node of (await loadLab(name, loc)).nodes) nodeNs.set(node.netns, (await readNodeFile(node))?.initPid);
  } catch {
    // no lab.json: the namespaces found by name are all there is to go by
  }
  if (await exists(path.join(dir, 'nodes'))) {
    for (const entry of await readdir(path.join(dir, 'nodes'))) {
      if (!LAB_NAME_RE.test(entry)) continue;
      const nf = await readFile(path.join(dir, 'nodes', entry, 'node.json'), 'utf8').catch(() => undefined);
      const initPid = nf ? (JSON.parse(nf) as NodeFile).initPid : undefined;
      nodeNs.set(nodeNetnsName(name, entry), initPid ?? nodeNs.get(nodeNetnsName(name, entry)));
    }
  }

  // The switch's namespace first: it holds the lab's host-side daemons (the power controller),
  // which must not power a node back on while the nodes are being taken down.
  await killNetnsProcesses(sw, undefined);
  const killed: string[] = [];
  await Promise.all(
    [...nodeNs].map(async ([netns, initPid]) => {
      if (!(await netnsExists(netns))) return;
      await killNetnsProcesses(netns, initPid);
      killed.push(netns);
    }),
  );
  await killNetnsProcesses(sw, undefined);
  const deleted: string[] = [];
  for (const netns of [...nodeNs.keys(), sw]) {
    if (!(await netnsExists(netns))) continue;
    await netnsDelete(netns);
    deleted.push(netns);
  }

  // Nothing of ours is mounted in the root namespace; never delete through a mount if something is.
  for (const m of (await rootMountsUnder(dir)).reverse()) await umountRootLazy(m);
  const still = await rootMountsUnder(dir);
  if (still.length > 0) throw new Error(`refusing to remove ${dir}: still mounted: ${still.join(' ')}`);
  const hadDir = await exists(dir);
  await rm(dir, { recursive: true, force: true });
  return { killedNetns: killed, deletedNetns: deleted, removedDir: hadDir };
}
