// corral installed in a lab node from its Debian package instead of the lab's overlay of the build:
// the node gets its own writable layers over /usr, its dpkg database and the other directories
// dpkg writes to (node.ts, DEB_LAYER_DIRS), and `dpkg -i` runs inside the node. The package's
// maintainer scripts and triggers run there as on a hypervisor (without systemd as PID 1, so the
// unit is enabled but not started). Dependencies are those of the host: the node's dpkg database
// starts as a copy-on-write view of the host's, which has pacemaker, libvirt and nodejs.
// Only the lab's fence agent, which the package does not ship, still comes from the lab.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../host/exec.js';
import { debLayersDir, mountDebLayers, nodeExec } from './node.js';
import type { Lab, LabNode } from './state.js';

/** Where the lab keeps the package it installs (visible inside every node). */
function labDebPath(lab: Lab): string {
  return path.join(lab.dir, 'install', 'corral.deb');
}

/**
 * Installs the package DEB in NODE with dpkg (an existing /etc/corral/corral.conf, the lab's, is
 * kept as an operator's would be). Throws with dpkg's output when it fails.
 */
export async function installDebOnNode(lab: Lab, node: LabNode, deb: string): Promise<RunResult> {
  const target = labDebPath(lab);
  await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
  if (path.resolve(deb) !== target) await copyFile(deb, target);
  await mkdir(debLayersDir(node), { recursive: true, mode: 0o755 });
  await mountDebLayers(node);
  const r = await nodeExec(node, 'dpkg', ['--force-confdef', '--force-confold', '-i', target], {
    timeoutMs: 300_000,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.exitCode !== 0) throw new Error(`dpkg -i on ${node.name} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' / ')}`);
  return r;
}
