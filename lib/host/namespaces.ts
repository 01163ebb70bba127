// Host plumbing for the lab: network namespaces, veth pairs and a bridge, the detached per-node
// keeper (`unshare … tini -- sleep infinity`), programs run inside a node (nsenter), mounts in a
// node's mount namespace, and killing lab processes. This is the ONLY module that runs `ip`,
// `unshare`, `nsenter`, `mount`/`umount`, `tini`, `start-stop-daemon` or signals lab processes;
// everything goes through run()/runOk() with argument arrays, never a shell.
//
// Safety: processes are only ever found by namespace membership (`ip netns pids NAME`, or the
// pid namespace of a node's PID 1 read from /proc), never by name across the machine.

import { readFile, readdir, readlink, stat } from 'node:fs/promises';
import { HostCommandError, run, runAttached, runOk, type RunOptions, type RunResult } from './exec.js';

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

const QUICK = 15_000; // bound for every small host command

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Network namespaces and links

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
export async function ipIn(netns: string, args: readonly string[]): Promise<RunResult> {
  return runOk(TOOLS.ip, ['-n', netns, ...args], { timeoutMs: QUICK });
}

export async function linkExists(netns: string, ifname: string): Promise<boolean> {
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

// ---------------------------------------------------------------------------------------------
// The keeper: a detached `unshare --mount --uts --pid --fork --mount-proc tini -- sleep infinity`
// inside a network namespace. Its tini is PID 1 of the node's pid namespace.

export interface KeeperPids {
  /** The `unshare` process (root pid namespace), written by start-stop-daemon to pidFile. */
  keeperPid: number;
  /** Host PID of tini, PID 1 of the node: the target of every nsenter. */
  initPid: number;
}

/**
 * Starts the keeper detached (own session, stdio to logFile) so that it outlives the caller, and
 * waits until tini runs as PID 1 of the new pid namespace.
 */
export async function startKeeper(opts: { netns: string; pidFile: string; logFile: string; timeoutMs?: number }): Promise<KeeperPids> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  await runOk(
    TOOLS.startStopDaemon,
    [
      '--start', '--background', '--make-pidfile', '--pidfile', opts.pidFile, '--output', opts.logFile,
      '--exec', TOOLS.nsenter, '--',
      `--net=/run/netns/${opts.netns}`,
      TOOLS.unshare, '--mount', '--uts', '--pid', '--fork', '--mount-proc', '--propagation', 'private',
      TOOLS.tini, '--', TOOLS.sleep, 'infinity',
    ],
    { timeoutMs: QUICK },
  );
  const deadline = Date.now() + timeoutMs;
  const want = await netnsInode(opts.netns);
  for (;;) {
    const keeperPid = await readPidFile(opts.pidFile);
    if (keeperPid !== undefined) {
      for (const child of await childrenOf(keeperPid)) {
        if (want !== undefined && (await isNsInit(child, want))) return { keeperPid, initPid: child };
      }
    }
    if (Date.now() > deadline) {
      const log = await readFile(opts.logFile, 'utf8').catch(() => '');
      throw new Error(`keeper for netns ${opts.netns} did not come up within ${timeoutMs} ms${log ? `: ${log.trim()}` : ''}`);
    }
    await sleepMs(50);
  }
}

/** True when PID is alive, is PID 1 of its own pid namespace, runs tini, and lives in the network
 *  namespace with inode NETNSINODE: the proof that an nsenter -t PID goes into the right node. */
export async function isNsInit(pid: number, netnsInode: number): Promise<boolean> {
  try {
    const [status, netStat, comm] = await Promise.all([
      readFile(`/proc/${pid}/status`, 'utf8'),
      stat(`/proc/${pid}/ns/net`),
      readFile(`/proc/${pid}/comm`, 'utf8'),
    ]);
    if (netStat.ino !== netnsInode) return false;
    if (comm.trim() !== 'tini') return false;
    if (/^State:\s+Z/m.test(status)) return false;
    const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
    return nspid.length >= 2 && nspid[nspid.length - 1] === '1';
  } catch {
    return false;
  }
}

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.trim().split(/\s+/).filter((s) => s !== '').map(Number);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Running programs inside a node

/** nsenter arguments that enter every namespace of the node whose PID 1 has host PID INITPID. */
export function nsenterArgs(initPid: number): string[] {
  return ['-t', String(initPid), '-m', '-u', '-n', '-p', '--root', '--wd', '--'];
}

export interface NsRunOptions extends RunOptions {
  /** Start the program with only PATH, LANG and `env` in its environment (for daemons). */
  cleanEnv?: boolean;
}

/** Bound for a program run inside a node when the caller gives none. */
export const DEFAULT_NS_TIMEOUT_MS = 120_000;

const CLEAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Runs FILE ARGS inside the node (mount, uts, net and pid namespaces of INITPID), bounded by
 * timeoutMs (default DEFAULT_NS_TIMEOUT_MS). The program itself is wrapped in `timeout` inside the
 * node, because killing nsenter would leave its child running; a timed-out program reports
 * timedOut and exit code 124.
 */
export async function nsRun(initPid: number, file: string, args: readonly string[], opts: NsRunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_NS_TIMEOUT_MS;
  const inner: string[] = [];
  if (opts.cleanEnv) {
    inner.push('/usr/bin/env', '-i', `PATH=${CLEAN_PATH}`, 'LANG=C.UTF-8');
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
      if (v !== undefined) inner.push(`${k}=${v}`);
    }
  }
  inner.push(TOOLS.timeout, '--kill-after=1', Math.max(0.1, timeoutMs / 1000).toFixed(1), file, ...args);
  const { cleanEnv: _c, ...runOpts } = opts;
  const r = await run(TOOLS.nsenter, [...nsenterArgs(initPid), ...inner], { ...runOpts, timeoutMs: timeoutMs + 3000 });
  const timedOut = r.timedOut || r.exitCode === 124;
  return { ...r, command: [file, ...args].join(' '), timedOut };
}

/**
 * Runs FILE ARGS inside the node on our own stdin, stdout and stderr (output as it comes, and a
 * terminal when we have one: an interactive console works), bounded by timeoutMs inside the node
 * like nsRun(). With FOREGROUND (at a terminal), `timeout --foreground` leaves the program in
 * the terminal's process group, so that it may read the terminal and Ctrl+C reaches it. Resolves
 * with its exit code (124: timed out).
 */
export async function nsRunAttached(
  initPid: number,
  file: string,
  args: readonly string[],
  opts: { timeoutMs: number; foreground?: boolean },
): Promise<number> {
  const t = ['--kill-after=1', ...(opts.foreground ? ['--foreground'] : []), Math.max(0.1, opts.timeoutMs / 1000).toFixed(1)];
  return runAttached(TOOLS.nsenter, [...nsenterArgs(initPid), TOOLS.timeout, ...t, file, ...args]);
}

/** Like nsRun(), but throws HostCommandError unless the program exits 0. */
export async function nsRunOk(initPid: number, file: string, args: readonly string[], opts: NsRunOptions = {}): Promise<RunResult> {
  const r = await nsRun(initPid, file, args, opts);
  if (r.exitCode !== 0) throw new HostCommandError(r);
  return r;
}

/**
 * Starts FILE ARGS as a daemon inside the node: its own session (start-stop-daemon --background),
 * stdout/stderr to LOGFILE (a path inside the node), a clean environment plus ENV, reparented to
 * the node's PID 1 when start-stop-daemon exits. Returns once it is forked; the daemon's own
 * readiness is the caller's to check.
 */
export async function nsStartDaemon(
  initPid: number,
  file: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; logFile?: string; timeoutMs?: number } = {},
): Promise<void> {
  // --oknodo: a daemon of that executable already running in the node is success, not a second copy.
  const ssd = ['--start', '--background', '--oknodo', ...(opts.logFile !== undefined ? ['--output', opts.logFile] : []), '--exec', file];
  await nsRunOk(initPid, TOOLS.startStopDaemon, [...ssd, '--', ...args], { cleanEnv: true, env: opts.env, timeoutMs: opts.timeoutMs ?? QUICK });
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
  const pid = await readPidFile(opts.pidFile);
  if (pid === undefined) throw new Error(`start-stop-daemon wrote no PID to ${opts.pidFile}`);
  return pid;
}

// ---------------------------------------------------------------------------------------------
// Mounts inside a node's mount namespace

/** Bind-mounts host path SOURCE (as seen in the node before any hiding mount) onto TARGET. */
export async function nsBindMount(initPid: number, source: string, target: string): Promise<void> {
  await nsRunOk(initPid, 'mount', ['--bind', source, target], { timeoutMs: QUICK });
}

/**
 * Mounts a read-only overlay of LOWERDIRS (first one wins) onto TARGET inside the node: how the
 * lab adds files to a system directory of the node (/usr/sbin, the OCF agents) without touching
 * the host's copy. LOWERDIRS may include TARGET itself, which then shows through.
 */
