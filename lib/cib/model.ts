// The CIB as corral reads it: nodes, resources, constraints, tags and cluster options, read by
// lib/xml/read.ts (corral's one XML reader) into plain data. Read-only; changes go through
// lib/cib/edit.ts.
import { CorralError } from '../errors.js';
import { readXml, type XNode } from '../xml/read.js';

export type { XNode };

/** A CIB (or Pacemaker's XML about it) that corral cannot read or that lacks what it needs. */
export class CibError extends CorralError {
  readonly kind = 'failed';
  override name = 'CibError';
}

/** Parses XML into XNodes; returns the root element. Throws CibError when it is not well-formed. */
export function parseXNode(xml: string): XNode {
  return readXml(xml, 'the XML', { error: CibError });
}

export function kids(n: XNode | undefined, tag?: string): XNode[] {
  return n ? n.children.filter((c) => tag === undefined || c.tag === tag) : [];
}

export function kid(n: XNode | undefined, tag: string): XNode | undefined {
  return n?.children.find((c) => c.tag === tag);
}

export function* walk(n: XNode): Generator<XNode> {
  for (const c of n.children) {
    yield c;
    yield* walk(c);
  }
}

/** Name → value of every nvpair in N's attribute sets called SETTAG (the first value of a name wins). */
export function nvpairs(n: XNode | undefined, setTag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of kids(n, setTag)) {
    for (const p of kids(set, 'nvpair')) {
      const name = p.attrs.name;
      if (name !== undefined && !(name in out)) out[name] = p.attrs.value ?? '';
    }
  }
  return out;
}

export interface CibNode {
  id: string;
  uname: string;
  utilization: Record<string, string>;
}

export interface CibResource {
  id: string;
  /** primitive, group, clone, master, bundle */
  kind: string;
  /** The id of the group/clone/bundle this one sits in, if any. */
  parent?: string;
  class?: string;
  provider?: string;
  type?: string;
  params: Record<string, string>;
  meta: Record<string, string>;
  utilization: Record<string, string>;
  node: XNode;
}

const RESOURCE_TAGS = new Set(['primitive', 'group', 'clone', 'master', 'bundle']);
/** Elements whose `id` attribute names another element rather than being an id. */
export const REFERENCE_TAGS = new Set(['resource_ref', 'obj_ref', 'role']);
export const CONSTRAINT_TAGS = new Set(['rsc_location', 'rsc_colocation', 'rsc_order', 'rsc_ticket']);

export class Cib {
  readonly configuration: XNode;
  readonly nodes: CibNode[];
  readonly resources: CibResource[];
  readonly constraints: XNode[];
  /** tag id → the ids it lists */
  readonly tags: Map<string, string[]>;
  /** Every id in the configuration → the element name that carries it. */
  readonly ids: Map<string, string>;
  /** Cluster options (crm_config), from all cluster_property_sets. */
  readonly options: Record<string, string>;

  constructor(readonly root: XNode) {
    if (root.tag !== 'cib') throw new CibError(`expected a <cib> document, found <${root.tag}>`);
    const conf = kid(root, 'configuration');
    if (!conf) throw new CibError('the CIB has no <configuration>');
    this.configuration = conf;
    this.nodes = kids(kid(conf, 'nodes'), 'node').map((n) => ({
      id: n.attrs.id ?? '',
      uname: n.attrs.uname ?? '',
      utilization: nvpairs(n, 'utilization'),
    }));
    this.resources = [];
    const addResources = (parent: XNode, parentId?: string): void => {
      for (const r of parent.children.filter((c) => RESOURCE_TAGS.has(c.tag))) {
        this.resources.push({
          id: r.attrs.id ?? '',
          kind: r.tag,
          parent: parentId,
          class: r.attrs.class,
          provider: r.attrs.provider,
          type: r.attrs.type,
          params: nvpairs(r, 'instance_attributes'),
          meta: nvpairs(r, 'meta_attributes'),
          utilization: nvpairs(r, 'utilization'),
          node: r,
        });
        addResources(r, r.attrs.id);
      }
    };
    addResources(kid(conf, 'resources') ?? { tag: 'resources', attrs: {}, children: [], text: '' });
    this.constraints = kids(kid(conf, 'constraints')).filter((c) => CONSTRAINT_TAGS.has(c.tag));
    this.tags = new Map(
      kids(kid(conf, 'tags'), 'tag').map((t) => [t.attrs.id ?? '', kids(t, 'obj_ref').map((r) => r.attrs.id ?? '')]),
    );
    this.ids = new Map();
    for (const n of walk(conf)) {
      if (n.attrs.id !== undefined && !REFERENCE_TAGS.has(n.tag) && !this.ids.has(n.attrs.id)) this.ids.set(n.attrs.id, n.tag);
    }
    this.options = nvpairs(kid(conf, 'crm_config'), 'cluster_property_set');
  }

  static parse(xml: string): Cib {
    return new Cib(parseXNode(xml));
  }

  resource(id: string): CibResource | undefined {
    return this.resources.find((r) => r.id === id);
  }

  node(uname: string): CibNode | undefined {
    return this.nodes.find((n) => n.uname === uname);
  }

  /** The constraints that name ID (directly, in a resource set, or through a tag listing it). */
  constraintsNaming(id: string): XNode[] {
    const viaTags = [...this.tags].filter(([, members]) => members.includes(id)).map(([t]) => t);
    const names = new Set([id, ...viaTags]);
    return this.constraints.filter((c) => referencedIds(c).some((r) => names.has(r)));
  }
}

/** The resource (or tag) ids a constraint refers to. */
export function referencedIds(c: XNode): string[] {
  const out: string[] = [];
  for (const a of ['rsc', 'with-rsc', 'first', 'then']) {
    const v = c.attrs[a];
    if (v !== undefined) out.push(v);
  }
  for (const set of kids(c, 'resource_set')) for (const r of kids(set, 'resource_ref')) out.push(r.attrs.id ?? '');
  return out;
}

/** A VM corral manages: an ocf:corral:TransientDomain primitive named vm-NAME. */
export interface CibVm {
  name: string;
  resourceId: string;
  /** The domain XML as stored (the `config` instance attribute). */
  config: string | undefined;
  resource: CibResource;
}

export function isTransientDomain(r: CibResource): boolean {
  return r.kind === 'primitive' && r.class === 'ocf' && r.provider === 'corral' && r.type === 'TransientDomain';
}

export function corralVms(cib: Cib): CibVm[] {
  return cib.resources.filter(isTransientDomain).map((r) => ({
    name: r.id.startsWith('vm-') ? r.id.slice(3) : r.id,
    resourceId: r.id,
    config: r.params.config,
    resource: r,
  }));
}
