// The cluster's state as crm_mon reports it (`crm_mon --output-as=xml`), parsed into what the lab
// and its tests look at: the DC, quorum, each node's membership, each resource's place.
import { kid, kids, parseXNode } from '../cib/model.js';

interface NodeStatus {
  name: string;
  id: string;
  online: boolean;
  standby: boolean;
  pending: boolean;
  unclean: boolean;
  shutdown: boolean;
  maintenance: boolean;
  isDc: boolean;
  resourcesRunning: number;
}

interface ResourceStatus {
  id: string;
  /** class:provider:type, e.g. ocf:corral:TransientDomain */
  agent: string;
  role: string;
  active: boolean;
  failed: boolean;
  managed: boolean;
  blocked: boolean;
  /** Nodes it is active on (more than one only for a resource that is wrongly active twice). */
  nodes: string[];
}

export interface ClusterStatus {
  dc?: string;
  quorum: boolean;
  nodes: NodeStatus[];
  resources: ResourceStatus[];
}

const yes = (v: string | undefined) => v === 'true';

export function parseCrmMon(xml: string): ClusterStatus {
  const root = parseXNode(xml);
  const dc = kid(kid(root, 'summary'), 'current_dc');
  const nodes = kids(kid(root, 'nodes'), 'node').map<NodeStatus>((n) => ({
    name: n.attrs.name ?? '',
    id: n.attrs.id ?? '',
    online: yes(n.attrs.online),
    standby: yes(n.attrs.standby),
    pending: yes(n.attrs.pending),
    unclean: yes(n.attrs.unclean),
    shutdown: yes(n.attrs.shutdown),
    maintenance: yes(n.attrs.maintenance),
    isDc: yes(n.attrs.is_dc),
    resourcesRunning: Number(n.attrs.resources_running ?? 0),
  }));
  const resources: ResourceStatus[] = [];
  const collect = (parent: ReturnType<typeof kid>) => {
    for (const r of parent?.children ?? []) {
      if (r.tag === 'resource') {
        resources.push({
          id: r.attrs.id ?? '',
          agent: r.attrs.resource_agent ?? '',
          role: r.attrs.role ?? '',
          active: yes(r.attrs.active),
          failed: yes(r.attrs.failed),
          managed: yes(r.attrs.managed),
          blocked: yes(r.attrs.blocked),
          nodes: kids(r, 'node').map((x) => x.attrs.name ?? ''),
        });
      } else {
        collect(r); // group, clone, bundle
      }
    }
  };
  collect(kid(root, 'resources'));
  return {
    dc: dc?.attrs.present === 'true' ? dc.attrs.name : undefined,
    quorum: yes(dc?.attrs.with_quorum),
    nodes,
    resources,
  };
}

/** Where resource ID runs ([] when stopped or unknown). */
function resourceNodes(s: ClusterStatus, id: string): string[] {
  return s.resources.find((r) => r.id === id)?.nodes ?? [];
}
