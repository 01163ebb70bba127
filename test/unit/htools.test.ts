// corral's cluster in Ganeti's htools text format (lib/plan/htools.ts), and the readers of what
// hspace, hbal and hroller print, on outputs recorded from ganeti-htools 3.0.2
// (test/fixtures/htools/record.ts). test/integration/htools.test.ts runs the real tools.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { takeSnapshot } from '../../lib/cluster/snapshot.js';
import type { ClusterView, HostView, VmView } from '../../lib/cluster/view.js';
import { hbalEndPlacement, htoolsModel, htoolsText, HtoolsInputError, parseHbal, parseHroller, parseHspace, placeVms } from '../../lib/plan/htools.js';

const FIX = new URL('../fixtures/htools', import.meta.url).pathname;
const fixture = (f: string) => readFileSync(path.join(FIX, f), 'utf8');

function host(name: string, over: Partial<HostView> = {}): HostView {
  return {
    name,
    id: name,
    state: 'online',
    online: true,
    standby: false,
    maintenance: false,
    dc: false,
    cpus: 8,
    memoryMiB: 4096,
    allocCpus: 0,
    allocMemoryMiB: 0,
    freeCpus: 8,
    freeMemoryMiB: 4096,
    vms: [],
    drainState: null,
    owedVms: [],
    ...over,
  };
}

function vm(name: string, node: string | null, over: Partial<VmView> = {}): VmView {
  return {
    name,
    resource: `vm-${name}`,
    state: node ? 'running' : 'stopped',
    node,
    nodes: node ? [node] : [],
    migratingTo: null,
    targetRole: null,
    managed: true,
    vcpus: 1,
    memoryMiB: 512,
    priority: 0,
    tags: [],
    constraints: [],
    failCounts: {},
    lastFailure: null,
    ...over,
  };
}

function cluster(hosts: HostView[], vms: VmView[]): ClusterView {
  return {
    hosts,
    vms,
    status: { nodes: hosts, resources: new Map(), needsPacemaker: [], source: 'cib', quorum: true },
    byResource: new Map(vms.map((v) => [v.resource, v])),
  };
}

// Five nodes: the DC, a plain one, one in standby, one down, one without capacity; VMs running,
// stopping after a stop was asked for, stopped, without a size, with tags and rules.
const small = cluster(
  [
    host('hv1', { dc: true }),
    host('hv2', { cpus: 16, memoryMiB: 8192 }),
    host('hv3', { standby: true, state: 'standby' }),
    host('hv4', { online: false, state: 'offline' }),
    host('hv5', { cpus: null, memoryMiB: null }),
  ],
  [
    vm('ns1', 'hv1', { tags: ['dns'], constraints: [{ kind: 'group', id: 'apart-dns', tag: 'dns', score: '-INFINITY' }] }),
    vm('ns2', 'hv2', { tags: ['dns'], constraints: [{ kind: 'group', id: 'apart-dns', tag: 'dns', score: '-INFINITY' }] }),
    vm('web', 'hv1', { vcpus: 2, memoryMiB: 1024, tags: ['www'], constraints: [{ kind: 'group', id: 'apart-www', tag: 'www', score: '-150' }] }),
    vm('db', 'hv2', { vcpus: 4, memoryMiB: 2048, priority: 10, constraints: [{ kind: 'only-on', id: 'only-on-db', nodes: ['hv1', 'hv2'] }] }),
    vm('old', 'hv2', { state: 'stopping', targetRole: 'Stopped' }),
    vm('gone', null, { targetRole: 'Stopped', state: 'disabled' }),
    vm('odd', 'hv2', { vcpus: null, memoryMiB: null }),
  ],
);

