// Operator hooks (Ganeti's hooks/OPCODE-pre.d and -post.d): programs the operator drops into
//   /etc/corral/hooks/<point>-pre.d/    run before the operation; one that fails vetoes it
//   /etc/corral/hooks/<point>-post.d/   run after it; a failure is reported and logged, not undone
// (the hooks directory is hooks/ beside corral.conf: CORRAL_ETC moves both, where it is trusted).
//
// The points (README "Hooks"): domadd, domdel, vm-ACTION (every vm action that is not read-only),
// node-drain, node-undrain, rolling-reboot, node-reboot (each node's turn of a rolling reboot),
// rebalance, balance-move (each move of the load balancer).
//
// The rules, all here (lib/host/hooks-run.ts only runs one file):
// - run-parts order: the entries of the directory sorted by name (byte order), one at a time;
// - every entry is a hook: a regular file (not a link) named with [A-Za-z0-9_-] only, owned by
//   root and writable by nobody else, and so are the directory and the hooks directory above it.
//   A file that is not executable at all is a disabled hook: skipped, and logged. Anything else is
//   refused, logged and said — and in a pre directory a refused entry vetoes the operation before
//   any hook runs: a hook the operator relies on is never skipped silently;
// - no arguments, no shell; the environment is ours plus CORRAL_OPERATION (the point), CORRAL_PHASE
//   (pre or post), CORRAL_NODES and CORRAL_VMS (space-separated names), CORRAL_DRY_RUN (1 or 0),
//   CORRAL_USER (who asked: lib/ops/caller.ts), CORRAL_HOOK_DIR, CORRAL_RESULT (post: ok or
//   failed) and what the point adds (vm: CORRAL_ARG, balance-move: CORRAL_FROM and CORRAL_TO);
// - each hook runs at most hook_timeout seconds (corral.conf, default 60); then it and its
//   children are killed, which is a failure;
// - pre: the first hook that fails (exit status not 0, killed, not startable) vetoes: a HookVeto
//   whose message names the hook and gives the first line of its output as the reason; the hooks
//   after it do not run, and the operation changes nothing;
// - post: every hook runs, whatever the others did; a failure is said on stderr and logged. Post
//   hooks run after the operation whether it succeeded or not (CORRAL_RESULT says which), never
//   after a veto, never in a dry run;
// - a dry run runs the pre hooks with CORRAL_DRY_RUN=1 (as Ganeti does), so that it says whether
//   the real run would be vetoed: a pre hook with side effects must look at CORRAL_DRY_RUN.
// Each hook run, refusal and skip is a line of the audit log (action "hook POINT-PHASE.d/NAME").
import { lstat, readdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { CorralError } from '../errors.js';
import { runHookFile } from '../host/hooks-run.js';
import { AuditLog, type AuditResult } from './audit.js';
import { identifyCaller } from './caller.js';
import { currentInvocation, loadConfig, type Config } from './config.js';

/** A pre hook said no (or could not be trusted): the operation was not carried out. Exit 1. */
export class HookVeto extends CorralError {
  readonly kind = 'failed';
  override name = 'HookVeto';
}

type Phase = 'pre' | 'post';

/** What an operation tells its hooks. */
export interface HookContext {
  nodes?: readonly string[];
  vms?: readonly string[];
  dryRun?: boolean;
  /** More CORRAL_* variables of the point (CORRAL_ARG …). */
  env?: Record<string, string>;
}

/** A line of the hooks' log: which hook, and what became of it. */
interface HookLogEntry {
  /** POINT-PHASE.d/NAME */
  hook: string;
  result: AuditResult;
  detail?: string;
  vms: readonly string[];
}

export interface HookSettings {
  /** The hooks directory (/etc/corral/hooks). */
  dir: string;
  timeoutMs: number;
  /** CORRAL_USER. */
  user: string;
  /** Tells the user (stderr) about a post hook's failure, a refused or a disabled entry. */
  say: (line: string) => void;
  /** Keeps a line in the log (the audit log); best effort. */
  log: (entry: HookLogEntry) => Promise<void>;
}

const NAME_RE = /^[A-Za-z0-9_-]+$/;
const POINT_RE = /^[a-z][a-z0-9-]*$/;

/** Why PATH (a directory or a hook) may not be trusted, or undefined when it may. */
async function untrusted(p: string, want: 'dir' | 'file'): Promise<string | undefined> {
  let s;
  try {
    s = await lstat(p);
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  if (s.isSymbolicLink()) return 'is a symbolic link (a hook and its directory must be real)';
  if (want === 'dir' ? !s.isDirectory() : !s.isFile()) return want === 'dir' ? 'is not a directory' : 'is not a regular file';
  if (s.uid !== 0) return `is owned by uid ${s.uid}, not root`;
  if ((s.mode & 0o022) !== 0) return `is writable by ${(s.mode & 0o020) !== 0 ? 'its group' : 'others'} (mode ${(s.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

interface Entry {
  name: string;
  /** Refused: why. */
  refused?: string;
  /** Not executable: skipped. */
  disabled?: boolean;
}

/** The entries of DIR in run-parts order, each judged; undefined when DIR does not exist. */
async function entriesOf(root: string, dir: string): Promise<Entry[] | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return [{ name: '.', refused: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` }];
  }
  for (const [p, label] of [
    [root, root],
    [dir, dir],
  ] as const) {
    const why = await untrusted(p, 'dir');
    if (why) return [{ name: '.', refused: `the directory ${label} ${why}` }];
  }
  const out: Entry[] = [];
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    const why = await untrusted(file, 'file');
    if (why) {
      out.push({ name, refused: why });
      continue;
    }
    const mode = (await lstat(file)).mode;
    if ((mode & 0o111) === 0) out.push({ name, disabled: true });
    else if (!NAME_RE.test(name)) out.push({ name, refused: 'has a name run-parts would not run (letters, digits, _ and - only)' });
    else out.push({ name });
  }
  return out;
}

