// Cluster options (crm_config), where `placement-strategy` lives.
export const clusterPropertySet = `
<cluster_property_set id="{{id}}">
  {{nvpairs}}
</cluster_property_set>
`;

// A node's capacity: utilization of a <node> element, in the same units as the VMs' (cpu,
// hv_memory in MiB). Id as crm_attribute --utilization names it.
export const nodeUtilization = `
<utilization id="{{id}}">
  {{nvpairs}}
</utilization>
`;

// A node's permanent attributes (standby, corral's drain record): instance_attributes of a <node>.
// Id as crm_attribute names it (nodes-NODEID).
export const nodeAttributes = `
<instance_attributes id="{{id}}">
  {{nvpairs}}
</instance_attributes>
`;

// A stand-in VM of a given size, only ever added to a copy of the CIB that crm_simulate reads
// (corral capacity --size: how many more of these would Pacemaker place).
export const capacityProbe = `
<primitive id="{{id}}" class="ocf" provider="pacemaker" type="Dummy">
  <utilization id="{{id}}-utilization">
    <nvpair id="{{id}}-utilization-cpu" name="cpu" value="{{cpu}}"/>
    <nvpair id="{{id}}-utilization-hv_memory" name="hv_memory" value="{{hvMemory}}"/>
  </utilization>
</primitive>
`;
