// What domadd, domdel and nodecap change in the CIB, computed on a CibDoc (nothing is written
// here; lib/cib/change.ts makes it one atomic update). Every refusal is a PlanError whose message
// says what is wrong and what to do.
import { CorralError } from '../errors.js';
import type { NodeDiskIds } from '../domain/disk-key.js';
import { DomainDoc } from '../domain/doc.js';
import { consoleLogFile, pinConsoleLog } from '../domain/console-log.js';
import { clashes, CONSOLE_LOG_DIR, fixupDomain, identityOf, unstableReasons } from '../domain/fixup.js';
import { resourceId } from '../domain/names.js';
import { domainUtilization } from '../domain/utilization.js';
import { configForCib, domainFromConfig } from './config.js';
import { pacemakerMs } from './durations.js';
import type { CibDoc } from './edit.js';
import { CONSTRAINT_TAGS, corralVms, isTransientDomain, type Cib } from './model.js';
import { DEFAULT_AVOID_SCORE, type Placement } from './options.js';
import {
  afterXml,
  apartXml,
  avoidXml,
  clusterPropertySetXml,
  ids,
  localXml,
  nodeUtilizationXml,
  objRefXml,
  onlyOnXml,
  pinXml,
  primitiveXml,
  tagXml,
} from './shapes.js';
import { setNvpair } from './nodes.js';
import { knownVms, type KnownVms } from './vms.js';
import { elements } from '../xml/dom.js';

export class PlanError extends CorralError {
  readonly kind = 'refused';
  override name = 'PlanError';
}

export interface Plan {
  /** What the change does, one line each, for the user. */
  notes: string[];
  /** Things worth knowing that do not stop the change. */
  warnings: string[];
}

export interface AddVmRequest {
  /** The domain XML (checkDomain passed); made stable here when FIXUP is set, else it must be. */
  doc: DomainDoc;
  /**
   * Make the XML stable as fixup_domxml does (uuid, MACs not used by any VM in this CIB, console
   * log), on a copy; with replace, a missing uuid is the VM's own. Without it, an unstable XML is
   * refused.
   */
  fixup?: boolean;
  placement: Placement;
  /** Update the existing VM instead of adding a new one. */
  replace: boolean;
  /** Agent parameters besides config (validated: lib/cib/options.ts parseAgentParams). */
  params?: Readonly<Record<string, string>>;
  /**
   * What this node sees at a disk path (lib/host/disk-identity.ts): two VMs' disks that are one
   * device or one file here are one disk, whatever their paths. Without it, only the text is compared.
   */
  nodeDisks?: NodeDiskIds;
}

function listOr(items: readonly string[], none: string): string {
  return items.length ? items.join(', ') : none;
}

/** Adds (or with replace: updates) a VM: its primitive, constraints and tag memberships. */
export function planAddVm(cd: CibDoc, cib: Cib, req: AddVmRequest): Plan {
  const notes: string[] = [];
  const warnings: string[] = [];
  const rid = resourceId(req.doc.name);
  const doc = stableDoc(req, cib, rid, notes);
  // The console log goes to console_log_dir/NAME.log and nowhere else (the agent writes it only there).
  const logDir = req.params?.console_log_dir ?? cib.resource(rid)?.params.console_log_dir ?? CONSOLE_LOG_DIR;
  for (const c of pinConsoleLog(doc, consoleLogFile(doc.name, logDir))) notes.push(`console log: ${c}`);

  const existing = checkIdentity(cib, rid, doc, req, warnings);
  const placement = resolvePlacement(cib, req.doc.name, req.placement);
  writeSettings(cd, rid, doc, { ...req, params: storageParams(req, placement) }, existing, notes);
  writePlacement(cd, rid, placement, notes);
  return { notes, warnings };
}

/**
 * Identity: RID is new (or, with replace, a top-level corral VM already there), and no other VM
 * has this name, uuid, MAC address or disk. Returns whether RID exists.
 */
