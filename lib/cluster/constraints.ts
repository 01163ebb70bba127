// What the constraints of the CIB mean for each VM, in a few words: "pin:n1", "apart:db2",
// "after:ns1", "moved:n2 until 2026-11-21 08:00". corral's own constraints (lib/cib/shapes.ts
// names them) and the ones crm_resource --move/--ban leaves (cli-prefer-*, cli-ban-*) are named
// after what they do; anything else is described by its kind and id.
import { kids, type Cib, type XNode } from '../cib/model.js';
import { vmNameOfResource } from '../domain/names.js';
import { ids } from '../cib/shapes.js';

type ConstraintKind =
  | 'pin'
  | 'prefer'
  | 'avoid-node'
  | 'only-on'
  | 'local'
  | 'moved'
  | 'banned'
  | 'location-rule'
  | 'apart'
  | 'with'
  | 'group'
  | 'colocation-set'
  | 'after'
  | 'before'
  | 'order-set';

export interface ConstraintSummary {
  kind: ConstraintKind;
  /** The constraint's id in the CIB. */
  id: string;
  /** Nodes it names (pin, prefer, avoid-node, only-on, local: the node that holds the disks, moved, banned). */
  nodes?: string[];
  /** The other VM (or resource) it names (apart, with, after, before). */
  other?: string;
  /** The tag of a corral group (group). */
  tag?: string;
  score?: string;
  /** When a --move/--ban with a lifetime ends (ISO 8601, as stored). */
  until?: string;
  /** An ordering's kind (after, before): Mandatory, Optional or Serialize, as stored (default Mandatory). */
  ordering?: string;
}

function display(id: string): string {
  return vmNameOfResource(id) ?? id;
}

function scoreValue(s: string | undefined): number {
  if (s === undefined) return 0;
  if (/^[+]?INFINITY$/i.test(s)) return Number.POSITIVE_INFINITY;
  if (/^-INFINITY$/i.test(s)) return Number.NEGATIVE_INFINITY;
  const n = Number(s);
  return Number.isFinite(n) ? n : 0;
}

/** The end of a lifetime rule (date_expression operation="lt" end=…) in a location constraint. */
function lifetimeEnd(c: XNode): string | undefined {
  for (const rule of kids(c, 'rule')) {
    for (const d of kids(rule, 'date_expression')) if (d.attrs.operation === 'lt' && d.attrs.end) return d.attrs.end;
  }
  return undefined;
}

/** "-INFINITY unless #uname is one of these" (lib/cib's --only-on): the node names, else undefined. */
function onlyOnNodes(c: XNode): string[] | undefined {
  const rules = kids(c, 'rule');
  if (rules.length !== 1) return undefined;
  const rule = rules[0] as XNode;
  if (scoreValue(rule.attrs.score) !== Number.NEGATIVE_INFINITY || (rule.attrs['boolean-op'] ?? 'and') !== 'and') return undefined;
  const ex = kids(rule, 'expression');
  if (!ex.length || ex.length !== rule.children.length) return undefined;
  if (!ex.every((e) => e.attrs.attribute === '#uname' && e.attrs.operation === 'ne' && e.attrs.value)) return undefined;
  return ex.map((e) => e.attrs.value as string);
}

function location(c: XNode, id: string): ConstraintSummary {
  const cid = c.attrs.id ?? '';
  const node = c.attrs.node;
  const score = c.attrs.score;
  const until = lifetimeEnd(c);
  const withUntil = (s: ConstraintSummary): ConstraintSummary => (until ? { ...s, until } : s);
  if (cid.startsWith(`cli-prefer-${id}`)) {
    const n = node ?? kids(kids(c, 'rule')[0], 'expression').find((e) => e.attrs.attribute === '#uname')?.attrs.value;
    return withUntil({ kind: 'moved', id: cid, nodes: n ? [n] : [] });
  }
  if (cid.startsWith(`cli-ban-${id}-on-`)) {
    const n = node ?? kids(kids(c, 'rule')[0], 'expression').find((e) => e.attrs.attribute === '#uname')?.attrs.value ?? cid.slice(`cli-ban-${id}-on-`.length);
    return withUntil({ kind: 'banned', id: cid, nodes: [n] });
  }
  if (node !== undefined) {
    const v = scoreValue(score);
    if (v === Number.POSITIVE_INFINITY) return { kind: 'pin', id: cid, nodes: [node] };
    if (v >= 0) return { kind: 'prefer', id: cid, nodes: [node], score };
    return { kind: 'avoid-node', id: cid, nodes: [node], score };
  }
  const only = onlyOnNodes(c);
  // domadd --local's vm-NAME-local: the one node that holds the VM's disks.
  if (only?.length === 1 && cid === ids.local(id)) return { kind: 'local', id: cid, nodes: only };
  if (only) return { kind: 'only-on', id: cid, nodes: only };
  return { kind: 'location-rule', id: cid };
}

