// corral's load balancer: the ocf:corral:Balancer primitive (`corral balance enable`). One instance
// in the cluster; {{params}} are its instance attributes (lib/ocf/balancer.ts), {{meta}} e.g.
// target-role Stopped after `corral balance disable`.
export const balancer = `
<primitive id="{{id}}" class="ocf" provider="corral" type="Balancer">
  <instance_attributes id="{{id}}-instance_attributes">
    {{params}}
  </instance_attributes>
  <meta_attributes id="{{id}}-meta_attributes">
    {{meta}}
  </meta_attributes>
  <operations>
    <op id="{{id}}-start-interval-0s" name="start" interval="0s" timeout="30s"/>
    <op id="{{id}}-stop-interval-0s" name="stop" interval="0s" timeout="30s"/>
    <op id="{{id}}-monitor-interval-30s" name="monitor" interval="30s" timeout="20s"/>
  </operations>
</primitive>
`;
