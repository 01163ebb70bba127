// crm_mon's XML (`crm_mon --output-as=xml`, and the older `--as-xml` form) read into the same
// shape as lib/cluster/status.ts: Pacemaker's own view of nodes and resources, for the cases the
// plain reading of the status section leaves to Pacemaker, as the reference in tests, and for the
// lab's waits (lib/lab/cluster.ts). The one reader of crm_mon's XML.
import { z } from 'zod';
import { CibError, kid, kids, type XNode } from '../cib/model.js';
import type { ClusterStatus, NodeState, NodeStatus, ResourceRole, ResourceStatus } from './status.js';
import { readXml } from '../xml/read.js';

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const nodeSchema = z.object({
  name: z.string().min(1),
  id: z.string(),
  online: bool,
  standby: bool.default(false),
  standby_onfail: bool.default(false),
  maintenance: bool.default(false),
  pending: bool.default(false),
  unclean: bool.default(false),
  is_dc: bool.default(false),
});

const resourceSchema = z.object({
  id: z.string().min(1),
  resource_agent: z.string().optional(),
  role: z.string(),
  active: bool.default(false),
  failed: bool.default(false),
  orphaned: bool.default(false),
});

const ROLES: Record<string, ResourceRole> = {
  Started: 'Started',
  Stopped: 'Stopped',
  Starting: 'Starting',
  Stopping: 'Stopping',
  Migrating: 'Migrating',
  Promoted: 'Started',
  Unpromoted: 'Started',
  Master: 'Started',
  Slave: 'Started',
};

function nodeState(n: z.infer<typeof nodeSchema>): NodeState {
  if (n.unclean) return 'unclean';
  if (n.pending) return 'pending';
  if (!n.online) return 'offline';
  if (n.maintenance) return 'maintenance';
  if (n.standby || n.standby_onfail) return 'standby';
  return 'online';
}

function parseOr<T>(schema: z.ZodType<T>, attrs: Record<string, string>, what: string): T {
  const r = schema.safeParse(attrs);
  if (!r.success) throw new CibError(`crm_mon: unexpected ${what}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** crm_mon's nodes and the resources named in RESOURCEIDS (all primitives when omitted). */
export function statusFromCrmMon(root: XNode, resourceIds?: ReadonlySet<string>): ClusterStatus {
  if (root.tag !== 'pacemaker-result' && root.tag !== 'crm_mon') {
    throw new CibError(`crm_mon: expected <pacemaker-result> or <crm_mon>, found <${root.tag}>`);
  }
  const status = kid(root, 'status');
  if (status && status.attrs.code !== undefined && status.attrs.code !== '0') {
    throw new CibError(`crm_mon failed: ${status.attrs.message ?? `code ${status.attrs.code}`}`);
  }
  const nodes: NodeStatus[] = kids(kid(root, 'nodes'), 'node').map((el) => {
    const n = parseOr(nodeSchema, el.attrs, '<node>');
    const state = nodeState(n);
    return { name: n.name, id: n.id, state, online: n.online && !n.unclean && !n.pending, standby: n.standby || n.standby_onfail, maintenance: n.maintenance, dc: n.is_dc };
  });

  const resources = new Map<string, ResourceStatus>();
  const visit = (el: XNode): void => {
    for (const c of el.children) {
      if (c.tag === 'resource') {
        const r = parseOr(resourceSchema, c.attrs, '<resource>');
        if (r.orphaned || (resourceIds && !resourceIds.has(r.id))) continue;
        const on = kids(c, 'node').map((n) => n.attrs.name ?? '').filter(Boolean);
        const role: ResourceRole = r.failed ? 'Failed' : (ROLES[r.role] ?? 'Unknown');
        const prev = resources.get(r.id);
        if (prev) {
          prev.nodes.push(...on);
          continue;
        }
        resources.set(r.id, { id: r.id, ...(r.resource_agent ? { agent: r.resource_agent } : {}), role, nodes: role === 'Stopped' ? [] : on, failed: r.failed, failCounts: {} });
      } else if (['group', 'clone', 'bundle', 'replica'].includes(c.tag)) {
        visit(c);
      }
    }
  };
  visit(kid(root, 'resources') ?? { tag: 'resources', attrs: {}, children: [], text: '' });
  for (const id of resourceIds ?? []) {
    if (!resources.has(id)) resources.set(id, { id, role: 'Stopped', nodes: [], failed: false, failCounts: {} });
  }

  for (const n of kids(kid(root, 'node_history'), 'node')) {
    for (const h of kids(n, 'resource_history')) {
      const r = resources.get(h.attrs.id ?? '');
      const fc = h.attrs['fail-count'];
      if (!r || fc === undefined) continue;
      const count = fc === 'INFINITY' ? Number.POSITIVE_INFINITY : Number(fc);
      if (count > 0) r.failCounts[n.attrs.name ?? ''] = count;
    }
  }
  for (const f of kids(kid(root, 'failures'), 'failure')) {
    const m = /^(.+)_([a-z_]+)_(\d+)$/.exec(f.attrs.op_key ?? '');
    const r = resources.get(m?.[1] ?? '');
    if (!r || !m) continue;
    const at = f.attrs['last-rc-change'] ? Date.parse(f.attrs['last-rc-change'].replace(' ', 'T')) / 1000 : undefined;
    if (r.lastFailure?.at !== undefined && at !== undefined && r.lastFailure.at > at) continue;
    const interval = Number(f.attrs.interval ?? m[3] ?? 0);
    r.lastFailure = {
      node: f.attrs.node ?? '',
      operation: interval ? `${f.attrs.task ?? m[2]} (every ${interval / 1000} s)` : (f.attrs.task ?? (m[2] as string)),
      rc: Number(f.attrs.exitcode ?? f.attrs.rc ?? -1),
      ...(f.attrs.exitreason ? { reason: f.attrs.exitreason } : {}),
      ...(at !== undefined && Number.isFinite(at) ? { at } : {}),
    };
  }
  const quorum = kid(kid(root, 'summary'), 'current_dc')?.attrs.with_quorum === 'true';
  return { nodes, quorum, resources, needsPacemaker: [], source: 'crm_mon' };
}

/** crm_mon's XML as text (lib/host/pacemaker/status.ts crmMonXml()) read by statusFromCrmMon(). */
export function crmMonStatus(xml: string, resourceIds?: ReadonlySet<string>): ClusterStatus {
  return statusFromCrmMon(readXml(xml, "crm_mon's XML", { error: CibError }), resourceIds);
}