export async function nsMountOverlay(initPid: number, lowerdirs: readonly string[], target: string): Promise<void> {
  for (const d of lowerdirs) if (/[,:\\]/.test(d)) throw new Error(`overlay lower directory ${d} contains , : or \\`);
  await nsRunOk(initPid, 'mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdirs.join(':')}`, target], { timeoutMs: QUICK });
}

/**
 * Mounts a writable overlay onto TARGET inside the node: LOWER (usually TARGET itself) shows
 * through, and every change lands in UPPER (WORK: overlayfs's scratch directory, on the same file
 * system). How a lab node gets its own /usr without touching the host's.
 */
export async function nsMountOverlayRw(initPid: number, lower: string, upper: string, work: string, target: string): Promise<void> {
  for (const d of [lower, upper, work]) if (/[,:\\]/.test(d)) throw new Error(`overlay directory ${d} contains , : or \\`);
  await nsRunOk(initPid, 'mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, target], { timeoutMs: QUICK });
}

export async function nsMountTmpfs(initPid: number, target: string, options: string): Promise<void> {
  await nsRunOk(initPid, 'mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target], { timeoutMs: QUICK });
}

/** Detaches the mount at TARGET and everything below it (lazy), inside the node. */
export async function nsUnmountTree(initPid: number, target: string): Promise<void> {
  await nsRunOk(initPid, 'umount', ['--lazy', target], { timeoutMs: QUICK });
}

export async function nsMkdir(initPid: number, path: string, mode: string, owner?: string): Promise<void> {
  await nsRunOk(initPid, 'mkdir', ['-p', '-m', mode, path], { timeoutMs: QUICK });
  if (owner !== undefined) await nsRunOk(initPid, 'chown', [owner, path], { timeoutMs: QUICK });
}

export async function nsSetHostname(initPid: number, name: string): Promise<void> {
  await nsRunOk(initPid, 'hostname', [name], { timeoutMs: QUICK });
}

/** Mount points as seen inside the node (from its PID 1's mountinfo), in mount order. */
export async function nsMountpoints(initPid: number): Promise<string[]> {
  return parseMountinfo(await readFile(`/proc/${initPid}/mountinfo`, 'utf8'));
}

/** Mount points of the caller's (root) mount namespace at or below PATH. */
export async function rootMountsUnder(path: string): Promise<string[]> {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8')).filter((m) => m === path || m.startsWith(prefix));
}

/** Lazily unmounts MOUNTPOINT in the caller's mount namespace (cleanup after a crash only). */
export async function umountRootLazy(mountpoint: string): Promise<void> {
  await run('umount', ['--lazy', mountpoint], { timeoutMs: QUICK });
}

function parseMountinfo(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => unescapeMount(l.split(' ')[4] ?? ''));
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

// ---------------------------------------------------------------------------------------------
// Processes of a node

export interface NsProcess {
  /** Host PID (root pid namespace). */
  pid: number;
  /** PID inside the node's pid namespace. */
  nsPid: number;
  comm: string;
  cmdline: string[];
}

/** Every live process in the pid namespace whose PID 1 has host PID INITPID (read from /proc). */
export async function pidNsProcesses(initPid: number): Promise<NsProcess[]> {
  let ns: string;
  try {
    ns = await readlink(`/proc/${initPid}/ns/pid`);
  } catch {
    return [];
  }
  const out: NsProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readlink(`/proc/${entry}/ns/pid`)) !== ns) continue;
      const status = await readFile(`/proc/${entry}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      const comm = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '';
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').filter((s) => s !== '');
      out.push({ pid: Number(entry), nsPid: Number(nspid[nspid.length - 1] ?? entry), comm, cmdline });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** The command line of PID (its arguments), or undefined when it is gone. */
export async function pidCmdline(pid: number): Promise<string[] | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((s) => s !== '');
  } catch {
    return undefined;
  }
}

/** True while PID exists and is not a zombie. */
export async function pidAlive(pid: number): Promise<boolean> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

/** Sends SIGNAL to each PID (lab processes found by namespace membership only); gone PIDs are fine. */
export function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}

/** Waits until none of PIDS is alive; false when TIMEOUTMS passed first. */
export async function waitPidsGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = (await Promise.all(pids.map(pidAlive))).some(Boolean);
    if (!alive) return true;
    if (Date.now() > deadline) return false;
    await sleepMs(50);
  }
}

/**
 * SIGKILLs every process in network namespace NETNS (PID 1 of a node first, which makes the
 * kernel kill its whole pid namespace) until `ip netns pids` is empty; throws after TIMEOUTMS.
 */
export async function killNetnsProcesses(netns: string, initPid: number | undefined, timeoutMs = 15_000): Promise<void> {
  const inode = await netnsInode(netns);
  if (inode === undefined) return;
  if (initPid !== undefined && (await isNsInit(initPid, inode))) signalPids([initPid], 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = [];
    for (const p of await netnsPids(netns)) if (await pidAlive(p)) pids.push(p);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still in netns ${netns} after ${timeoutMs} ms: ${pids.join(' ')}`);
    signalPids(pids, 'SIGKILL');
    await sleepMs(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Files

/** `cp -a SRC/. DST/`: copies a tree keeping owners, modes and timestamps. */
export async function copyTree(src: string, dst: string): Promise<void> {
  await runOk('mkdir', ['-p', dst], { timeoutMs: QUICK });
  await runOk('cp', ['-a', '--', `${src}/.`, `${dst}/`], { timeoutMs: 60_000 });
}
