// The cluster's state as Pacemaker's tools report it: crm_mon (XML for lib/cluster/crm-mon.ts,
// text for people), the controller's state (crmadmin), whether the scheduler still has work
// (crm_resource --wait), and this node's name (crm_node).
import { kid, parseXNode } from '../../cib/model.js';
import { run } from '../exec.js';
import { failure, tool, TIMEOUT_MS, type Via } from './tool.js';

export interface CrmMonOptions {
  /**
   * A CIB as text: crm_mon reads it (through a private temporary file and CIB_file) instead of
   * the live cluster, which is Pacemaker's reading of exactly the snapshot the caller already
   * holds. This host only.
   */
  cib?: string;
}

/** `crm_mon --one-shot --inactive --output-as=xml`: the cluster's state as crm_mon sees it
 *  (lib/cluster/crm-mon.ts reads it). */
export async function crmMonXml(opts: CrmMonOptions = {}, via?: Via): Promise<string> {
  const args = ['--one-shot', '--inactive', '--output-as=xml'];
  if (opts.cib === undefined) {
    const r = await tool(via, 'crm_mon', args);
    if (r.exitCode !== 0) throw failure('reading the cluster status', r);
    return r.stdout;
  }
  if (via?.runner) throw new Error('crmMonXml: a CIB given as text is read on this host only');
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'corral-mon-'));
  try {
    const file = join(dir, 'cib.xml');
    await writeFile(file, opts.cib, { mode: 0o600 });
    const r = await run('crm_mon', args, { timeoutMs: via?.timeoutMs ?? TIMEOUT_MS, env: { CIB_file: file, CIB_shadow: undefined } });
    if (r.exitCode !== 0) throw failure('computing the status of the CIB snapshot', r);
    return r.stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `crm_mon --one-shot ARGS` as text, for people. */
export async function crmMonText(args: readonly string[] = [], via?: Via): Promise<string> {
  const r = await tool(via, 'crm_mon', ['--one-shot', ...args]);
  if (r.exitCode !== 0) throw failure('reading the cluster status', r);
  return r.stdout;
}

/** The controller state of NODE (`crmadmin --status`), e.g. S_IDLE, or undefined if it does not answer. */
export async function controllerState(node: string, via?: Via): Promise<string | undefined> {
  // crmadmin waits for an answer (by default long); a node without a controller answers nothing.
  const r = await tool(via, 'crmadmin', ['--status', node, '--quiet', '--timeout', String(Math.min(via?.timeoutMs ?? 5000, 5000))]);
  if (r.exitCode !== 0) return undefined;
  return /\b(S_[A-Z_]+)\b/.exec(`${r.stdout}\n${r.stderr}`)?.[1];
}

/** The node that is the cluster's DC (`crmadmin --dc_lookup`), or undefined when none answers. */
async function dcNode(via?: Via): Promise<string | undefined> {
  const r = await tool(via, 'crmadmin', ['--dc_lookup', '--quiet', '--timeout', String(Math.min(via?.timeoutMs ?? 5000, 5000))]);
  if (r.exitCode !== 0) return undefined;
  return r.stdout.trim().split(/\s+/)[0] || undefined;
}

/**
 * Whether the cluster has settled, now: the DC is idle (no transition in flight) and the
 * scheduler, run on the current CIB (`crm_simulate --live-check --simulate`), wants no action —
 * a change the DC has not acted on yet is caught by the second. The same question as
 * `crm_resource --wait`, answered at once: crm_resource sleeps 2 s before its first look even on
 * an idle cluster (measured with Pacemaker 2.1.5), which every drain, move and wait would pay.
 */
export async function clusterSettled(via?: Via): Promise<boolean> {
  const dc = await dcNode(via);
  if (dc === undefined || (await controllerState(dc, via)) !== 'S_IDLE') return false;
  const r = await tool(via, 'crm_simulate', ['--live-check', '--simulate', '--output-as=xml']);
  if (r.exitCode !== 0) throw failure('asking the scheduler whether the cluster has settled', r);
  const actions = kid(parseXNode(r.stdout), 'actions');
  return (actions?.children.length ?? 0) === 0;
}

/** The name of this node in the cluster (`crm_node --name`), or undefined without a cluster. */
export async function localNodeName(via?: Via): Promise<string | undefined> {
  const r = await tool({ ...via, timeoutMs: via?.timeoutMs ?? 10_000 }, 'crm_node', ['--name']);
  return r.exitCode === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
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
