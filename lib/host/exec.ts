// The one place where corral starts other programs. Every program has its own typed module in
// lib/host/ (virsh.ts, …) built on run(); nothing else imports execa, and no shell ever sees an
// argument. execa is loaded lazily: the agent's steady-state monitor never starts a program.

import { CorralError } from '../errors.js';

export interface RunOptions {
  /** Kill the program (SIGTERM, then SIGKILL 1 s later) after this many milliseconds. */
  timeoutMs?: number;
  /** Text for the program's standard input. */
  input?: string;
  /** Extra environment variables (merged into ours). */
  env?: Record<string, string | undefined>;
  /** Start the program in its own session, so a signal to our process group does not reach it. */
  detached?: boolean;
  cwd?: string;
  /**
   * When this signal fires, the program and everything it started (its own process group: it runs
   * detached) get SIGTERM, and SIGKILL 2 s later; run() resolves once the program has ended.
   */
  cancel?: AbortSignal;
}

export interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** True when the program could not be started at all (ENOENT, EACCES). */
  failedToStart: boolean;
}

/** Runs FILE with ARGS; never throws for a non-zero exit or a timeout, which the result reports. */
export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { execa } = await import('execa');
  if (opts.cancel?.aborted) throw new HostCommandCancelled(file);
  const p = execa(file, args, {
    reject: false,
    stripFinalNewline: true,
    timeout: opts.timeoutMs,
    forceKillAfterDelay: 1000,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    env: opts.env,
    detached: opts.detached ?? opts.cancel !== undefined,
    cwd: opts.cwd,
  });
  const r = await (opts.cancel ? killGroupOnCancel(p, opts.cancel) : p);
  const failedToStart = r.exitCode === undefined && !r.timedOut && r.signal === undefined;
  return {
    command: [file, ...args].join(' '),
    exitCode: r.exitCode ?? (r.timedOut ? 124 : 128),
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? (failedToStart ? r.message : '')),
    timedOut: r.timedOut,
    failedToStart,
  };
}

/** Like run(), but throws HostCommandError unless the program exits 0. */
export async function runOk(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(file, args, opts);
  if (r.exitCode !== 0) throw new HostCommandError(r);
  return r;
}

/** Waits for P; when CANCEL fires meanwhile, ends P's whole process group (TERM, then KILL). */
async function killGroupOnCancel<T>(p: Promise<T> & { pid?: number }, cancel: AbortSignal): Promise<T> {
  const pid = p.pid;
  const killGroup = (sig: NodeJS.Signals) => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    killGroup('SIGTERM');
    timer = setTimeout(() => killGroup('SIGKILL'), 2000);
  };
  cancel.addEventListener('abort', onAbort, { once: true });
  try {
    return await p;
  } finally {
    cancel.removeEventListener('abort', onAbort);
    if (timer) {
      clearTimeout(timer);
      killGroup('SIGKILL'); // stragglers of the group
    }
  }
}

/** A program was not started because the work was cancelled (a signal). */
export class HostCommandCancelled extends CorralError {
  readonly kind = 'failed';
  constructor(file: string) {
    super(`${file} not started: interrupted`);
    this.name = 'HostCommandCancelled';
  }
}

export class HostCommandError extends CorralError {
  readonly kind = 'failed';
  constructor(readonly result: RunResult) {
    const why = result.timedOut ? 'timed out' : `exited ${result.exitCode}`;
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' / ');
    super(`${result.command.split(' ')[0]} ${why}${detail ? `: ${detail}` : ''}`);
    this.name = 'HostCommandError';
  }
}

export interface AttachedOptions {
  env?: Record<string, string | undefined>;
  /** Replace our environment instead of extending it. */
  cleanEnv?: boolean;
  cwd?: string;
  /** Run as this user and group (a root process handing a program to the user who called it). */
  uid?: number;
  gid?: number;
}

/**
 * Runs FILE with ARGS on our terminal (stdin, stdout and stderr inherited: an interactive
 * console, an editor) and resolves with its exit code; 128+N when a signal N ended it.
 */
export async function runAttached(file: string, args: readonly string[], opts: AttachedOptions = {}): Promise<number> {
  const { execa } = await import('execa');
  const r = await execa(file, args, {
    reject: false,
    stdio: 'inherit',
    env: opts.env,
    extendEnv: !opts.cleanEnv,
    cwd: opts.cwd,
    uid: opts.uid,
    gid: opts.gid,
  });
  if (r.exitCode !== undefined) return r.exitCode;
  const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return r.signal ? 128 + (signals[r.signal] ?? 0) : 127;
}

/**
 * Starts FILE ARGS, a program that runs `cat` once it holds something (flock FILE cat), and waits
 * until it echoes a line back: then it holds it. Resolves with the function that lets go (ends
 * its standard input and waits for it), or undefined when the program ended first (it could not
 * get hold within its own wait) or TIMEOUTMS passed.
 */
export async function hold(file: string, args: readonly string[], timeoutMs: number): Promise<(() => Promise<void>) | undefined> {
  const { execa } = await import('execa');
  const p = execa(file, args, { reject: false, stdin: 'pipe', stdout: 'pipe', stderr: 'ignore', forceKillAfterDelay: 1000 });
  let timer: NodeJS.Timeout | undefined;
  const held = await new Promise<boolean>((resolve) => {
    p.stdout.once('data', () => resolve(true));
    void p.then(() => resolve(false), () => resolve(false));
    timer = setTimeout(() => {
      p.kill();
      resolve(false);
    }, timeoutMs);
    p.stdin.write('held\n');
  });
  clearTimeout(timer);
  const release = async (): Promise<void> => {
    p.stdin.end();
    await p.catch(() => undefined);
  };
  if (!held) {
    await release();
    return undefined;
  }
  // Past the start-up wait, the holder lives as long as we want it to.
  p.stdout.resume();
  return release;
}
