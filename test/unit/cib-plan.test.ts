// The CIB changes of domadd, domdel and nodecap, computed on a CIB document (no cluster, no
// programs: the integration test applies them to CIB files and asks Pacemaker).
import { describe, expect, it } from 'vitest';
import { configForCib } from '../../lib/cib/config.js';
import { CibDoc } from '../../lib/cib/edit.js';
import { Cib, corralVms, kid, kids, type XNode } from '../../lib/cib/model.js';
import type { Placement } from '../../lib/cib/options.js';
import { PlanError, planAddVm, planMoveLocal, planNodeCapacity, planRemoveVm } from '../../lib/cib/vm.js';
import { DomainDoc } from '../../lib/domain/doc.js';

let serial = 0;
function domain(name: string, o: { cpus?: number; memMiB?: number; uuid?: string; macs?: string[] } = {}): DomainDoc {
  serial++;
  const uuid = o.uuid ?? `00000000-0000-4000-8000-${String(serial).padStart(12, '0')}`;
  const macs = o.macs ?? [`52:54:00:00:${String(Math.floor(serial / 100)).padStart(2, '0')}:${String(serial % 100).padStart(2, '0')}`];
  return DomainDoc.parse(
    `<domain type="qemu"><name>${name}</name><uuid>${uuid}</uuid><memory unit="MiB">${o.memMiB ?? 512}</memory>` +
      `<vcpu>${o.cpus ?? 1}</vcpu><devices>${macs.map((m) => `<interface type="bridge"><mac address="${m}"/><source bridge="br0"/></interface>`).join('')}` +
      '<serial type="pty"><log file="/var/log/corral/console/x.log" append="on"/></serial></devices></domain>',
  );
}

const EMPTY = `<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0"><configuration>
<crm_config/><nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes><resources/><constraints/></configuration><status/></cib>`;

/** Applies one plan to XML and returns the new XML (as the CIB would hold it). */
function step(xml: string, plan: (cd: CibDoc, cib: Cib) => unknown): string {
  const cd = CibDoc.parse(xml);
  plan(cd, Cib.parse(xml));
  expect(cd.duplicateIds()).toEqual([]);
  return cd.toXml();
}

function add(xml: string, doc: DomainDoc, placement: Placement = {}, replace = false): string {
  return step(xml, (cd, cib) => planAddVm(cd, cib, { doc, placement, replace }));
}

function constraints(xml: string): XNode[] {
  return kids(kid(Cib.parse(xml).configuration, 'constraints'));
}

function ids(nodes: XNode[]): string[] {
  return nodes.map((n) => n.attrs.id ?? '');
}