function checkIdentity(cib: Cib, rid: string, doc: DomainDoc, req: AddVmRequest, warnings: string[]): boolean {
  const name = req.doc.name;
  // the resource itself
  const existing = cib.resource(rid);
  if (existing && !req.replace) {
    throw new PlanError(`${rid} is already in the cluster; use domadd --replace to update it`);
  }
  if (!existing && req.replace) {
    throw new PlanError(`there is no ${rid} to replace; leave out --replace to add it`);
  }
  if (existing && !isTransientDomain(existing)) {
    const agent = [existing.class, existing.provider, existing.type].filter(Boolean).join(':');
    throw new PlanError(`${rid} exists but is a ${existing.kind} ${agent}, not a corral VM (ocf:corral:TransientDomain)`);
  }
  if (existing?.parent) throw new PlanError(`${rid} sits inside ${existing.parent}; corral manages only top-level VMs`);
  const idOwner = cib.ids.get(rid);
  if (!existing && idOwner) throw new PlanError(`the id ${rid} is already used by a <${idOwner}> in the CIB`);

  // no other VM with this name, uuid, MAC address or disk
  const known = knownOthers(cib, rid);
  warnings.push(...known.warnings);
  const problems = clashes(identityOf(doc), known.vms, req.nodeDisks);
  if (problems.length) throw new PlanError(`${name} clashes with VMs in the cluster:\n  ${problems.join('\n  ')}`);

  return existing !== undefined;
}

/** Where the VM may run and with whom: the request's names checked against the CIB, VMs as resource ids. */
interface ResolvedPlacement {
  avoid?: { rid: string; score: string }[];
  after?: { rid: string; kind: NonNullable<Placement['after']>[number]['kind'] }[];
  pin?: string | false;
  onlyOn?: string[];
  groupApart?: Placement['groupApart'];
  /** The node that holds the disks; false: shared disks (the constraint goes). */
  local?: string | false;
}

/** The agent's storage parameter follows --local: local with it, shared with --no-local. */
function storageParams(req: AddVmRequest, placement: ResolvedPlacement): AddVmRequest['params'] {
  if (placement.local === undefined) return req.params;
  const storage = placement.local ? 'local' : 'shared';
  const told = req.params?.storage;
  if (told !== undefined && told !== storage) {
    throw new PlanError(placement.local ? `--local ${placement.local} contradicts --param storage=${told}` : `--no-local contradicts --param storage=${told}`);
  }
  return { ...req.params, storage };
}

/** Placement: the VMs, nodes and groups the request names exist (and agree), as the constraints will name them. */
function resolvePlacement(cib: Cib, name: string, p: Placement): ResolvedPlacement {
  const vmNames = corralVms(cib).map((v) => v.name);
  const otherVm = (other: string, option: string): string => {
    if (other === name) throw new PlanError(`${option} ${other}: a VM cannot refer to itself`);
    const orid = resourceId(other);
    const r = cib.resource(orid);
    if (!r || !isTransientDomain(r)) {
      throw new PlanError(`${option} ${other}: there is no VM ${other} (${orid}) in the cluster (VMs: ${listOr(vmNames.filter((n) => n !== name), 'none')})`);
    }
    return orid;
  };
  const node = (n: string, option: string): string => {
    if (!cib.node(n)) {
      throw new PlanError(`${option} ${n}: there is no node ${n} in the cluster (nodes: ${listOr(cib.nodes.map((x) => x.uname), 'none')})`);
    }
    return n;
  };
  const avoid = p.avoid?.map((a) => ({ rid: otherVm(a.name, '--avoid'), score: a.score }));
  const after = p.after?.map((a) => ({ rid: otherVm(a.name, '--after'), kind: a.kind }));
  const pin = typeof p.pin === 'string' ? node(p.pin, '--pin') : p.pin;
  const onlyOn = p.onlyOn?.map((n) => node(n, '--only-on'));
  if (typeof pin === 'string' && onlyOn?.length && !onlyOn.includes(pin)) {
    throw new PlanError(`--pin ${pin} contradicts --only-on ${onlyOn.join(',')}`);
  }
  const local = typeof p.local === 'string' ? node(p.local, '--local') : p.local;
  if (local && typeof pin === 'string' && pin !== local) throw new PlanError(`--pin ${pin} contradicts --local ${local}: the VM runs only where its disks are`);
  for (const t of p.groupApart ?? []) {
    const owner = cib.ids.get(t.tag);
    if (owner && owner !== 'tag') throw new PlanError(`--group-apart ${t.tag}: the id ${t.tag} is already used by a <${owner}>`);
    const apartOwner = cib.ids.get(ids.apart(t.tag));
    if (owner === 'tag' && apartOwner !== 'rsc_colocation') {
      throw new PlanError(`--group-apart ${t.tag}: the tag ${t.tag} exists but is not a corral group (no ${ids.apart(t.tag)} constraint)`);
    }
    if (!owner && apartOwner) throw new PlanError(`--group-apart ${t.tag}: the id ${ids.apart(t.tag)} is already used by a <${apartOwner}>`);
  }

  return { avoid, after, pin, onlyOn, groupApart: p.groupApart, local };
}