describe('htoolsText', () => {
  it('writes the five sections of a small cluster exactly', () => {
    expect(htoolsText(small, { spec: { vcpus: 1, memoryMiB: 256 } })).toBe(
      [
        'default|corral-group-default|preferred||',
        '',
        // memory, used by the node, free, disk, free disk, cores, role, group, spindles, tags,
        // exclusive storage, free spindles, vCPUs of the node OS, CPU speed
        'hv1|4096|0|2560|1048576|1048576|8|M|corral-group-default|1||N|1|0|1.0',
        'hv2|8192|0|5632|1048576|1048576|16|N|corral-group-default|1||N|1|0|1.0',
        'hv3|0|0|0|1048576|1048576|0|Y|corral-group-default|1||N|1|0|1.0',
        'hv4|0|0|0|1048576|1048576|0|Y|corral-group-default|1||N|1|0|1.0',
        'hv5|0|0|0|1048576|1048576|0|Y|corral-group-default|1||N|1|0|1.0',
        '',
        // memory, disk, vCPUs, status, auto-balance, primary, secondary, template, tags, spindle
        // use, spindles, forthcoming
        'db|2048|1024|4|running|Y|hv2||sharedfile||1|-|N',
        'ns1|512|1024|1|running|Y|hv1||sharedfile|dns,apart:dns|1|-|N',
        'ns2|512|1024|1|running|Y|hv2||sharedfile|dns,apart:dns|1|-|N',
        'odd|0|1024|0|running|Y|hv2||sharedfile||1|-|N',
        'old|512|1024|1|ADMIN_down|Y|hv2||sharedfile||1|-|N',
        'web|1024|1024|2|running|Y|hv1||sharedfile|www|1|-|N',
        '',
        'htools:iextags:apart',
        '',
        '|256,1,1024,1,1,1|0,0,0,0,0,0;8192,16,1048576,16,8,1|sharedfile|1.0|1.0',
        'default|256,1,1024,1,1,1|0,0,0,0,0,0;8192,16,1048576,16,8,1|sharedfile|1.0|1.0',
        '',
      ].join('\n'),
    );
  });

  it('says what it left out and which rules htools cannot see', () => {
    const m = htoolsModel(small);
    expect(m.omitted).toEqual([{ vm: 'gone', why: 'not running (disabled)' }]);
    expect(m.unseen).toEqual([
      { vm: 'db', what: 'only-on hv1,hv2' },
      { vm: 'db', what: 'priority 10' },
      { vm: 'web', what: 'group www score -150' },
    ]);
    expect(m.nodes.filter((n) => n.role === 'Y').map((n) => [n.name, n.offlineBecause])).toEqual([
      ['hv3', 'standby'],
      ['hv4', 'offline'],
      ['hv5', 'no capacity set (nodecap)'],
    ]);
  });

  it("keeps a standby node's capacity with standby: 'drained', and never a down node's", () => {
    const nodes = htoolsModel(small, { standby: 'drained' }).nodes;
    expect(nodes.find((n) => n.name === 'hv3')).toMatchObject({ role: 'Y', memoryMiB: 4096, freeMemoryMiB: 4096, cores: 8 });
    expect(nodes.find((n) => n.name === 'hv4')).toMatchObject({ role: 'Y', memoryMiB: 0, cores: 0 });
  });

  it('adds the memory slack to nodes with capacity only', () => {
    const nodes = htoolsModel(small, { memorySlackMiB: 1 }).nodes;
    expect(nodes.map((n) => [n.name, n.memoryMiB, n.freeMemoryMiB])).toEqual([
      ['hv1', 4097, 2561],
      ['hv2', 8193, 5633],
      ['hv3', 0, 0],
      ['hv4', 0, 0],
      ['hv5', 0, 0],
    ]);
  });

  it('refuses a name the format cannot carry', () => {
    expect(() => htoolsText(cluster([host('a|b')], []))).toThrow(HtoolsInputError);
    expect(() => htoolsText(cluster([host('n1')], [vm('x', 'n1', { tags: ['a,b'] })]))).toThrow(/tag "a,b"/);
  });

  it.each([
    ['capacity-ok.txt', 'test/scenarios/maintenance/capacity-ok'],
    ['capacity-not-n1.txt', 'test/scenarios/maintenance/capacity-not-n1'],
    ['steady.txt', 'test/fixtures/recorded/steady'],
  ])('writes %s, the text the recorded outputs came from, from its CIB', async (file, dir) => {
    const root = new URL('../..', import.meta.url).pathname;
    const cibXml = readFileSync(path.join(root, dir, 'cib.xml'), 'utf8');
    const crmMonXml = dir.includes('recorded') ? readFileSync(path.join(root, dir, 'crm_mon.xml'), 'utf8') : undefined;
    const snap = await takeSnapshot({ cibXml, crmMonXml });
    expect(htoolsText(snap.view, { spec: { vcpus: 1, memoryMiB: 256 } })).toBe(fixture(file));
  });
});