describe('planAddVm', () => {
  it('adds the primitive with the domain in its single-line CIB form and utilization from the XML', () => {
    const d = domain('gum', { cpus: 4, memMiB: 2048 });
    const xml = add(EMPTY, d);
    const [vm] = corralVms(Cib.parse(xml));
    expect(vm?.resourceId).toBe('vm-gum');
    expect(vm?.config).toBe(configForCib(d));
    expect(vm?.resource.utilization).toEqual({ cpu: '4', hv_memory: '2048' });
    expect(vm?.resource.meta).toEqual({ 'allow-migrate': 'true' });
  });

  it('writes one constraint per option, with the ids corral recognises', () => {
    let xml = add(EMPTY, domain('a'));
    xml = add(xml, domain('b'));
    xml = add(xml, domain('c'), { priority: 5, avoid: [{ name: 'a', score: '-150' }], after: [{ name: 'b', kind: 'Optional' }], pin: 'n1', onlyOn: ['n1', 'n2'], groupApart: [{ tag: 'dns' }] });
    expect(ids(constraints(xml))).toEqual(['vm-c-pin', 'vm-c-only-on', 'vm-c-avoid-vm-a', 'vm-c-after-vm-b', 'apart-dns']);
    expect(Cib.parse(xml).tags.get('dns')).toEqual(['vm-c']);
    expect(Cib.parse(xml).resource('vm-c')?.meta.priority).toBe('5');
  });

  it('puts the VMs of one group into one tag and one colocation set', () => {
    let xml = EMPTY;
    for (const n of ['a', 'b', 'c']) xml = add(xml, domain(n), { groupApart: [{ tag: 'dns' }] });
    expect(Cib.parse(xml).tags.get('dns')).toEqual(['vm-a', 'vm-b', 'vm-c']);
    expect(ids(constraints(xml))).toEqual(['apart-dns']);
  });

  it.each<[string, Placement, RegExp]>([
    ['an unknown --avoid VM', { avoid: [{ name: 'zz', score: '-150' }] }, /--avoid zz: there is no VM zz \(vm-zz\) in the cluster \(VMs: a\)/],
    ['an unknown --after VM', { after: [{ name: 'zz', kind: 'Optional' }] }, /--after zz: there is no VM zz/],
    ['itself', { avoid: [{ name: 'gum', score: '-150' }] }, /cannot refer to itself/],
    ['an unknown node', { pin: 'n9' }, /--pin n9: there is no node n9 in the cluster \(nodes: n1, n2\)/],
    ['an unknown --only-on node', { onlyOn: ['n1', 'n9'] }, /--only-on n9/],
    ['a pin outside --only-on', { pin: 'n1', onlyOn: ['n2'] }, /contradicts/],
    ['a tag whose id is taken', { groupApart: [{ tag: 'vm-a' }] }, /already used by a <primitive>/],
  ])('refuses %s', (_what, placement, message) => {
    const xml = add(EMPTY, domain('a'));
    expect(() => add(xml, domain('gum'), placement)).toThrow(message);
  });

  it('refuses a name, uuid or MAC address another VM has', () => {
    const a = domain('a', { uuid: '11111111-1111-4111-8111-111111111111', macs: ['52:54:00:11:11:11'] });
    const xml = add(EMPTY, a);
    expect(() => add(xml, domain('a'))).toThrow(/vm-a is already in the cluster; use domadd --replace/);
    expect(() => add(xml, domain('b', { uuid: '11111111-1111-4111-8111-111111111111' }))).toThrow(/the uuid .* is taken by vm-a/);
    expect(() => add(xml, domain('b', { macs: ['52:54:00:11:11:11'] }))).toThrow(/the MAC address 52:54:00:11:11:11 is taken by vm-a/);
  });

  it('refuses --replace of a VM that is not there, and a resource that is not a corral VM', () => {
    expect(() => add(EMPTY, domain('a'), {}, true)).toThrow(/there is no vm-a to replace/);
    const other = EMPTY.replace('<resources/>', '<resources><primitive id="vm-x" class="ocf" provider="heartbeat" type="Dummy"/></resources>');
    expect(() => add(other, domain('x'), {}, true)).toThrow(/not a corral VM/);
  });

  it('refuses to join a tag corral did not make', () => {
    const xml = add(EMPTY, domain('a')).replace('</configuration>', '<tags><tag id="web"><obj_ref id="vm-a"/></tag></tags></configuration>');
    expect(() => add(xml, domain('b'), { groupApart: [{ tag: 'web' }] })).toThrow(/exists but is not a corral group/);
  });
});

describe('planAddVm --replace', () => {
  function setup(): string {
    let xml = add(EMPTY, domain('a'));
    xml = add(xml, domain('b'));
    xml = add(xml, domain('gum', { uuid: '22222222-2222-4222-8222-222222222222', macs: ['52:54:00:22:22:22'] }), {
      priority: 5, avoid: [{ name: 'a', score: '-150' }], pin: 'n1', groupApart: [{ tag: 'dns' }],
    });
    xml = add(xml, domain('b2'), { avoid: [{ name: 'gum', score: '-150' }] }); // another VM's constraint naming gum
    // what an operator did with crm_resource: target-role, a longer stop timeout, an extra parameter
    return xml
      .replace('<nvpair id="vm-gum-meta_attributes-priority"', '<nvpair id="vm-gum-meta_attributes-target-role" name="target-role" value="Stopped"/><nvpair id="vm-gum-meta_attributes-priority"')
      .replace('id="vm-gum-stop-interval-0s" name="stop" interval="0s" timeout="120s"', 'id="vm-gum-stop-interval-0s" name="stop" interval="0s" timeout="600s"')
      .replace('<nvpair id="vm-gum-instance_attributes-config"', '<nvpair id="vm-gum-instance_attributes-hypervisor" name="hypervisor" value="qemu:///system"/><nvpair id="vm-gum-instance_attributes-config"');
  }
  const gum2 = () => domain('gum', { cpus: 8, memMiB: 4096, uuid: '22222222-2222-4222-8222-222222222222', macs: ['52:54:00:22:22:22'] });

  it('takes the new XML and utilization, and keeps what it was not told', () => {
    const xml = add(setup(), gum2(), {}, true);
    const r = Cib.parse(xml).resource('vm-gum')!;
    expect(r.params.config).toContain('<vcpu>8</vcpu>');
    expect(r.params.hypervisor).toBe('qemu:///system');
    expect(r.utilization).toEqual({ cpu: '8', hv_memory: '4096' });
    expect(r.meta).toEqual({ 'allow-migrate': 'true', 'target-role': 'Stopped', priority: '5' });
    const stop = kids(kid(r.node, 'operations'), 'op').find((o) => o.attrs.name === 'stop');
    expect(stop?.attrs.timeout).toBe('600s');
    expect(ids(constraints(xml))).toEqual(['vm-gum-pin', 'vm-gum-avoid-vm-a', 'apart-dns', 'vm-b2-avoid-vm-gum']);
    expect(Cib.parse(xml).tags.get('dns')).toEqual(['vm-gum']);
  });

  it('replaces each kind it is told, drops the --no-X kinds, and leaves other VMs\' constraints alone', () => {
    const xml = add(setup(), gum2(), { priority: false, avoid: [{ name: 'b', score: '-INFINITY' }], pin: false, groupApart: [] }, true);
    const r = Cib.parse(xml).resource('vm-gum')!;
    expect(r.meta.priority).toBeUndefined();
    expect(ids(constraints(xml))).toEqual(['vm-b2-avoid-vm-gum', 'vm-gum-avoid-vm-b']);
    expect(Cib.parse(xml).tags.size).toBe(0); // the group became empty: tag and apart-dns are gone
  });
});

