// The CIB a test starts from: NODES (offline, never up), fencing off, no resources; optionally
// resource defaults. One shape for every test that writes a CIB file (domadd, the bad-input suite,
// the scenario builder).
export function emptyCib(nodes: readonly string[], opts: { schema?: string; stickiness?: number } = {}): string {
  const defaults =
    opts.stickiness === undefined
      ? ''
      : `\n    <rsc_defaults><meta_attributes id="rsc-options"><nvpair id="rsc-options-resource-stickiness" name="resource-stickiness" value="${opts.stickiness}"/></meta_attributes></rsc_defaults>`;
  return `<cib crm_feature_set="3.16.1" validate-with="${opts.schema ?? 'pacemaker-3.9'}" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
${nodes.map((n, i) => `      <node id="${i + 1}" uname="${n}"/>`).join('\n')}
    </nodes>
    <resources/>
    <constraints/>${defaults}
  </configuration>
  <status/>
</cib>
`;
}