describe('placeVms', () => {
  it('moves VMs and recomputes what each node holds, for writing an end state', () => {
    const moved = placeVms(small, new Map<string, string | null>([['web', 'hv2'], ['ns2', null]]));
    expect(moved.vms.find((v) => v.name === 'web')).toMatchObject({ node: 'hv2', nodes: ['hv2'], state: 'running' });
    expect(moved.vms.find((v) => v.name === 'ns2')).toMatchObject({ node: null, nodes: [], state: 'stopped' });
    expect(moved.hosts.find((h) => h.name === 'hv1')).toMatchObject({ vms: ['ns1'], allocCpus: 1, allocMemoryMiB: 512 });
    const m = htoolsModel(moved);
    expect(m.instances.find((i) => i.name === 'web')?.node).toBe('hv2');
    expect(m.omitted.map((o) => o.vm)).toEqual(['gone', 'ns2']);
    expect(m.nodes.find((n) => n.name === 'hv1')?.freeMemoryMiB).toBe(4096 - 512);
    // The input is left as it was.
    expect(small.vms.find((v) => v.name === 'web')?.node).toBe('hv1');
  });
});

describe('parseHspace', () => {
  it('reads the standard allocation of capacity-ok: 8 more, stopped by global N+1', () => {
    const r = parseHspace(fixture('hspace-capacity-ok.out'));
    expect(r.ok).toBe(true);
    expect(r.allocated).toBe(8);
    expect(r.failReason).toBe('FAILN1');
    expect(r.failCounts).toMatchObject({ FAILN1: 3, FAILMEM: 0, FAILCPU: 0, FAILDISK: 0, FAILTAGS: 0 });
    expect(r.initialScore).toBe(4.12478956);
    expect(r.finalScore).toBe(2.00346921);
    expect(r.tiered).toEqual([{ memoryMiB: 1728, diskMiB: 1048576, vcpus: 7, spindles: 1, count: 1 }]);
    expect(r.values.CLUSTER_CPU).toBe('24');
    expect(r.values.CLUSTER_MEM).toBe('6144');
    expect(r.values.SPEC_DISK_TEMPLATE).toBe('sharedfile');
  });

  it('reads a cluster with no room: 0, for lack of memory', () => {
    const r = parseHspace(fixture('hspace-capacity-not-n1.out'));
    expect(r).toMatchObject({ ok: true, allocated: 0, failReason: 'FAILMEM' });
  });

  it('is not ok without HTS_OK=1 and reads ALLOC_COUNT and several tiers', () => {
    const r = parseHspace("HTS_ALLOC_COUNT=3\nHTS_TSPEC='4096,102400,2,1=225 2560,102400,2=20'\n");
    expect(r.ok).toBe(false);
    expect(r.allocated).toBe(3);
    expect(r.tiered).toEqual([
      { memoryMiB: 4096, diskMiB: 102400, vcpus: 2, spindles: 1, count: 225 },
      { memoryMiB: 2560, diskMiB: 102400, vcpus: 2, spindles: 1, count: 20 },
    ]);
  });
});