/**
 * Settings: the primitive with its configuration, utilization, parameters and priority (with
 * replace, the old settings the request does not name are kept).
 */
function writeSettings(cd: CibDoc, rid: string, doc: DomainDoc, req: AddVmRequest, existing: boolean, notes: string[]): void {
  const p = req.placement;
  let util;
  try {
    util = domainUtilization(doc);
  } catch (e) {
    throw new PlanError((e as Error).message);
  }
  let config: string;
  try {
    config = configForCib(doc);
  } catch (e) {
    throw new PlanError((e as Error).message);
  }
  const fresh = primitiveXml({
    id: rid,
    config,
    cpu: util.cpu,
    hvMemoryMiB: util.memoryMiB,
    priority: typeof p.priority === 'number' ? p.priority : undefined,
    params: req.params,
  });
  if (existing) {
    const oldEl = cd.byId(rid);
    if (!oldEl) throw new PlanError(`${rid} vanished from the CIB`);
    const [newEl] = cd.materialize(fresh);
    if (!newEl) throw new PlanError('the primitive template rendered nothing');
    keepOldSettings(newEl, oldEl, {
      instance_attributes: ['config', ...Object.keys(req.params ?? {})],
      utilization: ['cpu', 'hv_memory'],
      meta_attributes: p.priority === undefined ? [] : ['priority'],
    });
    oldEl.parentNode?.replaceChild(newEl, oldEl);
    notes.push(`update ${rid} (${util.cpu} vCPU, ${util.memoryMiB} MiB)`);
  } else {
    cd.append(cd.section('resources'), fresh);
    notes.push(`add ${rid} (${util.cpu} vCPU, ${util.memoryMiB} MiB)`);
  }
  for (const [n, v] of Object.entries(req.params ?? {})) notes.push(`parameter ${n}=${v}`);
  if (typeof p.priority === 'number') notes.push(`priority ${p.priority}`);
  if (p.priority === false) notes.push('no priority');
}

/** The constraints this VM owns: each kind told replaces the old ones of that kind. */
function writePlacement(cd: CibDoc, rid: string, placement: ResolvedPlacement, notes: string[]): void {
  const { pin, onlyOn, avoid, after, groupApart, local } = placement;
  const cons = cd.section('constraints');
  const drop = (els: Element[]): void => {
    for (const e of els) {
      cd.remove(e);
      notes.push(`remove ${e.tagName} ${e.getAttribute('id')}`);
    }
  };
  if (pin !== undefined) {
    drop(cd.all('rsc_location', (e) => e.getAttribute('id') === ids.pin(rid) && e.getAttribute('rsc') === rid));
    if (pin) {
      cd.append(cons, pinXml(rid, pin));
      notes.push(`pin to ${pin} (${ids.pin(rid)})`);
    }
  }
  if (onlyOn !== undefined) {
    drop(cd.all('rsc_location', (e) => e.getAttribute('id') === ids.onlyOn(rid) && e.getAttribute('rsc') === rid));
    if (onlyOn.length) {
      cd.append(cons, onlyOnXml(rid, onlyOn));
      notes.push(`only on ${onlyOn.join(', ')} (${ids.onlyOn(rid)})`);
    }
  }
  if (local !== undefined) {
    drop(cd.all('rsc_location', (e) => e.getAttribute('id') === ids.local(rid) && e.getAttribute('rsc') === rid));
    if (local) {
      cd.append(cons, localXml(rid, local));
      notes.push(`disks local to ${local}: runs only there, moves by live storage copy (${ids.local(rid)})`);
    }
  }
  if (avoid !== undefined) {
    drop(cd.all('rsc_colocation', (e) => e.getAttribute('rsc') === rid && e.getAttribute('id') === ids.avoid(rid, e.getAttribute('with-rsc') ?? '')));
    for (const a of avoid) {
      cd.append(cons, avoidXml(rid, a.rid, a.score));
      notes.push(`avoid ${a.rid} with score ${a.score} (${ids.avoid(rid, a.rid)})`);
    }
  }
  if (after !== undefined) {
    drop(cd.all('rsc_order', (e) => e.getAttribute('then') === rid && e.getAttribute('id') === ids.after(rid, e.getAttribute('first') ?? '')));
    for (const a of after) {
      cd.append(cons, afterXml(rid, a.rid, a.kind));
      notes.push(
        a.kind === 'Mandatory'
          ? `start after ${a.rid}, and stop and restart with it (${ids.after(rid, a.rid)}, mandatory)`
          : `start after ${a.rid} when both start (${ids.after(rid, a.rid)})`,
      );
    }
  }
  if (groupApart !== undefined) planGroups(cd, rid, groupApart, notes);
}

