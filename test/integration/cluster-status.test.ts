// The status corral reads from a CIB's status section against crm_mon's reading of the same CIB,
// on generated CIBs of the bench's kind (recorded lrm entries repeated for many VMs and nodes).
import { describe, expect, it } from 'vitest';
import { statusFromCrmMon } from '../../lib/cluster/crm-mon.js';
import { parseCib } from '../../lib/cluster/snapshot.js';
import { statusFromCib } from '../../lib/cluster/status.js';
import { configNodes } from '../../lib/cluster/view.js';
import { readXml } from '../../lib/xml/read.js';
import { crmMonXml } from '../../lib/host/pacemaker/status.js';
import { generateCib } from '../bench/list.js';

describe('the status read from the CIB', () => {
  it('agrees with crm_mon on a generated cluster of 300 VMs on 6 nodes, without asking crm_mon', async () => {
    const xml = await generateCib(300, 6);
    const { root, cib } = parseCib(xml);
    const ids = new Set(cib.resources.filter((r) => r.kind === 'primitive').map((r) => r.id));
    const mine = statusFromCib({ root, configNodes: configNodes(cib), options: cib.options, resourceIds: ids });
    expect(mine.needsPacemaker).toEqual([]);
    const mon = statusFromCrmMon(readXml(await crmMonXml({ cib: xml })), ids);
    expect(mine.nodes.map((n) => [n.name, n.state])).toEqual(mon.nodes.map((n) => [n.name, n.state]));
    expect([mine.quorum, mon.quorum]).toEqual([true, true]);
    let running = 0;
    for (const id of ids) {
      const a = mine.resources.get(id);
      const b = mon.resources.get(id);
      expect([id, a?.role, a?.nodes, a?.agent]).toEqual([id, b?.role, b?.nodes, b?.agent]);
      if (a?.role === 'Started') running++;
    }
    expect(running).toBe(300);
  });
});
