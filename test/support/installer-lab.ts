// The installer's lab (test/cluster/installer.test.ts and BENCH_ONLY=installer): lab "inst" on
// 10.213.102 with 2 nodes, a block device standing in for the seed's LV (a loop device over an image
// file in /var/cache/corral/it/inst, which the nodes see, as they share the host's /dev), the
// image written by mk_debian_installer on the host, and the VM added inside a node with this
// build's create_domxml, fixup_domxml and domadd.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunResult } from '../../lib/host/exec.js';
import { clusterExec, clusterStatus, type ClusterLab } from '../../lib/lab/cluster.js';
import { labDir, type LabNode } from '../../lib/lab/state.js';
import { ROOT } from './debian-installer.js';

const exec = promisify(execFile);

export const INST_LAB = { name: process.env.CORRAL_INST_LAB ?? 'inst', subnet: process.env.CORRAL_INST_SUBNET ?? '10.213.102' };
export const INST_DIR = '/var/cache/corral/it/inst';
const BIN = path.join(INST_DIR, 'bin');

/** Copies this build's commands where the nodes see them (not dist/: a rebuild would pull them away). */
export async function copyInstBuild(): Promise<void> {
  await mkdir(BIN, { recursive: true, mode: 0o755 });
  for (const f of await readdir(path.join(ROOT, 'dist/bin'))) {
    await copyFile(path.join(ROOT, 'dist/bin', f), path.join(BIN, `.${f}.new`));
    await chmod(path.join(BIN, `.${f}.new`), 0o755);
    await rename(path.join(BIN, `.${f}.new`), path.join(BIN, f));
  }
}

export async function ok(r: Promise<RunResult>): Promise<RunResult> {
  const x = await r;
  if (x.exitCode !== 0) throw new Error(`${x.command} exited ${x.exitCode}:\n${x.stderr}\n${x.stdout}`);
  return x;
}

/** This build's command run inside NODE with the node's own corral.conf (the lab's). */
export function inNode(node: LabNode, command: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return clusterExec(node, path.join(BIN, command), args, { timeoutMs });
}

/** The seed's lvcreate: an empty block device of SIZE over IMAGE (a loop device). */
export async function makeBlockDevice(image: string, size: string): Promise<string> {
  await rm(image, { force: true });
  await writeFile(image, '');
  await exec('truncate', ['-s', size, image]);
  return (await exec('losetup', ['--find', '--show', image])).stdout.trim();
}

export async function removeBlockDevice(dev: string, image: string): Promise<void> {
  if (dev) await exec('losetup', ['--detach', dev]).catch(() => undefined);
  await rm(image, { force: true });
}

/**
 * create_domxml (TCG, the disk, and EXTRA flags such as --firmware efi), fixup_domxml and domadd
 * inside NODE; resolves when domadd returned.
 */
export async function addDiskVm(node: LabNode, name: string, disk: string, memory = '512m', extra: readonly string[] = []): Promise<void> {
  const xml = path.join(INST_DIR, `${name}.xml`);
  await ok(inNode(node, 'create_domxml', ['--name', name, '--cpus', '1', '--mem', memory, '--virt-type', 'qemu', '--no-vnc', ...extra, '--disk', disk, '-o', xml]));
  await ok(inNode(node, 'fixup_domxml', ['-i', xml]));
  // The lab's libvirtd listens on TCP without auth (no ssh between lab nodes): migration over qemu+tcp.
  await ok(inNode(node, 'domadd', ['--param', 'migration_transport=tcp', xml]));
}

/** NODE's console log of VM, without the terminal's colour and cursor sequences. */
export async function consoleOn(lab: ClusterLab, node: string, vm: string): Promise<string> {
  const text = await readFile(path.join(labDir(lab.name), 'nodes', node, 'fs/var/log/corral/console', `${vm}.log`), 'utf8').catch(() => '');
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

export async function where(lab: ClusterLab, vm: string): Promise<{ role: string; nodes: string[] } | undefined> {
  const r = (await clusterStatus(lab)).resources.get(`vm-${vm}`);
  return r ? { role: r.role, nodes: r.nodes } : undefined;
}

export async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 1000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The last start operation of vm-VM as the CIB's status records it: rc and how long it took (ms). */
export async function lastStart(node: LabNode, vm: string): Promise<{ rc: number; execMs: number } | undefined> {
  const status = (await ok(clusterExec(node, 'cibadmin', ['--query', '--scope', 'status']))).stdout;
  const op = [...status.matchAll(/<lrm_rsc_op [^>]*>/g)].map((m) => m[0]).find((o) => o.includes(`id="vm-${vm}_last_0"`) && o.includes('operation="start"'));
  if (!op) return undefined;
  return { rc: Number(/rc-code="(-?\d+)"/.exec(op)?.[1]), execMs: Number(/exec-time="(\d+)"/.exec(op)?.[1]) };
}