/** Index: resource or tag id → the constraints that name it (built once per CIB). */
export function constraintIndex(cib: Cib): Map<string, XNode[]> {
  const index = new Map<string, XNode[]>();
  const add = (id: string, c: XNode) => {
    const list = index.get(id);
    if (list) {
      if (!list.includes(c)) list.push(c);
    } else index.set(id, [c]);
  };
  for (const c of cib.constraints) {
    for (const a of ['rsc', 'with-rsc', 'first', 'then']) if (c.attrs[a] !== undefined) add(c.attrs[a] as string, c);
    for (const set of kids(c, 'resource_set')) for (const r of kids(set, 'resource_ref')) add(r.attrs.id ?? '', c);
  }
  return index;
}

/** The constraints that concern resource ID (directly or through one of TAGS), summarised. */
export function summarizeConstraints(id: string, tags: readonly string[], index: Map<string, XNode[]>): ConstraintSummary[] {
  const seen = new Set<XNode>();
  const out: ConstraintSummary[] = [];
  const names = new Set([id, ...tags]);
  for (const key of names) {
    for (const c of index.get(key) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      const cid = c.attrs.id ?? '';
      const score = scoreValue(c.attrs.score);
      switch (c.tag) {
        case 'rsc_location':
          if (c.attrs.rsc === id) out.push(location(c, id));
          break;
        case 'rsc_colocation': {
          const sets = kids(c, 'resource_set');
          if (sets.length) {
            const tag = cid.startsWith('apart-') ? cid.slice('apart-'.length) : undefined;
            out.push(tag && names.has(tag) ? { kind: 'group', id: cid, tag, score: c.attrs.score } : { kind: 'colocation-set', id: cid, score: c.attrs.score });
            break;
          }
          const other = c.attrs.rsc === id ? c.attrs['with-rsc'] : c.attrs.rsc;
          if (other === undefined) break;
          out.push({ kind: score < 0 ? 'apart' : 'with', id: cid, other: display(other), score: c.attrs.score });
          break;
        }
        case 'rsc_order': {
          if (kids(c, 'resource_set').length) {
            out.push({ kind: 'order-set', id: cid });
            break;
          }
          const ordering = c.attrs.kind ?? (c.attrs.score === undefined || scoreValue(c.attrs.score) > 0 ? 'Mandatory' : 'Optional');
          if (c.attrs.then === id && c.attrs.first) out.push({ kind: 'after', id: cid, other: display(c.attrs.first), ordering });
          else if (c.attrs.first === id && c.attrs.then) out.push({ kind: 'before', id: cid, other: display(c.attrs.then), ordering });
          break;
        }
        default:
          break;
      }
    }
  }
  return out;
}

/** One short word per constraint, for tables: pin:n1 only:n1,n2 apart:db2 moved:n2 … */
export function constraintWord(c: ConstraintSummary): string {
  const nodes = c.nodes?.join(',') ?? '';
  switch (c.kind) {
    case 'pin':
      return `pin:${nodes}`;
    case 'prefer':
      return `prefer:${nodes}(${c.score})`;
    case 'avoid-node':
      return `avoid:${nodes}`;
    case 'only-on':
      return `only:${nodes}`;
    case 'local':
      return `local:${nodes}`;
    case 'moved':
      return `moved:${nodes}${c.until ? '(timed)' : ''}`;
    case 'banned':
      return `ban:${nodes}${c.until ? '(timed)' : ''}`;
    case 'location-rule':
      return `rule:${c.id}`;
    case 'apart':
      return `apart:${c.other}`;
    case 'with':
      return `with:${c.other}`;
    case 'group':
      return `group:${c.tag}`;
    case 'colocation-set':
      return `set:${c.id}`;
    case 'after':
      return `after:${c.other}${c.ordering === 'Mandatory' ? '(mandatory)' : ''}`;
    case 'before':
      return `before:${c.other}${c.ordering === 'Mandatory' ? '(mandatory)' : ''}`;
    case 'order-set':
      return `order:${c.id}`;
  }
}