/**
 * Moves a VM on local disks to NODE: its constraint (vm-NAME-local) names NODE instead, which
 * Pacemaker carries out as a live migration whose migrate_to copies the disks (allow-migrate).
 */
export function planMoveLocal(cd: CibDoc, cib: Cib, name: string, node: string): Plan {
  const rid = resourceId(name);
  if (!cib.node(node)) throw new PlanError(`there is no node ${node} in the cluster (nodes: ${listOr(cib.nodes.map((x) => x.uname), 'none')})`);
  const old = cd.byId(ids.local(rid));
  if (!old || old.tagName !== 'rsc_location' || old.getAttribute('rsc') !== rid) throw new PlanError(`${name} has no ${ids.local(rid)} constraint: its disks are not local`);
  cd.remove(old);
  cd.append(cd.section('constraints'), localXml(rid, node));
  return { notes: [`${ids.local(rid)}: disks go to ${node}`], warnings: [] };
}

/** REQ's domain, made stable on a copy when asked (see AddVmRequest.fixup), else checked to be. */
function stableDoc(req: AddVmRequest, cib: Cib, rid: string, notes: string[]): DomainDoc {
  if (!req.fixup) {
    const unstable = unstableReasons(req.doc);
    if (unstable.length) {
      throw new PlanError(`the XML is not stable (${unstable.join('; ')}): leave out --no-fixup, or run fixup_domxml -i first`);
    }
    return req.doc;
  }
  const doc = DomainDoc.parse(req.doc.toXml());
  const own = req.replace ? corralVms(cib).find((v) => v.resourceId === rid) : undefined;
  let ownUuid: string | undefined;
  try {
    ownUuid = own?.config !== undefined ? identityOf(domainFromConfig(own.config)).uuid : undefined;
  } catch {
    ownUuid = undefined;
  }
  const takenMacs = knownOthers(cib, rid).vms.flatMap((k) => k.macs);
  let fixed: string[];
  try {
    fixed = fixupDomain(doc, { takenMacs, ...(ownUuid && !doc.uuid ? { newUuid: () => ownUuid } : {}) });
  } catch (e) {
    throw new PlanError((e as Error).message);
  }
  for (const f of fixed) notes.push(`fixed up: ${f}`);
  return doc;
}

/** The VMs of the CIB other than RID, with their identities. */
function knownOthers(cib: Cib, rid: string): KnownVms {
  const k = knownVms(cib);
  return { vms: k.vms.filter((v) => v.resourceId !== rid), warnings: k.warnings };
}

/** The corral groups (tags with an apart-TAG constraint) RID belongs to. */
function groupsOf(cd: CibDoc, rid: string): Element[] {
  return cd
    .all('tag', (t) => elements(t, 'obj_ref').some((r) => r.getAttribute('id') === rid))
    .filter((t) => cd.byId(ids.apart(t.getAttribute('id') ?? ''))?.tagName === 'rsc_colocation');
}