function words(xs: readonly string[] | undefined): string {
  return (xs ?? []).join(' ');
}

export class Hooks {
  constructor(readonly settings: HookSettings) {}

  private env(point: string, phase: Phase, dir: string, ctx: HookContext, ok?: boolean): Record<string, string> {
    return {
      ...ctx.env,
      CORRAL_OPERATION: point,
      CORRAL_PHASE: phase,
      CORRAL_NODES: words(ctx.nodes),
      CORRAL_VMS: words(ctx.vms),
      CORRAL_DRY_RUN: ctx.dryRun ? '1' : '0',
      CORRAL_USER: this.settings.user,
      CORRAL_HOOK_DIR: dir,
      ...(ok === undefined ? {} : { CORRAL_RESULT: ok ? 'ok' : 'failed' }),
    };
  }

  private async log(hook: string, result: AuditResult, ctx: HookContext, detail?: string): Promise<void> {
    await this.settings.log({ hook, result, vms: ctx.vms ?? [], ...(detail ? { detail } : {}) }).catch(() => undefined);
  }

  /**
   * Runs POINT's pre hooks; throws HookVeto when one fails or an entry of the directory is
   * refused (then no hook has run). Nothing to run: resolves at once.
   */
  async pre(point: string, ctx: HookContext): Promise<void> {
    if (!POINT_RE.test(point)) throw new Error(`not a hook point: ${point}`);
    const label = `${point}-pre.d`;
    const dir = path.join(this.settings.dir, label);
    const entries = await entriesOf(this.settings.dir, dir);
    if (!entries) return;
    for (const e of entries.filter((x) => x.refused)) {
      const what = e.name === '.' ? label : `${label}/${e.name}`;
      await this.log(what, 'refused', ctx, e.refused);
      throw new HookVeto(`hook ${what} refused: ${e.name === '.' ? '' : `${path.join(dir, e.name)} `}${e.refused}; nothing was done (a pre hook that cannot be trusted vetoes)`);
    }
    const env = this.env(point, 'pre', dir, ctx);
    for (const e of entries) {
      const hook = `${label}/${e.name}`;
      if (e.disabled) {
        await this.log(hook, 'cancelled', ctx, 'not executable: disabled');
        continue;
      }
      const r = await runHookFile(path.join(dir, e.name), env, this.settings.timeoutMs);
      if (r.exitCode === 0 && !r.failedToStart) {
        await this.log(hook, 'ok', ctx);
        continue;
      }
      const how = failure(r, this.settings.timeoutMs);
      await this.log(hook, 'refused', ctx, `${how}${r.firstLine ? `: ${r.firstLine}` : ''}`);
      throw new HookVeto(`vetoed by hook ${hook} (${how}): ${r.firstLine || 'no reason given'}; nothing was done`);
    }
  }

