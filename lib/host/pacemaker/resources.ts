// Requests about one resource (crm_resource, crm_failcount): where it is, its parameters and meta
// attributes, moves and their constraints, cleanup and fail counts.
import { kid, kids, parseXNode } from '../../cib/model.js';
import { failure, tool, type Via } from './tool.js';

/** The nodes a resource is active on, per the CIB's status section (`crm_resource --locate`). */
export async function locateResource(id: string, via?: Via): Promise<string[]> {
  const r = await tool(via, 'crm_resource', ['--locate', '--resource', id, '--output-as=xml']);
  if (r.exitCode !== 0) throw failure(`locating ${id}`, r);
  const root = parseXNode(r.stdout);
  return kids(kid(root, 'nodes'), 'node').map((n) => n.text.trim()).filter((t) => t !== '');
}

/** A resource's instance attribute NAME (`crm_resource --get-parameter`), or undefined if unset. */
export async function getResourceParameter(id: string, name: string, via?: Via): Promise<string | undefined> {
  const r = await tool(via, 'crm_resource', ['--resource', id, '--get-parameter', name]);
  if (r.exitCode !== 0) throw failure(`reading ${name} of ${id}`, r);
  if (r.stdout === '' && /Attribute '.*' not found/.test(r.stderr)) return undefined;
  return r.stdout;
}

/** Sets the meta attribute NAME of resource ID (`crm_resource --meta --set-parameter`). */
export async function setResourceMeta(id: string, name: string, value: string, via?: Via): Promise<void> {
  const r = await tool(via, 'crm_resource', ['--resource', id, '--meta', '--set-parameter', name, '--parameter-value', value]);
  if (r.exitCode !== 0) throw failure(`setting ${name}=${value} on ${id}`, r);
}

export interface MoveOptions {
  /** Where to (`--node`); without it, away from where it runs now (a ban there). */
  node?: string;
  /** ISO 8601 duration after which the constraint no longer applies (`--lifetime`). */
  lifetime?: string;
}

/**
 * `crm_resource --move`: a cli-prefer location constraint for NODE (without a node, a cli-ban from
 * where it runs now), with an optional lifetime. Pacemaker then migrates the resource live when it
 * allows that. The constraint stays until it expires or clearResource() drops it.
 */
export async function moveResource(id: string, opts: MoveOptions = {}, via?: Via): Promise<void> {
  const args = ['--move', '--resource', id];
  if (opts.node !== undefined) args.push('--node', opts.node);
  if (opts.lifetime !== undefined) args.push('--lifetime', opts.lifetime);
  const r = await tool(via, 'crm_resource', args);
  if (r.exitCode !== 0) throw failure(`moving ${id}${opts.node !== undefined ? ` to ${opts.node}` : ''}`, r);
}

/** Drops the constraints crm_resource --move/--ban left for RESOURCE (`crm_resource --clear`). */
export async function clearResource(id: string, via?: Via): Promise<void> {
  const r = await tool(via, 'crm_resource', ['--clear', '--resource', id]);
  if (r.exitCode !== 0) throw failure(`clearing the move constraints of ${id}`, r);
}

/** Forgets RESOURCE's failures and operation history (`crm_resource --cleanup`). */
export async function cleanupResource(id: string, via?: Via): Promise<void> {
  const r = await tool(via, 'crm_resource', ['--cleanup', '--resource', id]);
  if (r.exitCode !== 0) throw failure(`cleaning up ${id}`, r);
}

/**
 * Forgets ID's operation history on every node (`crm_resource --refresh`), so that Pacemaker probes
 * it everywhere and reads where it runs afresh: after a failed migration a cleanup of the failed
 * node alone can leave another node's half of an older migration behind, which Pacemaker reads
 * as a migration it can no longer finish and recovers with a restart.
 */
export async function refreshResource(id: string, via?: Via): Promise<void> {
  const r = await tool(via, 'crm_resource', ['--refresh', '--resource', id]);
  if (r.exitCode !== 0) throw failure(`refreshing ${id}`, r);
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
