import { describe, expect, it } from 'vitest';
import * as balancer from '../../cib-templates/balancer.js';
import * as cluster from '../../cib-templates/cluster.js';
import * as colocation from '../../cib-templates/colocation.js';
import * as location from '../../cib-templates/location.js';
import * as nvpair from '../../cib-templates/nvpair.js';
import * as order from '../../cib-templates/order.js';
import * as tag from '../../cib-templates/tag.js';
import * as transientDomain from '../../cib-templates/transient-domain.js';
import { parseXNode, walk } from '../../lib/cib/model.js';
import { Fragment, placeholders, render } from '../../lib/cib/render.js';
import {
  afterXml,
  apartXml,
  avoidXml,
  balancerXml,
  clusterPropertySetXml,
  nodeUtilizationXml,
  onlyOnXml,
  pinXml,
  primitiveXml,
  tagXml,
} from '../../lib/cib/shapes.js';
import { parseDom } from '../../lib/xml/dom.js';

const TEMPLATES: Record<string, string> = {
  ...balancer,
  ...cluster,
  ...colocation,
  ...location,
  ...nvpair,
  ...order,
  ...tag,
  ...transientDomain,
};

const NASTY = '"><evil x="&amp;\n';

describe('cib-templates', () => {
  it.each(Object.keys(TEMPLATES))('%s renders well-formed XML with every value escaped', (name) => {
    const template = TEMPLATES[name] as string;
    const values: Record<string, string | Fragment> = {};
    for (const p of placeholders(template)) values[p] = NASTY;
    const xml = render(template, values).xml;
    const root = parseXNode(`<holder>${xml}</holder>`);
    const all = [...walk(root)];
    expect(all.some((e) => e.tag === 'evil')).toBe(false);
    // every placeholder came back verbatim in some attribute or text (text around the indentation)
    const found = all.flatMap((e) => [...Object.values(e.attrs), e.text.trim()]);
    expect(found.some((f) => f === NASTY || f === NASTY.trim())).toBe(true);
  });
});

function parse(f: Fragment) {
  return parseXNode(f.xml);
}

describe('shapes', () => {
  it('the VM primitive: ocf:corral:TransientDomain, config, utilization, allow-migrate, ops', () => {
    const p = parse(primitiveXml({ id: 'vm-gum', config: '<domain>\n</domain>', cpu: 4, hvMemoryMiB: 8192, priority: 10 }));
    expect(p.attrs).toEqual({ id: 'vm-gum', class: 'ocf', provider: 'corral', type: 'TransientDomain' });
    const nv = (set: string) =>
      Object.fromEntries(p.children.find((c) => c.tag === set)!.children.map((c) => [c.attrs.name, c.attrs.value]));
    expect(nv('instance_attributes')).toEqual({ config: '<domain>\n</domain>' });
    expect(nv('utilization')).toEqual({ cpu: '4', hv_memory: '8192' });
    expect(nv('meta_attributes')).toEqual({ 'allow-migrate': 'true', priority: '10' });
    const ops = p.children.find((c) => c.tag === 'operations')!.children.map((o) => [o.attrs.name, o.attrs.interval, o.attrs.timeout]);
    expect(ops).toEqual([
      ['start', '0s', '300s'],
      ['stop', '0s', '120s'],
      ['monitor', '10s', '30s'],
      ['migrate_to', '0s', '120s'],
      ['migrate_from', '0s', '120s'],
    ]);
    const noPriority = parse(primitiveXml({ id: 'vm-gum', config: 'x', cpu: 1, hvMemoryMiB: 1 }));
    expect(JSON.stringify(noPriority)).not.toContain('priority');
  });

  it('constraints carry the ids corral recognises them by', () => {
    expect(parse(pinXml('vm-a', 'n1')).attrs).toEqual({ id: 'vm-a-pin', rsc: 'vm-a', node: 'n1', score: 'INFINITY' });
    expect(parse(avoidXml('vm-a', 'vm-b', '-150')).attrs).toEqual({ id: 'vm-a-avoid-vm-b', rsc: 'vm-a', 'with-rsc': 'vm-b', score: '-150' });
    expect(parse(afterXml('vm-a', 'vm-b')).attrs).toEqual({ id: 'vm-a-after-vm-b', first: 'vm-b', then: 'vm-a', kind: 'Optional' });
    expect(parse(afterXml('vm-a', 'vm-b', 'Mandatory')).attrs).toEqual({ id: 'vm-a-after-vm-b', first: 'vm-b', then: 'vm-a', kind: 'Mandatory' });
    const apart = parse(apartXml('dns', '-INFINITY'));
    expect(apart.attrs).toEqual({ id: 'apart-dns', score: '-INFINITY' });
    expect(apart.children[0]?.children[0]?.attrs).toEqual({ id: 'dns' });
    const t = parse(tagXml('dns', ['vm-a', 'vm-b']));
    expect(t.children.map((c) => c.attrs.id)).toEqual(['vm-a', 'vm-b']);
  });

  it('--only-on is a -INFINITY rule ANDing "#uname ne NODE" for every node', () => {
    const l = parse(onlyOnXml('vm-a', ['n1', 'n2']));
    const rule = l.children[0]!;
    expect(rule.attrs).toMatchObject({ score: '-INFINITY', 'boolean-op': 'and' });
    expect(rule.children.map((e) => [e.attrs.attribute, e.attrs.operation, e.attrs.value])).toEqual([
      ['#uname', 'ne', 'n1'],
      ['#uname', 'ne', 'n2'],
    ]);
  });

  it('node utilization and cluster options use crm_attribute\'s id convention', () => {
    const u = parse(nodeUtilizationXml('3', { cpu: 16, hv_memory: 65536 }));
    expect(u.attrs.id).toBe('nodes-3-utilization');
    expect(u.children.map((c) => c.attrs.id)).toEqual(['nodes-3-utilization-cpu', 'nodes-3-utilization-hv_memory']);
    const s = parse(clusterPropertySetXml('cib-bootstrap-options', { 'placement-strategy': 'balanced' }));
    expect(s.children[0]?.attrs).toEqual({
      id: 'cib-bootstrap-options-placement-strategy',
      name: 'placement-strategy',
      value: 'balanced',
    });
  });

  it('every shape is one well-formed element', () => {
    for (const f of [pinXml('vm-a', 'n'), onlyOnXml('vm-a', ['n']), avoidXml('vm-a', 'vm-b', '-1'), afterXml('vm-a', 'vm-b'),
      apartXml('t', '-1'), tagXml('t', ['vm-a']), primitiveXml({ id: 'vm-a', config: 'c', cpu: 1, hvMemoryMiB: 1 }), balancerXml('corral-balancer', { hold: '60' }, { 'target-role': 'Stopped' })]) {
      expect(parseDom(`<h>${f.xml}</h>`).documentElement.childNodes.length).toBe(1);
    }
  });
});
