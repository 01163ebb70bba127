// The only module that runs Pacemaker's CIB tools: cibadmin, crm_diff, crm_verify, crm_simulate,
// crm_resource, crm_attribute. Our environment passes through untouched, so CIB_file (work on a
// CIB file instead of the live cluster) and CIB_shadow reach every tool.
import type { CibPort } from '../cib/change.js';
import { parseXNode, kids, kid, type XNode } from '../cib/model.js';
import { HostCommandError, hold, run, runOk, type RunResult } from './exec.js';

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
  if (r.timedOut) return new Error(`${what} failed: ${r.command.split(' ')[0]} did not answer within ${Math.round(TIMEOUT_MS / 1000)} s`);
  return new Error(`${what} failed: ${failureCause(r)}`);
}

/**
 * The one line that says why a Pacemaker tool failed: its "Call failed:" or "error:" line when it
 * printed one, else its last line of prose. Never XML (cibadmin prints the whole rejected CIB on a
 * schema error) and never more than one line.
 */
function failureCause(r: Pick<RunResult, 'command' | 'exitCode' | 'stdout' | 'stderr'>): string {
  const lines = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('<') && !/^-V may provide more details/.test(l) && !/^Init failed/.test(l));
  const told = lines.find((l) => /^Call failed:/i.test(l)) ?? lines.find((l) => /(^|: )error:/i.test(l)) ?? lines[lines.length - 1];
  const cause = told?.replace(/^Call failed:\s*/i, '').replace(/^[\w-]+(\[\d+\])?: (error: )?/i, '');
  const tool = r.command.split(' ')[0];
  const text = cause ? `${cause} (${tool} exited ${r.exitCode})` : `${tool} exited ${r.exitCode}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
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

/** How a patch went: applied, or refused because the CIB is no longer at the patch's source version. */
type PatchOutcome = 'applied' | 'conflict';

/**
 * Applies a format-2 patch (lib/cib/patch.ts) as one CIB update (`cibadmin --patch`, the patch on
 * standard input): the CIB manager checks the patch's source version against the CIB's, validates
 * the result against the schema, and applies all of it or nothing. 'conflict' when the CIB changed
 * since the patch was computed (cibadmin: "Update was older than existing configuration").
 */
async function patchCib(patch: string): Promise<PatchOutcome> {
  const r = await run('cibadmin', ['--patch', '--xml-pipe'], { timeoutMs: TIMEOUT_MS, input: patch });
  if (r.exitCode === 0) return 'applied';
  if (r.exitCode === 103 || /older than existing configuration/i.test(r.stderr)) return 'conflict';
  throw failure(`changing ${cibTarget()}`, r);
}

/**
 * Holds an exclusive lock on the CIB file (CIB_file) until the returned function is called, so
 * that two corral commands changing the same file one after the other both keep their change
 * (cibadmin reads the whole file, changes it in memory and writes it back). A flock(1) that holds
 * the lock for as long as its `cat` runs; ending our side of the pipe (or our exit) releases it.
 * Nothing to lock for the live cluster: there the patch's version check does the work.
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

/** The CIB port of lib/cib/change.ts on this host: the live cluster, or CIB_file. */
export function hostCibPort(): CibPort {
  return { query: queryCib, verify: verifyCibXml, patch: patchCib, lock: () => lockCibFile() };
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
  return verifyResult(r, file);
}

/** `crm_verify -V --xml-pipe`: the same checks of a complete CIB given as text. */
async function verifyCibXml(xml: string): Promise<VerifyResult> {
  const r = await run('crm_verify', ['-V', '--xml-pipe'], { timeoutMs: TIMEOUT_MS, input: xml });
  return verifyResult(r);
}

function verifyResult(r: RunResult, file?: string): VerifyResult {
  if (r.failedToStart) throw new HostCommandError(r);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => (file ? l.split(file).join('CIB') : l).trim());
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
  /** Nodes to take offline (cleanly, as after a shutdown) before computing (crm_simulate --node-down). */
  nodesDown?: readonly string[];
  /** Pretend the cluster has quorum (default true). */
  quorum?: boolean;
  /** Also write the CIB with the simulated status to this file (crm_simulate --save-output). */
  saveOutput?: string;
  /** Also write the transition graph to this file (crm_simulate --save-graph). */
  saveGraph?: string;
}

/** What the scheduler decided for a resource, as crm_simulate's summary says it (start, stop, move, migrate, restart …). */
interface SimulatedAction {
  action: string;
  resource: string;
  /** Where it goes (start, move, migrate) or is (stop, restart). */
  node?: string;
  /** Where it comes from (move, migrate, restart). */
  source?: string;
  /** Why, when crm_simulate says (e.g. "required vm-db start"). */
  reason?: string;
}

export interface Simulation {
  /** resource id → the nodes it runs on after the simulated transition ([] = stopped) */
  placement: Map<string, string[]>;
  /** The transition summary, one entry per resource action. */
  actions: SimulatedAction[];
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
  for (const n of opts.nodesDown ?? []) args.push('--node-down', n);
  if (opts.saveOutput !== undefined) args.push('--save-output', opts.saveOutput);
  if (opts.saveGraph !== undefined) args.push('--save-graph', opts.saveGraph);
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
  const actions = kids(kid(root, 'actions'), 'rsc_action').map((a) => {
    const out: SimulatedAction = { action: a.attrs.action ?? '', resource: a.attrs.resource ?? '' };
    for (const k of ['node', 'source', 'reason'] as const) if (a.attrs[k] !== undefined) out[k] = a.attrs[k];
    return out;
  });
  return { placement, actions, xml: xml.stdout };
}

// ---------------------------------------------------------------------------------------------
// Cluster status and actions (crm_mon, crmadmin, crm_resource, crm_failcount, stonith_admin).
// Each takes an optional runner (Via), so the same call works on this host (the default) or inside
// a lab node (lib/lab/cluster.ts nodeVia() runs the tool there); names ending in On are the
// runner-taking twins of the host-only functions below.

/** Runs a Pacemaker tool: FILE ARGS with a timeout; never throws for a non-zero exit. */
export type PcmkRunner = (file: string, args: readonly string[], opts: { timeoutMs: number; input?: string }) => Promise<RunResult>;

export interface Via {
  /** Where the tool runs (default: this host). */
  runner?: PcmkRunner;
  timeoutMs?: number;
}

function tool(via: Via | undefined, file: string, args: readonly string[], input?: string): Promise<RunResult> {
  const timeoutMs = via?.timeoutMs ?? TIMEOUT_MS;
  return via?.runner ? via.runner(file, args, { timeoutMs, input }) : run(file, args, { timeoutMs, input });
}

/** `crm_mon --one-shot --inactive --output-as=xml`: the cluster's state as crm_mon sees it. */
export async function crmMonXmlOn(via?: Via): Promise<string> {
  const r = await tool(via, 'crm_mon', ['--one-shot', '--inactive', '--output-as=xml']);
  if (r.exitCode !== 0) throw failure('reading the cluster status', r);
  return r.stdout;
}

/** `crm_mon --one-shot ARGS` as text, for people. */
export async function crmMonText(args: readonly string[] = [], via?: Via): Promise<string> {
  const r = await tool(via, 'crm_mon', ['--one-shot', ...args]);
  if (r.exitCode !== 0) throw failure('reading the cluster status', r);
  return r.stdout;
}

/** The name of the DC (`crmadmin --dc_lookup`), or undefined while there is none. */
async function dcName(via?: Via): Promise<string | undefined> {
  // crmadmin waits for an answer (by default long); a cluster without a DC answers nothing.
  const r = await tool(via, 'crmadmin', ['--dc_lookup', '--quiet', '--timeout', String(Math.min(via?.timeoutMs ?? 5000, 5000))]);
  if (r.exitCode !== 0) return undefined;
  const name = (r.stdout || r.stderr).trim().split('\n').pop()?.trim();
  return name && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) ? name : undefined;
}

/** The controller state of NODE (`crmadmin --status`), e.g. S_IDLE, or undefined if it does not answer. */
export async function controllerState(node: string, via?: Via): Promise<string | undefined> {
  const r = await tool(via, 'crmadmin', ['--status', node, '--quiet', '--timeout', String(Math.min(via?.timeoutMs ?? 5000, 5000))]);
  if (r.exitCode !== 0) return undefined;
  return /\b(S_[A-Z_]+)\b/.exec(`${r.stdout}\n${r.stderr}`)?.[1];
}

/** Ban RESOURCE from where it runs and send it to NODE (`crm_resource --move`): Pacemaker then
 *  migrates it live when the resource allows it. Leaves a location constraint: clearResource(). */
export async function moveResourceOn(id: string, node: string, via?: Via): Promise<void> {
  const r = await tool(via, 'crm_resource', ['--move', '--resource', id, '--node', node]);
  if (r.exitCode !== 0) throw failure(`moving ${id} to ${node}`, r);
}

/** Drops the constraints crm_resource --move/--ban left for RESOURCE (`crm_resource --clear`). */
export async function clearResourceOn(id: string, via?: Via): Promise<void> {
  const r = await tool(via, 'crm_resource', ['--clear', '--resource', id]);
  if (r.exitCode !== 0) throw failure(`clearing the move constraints of ${id}`, r);
}

/** Forgets RESOURCE's failures and operation history (`crm_resource --cleanup`). */
export async function cleanupResourceOn(id: string, via?: Via): Promise<void> {
  const r = await tool(via, 'crm_resource', ['--cleanup', '--resource', id]);
  if (r.exitCode !== 0) throw failure(`cleaning up ${id}`, r);
}

/** RESOURCE's fail count on NODE (`crm_failcount --query`); 0 when it has none. */
export async function failCount(id: string, node: string, via?: Via): Promise<number> {
  const r = await tool(via, 'crm_failcount', ['--query', '--resource', id, '--node', node]);
  if (r.exitCode !== 0) throw failure(`reading the fail count of ${id} on ${node}`, r);
  const v = /value=(\S+)/.exec(r.stdout)?.[1];
  if (v === undefined || v === '(null)') return 0;
  if (/^\+?INFINITY$/i.test(v)) return Number.POSITIVE_INFINITY;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`crm_failcount printed an unexpected value: ${r.stdout.trim()}`);
  return n;
}

/** Sets a cluster property (`crm_attribute --type crm_config`). */
async function setClusterProperty(name: string, value: string, via?: Via): Promise<void> {
  const r = await tool(via, 'crm_attribute', ['--type', 'crm_config', '--name', name, '--update', value]);
  if (r.exitCode !== 0) throw failure(`setting the cluster property ${name}`, r);
}

/** A cluster property's value (`crm_attribute --type crm_config --query`), undefined when unset. */
async function getClusterProperty(name: string, via?: Via): Promise<string | undefined> {
  const r = await tool(via, 'crm_attribute', ['--type', 'crm_config', '--name', name, '--query', '--quiet']);
  if (r.exitCode === 0) return r.stdout.trim();
  if (r.exitCode === 105 || /No such device|not found/i.test(r.stderr)) return undefined;
  throw failure(`reading the cluster property ${name}`, r);
}

export interface FenceEvent {
  action: string;
  target: string;
  /** The node that carried it out (the device's host). */
  executioner?: string;
  /** The node that asked for it. */
  origin?: string;
  client?: string;
  /** success, failed, pending … */
  status: string;
  /** When it completed (ms since the epoch), if it did. */
  completedMs?: number;
}

/** Fencing history of NODE (default: every node), every event, newest first (`stonith_admin --history --verbose`). */
export async function fenceHistory(node = '*', via?: Via): Promise<FenceEvent[]> {
  // --verbose: without it stonith_admin lists one event per target and action, and not
  // necessarily the newest (2.1.5 showed a reboot a minute older than the one just completed).
  const r = await tool(via, 'stonith_admin', ['--history', node, '--verbose', '--output-as=xml']);
  if (r.exitCode !== 0) throw failure('reading the fencing history', r);
  const root = parseXNode(r.stdout);
  const out: FenceEvent[] = [];
  // <list name="fencing history"><fence_event …/></list> (older versions: <fence_history>)
  const events = [...kids(kid(root, 'list'), 'fence_event'), ...kids(kid(root, 'fence_history'), 'fence_event')];
  for (const e of events) {
    const completed = e.attrs.completed ? Date.parse(e.attrs.completed.replace(' ', 'T')) : Number.NaN;
    out.push({
      action: e.attrs.action ?? '',
      target: e.attrs.target ?? '',
      executioner: e.attrs.delegate,
      origin: e.attrs.origin,
      client: e.attrs.client,
      status: e.attrs.status ?? '',
      completedMs: Number.isFinite(completed) ? completed : undefined,
    });
  }
  return out.sort((a, b) => (b.completedMs ?? Number.MAX_SAFE_INTEGER) - (a.completedMs ?? Number.MAX_SAFE_INTEGER));
}

/** Asks the cluster to fence NODE (`stonith_admin --reboot` or `--off`), waiting up to the timeout. */
async function fenceNode(node: string, action: 'reboot' | 'off', via?: Via): Promise<void> {
  const seconds = Math.max(1, Math.round((via?.timeoutMs ?? TIMEOUT_MS) / 1000) - 5);
  const r = await tool(via, 'stonith_admin', [action === 'off' ? '--fence' : '--reboot', node, '--timeout', String(seconds)]);
  if (r.exitCode !== 0) throw failure(`fencing ${node} (${action})`, r);
}

/** The live CIB (or its SCOPE section) via the runner (`cibadmin --query`). */
export async function queryCibVia(via: Via, scope?: 'resources' | 'constraints' | 'crm_config' | 'nodes' | 'status'): Promise<string> {
  const r = await tool(via, 'cibadmin', ['--query', ...(scope ? ['--scope', scope] : [])]);
  if (r.exitCode !== 0) throw failure('reading the CIB', r);
  return r.stdout;
}

/** Replaces SCOPE's section of the live CIB with XML (`cibadmin --replace`), one update. */
async function replaceCibSection(scope: 'resources' | 'constraints' | 'crm_config' | 'rsc_defaults' | 'op_defaults', xml: string, via?: Via): Promise<void> {
  const r = await tool(via, 'cibadmin', ['--replace', '--scope', scope, '--xml-pipe'], xml);
  if (r.exitCode !== 0) throw failure(`replacing the ${scope} section of the CIB`, r);
}

// ---------------------------------------------------------------------------------------------
// The operator's commands (vm, corral list/hosts/stats): status snapshots and Pacemaker requests.

/**
 * The CIB for a read-only look (configuration and status). With CIB_file set, the file itself:
 * it is what every CIB tool would read, and cibadmin would first validate all of it against the
 * schema, which on a CIB with 1000 VMs takes longer than everything else `corral list` does.
 * A compressed CIB_file (.bz2) and the live cluster go through `cibadmin --query`.
 */
export async function readCibSnapshot(): Promise<string> {
  const file = process.env.CIB_file;
  if (file && !process.env.CIB_shadow && !file.endsWith('.bz2')) {
    const { readFile } = await import('node:fs/promises');
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      throw new Error(`reading ${cibTarget()} failed: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }
  return queryCib();
}

