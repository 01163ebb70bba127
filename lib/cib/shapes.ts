// The CIB elements corral writes, rendered from cib-templates/ with their ids. The id scheme is
// how corral recognises its own constraints later (--replace, domdel):
//   vm-NAME                         the primitive
//   vm-NAME-pin                     --pin NODE
//   vm-NAME-only-on                 --only-on NODE…
//   vm-NAME-local                   --local NODE (the node that holds its disks; vm NAME migrate rewrites it)
//   vm-NAME-avoid-vm-OTHER          --avoid OTHER
//   vm-NAME-after-vm-OTHER          --after OTHER
//   TAG + apart-TAG                 --group-apart TAG (the tag and its colocation set)
import { capacityProbe, clusterPropertySet, metaAttributes, node, nodeAttributes, nodeUtilization, seedCib, stonithDevice } from '../../cib-templates/cluster.js';
import { balancer } from '../../cib-templates/balancer.js';
import { apart, avoid } from '../../cib-templates/colocation.js';
import { hint, local, notNode, onlyOn, pin } from '../../cib-templates/location.js';
import { nvpair } from '../../cib-templates/nvpair.js';
import { after } from '../../cib-templates/order.js';
import { objRef, tag } from '../../cib-templates/tag.js';
import { transientDomain } from '../../cib-templates/transient-domain.js';
import { xmlId } from '../domain/names.js';
import { fragments, render, type Fragment } from './render.js';

// Every id made from a name goes through xmlId (lib/domain/names.ts): valid for any node name.
export const ids = {
  pin: (rid: string) => xmlId(rid, 'pin'),
  onlyOn: (rid: string) => xmlId(rid, 'only-on'),
  local: (rid: string) => xmlId(rid, 'local'),
  notNode: (onlyOnId: string, node: string) => xmlId(onlyOnId, 'not', node),
  avoid: (rid: string, otherRid: string) => xmlId(rid, 'avoid', otherRid),
  after: (rid: string, otherRid: string) => xmlId(rid, 'after', otherRid),
  apart: (tagId: string) => xmlId('apart', tagId),
  metaSet: (rid: string) => xmlId(rid, 'meta_attributes'),
  instanceSet: (rid: string) => xmlId(rid, 'instance_attributes'),
  nvpair: (setId: string, name: string) => xmlId(setId, name),
  nodeUtilization: (nodeId: string) => xmlId('nodes', nodeId, 'utilization'),
  nodeAttributes: (nodeId: string) => xmlId('nodes', nodeId),
  /** A maintenance command's temporary preference of resource RID for NODE (rolling-reboot, rebalance). */
  steer: (rid: string, node: string) => xmlId('corral-steer', rid, node),
  /** undrain --return's hint that brings RID back to its node. */
  returnHint: (rid: string) => xmlId('corral-return', rid),
  bootstrap: 'cib-bootstrap-options',
};

export function nvpairXml(setId: string, name: string, value: string | number): Fragment {
  return render(nvpair, { id: ids.nvpair(setId, name), name, value: String(value) });
}

export interface PrimitiveValues {
  id: string;
  /** the domain XML in its CIB form (lib/cib/config.ts) */
  config: string;
  cpu: number;
  hvMemoryMiB: number;
  priority?: number;
  /** More agent parameters (instance attributes), e.g. migration_transport. */
  params?: Readonly<Record<string, string>>;
}

export function primitiveXml(p: PrimitiveValues): Fragment {
  const meta = p.priority === undefined ? [] : [nvpairXml(ids.metaSet(p.id), 'priority', p.priority)];
  const params = Object.entries(p.params ?? {}).map(([n, v]) => nvpairXml(ids.instanceSet(p.id), n, v));
  return render(transientDomain, {
    id: p.id,
    config: p.config,
    params: fragments(params),
    cpu: p.cpu,
    hvMemory: p.hvMemoryMiB,
    meta: fragments(meta),
  });
}

/** The load balancer's primitive (ocf:corral:Balancer) with PARAMS and META. */
export function balancerXml(id: string, params: Readonly<Record<string, string>>, meta: Readonly<Record<string, string>> = {}): Fragment {
  return render(balancer, {
    id,
    params: fragments(Object.entries(params).map(([n, v]) => nvpairXml(ids.instanceSet(id), n, v))),
    meta: fragments(Object.entries(meta).map(([n, v]) => nvpairXml(ids.metaSet(id), n, v))),
  });
}

