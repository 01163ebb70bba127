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

// The CIB every lab node starts from the first time (lib/lab/boot.ts seedCib).
export const seedCib = `
<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      {{properties}}
    </crm_config>
    <nodes>
      {{nodes}}
    </nodes>
    <resources>
      {{resources}}
    </resources>
    <constraints/>
    <rsc_defaults>
      {{rscDefaults}}
    </rsc_defaults>
  </configuration>
  <status/>
</cib>
`;

// A node of the configuration, with its capacity (a nodeUtilization fragment).
export const node = `
<node id="{{id}}" uname="{{uname}}">
  {{utilization}}
</node>
`;

// Resource defaults (rsc_defaults), e.g. resource-stickiness.
export const metaAttributes = `
<meta_attributes id="{{id}}">
  {{nvpairs}}
</meta_attributes>
`;

// A fence device with its parameters and a monitor.
export const stonithDevice = `
<primitive id="{{id}}" class="stonith" type="{{type}}">
  <instance_attributes id="{{id}}-instance_attributes">
    {{params}}
  </instance_attributes>
  <operations>
    <op id="{{id}}-monitor-interval-60s" name="monitor" interval="60s" timeout="20s"/>
  </operations>
</primitive>
`;