describe('planRemoveVm', () => {
  it('removes the primitive and everything that names it, keeping the rest', () => {
    let xml = EMPTY;
    for (const n of ['a', 'b', 'c']) xml = add(xml, domain(n), { groupApart: [{ tag: 'dns' }] });
    xml = add(xml, domain('solo'), { groupApart: [{ tag: 'lonely' }] });
    xml = add(xml, domain('d'), { avoid: [{ name: 'a', score: '-150' }, { name: 'b', score: '-150' }], after: [{ name: 'a', kind: 'Mandatory' }], pin: 'n2' });
    xml = xml.replace('<constraints>', '<constraints><rsc_location id="cli-prefer-vm-a" rsc="vm-a" node="n1" score="INFINITY"/>' +
      '<rsc_colocation id="two-sets" score="-10"><resource_set id="s1"><resource_ref id="vm-a"/></resource_set><resource_set id="s2"><resource_ref id="vm-c"/></resource_set></rsc_colocation>' +
      '<rsc_order id="chain"><resource_set id="s3"><resource_ref id="vm-a"/><resource_ref id="vm-b"/></resource_set></rsc_order>');

    const removeA = (cd: CibDoc, cib: Cib) => planRemoveVm(cd, cib, 'a');
    let notes: string[] = [];
    xml = step(xml, (cd, cib) => (notes = removeA(cd, cib).notes));
    const cib = Cib.parse(xml);
    expect(cib.resource('vm-a')).toBeUndefined();
    expect(ids(constraints(xml))).toEqual(['chain', 'apart-dns', 'apart-lonely', 'vm-d-pin', 'vm-d-avoid-vm-b']);
    expect(cib.tags.get('dns')).toEqual(['vm-b', 'vm-c']);
    expect(notes).toContain('remove rsc_colocation vm-d-avoid-vm-a');
    expect(notes).toContain('take vm-a out of rsc_order chain');

    xml = step(xml, (cd, c) => planRemoveVm(cd, c, 'solo'));
    expect(Cib.parse(xml).tags.has('lonely')).toBe(false);
    expect(ids(constraints(xml))).not.toContain('apart-lonely');
  });

  it('refuses an unknown VM and a resource that is not a corral VM', () => {
    expect(() => step(EMPTY, (cd, cib) => planRemoveVm(cd, cib, 'zz'))).toThrow(/there is no VM zz \(vm-zz\) in the cluster \(VMs: none\)/);
    const other = EMPTY.replace('<resources/>', '<resources><primitive id="vm-x" class="ocf" provider="heartbeat" type="Dummy"/></resources>');
    expect(() => step(other, (cd, cib) => planRemoveVm(cd, cib, 'x'))).toThrow(PlanError);
  });
});