describe('parseHbal', () => {
  it('reads the moves, scores and commands for capacity-ok', () => {
    const r = parseHbal(fixture('hbal-capacity-ok.out'));
    expect(r).toMatchObject({ nodes: 3, instances: 5, initialScore: 4.12478956, finalScore: 1.88561808 });
    expect(r.steps).toEqual([
      { step: 1, instance: 'a', from: ['n1'], to: ['n2'], score: 2.08974223, actions: 'fa:n2' },
      { step: 2, instance: 'b', from: ['n1'], to: ['n3'], score: 1.88561808, actions: 'fa:n3' },
    ]);
    expect(r.commands).toEqual([
      { jobset: 1, words: ['gnt-instance', 'migrate', '-f', '-n', 'n2', 'a'], instance: 'a', target: 'n2' },
      { jobset: 2, words: ['gnt-instance', 'migrate', '-f', '-n', 'n3', 'b'], instance: 'b', target: 'n3' },
    ]);
    const start = new Map([['a', 'n1'], ['b', 'n1'], ['c', 'n1'], ['d', 'n2'], ['e', 'n3']]);
    expect(Object.fromEntries(hbalEndPlacement(start, r.steps))).toEqual({ a: 'n2', b: 'n3', c: 'n1', d: 'n2', e: 'n3' });
  });

  it('scores a cluster without moving anything (-l 0): the final score is the initial one', () => {
    const r = parseHbal(fixture('hbal-score-only.out'));
    expect(r).toMatchObject({ initialScore: 4.12478956, finalScore: 4.12478956, steps: [], commands: [] });
  });

  it('reads primary:secondary pairs and commands without a target (DRBD)', () => {
    const r = parseHbal(fixture('hbal-drbd.out'));
    expect(r.steps.map((s) => [s.instance, s.from, s.to, s.actions])).toEqual([
      ['inst1', ['node1', 'node2'], ['node3', 'node1'], 'r:node3 f'],
      ['inst3', ['node2', 'node1'], ['node2', 'node3'], 'r:node3'],
    ]);
    expect(r.commands.map((c) => [c.jobset, c.words[1], c.target, c.instance])).toEqual([
      [1, 'replace-disks', 'node3', 'inst1'],
      [1, 'migrate', null, 'inst1'],
      [2, 'replace-disks', 'node3', 'inst3'],
    ]);
    expect(r.finalScore).toBe(0.59176828);
  });
});

describe('parseHroller', () => {
  it('reads reboot groups', () => {
    expect(parseHroller(fixture('hroller-capacity-ok.out'))).toEqual([
      { nodes: ['n1', 'n2'], moves: [] },
      { nodes: ['n3'], moves: [] },
    ]);
  });

  it('reads the moves of each group', () => {
    expect(parseHroller(fixture('hroller-capacity-ok-moves.out'))).toEqual([
      { nodes: ['n1', 'n2'], moves: [{ instance: 'a', to: 'n3' }, { instance: 'b', to: 'n3' }, { instance: 'c', to: 'n3' }, { instance: 'd', to: 'n3' }] },
      { nodes: ['n3'], moves: [{ instance: 'e', to: 'n1' }] },
    ]);
  });

  it('reads --one-step-only (one node a line) as one group', () => {
    expect(parseHroller(fixture('hroller-capacity-ok-one-step.out'))).toEqual([{ nodes: ['n1', 'n2'], moves: [] }]);
  });

  it('puts the master (the DC, n2 in the recorded lab) in the last group', () => {
    const groups = parseHroller(fixture('hroller-steady-moves.out'));
    expect(groups.map((g) => g.nodes)).toEqual([['n3'], ['n1', 'n2']]);
    expect(groups[1]?.moves.map((m) => m.instance)).toEqual(['ns1', 'ns2', 'web1', 'web2']);
  });
});