export function pinXml(rid: string, node: string): Fragment {
  return render(pin, { id: ids.pin(rid), rsc: rid, node });
}

export function onlyOnXml(rid: string, nodes: readonly string[]): Fragment {
  const id = ids.onlyOn(rid);
  const expressions = fragments(nodes.map((node) => render(notNode, { id: ids.notNode(id, node), node })));
  return render(onlyOn, { id, rsc: rid, expressions });
}

export function localXml(rid: string, node: string): Fragment {
  return render(local, { id: ids.local(rid), rsc: rid, node });
}

export function avoidXml(rid: string, otherRid: string, score: string): Fragment {
  return render(avoid, { id: ids.avoid(rid, otherRid), rsc: rid, withRsc: otherRid, score });
}

export function afterXml(rid: string, otherRid: string, kind: 'Optional' | 'Mandatory' = 'Optional'): Fragment {
  return render(after, { id: ids.after(rid, otherRid), first: otherRid, then: rid, kind });
}

export function apartXml(tagId: string, score: string): Fragment {
  return render(apart, { id: ids.apart(tagId), tag: tagId, score });
}

export function tagXml(tagId: string, members: readonly string[]): Fragment {
  return render(tag, { id: tagId, refs: fragments(members.map(objRefXml)) });
}

export function objRefXml(id: string): Fragment {
  return render(objRef, { id });
}

export function clusterPropertySetXml(id: string, pairs: Readonly<Record<string, string>>): Fragment {
  return render(clusterPropertySet, {
    id,
    nvpairs: fragments(Object.entries(pairs).map(([n, v]) => nvpairXml(id, n, v))),
  });
}

export function nodeUtilizationXml(nodeId: string, pairs: Readonly<Record<string, string | number>>): Fragment {
  const id = ids.nodeUtilization(nodeId);
  return render(nodeUtilization, {
    id,
    nvpairs: fragments(Object.entries(pairs).map(([n, v]) => nvpairXml(id, n, v))),
  });
}

export function nodeAttributesXml(nodeId: string, pairs: Readonly<Record<string, string>>): Fragment {
  const id = ids.nodeAttributes(nodeId);
  return render(nodeAttributes, {
    id,
    nvpairs: fragments(Object.entries(pairs).map(([n, v]) => nvpairXml(id, n, v))),
  });
}

/** A temporary placement hint of corral's maintenance commands (see cib-templates/location.ts). */
export function hintXml(id: string, rid: string, node: string, score: string): Fragment {
  return render(hint, { id, rsc: rid, node, score });
}

/** A stand-in VM of a size, for crm_simulate on a CIB copy (corral capacity --size). */
export function capacityProbeXml(id: string, cpu: number, hvMemoryMiB: number): Fragment {
  return render(capacityProbe, { id, cpu, hvMemory: hvMemoryMiB });
}

export interface SeedCibValues {
  properties: Readonly<Record<string, string>>;
  nodes: readonly { id: string; uname: string; utilization: Readonly<Record<string, string | number>> }[];
  fence: { id: string; type: string; params: Readonly<Record<string, string>> };
  rscDefaults: Readonly<Record<string, string>>;
}

/** A whole first CIB (the lab's): cluster options, nodes with capacity, a fence device, resource defaults. */
export function seedCibXml(v: SeedCibValues): Fragment {
  return render(seedCib, {
    properties: clusterPropertySetXml(ids.bootstrap, v.properties),
    nodes: fragments(v.nodes.map((n) => render(node, { id: n.id, uname: n.uname, utilization: nodeUtilizationXml(n.id, n.utilization) }))),
    resources: render(stonithDevice, {
      id: v.fence.id,
      type: v.fence.type,
      params: fragments(Object.entries(v.fence.params).map(([k, val]) => nvpairXml(ids.instanceSet(v.fence.id), k, val))),
    }),
    rscDefaults: render(metaAttributes, { id: 'rsc-options', nvpairs: fragments(Object.entries(v.rscDefaults).map(([k, val]) => nvpairXml('rsc-options', k, val))) }),
  });
}