describe('planNodeCapacity', () => {
  it('sets cpu and hv_memory on the node and placement-strategy when the cluster has none', () => {
    const xml = step(EMPTY, (cd, cib) => planNodeCapacity(cd, cib, 'n2', { cpus: 16, memoryMiB: 65536 }, 'balanced', false));
    const cib = Cib.parse(xml);
    expect(cib.node('n2')?.utilization).toEqual({ cpu: '16', hv_memory: '65536' });
    expect(cib.options['placement-strategy']).toBe('balanced');
    const again = step(xml, (cd, c) => planNodeCapacity(cd, c, 'n2', { memoryMiB: 1024 }, 'utilization', false));
    expect(Cib.parse(again).node('n2')?.utilization).toEqual({ cpu: '16', hv_memory: '1024' });
    expect(Cib.parse(again).options['placement-strategy']).toBe('balanced'); // set already: kept unless forced
    const forced = step(again, (cd, c) => planNodeCapacity(cd, c, 'n2', {}, 'utilization', true));
    expect(Cib.parse(forced).options['placement-strategy']).toBe('utilization');
  });

  it('refuses an unknown node', () => {
    expect(() => step(EMPTY, (cd, cib) => planNodeCapacity(cd, cib, 'n9', { cpus: 1 }, 'balanced', false))).toThrow(/no node n9/);
  });
});

describe('local disks (domadd --local, vm NAME migrate NODE)', () => {
  it('ties the VM to the node with its disks: -INFINITY everywhere else, storage=local, shown as local:NODE', async () => {
    const xml = step(EMPTY, (cd, cib) => planAddVm(cd, cib, { doc: domain('gum'), placement: { local: 'n1' }, replace: false }));
    const c = constraints(xml).find((x) => x.attrs.id === 'vm-gum-local') as XNode;
    expect(c.attrs.rsc).toBe('vm-gum');
    const rule = kid(c, 'rule') as XNode;
    expect(rule.attrs.score).toBe('-INFINITY');
    expect(kids(rule).map((e) => e.attrs)).toEqual([{ id: 'vm-gum-local-rule-node', attribute: '#uname', operation: 'ne', value: 'n1' }]);
    expect(corralVms(Cib.parse(xml))[0]?.resource.params.storage).toBe('local');
    const { summarizeConstraints, constraintIndex, constraintWord } = await import('../../lib/cluster/constraints.js');
    const words = summarizeConstraints('vm-gum', [], constraintIndex(Cib.parse(xml))).map(constraintWord);
    expect(words).toEqual(['local:n1']);
  });

  it('--local names a cluster node; --pin elsewhere and --param storage=shared contradict it', () => {
    expect(() => step(EMPTY, (cd, cib) => planAddVm(cd, cib, { doc: domain('gum'), placement: { local: 'n7' }, replace: false }))).toThrow(/--local n7: there is no node n7/);
    expect(() => step(EMPTY, (cd, cib) => planAddVm(cd, cib, { doc: domain('gum'), placement: { local: 'n1', pin: 'n2' }, replace: false }))).toThrow(PlanError);
    expect(() => step(EMPTY, (cd, cib) => planAddVm(cd, cib, { doc: domain('gum'), placement: { local: 'n1' }, replace: false, params: { storage: 'shared' } }))).toThrow(/contradicts --param storage=shared/);
  });

  it('a move rewrites the constraint to the target node; --no-local drops it and makes the storage shared', () => {
    const d = domain('gum');
    let xml = step(EMPTY, (cd, cib) => planAddVm(cd, cib, { doc: d, placement: { local: 'n1' }, replace: false }));
    xml = step(xml, (cd, cib) => planMoveLocal(cd, cib, 'gum', 'n2'));
    const c = constraints(xml).filter((x) => x.attrs.id === 'vm-gum-local');
    expect(c).toHaveLength(1);
    expect(kids(kid(c[0], 'rule')).map((e) => e.attrs.value)).toEqual(['n2']);
    expect(() => step(xml, (cd, cib) => planMoveLocal(cd, cib, 'gum', 'n9'))).toThrow(/no node n9/);
    xml = step(xml, (cd, cib) => planAddVm(cd, cib, { doc: d, placement: { local: false }, replace: true }));
    expect(ids(constraints(xml))).not.toContain('vm-gum-local');
    expect(corralVms(Cib.parse(xml))[0]?.resource.params.storage).toBe('shared');
    const shared = step(EMPTY, (cd, cib) => planAddVm(cd, cib, { doc: domain('elm'), placement: {}, replace: false }));
    expect(() => step(shared, (cd, cib) => planMoveLocal(cd, cib, 'elm', 'n2'))).toThrow(/its disks are not local/);
  });
});
