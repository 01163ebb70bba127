// Network namespaces of the lab: create, list, delete, the bridge and veth pairs between them, and
// host-side daemons started inside one. Never in the root network namespace. Everything goes
// through run()/runOk() with argument arrays, never a shell. The other namespace plumbing:
// lib/host/nsenter.ts (a node's keeper, programs inside a node), lib/host/mounts.ts (its mounts),
// lib/host/ns-procs.ts (its processes).
import { stat } from 'node:fs/promises';
import { pidFromFile } from './procs.js';
import { run, runOk, type RunResult } from './exec.js';

/** Absolute paths of the programs the keeper chain uses (start-stop-daemon needs --exec absolute). */
export const TOOLS = {
  ip: 'ip',
  nsenter: '/usr/bin/nsenter',
  unshare: '/usr/bin/unshare',
  tini: '/usr/bin/tini',
  sleep: '/bin/sleep',
  startStopDaemon: 'start-stop-daemon',
  timeout: '/usr/bin/timeout',
} as const;

/** Bound for every small host command. */
export const QUICK = 15_000;

/** PATH of programs started with a clean environment. */
export const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Names of all network namespaces known to `ip netns` (files in /run/netns). */
export async function netnsList(): Promise<string[]> {
  const r = await runOk(TOOLS.ip, ['netns', 'list'], { timeoutMs: QUICK });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

export async function netnsExists(name: string): Promise<boolean> {
  try {
    await stat(`/run/netns/${name}`);
    return true;
  } catch {
    return false;
  }
}

/** Creates the network namespace NAME (idempotent) and brings its loopback up. */
export async function netnsAdd(name: string): Promise<void> {
  if (!(await netnsExists(name))) await runOk(TOOLS.ip, ['netns', 'add', name], { timeoutMs: QUICK });
  await ipIn(name, ['link', 'set', 'lo', 'up']);
}

/** Deletes the network namespace NAME (idempotent). Its interfaces go with it once unused. */
export async function netnsDelete(name: string): Promise<void> {
  if (!(await netnsExists(name))) return;
  const r = await run(TOOLS.ip, ['netns', 'delete', name], { timeoutMs: QUICK });
  if (r.exitCode !== 0 && (await netnsExists(name))) await runOk(TOOLS.ip, ['netns', 'delete', name], { timeoutMs: QUICK });
}

/** Host PIDs of every process whose network namespace is NAME (empty when NAME does not exist). */
export async function netnsPids(name: string): Promise<number[]> {
  if (!(await netnsExists(name))) return [];
  const r = await runOk(TOOLS.ip, ['netns', 'pids', name], { timeoutMs: QUICK });
  return r.stdout
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Inode of a named network namespace: compare with /proc/PID/ns/net to prove membership. */
export async function netnsInode(name: string): Promise<number | undefined> {
  try {
    return (await stat(`/run/netns/${name}`)).ino;
  } catch {
    return undefined;
  }
}

/** Runs `ip -n NETNS ARGS…` and throws unless it succeeds. */
async function ipIn(netns: string, args: readonly string[]): Promise<RunResult> {
  return runOk(TOOLS.ip, ['-n', netns, ...args], { timeoutMs: QUICK });
}

async function linkExists(netns: string, ifname: string): Promise<boolean> {
  const r = await run(TOOLS.ip, ['-n', netns, 'link', 'show', 'dev', ifname], { timeoutMs: QUICK });
  return r.exitCode === 0;
}

/** Creates bridge BRIDGE inside NETNS (idempotent) and brings it up. */
export async function ensureBridge(netns: string, bridge: string): Promise<void> {
  if (!(await linkExists(netns, bridge))) await ipIn(netns, ['link', 'add', bridge, 'type', 'bridge']);
  await ipIn(netns, ['link', 'set', bridge, 'up']);
}

export interface VethSpec {
  /** Namespace that holds the bridge. */
  switchNetns: string;
  bridge: string;
  /** Name of the bridge-side end (≤ 15 characters). */
  switchIf: string;
  nodeNetns: string;
  /** Name of the node-side end, e.g. eth0. */
  nodeIf: string;
  /** Node address with prefix length, e.g. 10.213.77.11/24. */
  cidr: string;
}

/** Wires a node namespace to the bridge with a veth pair, created directly in the two lab
 *  namespaces (never in the root namespace); idempotent. */
export async function ensureVeth(s: VethSpec): Promise<void> {
  if (!(await linkExists(s.nodeNetns, s.nodeIf))) {
    if (await linkExists(s.switchNetns, s.switchIf)) await ipIn(s.switchNetns, ['link', 'delete', s.switchIf]);
    await ipIn(s.switchNetns, ['link', 'add', s.switchIf, 'type', 'veth', 'peer', 'name', s.nodeIf, 'netns', s.nodeNetns]);
  }
  await ipIn(s.switchNetns, ['link', 'set', s.switchIf, 'master', s.bridge]);
  await ipIn(s.switchNetns, ['link', 'set', s.switchIf, 'up']);
  await ipIn(s.nodeNetns, ['addr', 'replace', s.cidr, 'dev', s.nodeIf]);
  await ipIn(s.nodeNetns, ['link', 'set', s.nodeIf, 'up']);
}


/**
 * Starts ARGV detached in network namespace NETNS of the host (own session, stdio to LOGFILE, PID
 * written to PIDFILE by start-stop-daemon): a host-side daemon that belongs to a lab, found and
 * stopped through that namespace like the lab's other processes. Returns the daemon's host PID.
 */
export async function startNetnsDaemon(opts: {
  netns: string;
  argv: readonly string[];
  pidFile: string;
  logFile: string;
  env?: Record<string, string>;
}): Promise<number> {
  const [file, ...args] = opts.argv;
  if (file === undefined || !file.startsWith('/')) throw new Error('startNetnsDaemon needs an absolute program path');
  const envArgs: string[] = [];
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    envArgs.push(`${k}=${v}`);
  }
  await runOk(
    TOOLS.startStopDaemon,
    [
      '--start', '--background', '--make-pidfile', '--pidfile', opts.pidFile, '--output', opts.logFile,
      '--exec', TOOLS.nsenter, '--',
      `--net=/run/netns/${opts.netns}`,
      '/usr/bin/env', '-i', `PATH=${CLEAN_PATH}`, 'LANG=C.UTF-8', ...envArgs, file, ...args,
    ],
    { timeoutMs: QUICK },
  );
  const pid = pidFromFile(opts.pidFile);
  if (pid === undefined) throw new Error(`start-stop-daemon wrote no PID to ${opts.pidFile}`);
  return pid;
}
