// Name/value pairs in the configuration: node attributes (<nodes><node><instance_attributes>, as
// crm_attribute writes them with the default lifetime "forever": standby, and corral's record of
// what a drain took off a node) and cluster options (crm_config). Edits a CibDoc;
// lib/cib/change.ts writes it.
import type { CibDoc } from './edit.js';
import { CibError } from './model.js';
import { clusterPropertySetXml, ids, nodeAttributesXml, nvpairXml } from './shapes.js';
import { elements } from '../xml/dom.js';

/** The attribute that lists the VMs a drain took off a node, so that undrain --return can bring them back. */
export const DRAINED_ATTR = 'corral-drained';
/** The attribute that says a drain of the node is under way (draining), done (drained) or was interrupted. */
export const DRAIN_STATE_ATTR = 'corral-drain-state';
/** Why the node was drained, when not by hand: "shutdown" (corral-node.service, which may undrain it at boot). */
export const DRAIN_REASON_ATTR = 'corral-drain-reason';

/** Sets NAME in the attribute set SET (adding the pair when missing), or with VALUE undefined removes it. */
export function setNvpair(cd: CibDoc, set: Element, name: string, value: string | undefined): void {
  const found = elements(set, 'nvpair').filter((p) => p.getAttribute('name') === name);
  if (value === undefined) {
    for (const p of found) set.removeChild(p);
    return;
  }
  if (found[0]) {
    found[0].setAttribute('value', value);
    for (const p of found.slice(1)) set.removeChild(p);
    return;
  }
  const setId = set.getAttribute('id') ?? '';
  const pairId = ids.nvpair(setId, name);
  if (cd.byId(pairId)) throw new CibError(`cannot add ${name} to ${setId}: the id ${pairId} is taken`);
  cd.append(set, nvpairXml(setId, name, value));
}

function nodeElement(cd: CibDoc, uname: string): Element {
  const el = elements(cd.section('nodes'), 'node').find((n) => n.getAttribute('uname') === uname);
  if (!el) throw new CibError(`there is no node ${uname} in the configuration`);
  return el;
}

/** The node's plain (rule-less) instance attributes, if it has any. */
function nodeSet(node: Element): Element | undefined {
  return elements(node, 'instance_attributes').find((s) => elements(s, 'rule').length === 0);
}

/** Sets (or, with VALUE undefined, removes) the permanent attribute NAME of node UNAME. */
export function setNodeAttribute(cd: CibDoc, uname: string, name: string, value: string | undefined): void {
  const node = nodeElement(cd, uname);
  const set = nodeSet(node);
  if (set) setNvpair(cd, set, name, value);
  else if (value !== undefined) cd.append(node, nodeAttributesXml(node.getAttribute('id') ?? uname, { [name]: value }));
}

/** The permanent attribute NAME of node UNAME, or undefined. */
export function nodeAttribute(cd: CibDoc, uname: string, name: string): string | undefined {
  const set = nodeSet(nodeElement(cd, uname));
  const p = set && elements(set, 'nvpair').find((x) => x.getAttribute('name') === name);
  return p ? (p.getAttribute('value') ?? undefined) : undefined;
}

/** Sets (or, with VALUE undefined, removes) the cluster option NAME (crm_config). */
export function setClusterOption(cd: CibDoc, name: string, value: string | undefined): void {
  const crm = cd.section('crm_config');
  const set = cd.byId(ids.bootstrap) ?? elements(crm, 'cluster_property_set')[0];
  if (set) setNvpair(cd, set, name, value);
  else if (value !== undefined) cd.append(crm, clusterPropertySetXml(ids.bootstrap, { [name]: value }));
}

/** The cluster option NAME (crm_config), or undefined when unset. */
function clusterOption(cd: CibDoc, name: string): string | undefined {
  for (const set of elements(cd.section('crm_config'), 'cluster_property_set')) {
    if (elements(set, 'rule').length) continue;
    const p = elements(set, 'nvpair').find((x) => x.getAttribute('name') === name);
    if (p) return p.getAttribute('value') ?? undefined;
  }
  return undefined;
}

/** Where a maintenance command keeps migration-limit's own value while it sets its own. */
const SAVED_LIMIT_OPTION = 'corral-saved-migration-limit';

/**
 * Sets migration-limit to LIMIT for a maintenance command, keeping the cluster's own value (once:
 * an interrupted command that is run again does not save its own limit as the cluster's).
 */
export function borrowMigrationLimit(cd: CibDoc, limit: number): void {
  if (clusterOption(cd, SAVED_LIMIT_OPTION) === undefined) setClusterOption(cd, SAVED_LIMIT_OPTION, clusterOption(cd, 'migration-limit') ?? 'unset');
  setClusterOption(cd, 'migration-limit', String(limit));
}

/** Gives migration-limit its own value back (see borrowMigrationLimit). */
export function returnMigrationLimit(cd: CibDoc): void {
  const saved = clusterOption(cd, SAVED_LIMIT_OPTION);
  if (saved === undefined) return;
  setClusterOption(cd, 'migration-limit', saved === 'unset' ? undefined : saved);
  setClusterOption(cd, SAVED_LIMIT_OPTION, undefined);
}
