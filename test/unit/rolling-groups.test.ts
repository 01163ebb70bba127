// The grouping of `corral rolling-reboot --groups` (lib/plan/rolling-groups.ts) with a stand-in
// oracle: which groups it asks about, which it keeps, which it splits and why. Pacemaker's own
// answers are in the scenario folders (test/scenarios/maintenance/rolling-groups-*).
import { describe, expect, it } from 'vitest';
import { groupNodes, groupRefusal, quorate, type GroupAnswer } from '../../lib/plan/rolling-groups.js';

const clean: GroupAnswer = { moves: [{ vm: 'a', live: true }], stops: [], sideEffects: [], nPlusOne: true };

/** An oracle that refuses a group when REFUSE says so, and records what it was asked and committed. */
function oracle(refuse: (group: readonly string[]) => Partial<GroupAnswer> | undefined) {
  const asked: string[] = [];
  const committed: string[] = [];
  return {
    asked,
    committed,
    check: async (group: readonly string[]) => {
      asked.push(group.join('+'));
      return { ...clean, ...refuse(group) };
    },
    commit: async (group: readonly string[]) => {
      committed.push(group.join('+'));
      return group.join('+');
    },
  };
}

describe('groupRefusal', () => {
  it('keeps a clean group and names what breaks one', () => {
    expect(groupRefusal(clean)).toBeUndefined();
    expect(groupRefusal({ ...clean, stops: [{ vm: 'x' }, { vm: 'y' }] })).toBe('x, y would stop');
    expect(groupRefusal({ ...clean, moves: [{ vm: 'a', live: false }] })).toBe('a would not move live');
    expect(groupRefusal({ ...clean, sideEffects: ['z: migrate (n4 → n5)'] })).toMatch(/^VMs of other nodes would move to make room/);
    expect(groupRefusal({ ...clean, nPlusOne: false })).toBe('the cluster would not be N+1 with them drained');
    expect(groupRefusal({ ...clean, nPlusOne: null })).toMatch(/could not say/);
  });
});

describe('quorate', () => {
  it('more than half of the votes must stay; two nodes are two_node (the survivor keeps quorum)', () => {
    expect([1, 2, 3].map((away) => quorate({ members: 5, votes: 5 }, away))).toEqual([true, true, false]);
    expect(quorate({ members: 3, votes: 3 }, 1)).toBe(true);
    expect(quorate({ members: 2, votes: 3 }, 1)).toBe(false);
    expect(quorate({ members: 4, votes: 4 }, 2)).toBe(false);
    expect(quorate({ members: 2, votes: 2 }, 1)).toBe(true);
    expect(quorate({ members: 1, votes: 2 }, 1)).toBe(false);
  });
});

describe('groupNodes', () => {
  it('never takes so many nodes that the rest would lose quorum, without asking Pacemaker', async () => {
    const o = oracle(() => undefined);
    const r = await groupNodes(['n1', 'n2', 'n3', 'n4', 'n5'], new Set(), 5, o, 2, { members: 5, votes: 5 });
    expect(r.groups.map((g) => g.nodes)).toEqual([['n1', 'n2'], ['n3', 'n4'], ['n5']]);
    expect(o.asked).toEqual(['n1+n2', 'n3+n4']);
    expect(r.split[0]).toEqual({ nodes: ['n1', 'n2', 'n3'], why: '2 of 5 votes would stay: the cluster would lose quorum (more than half is needed)' });
  });

  it('takes every later node that passes, and leaves at least two nodes up without asking', async () => {
    const o = oracle(() => undefined);
    const r = await groupNodes(['n1', 'n2', 'n3', 'n4', 'n5'], new Set(), 5, o);
    expect(r.groups.map((g) => g.nodes)).toEqual([['n1', 'n2', 'n3'], ['n4', 'n5']]);
    expect(o.asked).toEqual(['n1+n2', 'n1+n2+n3', 'n4+n5']);
    expect(r.split).toEqual([{ nodes: ['n1', 'n2', 'n3', 'n4'], why: '1 node would stay up: N+1 needs 2' }]);
    expect(o.committed).toEqual(['n1+n2+n3', 'n4+n5']);
  });

  it('splits a group that breaks N+1: the node that broke it waits for a later group', async () => {
    const o = oracle((g) => (g.length > 2 ? { nPlusOne: false } : undefined));
    const r = await groupNodes(['n1', 'n2', 'n3', 'n4', 'n5', 'n6'], new Set(['n6']), 6, o);
    expect(r.groups.map((g) => g.nodes)).toEqual([['n1', 'n2'], ['n3', 'n4'], ['n5'], ['n6']]);
    expect(r.split.map((s) => s.nodes.join('+'))).toEqual(['n1+n2+n3', 'n1+n2+n4', 'n1+n2+n5', 'n3+n4+n5']);
  });

  it('falls back to one node per group when no two can go together', async () => {
    const o = oracle(() => ({ stops: [{ vm: 'x' }] }));
    const r = await groupNodes(['n1', 'n2', 'n3', 'n4'], new Set(), 4, o);
    expect(r.groups.map((g) => g.nodes)).toEqual([['n1'], ['n2'], ['n3'], ['n4']]);
    expect(r.split.every((s) => s.why === 'x would stop')).toBe(true);
  });

  it('never groups the nodes that go last (the DC, this node): alone, at the end, in the given order', async () => {
    const o = oracle(() => undefined);
    const r = await groupNodes(['n2', 'n3', 'n4', 'me', 'dc'], new Set(['me', 'dc']), 8, o);
    expect(r.groups.map((g) => g.nodes)).toEqual([['n2', 'n3', 'n4'], ['me'], ['dc']]);
    expect(o.asked.some((a) => a.includes('me') || a.includes('dc'))).toBe(false);
    expect(r.groups.map((g) => g.step)).toEqual(['n2+n3+n4', 'me', 'dc']);
  });
});

describe('the progress record of a grouped run (cluster option corral-rolling-reboot)', () => {
  it('names a group by its nodes joined with commas, and still reads the one-node words', async () => {
    const { formatProgress, parseProgress } = await import('../../lib/ops/rolling.js');
    const p = parseProgress('n1,n2:done n3,n4:rebooting n5:pending');
    expect(p).toEqual([
      { nodes: ['n1', 'n2'], state: 'done' },
      { nodes: ['n3', 'n4'], state: 'rebooting' },
      { nodes: ['n5'], state: 'pending' },
    ]);
    expect(formatProgress(p)).toBe('n1,n2:done n3,n4:rebooting n5:pending');
    expect(() => parseProgress('n1,:done')).toThrow(/is not corral's/);
    expect(() => parseProgress('n1:halfway')).toThrow(/is not corral's/);
  });
});
