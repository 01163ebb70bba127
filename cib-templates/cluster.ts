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
