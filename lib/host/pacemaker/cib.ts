// The CIB itself: read it (cibadmin --query), change it (cibadmin --patch as one versioned update,
// --create), check it (crm_verify), and the CIB port of lib/cib/change.ts on this host.
import { CorralError } from '../../errors.js';
import type { CibPort } from '../../cib/change.js';
import type { CibVersion } from '../../cib/patch.js';
import { HostCommandError, hold, type RunResult } from '../exec.js';
import { failure, tool, type Via } from './tool.js';

export class CibUnreachableError extends CorralError {
  readonly kind = 'unreachable';
  override name = 'CibUnreachableError';
}

/** Where the CIB tools read and write: a CIB file (CIB_file) or the live cluster. */
export function cibTarget(): string {
  if (process.env.CIB_file) return `the CIB file ${process.env.CIB_file}`;
  if (process.env.CIB_shadow) return `the shadow CIB ${process.env.CIB_shadow}`;
  return 'the live cluster';
}

type CibScope = 'resources' | 'constraints' | 'crm_config' | 'nodes' | 'status';

export interface QueryOptions {
  /** Only this section of the CIB (`cibadmin --query --scope`); default the whole CIB. */
  scope?: CibScope;
  /**
   * For a read-only look at the whole CIB on this host: with CIB_file set, read the file itself.
   * It is what every CIB tool would read, and cibadmin would first validate all of it against the
   * schema, which on a CIB with 1000 VMs takes longer than everything else `corral list` does. A
   * compressed CIB_file (.bz2), CIB_shadow and the live cluster still go through cibadmin.
   */
  fromFile?: boolean;
}

/**
 * The CIB as XML (`cibadmin --query`), or one section of it. On this host, throws
 * CibUnreachableError when there is no cluster to ask and no CIB_file/CIB_shadow is set; any other
 * failure is an Error.
 */
export async function queryCib(opts: QueryOptions = {}, via?: Via): Promise<string> {
  const here = !via?.runner;
  const file = process.env.CIB_file;
  if (here && opts.fromFile && opts.scope === undefined && file && !process.env.CIB_shadow && !file.endsWith('.bz2')) {
    const { readFile } = await import('node:fs/promises');
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      throw new Error(`reading ${cibTarget()} failed: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }
  const r = await tool(via, 'cibadmin', ['--query', ...(opts.scope ? ['--scope', opts.scope] : [])]);
  if (r.exitCode === 0) return r.stdout;
  // 102 = ENOTCONN/"Transport endpoint is not connected": no CIB manager on this host.
  if (here && !process.env.CIB_file && !process.env.CIB_shadow && (r.exitCode === 102 || /not connected/i.test(r.stderr))) {
    throw new CibUnreachableError('no cluster is reachable from here (no CIB manager) and CIB_file is not set');
  }
  throw failure(`reading ${here ? cibTarget() : 'the CIB'}`, r);
}

/** How a patch went: applied, or refused because the CIB is no longer at the patch's source version. */
type PatchOutcome = 'applied' | 'conflict';

/**
 * Applies a format-2 patch (lib/cib/patch.ts) as one CIB update (`cibadmin --patch`, the patch on
 * standard input): the CIB manager checks the patch's source version against the CIB's, validates
 * the result against the schema, and applies all of it or nothing. 'conflict' when the CIB changed
 * since the patch was computed (cibadmin: "Update was older than existing configuration").
 */
async function patchCib(patch: string, via?: Via): Promise<PatchOutcome> {
  const r = await tool(via, 'cibadmin', ['--patch', '--xml-pipe'], patch);
  if (r.exitCode === 0) return 'applied';
  if (r.exitCode === 103 || /older than existing configuration/i.test(r.stderr)) return 'conflict';
  throw failure(`changing ${via?.runner ? 'the CIB' : cibTarget()}`, r);
}

/** Adds XML (one element) to SCOPE of the CIB (`cibadmin --create`), one update. */
export async function createInCib(scope: 'resources' | 'constraints', xml: string, via?: Via): Promise<void> {
  const r = await tool(via, 'cibadmin', ['--create', '--scope', scope, '--xml-pipe'], xml);
  if (r.exitCode !== 0) throw failure(`adding to the ${scope} section of the CIB`, r);
}

/**
 * Holds an exclusive lock on the CIB file (CIB_file) until the returned function is called, so
 * that two corral commands changing the same file one after the other both keep their change
 * (cibadmin reads the whole file, changes it in memory and writes it back). A flock(1) that holds
 * the lock for as long as its `cat` runs; ending our side of the pipe (or our exit) releases it.
 * Nothing to lock for the live cluster: there the patch's version check does the work. This host
 * only (CIB_file is this host's).
 */
async function lockCibFile(timeoutMs = 60_000): Promise<() => Promise<void>> {
  const file = process.env.CIB_file;
  if (!file || process.env.CIB_shadow) return async () => {};
  const { existsSync } = await import('node:fs');
  if (!existsSync(file)) return async () => {};
  const holder = await hold('flock', ['--exclusive', '--wait', String(Math.ceil(timeoutMs / 1000)), file, 'cat'], timeoutMs + 5000);
  if (!holder) throw new Error(`${cibTarget()} stayed locked by another command for ${Math.round(timeoutMs / 1000)} s; nothing was changed`);
  return holder;
}

/** The CIB's version: its root element alone (`cibadmin --query --xpath /cib --no-children`). */
async function cibVersion(via?: Via): Promise<CibVersion> {
  const r = await tool(via, 'cibadmin', ['--query', '--xpath', '/cib', '--no-children']);
  if (r.exitCode !== 0) throw failure(`reading the version of ${cibTarget()}`, r);
  const num = (name: string) => Number(new RegExp(`\\s${name}="(\\d+)"`).exec(r.stdout)?.[1] ?? 0);
  return { adminEpoch: num('admin_epoch'), epoch: num('epoch'), numUpdates: num('num_updates') };
}

/** The CIB port of lib/cib/change.ts on this host: the live cluster, or CIB_file. */
export function hostCibPort(): CibPort {
  return { query: () => queryCib(), verify: (xml) => verifyCibXml(xml), patch: (p) => patchCib(p), lock: () => lockCibFile(), version: () => cibVersion() };
}

export interface VerifyResult {
  /** No errors (crm_verify exits non-zero for warnings alone too; those do not count). */
  ok: boolean;
  /** crm_verify's errors, one per line, with FILE's path replaced by "CIB". */
  messages: string[];
}

/** `crm_verify -V -x FILE`: schema and scheduler checks of a complete CIB in a file. */
export async function verifyCibFile(file: string, via?: Via): Promise<VerifyResult> {
  return verifyResult(await tool(via, 'crm_verify', ['-V', '--xml-file', file]), file);
}

/** `crm_verify -V --xml-pipe`: the same checks of a complete CIB given as text. */
async function verifyCibXml(xml: string, via?: Via): Promise<VerifyResult> {
  return verifyResult(await tool(via, 'crm_verify', ['-V', '--xml-pipe'], xml));
}

function verifyResult(r: RunResult, file?: string): VerifyResult {
  if (r.failedToStart) throw new HostCommandError(r);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => (file ? l.split(file).join('CIB') : l).trim());
  const errors = lines.some((l) => /^crm_verify: Errors found/.test(l));
  const warningsOnly = lines.some((l) => /^crm_verify: Warnings found/.test(l));
  const messages = lines.filter((l) => l && !/^-V may provide more details/.test(l) && !/^crm_verify: (Errors|Warnings) found/.test(l));
  return { ok: r.exitCode === 0 || (warningsOnly && !errors), messages };
}
