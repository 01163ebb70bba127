import { describe, expect, it } from 'vitest';
import { configForCib, domainFromConfig } from '../../lib/cib/config.js';
import { Cib, CibError, corralVms, referencedIds } from '../../lib/cib/model.js';
import { knownVms } from '../../lib/cib/vms.js';
import { DomainDoc } from '../../lib/domain/doc.js';

const DOMAIN = `<domain type="kvm">
  <name>gum</name>
  <uuid>11111111-2222-4333-8444-555555555555</uuid>
  <description>first line
second line\tand a tab</description>
  <memory unit="GiB">2</memory>
  <vcpu>2</vcpu>
  <devices>
    <interface type="bridge"><mac address="52:54:00:AA:00:01"/></interface>
  </devices>
</domain>`;

describe('configForCib', () => {
  it('is a single line that keeps every meaningful character', () => {
    const config = configForCib(DomainDoc.parse(DOMAIN));
    expect(config).not.toMatch(/[\n\r\t]/); // Pacemaker 2.1 would store a newline as the two characters "\n"
    expect(config).toContain('<description>first line&#10;second line&#9;and a tab</description>');
    const back = domainFromConfig(config);
    expect(back.name).toBe('gum');
    expect(back.root.getElementsByTagName('description')[0]?.textContent).toBe('first line\nsecond line\tand a tab');
  });
});

const CIB = `<cib validate-with="pacemaker-3.9" epoch="3" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o-ps" name="placement-strategy" value="balanced"/></cluster_property_set></crm_config>
    <nodes>
      <node id="1" uname="n1"><utilization id="u1"><nvpair id="u1c" name="cpu" value="16"/></utilization></node>
    </nodes>
    <resources>
      <primitive id="vm-gum" class="ocf" provider="corral" type="TransientDomain">
        <instance_attributes id="ia"><nvpair id="ia-c" name="config" value="${configForCib(DomainDoc.parse(DOMAIN)).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')}"/></instance_attributes>
      </primitive>
      <primitive id="vm-broken" class="ocf" provider="corral" type="TransientDomain">
        <instance_attributes id="ib"><nvpair id="ib-c" name="config" value="not xml"/></instance_attributes>
      </primitive>
      <group id="g"><primitive id="d1" class="ocf" provider="heartbeat" type="Dummy"/></group>
    </resources>
    <constraints>
      <rsc_colocation id="c1" rsc="vm-gum" with-rsc="d1" score="-5"/>
      <rsc_colocation id="c2" score="-5"><resource_set id="s"><resource_ref id="web"/></resource_set></rsc_colocation>
    </constraints>
    <tags><tag id="web"><obj_ref id="vm-gum"/><obj_ref id="d1"/></tag></tags>
  </configuration>
  <status/>
</cib>`;

describe('Cib', () => {
  const cib = Cib.parse(CIB);

  it('reads nodes, resources (nested too), tags and cluster options', () => {
    expect(cib.nodes).toEqual([{ id: '1', uname: 'n1', utilization: { cpu: '16' } }]);
    expect(cib.resources.map((r) => [r.id, r.kind, r.parent])).toEqual([
      ['vm-gum', 'primitive', undefined],
      ['vm-broken', 'primitive', undefined],
      ['g', 'group', undefined],
      ['d1', 'primitive', 'g'],
    ]);
    expect(cib.tags.get('web')).toEqual(['vm-gum', 'd1']);
    expect(cib.options['placement-strategy']).toBe('balanced');
    expect(cib.ids.get('vm-gum')).toBe('primitive'); // not the tag's obj_ref of the same id
  });

  it('decodes the stored domain XML exactly', () => {
    const [gum] = corralVms(cib);
    expect(gum?.config).toBe(configForCib(DomainDoc.parse(DOMAIN)));
  });

  it('finds the constraints naming a resource, directly or through a tag', () => {
    expect(cib.constraintsNaming('vm-gum').map((c) => c.attrs.id)).toEqual(['c1', 'c2']);
    expect(referencedIds(cib.constraints[0]!)).toEqual(['vm-gum', 'd1']);
  });

  it('knows the VMs\' identities and says which it could not read', () => {
    const k = knownVms(cib);
    expect(k.vms).toEqual([
      { name: 'gum', uuid: '11111111-2222-4333-8444-555555555555', macs: ['52:54:00:aa:00:01'], disks: [], resourceId: 'vm-gum' },
      { name: 'broken', macs: [], disks: [], resourceId: 'vm-broken' },
    ]);
    expect(k.warnings).toEqual([expect.stringMatching(/^vm-broken: cannot read its domain XML/)]);
  });

  it('refuses what is not a CIB', () => {
    expect(() => Cib.parse('<domain/>')).toThrow(CibError);
    expect(() => Cib.parse('<cib/>')).toThrow(/no <configuration>/);
  });
});
