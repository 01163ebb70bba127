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
