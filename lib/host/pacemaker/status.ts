// The cluster's state as Pacemaker's tools report it: crm_mon (XML for lib/cluster/crm-mon.ts,
// text for people), the controller's state (crmadmin), whether the scheduler still has work
// (crm_resource --wait), and this node's name (crm_node).
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

/**
 * Whether the cluster has settled: the scheduler, run on the current CIB, wants no action
 * (`crm_resource --wait` for at most WAITMS). False while anything is still to be done.
 */
export async function clusterSettled(waitMs = 2000, via?: Via): Promise<boolean> {
  const seconds = Math.max(1, Math.round(waitMs / 1000));
  const r = await tool({ ...via, timeoutMs: waitMs + 30_000 }, 'crm_resource', ['--wait', `--timeout=${seconds}s`]);
  if (r.exitCode === 0) return true;
  if (r.exitCode === 124 || /timed? ?out/i.test(r.stderr)) return false;
  throw failure('asking whether the cluster has settled', r);
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
