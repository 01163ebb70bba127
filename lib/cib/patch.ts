// The CIB patch corral hands to `cibadmin --patch`, built here and nowhere else.
//
// Why not crm_diff: Pacemaker 2.1.5's crm_diff stops escaping an attribute value after its first
// non-ASCII character, and cibadmin then reads the broken patch in recovery mode, so markup inside
// a domain XML (stored as an attribute) became CIB elements: a way to add any resource, as root,
// for anyone allowed to edit a VM. So the patch is made from two DOMs by this module and written
// by lib/xml/dom.ts's serializer (every attribute value escaped, whatever its characters), then
// read back with the strict reader and applied, in memory, to the old configuration: only when
// that gives exactly the planned configuration does it go to cibadmin (lib/cib/change.ts).
//
// The format is Pacemaker's patch format 2 (what crm_diff writes): a <version> with the source
// and target CIB versions, so the CIB manager applies the patch only to exactly the CIB it was
// computed from (anything written meanwhile makes it fail as "older than existing
// configuration", and the caller starts again from a fresh read); then changes, each on an
// element named by a path of tags and ids (/cib/configuration/resources/primitive[@id='vm-gum']):
//   delete  the element at path
//   modify  the element at path gets exactly the attributes of <change-result>'s element
//   create  the element inside is inserted under path, at child position N
// Deletes and modifies apply in order, creates after them in order (as Pacemaker does).
import { CorralError } from '../errors.js';
import { CibError, type XNode } from './model.js';
import { readXml } from '../xml/read.js';
import { elements, escapeAttr, serialize } from '../xml/dom.js';

export interface CibVersion {
  adminEpoch: number;
  epoch: number;
  numUpdates: number;
}

