// What waitClusterIdle() (lib/lab/cluster.ts) waits for, read from crm_mon by corral's one crm_mon
// reader: on what a real lab printed (test/fixtures/recorded) and on that output with one thing
// changed the way crm_mon shows it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crmMonStatus } from '../../lib/cluster/crm-mon.js';
import { notIdle } from '../../lib/lab/cluster.js';

const REC = new URL('../fixtures/recorded', import.meta.url).pathname;
const read = (moment: string) => readFileSync(path.join(REC, moment, 'crm_mon.xml'), 'utf8');
const ALL = ['n1', 'n2', 'n3'];

/** XML with ATTR of node NAME (in crm_mon's node list) set to VALUE. */
function nodeAttr(xml: string, name: string, attr: string, value: string): string {
  const re = new RegExp(`(<node name="${name}" id="[^"]*" (?=online=)[^>]*?\\b${attr}=")[^"]*"`);
  expect(re.test(xml)).toBe(true);
  return xml.replace(re, `$1${value}"`);
}

describe('waitClusterIdle on crm_mon', () => {
  it('a settled cluster is idle: every node online, a DC, the fence device and the VMs each on one node', () => {
    const s = crmMonStatus(read('steady'));
    expect(notIdle(s, ALL, ['fence-lab', 'vm-db1', 'vm-web1'])).toEqual([]);
    expect(s.quorum).toBe(true);
    expect(s.resources.get('fence-lab')).toMatchObject({ agent: 'stonith:fence_corral_lab', role: 'Started', nodes: ['n1'] });
  });

  it('a node in standby is online; a node the cluster does not know is not', () => {
    expect(notIdle(crmMonStatus(read('standby')), ALL)).toEqual([]);
    expect(notIdle(crmMonStatus(read('standby')), [...ALL, 'n4'])).toEqual(['n4 not online']);
  });

  it('an offline or pending node is not online; an unclean one is named even when not waited for', () => {
    const xml = read('steady');
    expect(notIdle(crmMonStatus(nodeAttr(xml, 'n3', 'online', 'false')), ALL)).toEqual(['n3 not online']);
    expect(notIdle(crmMonStatus(nodeAttr(xml, 'n3', 'pending', 'true')), ALL)).toEqual(['n3 not online']);
    const unclean = crmMonStatus(nodeAttr(xml, 'n3', 'unclean', 'true'));
    expect(notIdle(unclean, ALL)).toEqual(['n3 not online', 'n3 unclean']);
    expect(notIdle(unclean, ['n1', 'n2'])).toEqual(['n3 unclean']);
  });

  it('a resource counts as started while it is active on exactly one node, even failed or migrating', () => {
    // failed: vm-ns2's monitor failed and it is being stopped on n1; migrating: vm-web2 on its way
    expect(notIdle(crmMonStatus(read('failed')), ALL, ['vm-ns2'])).toEqual([]);
    expect(notIdle(crmMonStatus(read('migrating')), ALL, ['vm-web2'])).toEqual([]);
    const stopped = read('steady').replace(
      /<resource id="vm-db1"([^>]*?)role="Started" active="true"([^>]*)>\s*<node [^>]*\/>\s*<\/resource>/,
      '<resource id="vm-db1"$1role="Stopped" active="false"$2/>',
    );
    expect(stopped).not.toEqual(read('steady'));
    expect(notIdle(crmMonStatus(stopped), ALL, ['vm-db1', 'vm-nosuch'])).toEqual(['vm-db1 not started', 'vm-nosuch not started']);
  });

  it('without a DC (an election under way) the cluster is not idle', () => {
    const xml = read('steady').replace('present="true"', 'present="false"').replaceAll('is_dc="true"', 'is_dc="false"');
    expect(notIdle(crmMonStatus(xml), ALL)).toEqual(['no DC']);
  });
});