function planGroups(cd: CibDoc, rid: string, wanted: readonly { tag: string; score?: string }[], notes: string[]): void {
  const want = new Set(wanted.map((w) => w.tag));
  for (const t of groupsOf(cd, rid)) {
    const tagId = t.getAttribute('id') ?? '';
    if (want.has(tagId)) continue;
    for (const r of elements(t, 'obj_ref')) if (r.getAttribute('id') === rid) t.removeChild(r);
    notes.push(`leave group ${tagId}`);
    if (elements(t, 'obj_ref').length === 0) removeWithReferences(cd, t, notes);
  }
  for (const w of wanted) {
    const t = cd.byId(w.tag);
    if (!t) {
      cd.append(cd.section('tags'), tagXml(w.tag, [rid]));
      cd.append(cd.section('constraints'), apartXml(w.tag, w.score ?? DEFAULT_AVOID_SCORE));
      notes.push(`new group ${w.tag}: its VMs keep apart with score ${w.score ?? DEFAULT_AVOID_SCORE} (tag ${w.tag}, ${ids.apart(w.tag)})`);
      continue;
    }
    if (!elements(t, 'obj_ref').some((r) => r.getAttribute('id') === rid)) {
      cd.append(t, objRefXml(rid));
      notes.push(`join group ${w.tag}`);
    }
    const c = cd.byId(ids.apart(w.tag));
    if (w.score !== undefined && c && c.getAttribute('score') !== w.score) {
      notes.push(`group ${w.tag}: score ${c.getAttribute('score')} → ${w.score} (for all its VMs)`);
      c.setAttribute('score', w.score);
    }
  }
}

/** Authoritative nvpair names per attribute set: the new value wins; every other old one is kept. */
type Authoritative = Record<'instance_attributes' | 'meta_attributes' | 'utilization', string[]>;

const NVSETS = ['instance_attributes', 'meta_attributes', 'utilization'] as const;

/**
 * On --replace: what domadd derives (config, utilization) or is told (options) comes from the new
 * primitive; everything else of the old one stays: meta attributes set with crm_resource (e.g.
 * target-role, a changed allow-migrate), extra parameters and attribute sets, changed op
 * timeouts, extra ops.
 */
function keepOldSettings(newEl: Element, oldEl: Element, authoritative: Authoritative): void {
  for (const a of Array.from(oldEl.attributes)) {
    if (!newEl.hasAttribute(a.name)) newEl.setAttribute(a.name, a.value);
  }
  const firstOfKind = new Set<string>();
  for (const old of elements(oldEl)) {
    const kind = old.tagName;
    if ((NVSETS as readonly string[]).includes(kind) && !firstOfKind.has(kind) && elements(old, 'rule').length === 0) {
      firstOfKind.add(kind);
      const target = elements(newEl, kind)[0] ?? newEl.appendChild(newEl.ownerDocument.createElement(kind));
      const skip = authoritative[kind as (typeof NVSETS)[number]];
      for (const pair of elements(old, 'nvpair')) {
        const n = pair.getAttribute('name') ?? '';
        if (skip.includes(n)) continue;
        const same = elements(target, 'nvpair').find((x) => x.getAttribute('name') === n);
        const copy = pair.cloneNode(true) as Element;
        if (same) target.replaceChild(copy, same);
        else target.appendChild(copy);
      }
      continue;
    }
    if (kind === 'operations') {
      const target = elements(newEl, 'operations')[0] ?? newEl.appendChild(newEl.ownerDocument.createElement('operations'));
      for (const op of elements(old, 'op')) {
        const same = elements(target, 'op').find((x) => opKey(x) === opKey(op));
        const copy = op.cloneNode(true) as Element;
        if (same) target.replaceChild(copy, same);
        else target.appendChild(copy);
      }
      continue;
    }
    newEl.appendChild(old.cloneNode(true));
  }
}

function opKey(op: Element): string {
  return `${op.getAttribute('name')}/${op.getAttribute('role') ?? ''}/${intervalMs(op.getAttribute('interval') ?? '0')}`;
}

function intervalMs(text: string): string {
  const ms = pacemakerMs(text);
  return ms === undefined ? text : String(ms);
}

/** Removes a VM: its primitive, every constraint naming it, its place in every tag. */
export function planRemoveVm(cd: CibDoc, cib: Cib, name: string): Plan {
  const rid = resourceId(name);
  const r = cib.resource(rid);
  if (!r) {
    const vms = corralVms(cib).map((v) => v.name);
    throw new PlanError(`there is no VM ${name} (${rid}) in the cluster (VMs: ${listOr(vms, 'none')})`);
  }
  if (!isTransientDomain(r)) throw new PlanError(`${rid} is not a corral VM (ocf:corral:TransientDomain); domdel leaves it alone`);
  if (r.parent) throw new PlanError(`${rid} sits inside ${r.parent}; take it out of there first`);
  const el = cd.byId(rid);
  if (!el) throw new PlanError(`${rid} vanished from the CIB`);
  const notes: string[] = [];
  removeWithReferences(cd, el, notes);
  return { notes, warnings: [] };
}

