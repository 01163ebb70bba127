// libvirt in a lab node: virtlogd and `libvirtd --listen` (TCP without auth, reachable only on the
// lab's bridge), started with the machine-wide qemu capability cache so that only the first node
// of a machine ever probes qemu; stopping and restarting libvirtd alone (domains keep running).
import { chmod, copyFile, mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import type { RunResult } from '../host/exec.js';
import { nsRun, nsRunOk } from '../host/nsenter.js';
import { pidNsProcesses, signalPids, waitPidsGone, type NsProcess } from '../host/ns-procs.js';
import { pidFromFile } from '../host/procs.js';
import { NODE_CAPS } from './node-files.js';
import { nodeExec, nodeInitPid } from './node.js';
import type { LabNode } from './state.js';

/** Machine-wide copy of a lab node's qemu capability cache (kept across labs). */
const CAPS_CACHE_DIR = '/var/cache/corral/qemu-caps';
const VIRSH_URI = 'qemu:///system';

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

async function daemonsOf(initPid: number): Promise<{ virtlogd: NsProcess[]; libvirtd: NsProcess[] }> {
  const procs = await pidNsProcesses(initPid);
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
    if (running.virtlogd.length === 0) await nsRunOk(initPid, 'virtlogd', ['-d'], { cleanEnv: true, timeoutMs: 15_000 });
    await nsRunOk(initPid, 'libvirtd', ['-d', '--listen'], { cleanEnv: true, timeoutMs: 30_000 });
  }
  const deadline = t0 + timeoutMs;
  for (;;) {
    const r = await nsRun(initPid, 'virsh', ['-c', VIRSH_URI, 'version'], { timeoutMs: Math.min(15_000, Math.max(1000, deadline - Date.now())) });
    if (r.exitCode === 0) break;
    const { libvirtd } = await daemonsOf(initPid);
    if (libvirtd.length === 0 || Date.now() > deadline) {
      const log = await readFile(path.join(node.dir, 'fs/var/log/libvirt/libvirtd.log'), 'utf8').catch(() => '');
      const tail = log.trim().split('\n').slice(-5).join(' / ');
      throw new Error(
        `libvirtd on ${node.name} ${libvirtd.length === 0 ? 'is not running' : `did not answer within ${timeoutMs} ms`}: ${(r.stderr || r.stdout).trim()}${tail ? ` — libvirtd.log: ${tail}` : ''}`,
      );
    }
    await sleep(100);
  }
  const readyMs = Date.now() - t0;
  const t1 = Date.now();
  await nsRunOk(initPid, 'virsh', ['-c', VIRSH_URI, 'domcapabilities', '--virttype', 'qemu'], { timeoutMs });
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
  const pidInNode = pidFromFile(`/proc/${initPid}/root/run/libvirtd.pid`);
  const byPidFile = libvirtd.filter((p) => p.nsPid === pidInNode);
  const targets = (byPidFile.length > 0 ? byPidFile : libvirtd).map((p) => p.pid);
  if (targets.length === 0) return [];
  signalPids(targets, 'SIGTERM');
  if (!(await waitPidsGone(targets, opts.timeoutMs ?? 20_000))) {
    signalPids(targets, 'SIGKILL');
    if (!(await waitPidsGone(targets, 5_000))) throw new Error(`libvirtd on ${node.name} (host PIDs ${targets.join(' ')}) did not exit`);
  }
  return targets;
}

/** Stops the node's libvirtd and starts it again (domains keep running), waiting until it answers. */
export async function restartLibvirtd(node: LabNode, opts: LibvirtOptions & { stopTimeoutMs?: number } = {}): Promise<LibvirtStart> {
  await stopLibvirtd(node, { timeoutMs: opts.stopTimeoutMs });
  return startLibvirt(node, opts);
}
