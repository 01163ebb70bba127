// The web view's data (lib/ops/web.ts) on the recorded lab's moments (test/fixtures/recorded), and
// the page shell's escaping (lib/ops/web-page.ts). The page itself runs in a real browser in
// test/integration/web-view.test.ts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { takeSnapshot, type Snapshot } from '../../lib/cluster/snapshot.js';
import { escapeHtml, pageHtml } from '../../lib/ops/web-page.js';
import { webState } from '../../lib/ops/web.js';

const REC = new URL('../fixtures/recorded', import.meta.url).pathname;
const read = (f: string) => readFileSync(path.join(REC, f), 'utf8');
const snap = (moment: string): Promise<Snapshot> => takeSnapshot({ cibXml: read(`${moment}/cib.xml`), crmMonXml: read(`${moment}/crm_mon.xml`) });

describe('webState', () => {
  it('gives every VM its node, size, priority and constraints, and every node its capacity and allocation', async () => {
    const s = webState({ snap: await snap('steady'), version: '0.11.49' });
    expect(s.cluster?.quorum).toBe(true);
    const db1 = s.vms.find((v) => v.name === 'db1');
    expect(db1).toMatchObject({ state: 'running', node: 'n3', memoryMiB: 256, priority: 20 });
    expect(db1?.constraints).toContainEqual(expect.objectContaining({ kind: 'pin', nodes: ['n3'] }));
    expect(s.vms.find((v) => v.name === 'off1')).toMatchObject({ state: 'disabled', node: null });
    const n3 = s.nodes.find((n) => n.name === 'n3');
    expect(n3).toMatchObject({ state: 'online', cpus: 8, memoryMiB: 2048, allocMemoryMiB: 256, vms: ['db1'], ifFails: null });
    expect(s.capacity).toBeNull();
    expect(s.events).toBeNull();
    expect(s.balancer.configured).toBe(false);
  });

  it('shows a migration under way (source and target) and a node in standby', async () => {
    const m = webState({ snap: await snap('migrating'), version: '' });
    const web2 = m.vms.find((v) => v.name === 'web2');
    expect(web2?.state).toBe('migrating');
    expect(web2?.migratingTo).toBeTruthy();
    expect(web2?.migratingTo).not.toBe(web2?.node);
    const st = webState({ snap: await snap('standby'), version: '' });
    expect(st.nodes.find((n) => n.name === 'n3')?.state).toBe('standby');
    expect(st.nodes.find((n) => n.name === 'n3')?.vms).toEqual([]);
  });

  it('carries N+1 per node from the background answer, and says why when the cluster could not be read', async () => {
    const s = webState({
      snap: await snap('steady'),
      version: '',
      capacity: { report: { nodes: [{ name: 'n1', ifFails: { stopped: ['web1'] } }], nPlusOne: false, notRunning: ['off1'] }, at: 1, seconds: 0.5 },
    });
    expect(s.capacity).toMatchObject({ nPlusOne: false, notRunning: ['off1'] });
    expect(s.nodes.find((n) => n.name === 'n1')?.ifFails).toEqual({ stopped: ['web1'] });
    const none = webState({ snap: null, snapError: 'cibadmin exited 107', version: '' });
    expect(none).toMatchObject({ error: 'cibadmin exited 107', cluster: null, nodes: [], vms: [] });
  });
});

describe('the page shell', () => {
  it('escapes the names it writes', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const html = pageHtml('vm', '<script>alert(1)</script>');
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('VM &lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