/**
 * `crm_mon --output-as=xml` on CIB (a CIB as text, through a private temporary file and
 * CIB_file) instead of the live cluster: Pacemaker's reading of exactly the snapshot the caller
 * already holds.
 */
export async function crmMonXmlOfCib(cib: string): Promise<string> {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'corral-mon-'));
  try {
    const file = join(dir, 'cib.xml');
    await writeFile(file, cib, { mode: 0o600 });
    const r = await run('crm_mon', ['--output-as=xml', '--one-shot', '--inactive'], {
      timeoutMs: TIMEOUT_MS,
      env: { CIB_file: file, CIB_shadow: undefined },
    });
    if (r.exitCode !== 0) throw failure('computing the status of the CIB snapshot', r);
    return r.stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sets the meta attribute NAME of resource ID (`crm_resource --meta --set-parameter`). */
export async function setResourceMeta(id: string, name: string, value: string): Promise<void> {
  const r = await run('crm_resource', ['--resource', id, '--meta', '--set-parameter', name, '--parameter-value', value], { timeoutMs: TIMEOUT_MS });
  if (r.exitCode !== 0) throw failure(`setting ${name}=${value} on ${id}`, r);
}

export interface MoveOptions {
  /** Where to (`--node`); without it, away from where it runs now (a ban there). */
  node?: string;
  /** ISO 8601 duration after which the constraint no longer applies (`--lifetime`). */
  lifetime?: string;
}

/** `crm_resource --move`: a cli-prefer (or, without a node, cli-ban) location constraint, with
 *  an optional lifetime. */
export async function moveResourceWith(id: string, opts: MoveOptions = {}): Promise<string> {
  const args = ['--move', '--resource', id];
  if (opts.node !== undefined) args.push('--node', opts.node);
  if (opts.lifetime !== undefined) args.push('--lifetime', opts.lifetime);
  const r = await run('crm_resource', args, { timeoutMs: TIMEOUT_MS });
  if (r.exitCode !== 0) throw failure(`moving ${id}${opts.node ? ` to ${opts.node}` : ''}`, r);
  return `${r.stdout}\n${r.stderr}`.trim();
}

/** `crm_resource --ban`: keep resource ID off NODE (a cli-ban location constraint). */
async function banResource(id: string, node: string, lifetime?: string): Promise<void> {
  const args = ['--ban', '--resource', id, '--node', node];
  if (lifetime !== undefined) args.push('--lifetime', lifetime);
  const r = await run('crm_resource', args, { timeoutMs: TIMEOUT_MS });
  if (r.exitCode !== 0) throw failure(`banning ${id} from ${node}`, r);
}

/**
 * Whether the cluster has settled: the scheduler, run on the current CIB, wants no action
 * (`crm_resource --wait` with a short timeout). False while anything is still to be done.
 */
export async function clusterSettled(timeoutMs = 2000): Promise<boolean> {
  const seconds = Math.max(1, Math.round(timeoutMs / 1000));
  const r = await run('crm_resource', ['--wait', `--timeout=${seconds}s`], { timeoutMs: timeoutMs + 30_000 });
  if (r.exitCode === 0) return true;
  if (r.exitCode === 124 || /timed? ?out/i.test(r.stderr)) return false;
  throw failure('asking whether the cluster has settled', r);
}

/** The name of this node in the cluster (`crm_node --name`), or undefined without a cluster. */
export async function localNodeName(): Promise<string | undefined> {
  const r = await run('crm_node', ['--name'], { timeoutMs: 10_000 });
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
}

/** Adds XML (one element) to SCOPE of the live CIB (`cibadmin --create`), one update. */
export async function createInCib(scope: 'resources' | 'constraints', xml: string, via?: Via): Promise<void> {
  const r = await tool(via, 'cibadmin', ['--create', '--scope', scope, '--xml-pipe'], xml);
  if (r.exitCode !== 0) throw failure(`adding to the ${scope} section of the CIB`, r);
}

/** Sets a node attribute that lasts until the node leaves the cluster (`crm_attribute --lifetime reboot`). */
export async function setTransientNodeAttribute(node: string, name: string, value: string, via?: Via): Promise<void> {
  const r = await tool(via, 'crm_attribute', ['--node', node, '--name', name, '--update', value, '--lifetime', 'reboot']);
  if (r.exitCode !== 0) throw failure(`setting ${name} on ${node}`, r);
}

/** A node attribute of lifetime reboot, or undefined when it is not set (e.g. the node rebooted since). */
export async function getTransientNodeAttribute(node: string, name: string, via?: Via): Promise<string | undefined> {
  const r = await tool(via, 'crm_attribute', ['--node', node, '--name', name, '--query', '--quiet', '--lifetime', 'reboot']);
  if (r.exitCode === 0) return r.stdout.trim() || undefined;
  if (r.exitCode === 105 || /No such device|not found/i.test(r.stderr)) return undefined;
  throw failure(`reading ${name} of ${node}`, r);
}