/**
 * Removes EL and whatever would point at nothing without it: constraints naming its id (a
 * constraint that loses a whole resource set goes entirely: what is left would mean something
 * else), its references in resource sets and tags, and tags that end up empty (with their own
 * references, recursively).
 */
function removeWithReferences(cd: CibDoc, el: Element, notes: string[]): void {
  const id = el.getAttribute('id') ?? '';
  cd.remove(el);
  notes.push(`remove ${el.tagName} ${id}`);
  for (const c of cd.all(CONSTRAINT_TAGS)) {
    if (['rsc', 'with-rsc', 'first', 'then'].some((a) => c.getAttribute(a) === id)) {
      cd.remove(c);
      notes.push(`remove ${c.tagName} ${c.getAttribute('id')}`);
      continue;
    }
    let lostSet = false;
    let touched = false;
    for (const set of elements(c, 'resource_set')) {
      for (const ref of elements(set, 'resource_ref')) {
        if (ref.getAttribute('id') === id) {
          set.removeChild(ref);
          touched = true;
        }
      }
      if (elements(set, 'resource_ref').length === 0) lostSet = true;
    }
    if (lostSet) {
      cd.remove(c);
      notes.push(`remove ${c.tagName} ${c.getAttribute('id')}`);
    } else if (touched) {
      notes.push(`take ${id} out of ${c.tagName} ${c.getAttribute('id')}`);
    }
  }
  for (const t of cd.all('tag')) {
    const refs = elements(t, 'obj_ref').filter((r) => r.getAttribute('id') === id);
    if (!refs.length) continue;
    for (const r of refs) t.removeChild(r);
    if (elements(t, 'obj_ref').length === 0) removeWithReferences(cd, t, notes);
    else notes.push(`take ${id} out of tag ${t.getAttribute('id')}`);
  }
}

export interface NodeCapacity {
  cpus?: number;
  memoryMiB?: number;
}

/**
 * Sets NODE's utilization (cpu, hv_memory in MiB) and makes sure the cluster has a
 * placement-strategy (STRATEGY when unset; set to STRATEGY anyway when FORCESTRATEGY).
 */
export function planNodeCapacity(
  cd: CibDoc,
  cib: Cib,
  nodeName: string,
  cap: NodeCapacity,
  strategy: string,
  forceStrategy: boolean,
): Plan {
  const notes: string[] = [];
  const n = cib.node(nodeName);
  if (!n) throw new PlanError(`there is no node ${nodeName} in the cluster (nodes: ${listOr(cib.nodes.map((x) => x.uname), 'none')})`);
  const nodeEl = cd.all('node', (e) => e.getAttribute('uname') === nodeName && e.parentNode === cd.section('nodes'))[0];
  if (!nodeEl) throw new PlanError(`node ${nodeName} vanished from the CIB`);
  const pairs: Record<string, number> = {};
  if (cap.cpus !== undefined) pairs.cpu = cap.cpus;
  if (cap.memoryMiB !== undefined) pairs.hv_memory = cap.memoryMiB;
  const util = elements(nodeEl, 'utilization')[0];
  if (!util) {
    if (Object.keys(pairs).length) cd.append(nodeEl, nodeUtilizationXml(n.id, pairs));
  } else {
    for (const [name, value] of Object.entries(pairs)) setNvpair(cd, util, name, String(value));
  }
  for (const [name, value] of Object.entries(pairs)) notes.push(`node ${nodeName}: ${name} = ${value}`);

  const current = cib.options['placement-strategy'];
  if (current === undefined || (forceStrategy && current !== strategy)) {
    const crm = cd.section('crm_config');
    const set = cd.byId(ids.bootstrap) ?? elements(crm, 'cluster_property_set')[0];
    if (set) setNvpair(cd, set, 'placement-strategy', strategy);
    else cd.append(crm, clusterPropertySetXml(ids.bootstrap, { 'placement-strategy': strategy }));
    notes.push(`placement-strategy = ${strategy}${current ? ` (was ${current})` : ''}`);
  } else if (current !== strategy) {
    notes.push(`placement-strategy stays ${current}`);
  }
  return { notes, warnings: [] };
}

