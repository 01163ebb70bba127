// One look at the cluster: one CIB query (configuration and status together), read into the
// cluster view. When the status section holds something that only Pacemaker can interpret
// (failures, unclean nodes, half-done migrations), crm_mon computes the status of that same
// snapshot, so configuration and status always describe one moment.
import { Cib, CibError, type XNode } from '../cib/model.js';
import { queryCib } from '../host/pacemaker/cib.js';
import { crmMonXml } from '../host/pacemaker/status.js';
import { crmMonStatus } from './crm-mon.js';
import { statusFromCib, type ClusterStatus } from './status.js';
import { buildView, configNodes, type ClusterView } from './view.js';
import { readXml } from '../xml/read.js';

export interface Snapshot {
  /** The CIB as queried. */
  xml: string;
  root: XNode;
  cib: Cib;
  view: ClusterView;
}

export interface SnapshotOptions {
  /** Always let crm_mon compute the status (slower; the reference). */
  crmMon?: boolean;
  /** The CIB text to use instead of querying (tests, recorded fixtures). */
  cibXml?: string;
  /** crm_mon's XML for that CIB, when it is at hand (tests). */
  crmMonXml?: string;
}

/** The status of CIB: read from its status section, or by crm_mon when that is not plain. */
export async function statusOf(xml: string, root: XNode, cib: Cib, opts: SnapshotOptions = {}): Promise<ClusterStatus> {
  const ids = new Set(cib.resources.filter((r) => r.kind === 'primitive').map((r) => r.id));
  const plain = statusFromCib({ root, configNodes: configNodes(cib), options: cib.options, resourceIds: ids });
  if (!opts.crmMon && plain.needsPacemaker.length === 0) return plain;
  const mon = opts.crmMonXml ?? (await crmMonXml({ cib: xml }));
  const status = crmMonStatus(mon, ids);
  // crm_mon says "Migrating" but not where to; the pending operation in the status section does.
  for (const [id, r] of status.resources) {
    const mine = plain.resources.get(id);
    if (r.role === 'Migrating' && mine?.migration) r.migration = mine.migration;
  }
  return { ...status, needsPacemaker: plain.needsPacemaker };
}

/** The attributes of operation records that corral reads (lib/cluster/status.ts, lib/ops). */
export const OP_FIELDS = [
  'id',
  'operation',
  'call-id',
  'rc-code',
  'op-status',
  'interval',
  'transition-key',
  'migrate_source',
  'migrate_target',
  'last-rc-change',
  'exec-time',
  'exit-reason',
  'on_node',
];

export function parseCib(xml: string): { root: XNode; cib: Cib } {
  const root = readXml(xml, 'the CIB', { keep: { lrm_rsc_op: OP_FIELDS }, error: CibError });
  return { root, cib: new Cib(root) };
}

/** Queries the CIB once and builds the cluster view from it. */
export async function takeSnapshot(opts: SnapshotOptions = {}): Promise<Snapshot> {
  const xml = opts.cibXml ?? (await queryCib({ fromFile: true }));
  const { root, cib } = parseCib(xml);
  const status = await statusOf(xml, root, cib, opts);
  return { xml, root, cib, view: buildView(cib, status) };
}