  /**
   * Runs POINT's post hooks, every one; a failure is said and logged, never thrown. OK is the
   * operation's outcome (CORRAL_RESULT). Resolves with the failures (one line each).
   */
  async post(point: string, ctx: HookContext, ok = true): Promise<string[]> {
    if (!POINT_RE.test(point)) throw new Error(`not a hook point: ${point}`);
    const label = `${point}-post.d`;
    const dir = path.join(this.settings.dir, label);
    const entries = await entriesOf(this.settings.dir, dir).catch((e: unknown) => [{ name: '.', refused: (e as Error).message }] as Entry[]);
    if (!entries) return [];
    const failures: string[] = [];
    const env = this.env(point, 'post', dir, ctx, ok);
    for (const e of entries) {
      const hook = e.name === '.' ? label : `${label}/${e.name}`;
      if (e.refused) {
        const line = `hook ${hook} refused, not run: ${e.refused}`;
        failures.push(line);
        this.settings.say(line);
        await this.log(hook, 'refused', ctx, e.refused);
        if (e.name === '.') break;
        continue;
      }
      if (e.disabled) {
        await this.log(hook, 'cancelled', ctx, 'not executable: disabled');
        continue;
      }
      const r = await runHookFile(path.join(dir, e.name), env, this.settings.timeoutMs).catch((x: unknown) => ({ exitCode: 1, timedOut: false, failedToStart: true, firstLine: (x as Error).message }));
      if (r.exitCode === 0 && !r.failedToStart) {
        await this.log(hook, 'ok', ctx);
        continue;
      }
      const how = failure(r, this.settings.timeoutMs);
      const line = `hook ${hook} failed (${how})${r.firstLine ? `: ${r.firstLine}` : ''}; the ${point} stands as done`;
      failures.push(line);
      this.settings.say(line);
      await this.log(hook, 'failed', ctx, `${how}${r.firstLine ? `: ${r.firstLine}` : ''}`);
    }
    return failures;
  }

  /**
   * POINT's pre hooks, WORK, its post hooks: the usual wiring of one operation. A dry run runs
   * the pre hooks only. A veto throws before WORK; WORK's error is rethrown after the post hooks
   * (CORRAL_RESULT=failed); SUCCEEDED judges a result that is not an error (default: it is ok).
   */
  async around<T>(point: string, ctx: HookContext, work: () => Promise<T>, succeeded: (t: T) => boolean = () => true): Promise<T> {
    await this.pre(point, ctx);
    let result: T;
    try {
      result = await work();
    } catch (e) {
      if (!ctx.dryRun) await this.post(point, ctx, false);
      throw e;
    }
    if (!ctx.dryRun) await this.post(point, ctx, succeeded(result));
    return result;
  }
}

function failure(r: { exitCode: number; timedOut: boolean; failedToStart: boolean }, timeoutMs: number): string {
  if (r.timedOut) return `killed after ${timeoutMs / 1000} s`;
  if (r.failedToStart) return 'could not be started';
  return r.exitCode > 128 ? `ended by signal ${r.exitCode - 128}` : `exit status ${r.exitCode}`;
}

/** The hooks of CONFIG (hooks/ beside corral.conf), for USER, logged in CONFIG's audit log. */
export function configuredHooks(config: Config, user: string, say: (line: string) => void, audit: Pick<AuditLog, 'write'> = new AuditLog(config.auditLog)): Hooks {
  return new Hooks({
    dir: path.join(config.etcDir, 'hooks'),
    timeoutMs: config.hookTimeout * 1000,
    user,
    say,
    log: (e) => audit.write({ user, action: `hook ${e.hook}`, vm: e.vms.join(',') || '-', result: e.result, ...(e.detail ? { detail: e.detail } : {}) }),
  });
}

/** The hooks of this machine for a corral command: its corral.conf, the caller who ran it. */
export async function loadHooks(say: (line: string) => void): Promise<Hooks> {
  return (await loadOperationSupport(say)).hooks;
}

/**
 * What a cluster operation (lib/ops/operation.ts) runs with on this machine: the hooks, and the
 * audit trail its own lines go to (audit_log of corral.conf, as the hooks' lines), for the caller.
 */
export async function loadOperationSupport(say: (line: string) => void): Promise<{ hooks: Hooks; audit: { user: string; write: AuditLog['write'] }; config: Config }> {
  // A copy of the environment: reading the settings here drops nothing from this process's own.
  const inv = currentInvocation();
  const config = await loadConfig({ ...inv, env: { ...inv.env } });
  const caller = await identifyCaller(inv).catch(() => ({ user: userInfo().username }));
  const log = new AuditLog(config.auditLog);
  return { hooks: configuredHooks(config, caller.user, say, log), audit: { user: caller.user, write: (e) => log.write(e) }, config };
}
