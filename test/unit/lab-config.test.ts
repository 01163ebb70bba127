// The lab's generated cluster configuration: corosync.conf and the seed CIB.
import { describe, expect, it } from 'vitest';
import { Cib } from '../../lib/cib/model.js';
import { corosyncConf, seedCib, DEFAULT_SETTINGS, type ClusterSettings } from '../../lib/lab/boot.js';
import type { Lab } from '../../lib/lab/state.js';

function lab(n: number): Lab {
  const nodes = Array.from({ length: n }, (_, i) => ({
    lab: 't', name: `n${i + 1}`, index: i + 1, address: `10.9.9.${11 + i}`, hostUuid: 'x', netns: `corral.t.n${i + 1}`, switchIf: `vn${i + 1}`, dir: `/s/t/nodes/n${i + 1}`,
  }));
  return { name: 't', dir: '/s/t', subnet: '10.9.9', switchNetns: 'corral.t', bridge: 'br0', nodes };
}
const settings: ClusterSettings = { version: 1, clusterName: 't', ...DEFAULT_SETTINGS };

describe('corosync.conf', () => {
  it('puts every { at the end of its line (the parser needs the newline)', () => {
    for (const line of corosyncConf(lab(3), settings).split('\n')) {
      if (line.includes('{')) expect(line).toMatch(/\{$/);
    }
  });

  it('lists every node with its lab address and id, knet, the token', () => {
    const conf = corosyncConf(lab(3), settings);
    expect(conf).toContain('transport: knet');
    expect(conf).toContain('token: 3000');
    expect(conf).toMatch(/name: n2\n\s+nodeid: 2\n\s+ring0_addr: 10\.9\.9\.12/);
  });

  it('sets two_node only for two nodes', () => {
    expect(corosyncConf(lab(2), settings)).toContain('two_node: 1');
    expect(corosyncConf(lab(3), settings)).not.toContain('two_node');
  });
});

describe('seed CIB', () => {
  const cib = Cib.parse(seedCib(lab(3), settings));

  it('has fencing on, with the lab fence device for every node', () => {
    expect(cib.options['stonith-enabled']).toBe('true');
    const fence = cib.resource('fence-lab');
    expect(fence).toMatchObject({ class: 'stonith', type: 'fence_corral_lab' });
    const xml = seedCib(lab(3), settings);
    expect(xml).toContain('name="pcmk_host_list" value="n1 n2 n3"');
    expect(xml).toContain('name="socket" value="/s/t/power.sock"');
  });

  it('gives every node its capacity and the cluster a placement strategy', () => {
    expect(cib.options['placement-strategy']).toBe('balanced');
    expect(cib.nodes.map((n) => [n.uname, n.utilization])).toEqual(
      ['n1', 'n2', 'n3'].map((n) => [n, { cpu: String(DEFAULT_SETTINGS.nodeCpus), hv_memory: String(DEFAULT_SETTINGS.nodeMemoryMiB) }]),
    );
  });
});