function num(v: string | null | undefined): number {
  const n = Number(v ?? 0);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** The version (admin_epoch, epoch, num_updates) of a <cib> element. */
function cibVersionOf(cib: { getAttribute(name: string): string | null }): CibVersion {
  return { adminEpoch: num(cib.getAttribute('admin_epoch')), epoch: num(cib.getAttribute('epoch')), numUpdates: num(cib.getAttribute('num_updates')) };
}

export function formatVersion(v: CibVersion): string {
  return `${v.adminEpoch}.${v.epoch}.${v.numUpdates}`;
}

type Change =
  | { op: 'delete'; path: string }
  | { op: 'modify'; path: string; el: Element }
  | { op: 'create'; path: string; position: number; el: Element };

/** A path step for EL: its tag, and its id when it has one. */
function step(el: Element): string {
  const id = el.getAttribute('id');
  return id === null ? el.tagName : `${el.tagName}[@id='${id}']`;
}

/** Whether EL can be named by a path step among its siblings: a plain id, or the only one of its tag without one. */
function addressable(el: Element, siblings: readonly Element[]): boolean {
  const id = el.getAttribute('id');
  if (id !== null) return /^[^'/[\]]+$/.test(id) && siblings.filter((s) => s.tagName === el.tagName && s.getAttribute('id') === id).length === 1;
  return siblings.filter((s) => s.tagName === el.tagName && s.getAttribute('id') === null).length === 1;
}

/** The key that pairs an old child with a new one: tag and id (or tag alone when it has none). */
function key(el: Element): string {
  return `${el.tagName}\u0000${el.getAttribute('id') ?? ''}`;
}

function attrsOf(el: Element): Map<string, string> {
  return new Map(Array.from(el.attributes).map((a) => [a.name, a.value]));
}

function sameAttrs(a: Element, b: Element): boolean {
  const x = attrsOf(a);
  const y = attrsOf(b);
  return x.size === y.size && [...x].every(([k, v]) => y.get(k) === v);
}

/** Children that are not elements (text, comments) with content: those make a subtree opaque. */
function hasOtherContent(el: Element): boolean {
  return Array.from(el.childNodes).some((n) => n.nodeType !== 1 && !(n.nodeType === 3 && /^\s*$/.test(n.nodeValue ?? '')));
}

/** The same subtree: attributes, element children and text, in order. */
function sameTree(a: Element, b: Element): boolean {
  return canonicalDom(a) === canonicalDom(b);
}

function canonicalDom(el: Element): string {
  const attrs = [...attrsOf(el)].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  const text = Array.from(el.childNodes)
    .filter((n) => n.nodeType === 3 || n.nodeType === 4)
    .map((n) => n.nodeValue ?? '')
    .join('')
    .trim();
  return JSON.stringify([el.tagName, attrs, text, elements(el).map(canonicalDom)]);
}

/**
 * The changes that turn OLD into NEW (both the same element, at PATH). Children are paired by
 * tag and id; an element whose children cannot be paired that way (reordered, ambiguous, with
 * text or comments that changed) is replaced whole, from its parent.
 */
function diffElement(oldEl: Element, newEl: Element, path: string, out: Change[], creates: Change[]): void {
  if (!sameAttrs(oldEl, newEl)) out.push({ op: 'modify', path, el: newEl });
  const oldKids = elements(oldEl);
  const newKids = elements(newEl);
  const fine =
    !hasOtherContent(oldEl) &&
    !hasOtherContent(newEl) &&
    oldKids.every((c) => addressable(c, oldKids)) &&
    newKids.every((c) => addressable(c, newKids));
  if (!fine) {
    if (sameTree(oldEl, newEl)) return;
    throw new OpaqueError();
  }
  const newByKey = new Map(newKids.map((c) => [key(c), c]));
  const oldByKey = new Map(oldKids.map((c) => [key(c), c]));
  const kept = oldKids.filter((c) => newByKey.has(key(c))).map(key);
  const keptInNew = newKids.filter((c) => oldByKey.has(key(c))).map(key);
  if (kept.join('\u0001') !== keptInNew.join('\u0001')) throw new OpaqueError(); // reordered
  for (const c of oldKids) if (!newByKey.has(key(c))) out.push({ op: 'delete', path: `${path}/${step(c)}` });
  newKids.forEach((c, position) => {
    const before = oldByKey.get(key(c));
    if (!before) {
      creates.push({ op: 'create', path, position, el: c });
      return;
    }
    const childPath = `${path}/${step(c)}`;
    try {
      const sub: Change[] = [];
      const subCreates: Change[] = [];
      diffElement(before, c, childPath, sub, subCreates);
      out.push(...sub);
      creates.push(...subCreates);
    } catch (e) {
      if (!(e instanceof OpaqueError)) throw e;
      out.push({ op: 'delete', path: childPath });
      creates.push({ op: 'create', path, position, el: c });
    }
  });
}

class OpaqueError extends CorralError {
  readonly kind = 'failed';
}

export interface Patch {
  /** The patch document, as cibadmin --patch --xml-file reads it. */
  xml: string;
  /** How many element changes it makes (the version change aside). */
  changes: number;
  source: CibVersion;
  target: CibVersion;
}

/**
 * The patch that turns the configuration of OLDCIB into that of NEWCIB (two <cib> elements; the
 * status section is never part of it), applicable only to a CIB at OLDCIB's version; the target
 * version is the next epoch. Undefined when the configurations do not differ.
 */
export function makePatch(oldCib: Element, newCib: Element): Patch | undefined {
  const oldConf = elements(oldCib, 'configuration')[0];
  const newConf = elements(newCib, 'configuration')[0];
  if (!oldConf || !newConf) throw new CibError('both CIBs need a <configuration>');
  const changes: Change[] = [];
  const creates: Change[] = [];
  try {
    diffElement(oldConf, newConf, '/cib/configuration', changes, creates);
  } catch (e) {
    if (!(e instanceof OpaqueError)) throw e;
    throw new CibError('the configuration section itself holds text or comments that changed; corral cannot patch that');
  }
  const all = [...changes, ...creates];
  if (all.length === 0) return undefined;
  const source = cibVersionOf(oldCib);
  const target: CibVersion = { adminEpoch: source.adminEpoch, epoch: source.epoch + 1, numUpdates: 0 };
  const v = (tag: string, x: CibVersion): string =>
    `<${tag} admin_epoch="${x.adminEpoch}" epoch="${x.epoch}" num_updates="${x.numUpdates}"/>`;
  const parts: string[] = ['<diff format="2">', '<version>', v('source', source), v('target', target), '</version>'];
  parts.push(
    '<change operation="modify" path="/cib"><change-list>',
    `<change-attr name="epoch" operation="set" value="${target.epoch}"/>`,
    `<change-attr name="num_updates" operation="set" value="${target.numUpdates}"/>`,
    '</change-list><change-result>',
    shallow(oldCib, { epoch: String(target.epoch), num_updates: String(target.numUpdates) }),
    '</change-result></change>',
  );
  for (const c of all) {
    const path = escapeAttr(c.path);
    if (c.op === 'delete') parts.push(`<change operation="delete" path="${path}"/>`);
    else if (c.op === 'modify') parts.push(`<change operation="modify" path="${path}"><change-list>${attrChanges(c.path, c.el, oldConf)}</change-list><change-result>${shallow(c.el)}</change-result></change>`);
    else parts.push(`<change operation="create" path="${path}" position="${c.position}">${serialize(c.el, { dropBlankText: true })}</change>`);
  }
  parts.push('</diff>');
  return { xml: parts.join('\n'), changes: all.length, source, target };
}

/** EL without children, with OVERRIDE's attributes set. */
function shallow(el: Element, override: Record<string, string> = {}): string {
  const attrs = new Map([...attrsOf(el), ...Object.entries(override)]);
  return `<${el.tagName}${[...attrs].map(([k, val]) => ` ${k}="${escapeAttr(val)}"`).join('')}/>`;
}

/** The <change-attr> list of a modify (informational: Pacemaker applies <change-result>). */
function attrChanges(path: string, newEl: Element, oldConf: Element): string {
  const oldEl = findByPath(oldConf, path);
  const before = oldEl ? attrsOf(oldEl) : new Map<string, string>();
  const after = attrsOf(newEl);
  const out: string[] = [];
  for (const [k, val] of after) if (before.get(k) !== val) out.push(`<change-attr name="${k}" operation="set" value="${escapeAttr(val)}"/>`);
  for (const k of before.keys()) if (!after.has(k)) out.push(`<change-attr name="${k}" operation="unset"/>`);
  return out.join('');
}

const STEP = /^([^[/]+)(?:\[@id='([^']*)'\])?$/;

function findByPath(conf: Element, path: string): Element | undefined {
  const steps = path.split('/').slice(3); // '', 'cib', 'configuration'
  let at: Element | undefined = conf;
  for (const s of steps) {
    const m = STEP.exec(s);
    if (!m || !at) return undefined;
    const [, tag, id] = m;
    at = elements(at).find((c) => c.tagName === tag && (id === undefined ? c.getAttribute('id') === null : c.getAttribute('id') === id));
  }
  return at;
}

// ---------------------------------------------------------------------------------------------
// Reading a patch back, strictly, and applying it in memory: the proof that what goes to cibadmin
// means exactly the planned change.

/** A copy of N (children and attributes copied too). */
function clone(n: XNode): XNode {
  return { tag: n.tag, attrs: { ...n.attrs }, children: n.children.map(clone), text: n.text };
}

function findNode(root: XNode, path: string): { node: XNode; parent?: XNode } | undefined {
  const steps = path.split('/').slice(1);
  const first = STEP.exec(steps[0] ?? '');
  if (!first || first[1] !== root.tag) return undefined;
  let node = root;
  let parent: XNode | undefined;
  for (const s of steps.slice(1)) {
    const m = STEP.exec(s);
    if (!m) return undefined;
    const [, tag, id] = m;
    const next = node.children.find((c) => c.tag === tag && (id === undefined ? c.attrs.id === undefined : c.attrs.id === id));
    if (!next) return undefined;
    parent = node;
    node = next;
  }
  return { node, parent };
}

/**
 * Reads PATCH with the strict reader and applies it to a copy of CIB (an XNode <cib>): the CIB
 * the CIB manager would write. Throws CibError when the patch does not read strictly or names an
 * element that is not there.
 */
export function applyPatch(cib: XNode, patch: string): XNode {
  const diff = readXml(patch, 'the CIB patch', { error: CibError });
  if (diff.tag !== 'diff' || diff.attrs.format !== '2') throw new CibError('the CIB patch is not a format 2 <diff>');
  const out = clone(cib);
  const creates: XNode[] = [];
  for (const c of diff.children) {
    if (c.tag === 'version') continue;
    if (c.tag !== 'change') throw new CibError(`the CIB patch holds a <${c.tag}>`);
    const path = c.attrs.path ?? '';
    const op = c.attrs.operation;
    if (op === 'create') {
      creates.push(c);
      continue;
    }
    const found = findNode(out, path);
    if (!found) throw new CibError(`the CIB patch names ${path}, which is not in the CIB`);
    if (op === 'delete') {
      if (!found.parent) throw new CibError('the CIB patch deletes the root');
      found.parent.children = found.parent.children.filter((x) => x !== found.node);
    } else if (op === 'modify') {
      const result = c.children.find((x) => x.tag === 'change-result')?.children[0];
      if (!result || result.tag !== found.node.tag) throw new CibError(`the CIB patch modifies ${path} without a matching result`);
      found.node.attrs = { ...result.attrs };
    } else {
      throw new CibError(`the CIB patch has an operation ${String(op)}`);
    }
  }
  for (const c of creates) {
    const found = findNode(out, c.attrs.path ?? '');
    const el = c.children[0];
    if (!found || !el || c.children.length !== 1) throw new CibError(`the CIB patch creates under ${c.attrs.path ?? '?'}, which is not in the CIB`);
    const position = Number(c.attrs.position ?? found.node.children.length);
    found.node.children.splice(Math.min(position, found.node.children.length), 0, clone(el));
  }
  return out;
}

/** A canonical text of an XNode subtree (attributes sorted, text trimmed), for comparisons. */
export function canonical(n: XNode): string {
  const attrs = Object.entries(n.attrs).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return JSON.stringify([n.tag, attrs, n.text.trim(), n.children.map(canonical)]);
}

/** The configuration section of a <cib> XNode. */
export function configurationOf(cib: XNode): XNode {
  const c = cib.children.find((x) => x.tag === 'configuration');
  if (!c) throw new CibError('the CIB has no <configuration>');
  return c;
}

/**
 * What differs between two configurations, for people: ids (or paths) of elements present in only
 * one, or different. Empty when they are the same.
 */
export function configurationDifferences(expected: XNode, actual: XNode, path = 'configuration'): string[] {
  if (canonical(expected) === canonical(actual)) return [];
  const label = (n: XNode): string => (n.attrs.id ? `${n.tag} ${n.attrs.id}` : n.tag);
  const keyOf = (n: XNode): string => `${n.tag}\u0000${n.attrs.id ?? ''}`;
  const ownSame = canonical({ ...expected, children: [] }) === canonical({ ...actual, children: [] });
  const out: string[] = ownSame ? [] : [`${path}: attributes differ`];
  const e = new Map(expected.children.map((c) => [keyOf(c), c]));
  const a = new Map(actual.children.map((c) => [keyOf(c), c]));
  for (const [k, c] of a) if (!e.has(k)) out.push(`${path}: unexpected ${label(c)}`);
  for (const [k, c] of e) if (!a.has(k)) out.push(`${path}: missing ${label(c)}`);
  for (const [k, c] of e) {
    const other = a.get(k);
    if (other) out.push(...configurationDifferences(c, other, `${path}/${label(c)}`));
  }
  if (out.length === 0) out.push(`${path}: children in another order`);
  return out;
}
