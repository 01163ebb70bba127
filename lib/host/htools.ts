// The one place that runs Ganeti's htools (hspace, hbal, hroller; Debian package ganeti-htools):
// the cluster in their text format (lib/plan/htools.ts writes it) goes through a private
// temporary directory that is always removed, every run is bounded in time, and the output is
// read by the pure parsers of lib/plan/htools.ts. Nothing here changes a cluster: htools only
// read the file (hbal -C prints Ganeti commands; nothing runs them).
import { CorralError } from '../errors.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocSpec, parseHbal, parseHroller, parseHspace, type HbalResult, type HspaceResult, type RebootGroup, type Size } from '../plan/htools.js';
import { run, type RunResult } from './exec.js';

const DEFAULT_TIMEOUT_MS = 60_000;

/** An htools program could not be run, failed or timed out. */
export class HtoolsError extends CorralError {
  readonly kind = 'failed';
  override name = 'HtoolsError';
  constructor(
    message: string,
    readonly result?: RunResult,
  ) {
    super(message);
  }
}

async function withText<T>(text: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'corral-htools-'));
  try {
    const file = join(dir, 'cluster.txt');
    await writeFile(file, text, { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function htool(program: 'hspace' | 'hbal' | 'hroller', text: string, args: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RunResult> {
  return withText(text, async (file) => {
    const r = await run(program, ['-t', file, ...args], { timeoutMs });
    if (r.failedToStart) throw new HtoolsError(`cannot run ${program} (Debian package ganeti-htools): ${r.stderr.trim()}`, r);
    if (r.timedOut) throw new HtoolsError(`${program} did not finish within ${timeoutMs / 1000} s`, r);
    if (r.exitCode !== 0) {
      const said = (r.stderr || r.stdout).split(file).join('cluster.txt').trim().split('\n').slice(-3).join(' / ');
      throw new HtoolsError(`${program} exited ${r.exitCode}${said ? `: ${said}` : ''}`, r);
    }
    return r;
  });
}

export interface HspaceOptions {
  /** The size of the instances to allocate (--standard-alloc); default: the text's policy standard spec. */
  size?: Size;
  /** --no-capacity-checks: no global N+1 check for instances without DRBD (sharedfile), only per-node room. */
  noCapacityChecks?: boolean;
  /** More hspace arguments (e.g. ['--independent-groups']). */
  extraArgs?: readonly string[];
  timeoutMs?: number;
}

/**
 * hspace on TEXT: how many more instances of one size fit. By default hspace (Ganeti 3.0) keeps the
 * cluster "globally N+1": every node can be evacuated, its shared-storage instances moved to the
 * others, after each allocation.
 */
export async function runHspace(text: string, opts: HspaceOptions = {}): Promise<HspaceResult> {
  const args = ['--machine-readable', '--disk-template', 'sharedfile'];
  if (opts.size) args.push('--standard-alloc', allocSpec(opts.size));
  if (opts.noCapacityChecks) args.push('--no-capacity-checks');
  args.push(...(opts.extraArgs ?? []));
  const r = await htool('hspace', text, args, opts.timeoutMs);
  const out = parseHspace(r.stdout);
  if (!out.ok) throw new HtoolsError(`hspace did not finish its computation (no HTS_OK=1): ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`, r);
  return out;
}

export interface HbalOptions {
  /** -l N: at most N moves (0: only score the cluster as it is). */
  maxLength?: number;
  /** More hbal arguments (e.g. ['--evac-mode']). */
  extraArgs?: readonly string[];
  timeoutMs?: number;
}

/** hbal on TEXT with -C: the moves it would make, the commands, and its scores before and after. */
export async function runHbal(text: string, opts: HbalOptions = {}): Promise<HbalResult> {
  const args = ['-C'];
  if (opts.maxLength !== undefined) args.push('-l', String(opts.maxLength));
  args.push(...(opts.extraArgs ?? []));
  const r = await htool('hbal', text, args, opts.timeoutMs);
  return parseHbal(r.stdout);
}

/** hbal's own score of the cluster in TEXT (lower is better balanced), without moving anything. */
export async function hbalScore(text: string, opts: { timeoutMs?: number } = {}): Promise<number> {
  const r = await runHbal(text, { maxLength: 0, timeoutMs: opts.timeoutMs });
  if (r.initialScore === null) throw new HtoolsError('hbal printed no initial score');
  return r.initialScore;
}

export interface HrollerOptions {
  /** --print-moves: where each instance of a group would go while it reboots. */
  printMoves?: boolean;
  /** --offline-maintenance: pretend every instance is shut down (only DRBD pairs constrain groups). */
  offlineMaintenance?: boolean;
  /** More hroller arguments (e.g. ['--node-tags', 'needsreboot']). */
  extraArgs?: readonly string[];
  timeoutMs?: number;
}

/**
 * hroller on TEXT: the groups of nodes that can be rebooted together, in order. --force is always
 * given: without it hroller refuses a cluster with no master node (a cluster with no DC).
 */
export async function runHroller(text: string, opts: HrollerOptions = {}): Promise<RebootGroup[]> {
  const args = ['--force'];
  if (opts.printMoves) args.push('--print-moves');
  if (opts.offlineMaintenance) args.push('--offline-maintenance');
  args.push(...(opts.extraArgs ?? []));
  const r = await htool('hroller', text, args, opts.timeoutMs);
  return parseHroller(r.stdout);
}
