// A VM: the TransientDomain primitive. `config` holds the whole domain XML (single line, see
// lib/cib/config.ts). Utilization names match VirtualDomain's autoset_utilization_* (cpu,
// hv_memory in MiB), so corral VMs and VirtualDomain VMs share one capacity model.
// {{params}}: other agent parameters (domadd --param NAME=VALUE), as nvpairs.
// Op timeouts: start waits for the guest's startup signal (a boot), so it gets 300s; stop covers
// a graceful ACPI shutdown before the agent destroys the domain; migrations move the memory.
export const transientDomain = `
<primitive id="{{id}}" class="ocf" provider="corral" type="TransientDomain">
  <instance_attributes id="{{id}}-instance_attributes">
    <nvpair id="{{id}}-instance_attributes-config" name="config" value="{{config}}"/>
    {{params}}
  </instance_attributes>
  <meta_attributes id="{{id}}-meta_attributes">
    <nvpair id="{{id}}-meta_attributes-allow-migrate" name="allow-migrate" value="true"/>
    {{meta}}
  </meta_attributes>
  <utilization id="{{id}}-utilization">
    <nvpair id="{{id}}-utilization-cpu" name="cpu" value="{{cpu}}"/>
    <nvpair id="{{id}}-utilization-hv_memory" name="hv_memory" value="{{hvMemory}}"/>
  </utilization>
  <operations>
    <op id="{{id}}-start-interval-0s" name="start" interval="0s" timeout="300s"/>
    <op id="{{id}}-stop-interval-0s" name="stop" interval="0s" timeout="120s"/>
    <op id="{{id}}-monitor-interval-10s" name="monitor" interval="10s" timeout="30s"/>
    <op id="{{id}}-migrate_to-interval-0s" name="migrate_to" interval="0s" timeout="120s"/>
    <op id="{{id}}-migrate_from-interval-0s" name="migrate_from" interval="0s" timeout="120s"/>
  </operations>
</primitive>
`;
