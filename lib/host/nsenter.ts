// A lab node's namespaces and the programs run inside them. The keeper: a detached
// `unshare --mount --uts --pid --fork --mount-proc tini -- sleep infinity` inside the node's
// network namespace, whose tini is PID 1 of the node's pid namespace; then every program of the
// node is started with `nsenter -t PID1 -m -u -n -p`, bounded by `timeout` inside the node.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostCommandError, run, runAttached, runOk, type RunOptions, type RunResult } from './exec.js';
import { CLEAN_PATH, netnsInode, QUICK, TOOLS } from './netns.js';
import { isNsInit } from './ns-procs.js';
import { childrenOf, pidFromFile } from './procs.js';

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
    const keeperPid = pidFromFile(opts.pidFile);
    if (keeperPid !== undefined) {
      for (const child of childrenOf(keeperPid)) {
        if (want !== undefined && (await isNsInit(child, want))) return { keeperPid, initPid: child };
      }
    }
    if (Date.now() > deadline) {
      const log = await readFile(opts.logFile, 'utf8').catch(() => '');
      throw new Error(`keeper for netns ${opts.netns} did not come up within ${timeoutMs} ms${log ? `: ${log.trim()}` : ''}`);
    }
    await sleep(50);
  }
}

/** True when PID is alive, is PID 1 of its own pid namespace, runs tini, and lives in the network
 *  namespace with inode NETNSINODE: the proof that an nsenter -t PID goes into the right node. */

// ---------------------------------------------------------------------------------------------
// Running programs inside a node

/** nsenter arguments that enter every namespace of the node whose PID 1 has host PID INITPID. */
function nsenterArgs(initPid: number): string[] {
  return ['-t', String(initPid), '-m', '-u', '-n', '-p', '--root', '--wd', '--'];
}

export interface NsRunOptions extends RunOptions {
  /** Start the program with only PATH, LANG and `env` in its environment (for daemons). */
  cleanEnv?: boolean;
}

/** Bound for a program run inside a node when the caller gives none. */
const DEFAULT_NS_TIMEOUT_MS = 120_000;


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
