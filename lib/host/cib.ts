// The only module that runs Pacemaker's CIB tools: cibadmin, crm_diff, crm_verify, crm_simulate,
// crm_resource, crm_attribute. Our environment passes through untouched, so CIB_file (work on a
// CIB file instead of the live cluster) and CIB_shadow reach every tool.
import { parseXNode, kids, kid, type XNode } from '../cib/model.js';
import { HostCommandError, run, runOk, type RunResult } from './exec.js';

const TIMEOUT_MS = 120_000;

export class CibUnreachableError extends Error {
  override name = 'CibUnreachableError';
}

/** Where the CIB tools read and write: a CIB file (CIB_file) or the live cluster. */
export function cibTarget(): string {
  if (process.env.CIB_file) return `the CIB file ${process.env.CIB_file}`;
  if (process.env.CIB_shadow) return `the shadow CIB ${process.env.CIB_shadow}`;
  return 'the live cluster';
}

function failure(what: string, r: RunResult): Error {
  if (r.failedToStart) return new HostCommandError(r);
  const detail = (r.stderr || r.stdout)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^-V may provide more details/.test(l) && !/^Init failed/.test(l))
    .slice(-5)
    .join('\n');
  return new Error(`${what} failed (${r.command.split(' ')[0]} exited ${r.exitCode})${detail ? `:\n${detail}` : ''}`);
}

/**
 * The whole CIB as XML (`cibadmin --query`). Throws CibUnreachableError when there is no cluster
 * to ask and no CIB_file/CIB_shadow is set; any other failure is an Error.
 */
export async function queryCib(): Promise<string> {
  const r = await run('cibadmin', ['--query'], { timeoutMs: TIMEOUT_MS });
  if (r.exitCode === 0) return r.stdout;
  // 102 = ENOTCONN/"Transport endpoint is not connected": no CIB manager on this host.
  if (!process.env.CIB_file && !process.env.CIB_shadow && (r.exitCode === 102 || /not connected/i.test(r.stderr))) {
    throw new CibUnreachableError('no cluster is reachable from here (no CIB manager) and CIB_file is not set');
  }
  throw failure(`reading ${cibTarget()}`, r);
}

/**
 * The patch (crm_diff format, without version details) that turns the CIB in ORIGINALFILE into
 * the one in NEWFILE, or undefined when they do not differ.
 */
export async function diffCib(originalFile: string, newFile: string): Promise<string | undefined> {
  const r = await run('crm_diff', ['--no-version', '--original', originalFile, '--new', newFile], { timeoutMs: TIMEOUT_MS });
  if (r.exitCode === 0) return undefined;
  if (r.exitCode === 1 && r.stdout.trim().startsWith('<diff')) return r.stdout;
  throw failure('computing the CIB change', r);
}

/**
 * Applies a crm_diff patch as one CIB update (`cibadmin --patch`): the CIB manager validates the
 * result against the schema and applies all of it or nothing.
 */
export async function patchCib(patchFile: string): Promise<void> {
  const r = await run('cibadmin', ['--patch', '--xml-file', patchFile], { timeoutMs: TIMEOUT_MS });
  if (r.exitCode !== 0) throw failure(`changing ${cibTarget()}`, r);
}

export interface VerifyResult {
  /** No errors (crm_verify exits non-zero for warnings alone too; those do not count). */
  ok: boolean;
  /** crm_verify's errors, one per line, with FILE's path replaced by "CIB". */
  messages: string[];
}

/** `crm_verify -V -x FILE`: schema and scheduler checks of a complete CIB in a file. */
export async function verifyCibFile(file: string): Promise<VerifyResult> {
  const r = await run('crm_verify', ['-V', '--xml-file', file], { timeoutMs: TIMEOUT_MS });
  if (r.failedToStart) throw new HostCommandError(r);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.split(file).join('CIB').trim());
  const errors = lines.some((l) => /^crm_verify: Errors found/.test(l));
  const warningsOnly = lines.some((l) => /^crm_verify: Warnings found/.test(l));
  const messages = lines.filter((l) => l && !/^-V may provide more details/.test(l) && !/^crm_verify: (Errors|Warnings) found/.test(l));
  return { ok: r.exitCode === 0 || (warningsOnly && !errors), messages };
}

/** The nodes a resource is active on, per the CIB's status section (`crm_resource --locate`). */
export async function locateResource(id: string): Promise<string[]> {
  const r = await run('crm_resource', ['--locate', '--resource', id, '--output-as=xml'], { timeoutMs: TIMEOUT_MS });
  if (r.exitCode !== 0) throw failure(`locating ${id}`, r);
  const root = parseXNode(r.stdout);
  return kids(kid(root, 'nodes'), 'node').map((n) => n.text.trim()).filter((t) => t !== '');
}

/** A resource's instance attribute NAME (`crm_resource --get-parameter`), or undefined if unset. */
export async function getResourceParameter(id: string, name: string): Promise<string | undefined> {
  const r = await run('crm_resource', ['--resource', id, '--get-parameter', name], { timeoutMs: TIMEOUT_MS });
  if (r.exitCode !== 0) throw failure(`reading ${name} of ${id}`, r);
  if (r.stdout === '' && /Attribute '.*' not found/.test(r.stderr)) return undefined;
  return r.stdout;
}

export interface SimulateOptions {
  /** Nodes to bring online before computing (crm_simulate --node-up). */
  nodesUp?: readonly string[];
  /** Pretend the cluster has quorum (default true). */
  quorum?: boolean;
  /** Also write the CIB with the simulated status to this file (crm_simulate --save-output). */
  saveOutput?: string;
}

export interface Simulation {
  /** resource id → the nodes it runs on after the simulated transition ([] = stopped) */
  placement: Map<string, string[]>;
  /** crm_simulate's XML output */
  xml: string;
}

/**
 * Runs the scheduler on the CIB in FILE and simulates the resulting transition
 * (`crm_simulate --simulate`); FILE is not changed. No resource agent is run.
 */
export async function simulate(file: string, opts: SimulateOptions = {}): Promise<Simulation> {
  const args = ['--simulate', '--xml-file', file, '--quorum', opts.quorum === false ? 'false' : 'true'];
  for (const n of opts.nodesUp ?? []) args.push('--node-up', n);
  if (opts.saveOutput !== undefined) args.push('--save-output', opts.saveOutput);
  const xml = await runOk('crm_simulate', [...args, '--output-as=xml'], { timeoutMs: TIMEOUT_MS }).catch((e: unknown) => {
    throw e instanceof HostCommandError ? failure('simulating the cluster', e.result) : e;
  });
  const root = parseXNode(xml.stdout);
  const placement = new Map<string, string[]>();
  const collect = (resources: XNode | undefined): void => {
    for (const r of resources?.children ?? []) {
      if (r.tag === 'resource') {
        placement.set(r.attrs.id ?? '', kids(r, 'node').map((n) => n.attrs.name ?? ''));
      } else {
        collect(r); // group, clone, bundle
      }
    }
  };
  collect(kid(kid(root, 'revised_cluster_status'), 'resources'));
  return { placement, xml: xml.stdout };
}
