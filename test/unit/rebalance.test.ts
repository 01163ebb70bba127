// The rebalance planner (lib/plan/rebalance.ts), pure: its score, its move checker, the greedy
// plan and its rounds, on small hand-made clusters and on a generated one of 1000 VMs on 32 nodes.
import { describe, expect, it } from 'vitest';
import type { ClusterView, HostView, VmView } from '../../lib/cluster/view.js';
import type { ConstraintSummary } from '../../lib/cluster/constraints.js';
import { applyMove, balanceModel, bestMove, moveProblem, planRebalance, roundsOf, scoreOf, stateOf } from '../../lib/plan/rebalance.js';
import { generatedView } from '../support/gen-cluster.js';

interface N {
  name: string;
  cpus?: number;
  mem?: number;
  standby?: boolean;
}
interface V {
  name: string;
  node: string;
  cpus?: number;
  mem?: number;
  tags?: string[];
  constraints?: ConstraintSummary[];
}

function view(nodes: N[], vms: V[]): ClusterView {
  const vv: VmView[] = vms.map((v) => ({
    name: v.name,
    resource: `vm-${v.name}`,
    state: 'running',
    node: v.node,
    nodes: [v.node],
    migratingTo: null,
    targetRole: null,
    managed: true,
    vcpus: v.cpus ?? 1,
    memoryMiB: v.mem ?? 256,
    priority: 0,
    tags: v.tags ?? [],
    constraints: v.constraints ?? [],
    failCounts: {},
    lastFailure: null,
  }));
  const hosts = nodes.map((n, i) => ({
    name: n.name,
    id: String(i + 1),
    state: n.standby ? 'standby' : 'online',
    online: true,
    standby: n.standby ?? false,
    maintenance: false,
    dc: i === 0,
    cpus: n.cpus ?? 8,
    memoryMiB: n.mem ?? 2048,
    allocCpus: 0,
    allocMemoryMiB: 0,
    freeCpus: 0,
    freeMemoryMiB: 0,
    vms: vv.filter((v) => v.node === n.name).map((v) => v.name),
    drainState: null,
    owedVms: [],
  })) as HostView[];
  return { vms: vv, hosts, status: { nodes: hosts, quorum: true, resources: new Map(), needsPacemaker: [], source: 'cib' }, byResource: new Map(vv.map((v) => [v.resource, v])) };
}

const three = [{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }];
const moves = (p: { moves: { vm: string; from: string; to: string }[] }) => p.moves.map((m) => `${m.vm}:${m.from}>${m.to}`);

describe('the score', () => {
  it('is 0 on a cluster of equal nodes with equal VMs spread evenly, and grows with the spread', () => {
    const even = view(three, [
      { name: 'a', node: 'n1' },
      { name: 'b', node: 'n2' },
      { name: 'c', node: 'n3' },
    ]);
    expect(scoreOf(stateOf(balanceModel(even))).total).toBe(0);
    const piled = view(three, [
      { name: 'a', node: 'n1' },
      { name: 'b', node: 'n1' },
      { name: 'c', node: 'n3' },
    ]);
    const s = scoreOf(stateOf(balanceModel(piled)));
    expect(s.total).toBeGreaterThan(0);
    expect(s.parts.vmCount).toBeCloseTo(Math.sqrt(2 / 3), 10);
  });

  it('counts 20 for each VM on a standby node, 2 for each pair that must be apart and is not', () => {
    const v = view([...three, { name: 'n4', standby: true }], [
      { name: 'a', node: 'n4' },
      { name: 'b', node: 'n1', constraints: [{ kind: 'apart', id: 'x', other: 'c', score: '-INFINITY' }] },
      { name: 'c', node: 'n1' },
      { name: 'd', node: 'n2' },
      { name: 'e', node: 'n3' },
    ]);
    const s = scoreOf(stateOf(balanceModel(v)));
    expect(s.parts.offline).toBe(1);
    expect(s.parts.hardConflicts).toBe(1);
    expect(s.total - (s.parts.freeMemory + s.parts.vcpus + s.parts.cpuLoad + 3 * s.parts.vmCount)).toBeCloseTo(22, 10);
  });

  it('weighs measured CPU load when every VM has one', () => {
    const v = view(three, [
      { name: 'a', node: 'n1' },
      { name: 'b', node: 'n1' },
      { name: 'c', node: 'n2' },
      { name: 'd', node: 'n2' },
      { name: 'e', node: 'n3' },
    ]);
    // By counts and sizes, no single move helps (2, 2, 1 VMs).
    expect(planRebalance(balanceModel(v)).moves).toEqual([]);
    // a and b are busy (4 cores each): one of them leaves n1 for n3.
    const load = new Map([['a', 4], ['b', 4], ['c', 0.1], ['d', 0.1], ['e', 0.1]]);
    const model = balanceModel(v, { load });
    expect(model.measuredLoad).toBe(true);
    const p = planRebalance(model);
    expect(moves(p)).toEqual(['a:n1>n3']);
    expect(p.parts.after.cpuLoad).toBeLessThan(p.parts.before.cpuLoad);
    // Not every VM measured: the load is not used.
    expect(balanceModel(v, { load: new Map([['a', 4]]) }).measuredLoad).toBe(false);
  });
});

describe('the move checker', () => {
  const v = view([...three, { name: 'n4', standby: true }, { name: 'n5', mem: 300 }], [
    { name: 'a', node: 'n1', constraints: [{ kind: 'only-on', id: 'o', nodes: ['n1', 'n2'] }] },
    { name: 'b', node: 'n1', constraints: [{ kind: 'group', id: 'apart-dns', tag: 'dns', score: '-INFINITY' }], tags: ['dns'] },
    { name: 'c', node: 'n3', constraints: [{ kind: 'group', id: 'apart-dns', tag: 'dns', score: '-INFINITY' }], tags: ['dns'] },
    { name: 'd', node: 'n2', mem: 512 },
    { name: 'e', node: 'n2', constraints: [{ kind: 'with', id: 'w', other: 'd', score: 'INFINITY' }] },
  ]);
  const m = balanceModel(v);
  const s = stateOf(m);
  const idx = (name: string) => m.vms.findIndex((x) => x.name === name);
  const node = (name: string) => m.nodes.findIndex((x) => x.name === name);

  it('says why a move is not allowed, and allows the others', () => {
    expect(moveProblem(s, idx('a'), node('n3'))).toBe('its location rules keep it off n3');
    expect(moveProblem(s, idx('a'), node('n2'))).toBeNull();
    expect(moveProblem(s, idx('b'), node('n3'))).toBe('n3 runs a VM it must avoid (apart-dns)');
    expect(moveProblem(s, idx('b'), node('n2'))).toBeNull();
    expect(moveProblem(s, idx('d'), node('n4'))).toBe('n4 takes no VMs (standby)');
    expect(moveProblem(s, idx('d'), node('n5'))).toBe('n5 has 300 MiB free, it needs 512');
    expect(moveProblem(s, idx('e'), node('n3'))).toBe('it must run with d (colocation)');
    expect(moveProblem(s, idx('d'), node('n2'))).toBe('it runs on n2 already');
  });
});

describe('the plan', () => {
  const rejoined = view(three, [
    { name: 'a', node: 'n1' },
    { name: 'b', node: 'n1' },
    { name: 'c', node: 'n1' },
    { name: 'd', node: 'n2' },
    { name: 'e', node: 'n2' },
    { name: 'f', node: 'n2' },
  ]);

  it('fills a node that rejoined empty, one VM from each full node, in two rounds', () => {
    const p = planRebalance(balanceModel(rejoined));
    expect(moves(p)).toEqual(['a:n1>n3', 'd:n2>n3']);
    expect(p.rounds).toEqual([[0], [1]]);
    expect(p.score.after).toBe(0);
  });

  it('the best single move: the first VM by name among equals, to the emptiest node; none on a balanced cluster', () => {
    const m = balanceModel(rejoined);
    const s = stateOf(m);
    const c = bestMove(s);
    expect(c && `${m.vms[c.vm]?.name}>${m.nodes[c.to]?.name}`).toBe('a>n3');
    expect(c?.score).toBeCloseTo(3.47011047, 7);
    // a moved already: the next best is another VM.
    applyMove(s, c?.vm as number, c?.to as number);
    const next = bestMove(s, new Set([c?.vm as number]));
    expect(next && `${m.vms[next.vm]?.name}>${m.nodes[next.to]?.name}`).toBe('d>n3');
    applyMove(s, next?.vm as number, next?.to as number);
    expect(bestMove(s, new Set([c?.vm as number, next?.vm as number]))).toBeNull();
  });

  it('stops at --max-moves, and at --min-gain', () => {
    expect(moves(planRebalance(balanceModel(rejoined), { maxMoves: 1 }))).toEqual(['a:n1>n3']);
    expect(planRebalance(balanceModel(rejoined), { maxMoves: 0 }).moves).toEqual([]);
    // The first move gains 2.54, the second 3.47.
    expect(planRebalance(balanceModel(rejoined), { minGain: 2.6 }).moves).toEqual([]);
    expect(moves(planRebalance(balanceModel(rejoined), { minGain: 2.5 }))).toEqual(['a:n1>n3', 'd:n2>n3']);
  });

  it('skips rejected moves and plans the next best', () => {
    expect(moves(planRebalance(balanceModel(rejoined), { rejected: new Set(['a>n3']) }))).toEqual(['b:n1>n3', 'd:n2>n3']);
  });

  it('moves VMs off a standby node first', () => {
    const v = view([...three, { name: 'n4', standby: true }], [
      { name: 'a', node: 'n1' },
      { name: 'b', node: 'n2' },
      { name: 'z', node: 'n4' },
    ]);
    const p = planRebalance(balanceModel(v));
    expect(moves(p)).toEqual(['z:n4>n3']);
    expect(p.parts.after.offline).toBe(0);
    expect(p.stranded).toEqual([]);
  });

  it('puts moves on disjoint node pairs into one round, and a move that shares a node with an earlier one (it may need the room it made) after it', () => {
    // n6 → n7 does not wait for n2 → n5, which waits for n1 → n2; n5 → n1 waits for both.
    expect(roundsOf([{ from: 'n1', to: 'n2' }, { from: 'n3', to: 'n4' }, { from: 'n2', to: 'n5' }, { from: 'n6', to: 'n7' }, { from: 'n5', to: 'n1' }])).toEqual([[0, 1, 3], [2], [4]]);
  });

  it('plans 1000 VMs on 32 nodes: each VM moves at most once, every step fits, rounds touch disjoint nodes', () => {
    const v = generatedView({ nodes: 32, vms: 1000, seed: 4 });
    const model = balanceModel(v);
    const p = planRebalance(model);
    expect(p.moves.length).toBeGreaterThan(100);
    expect(p.score.after).toBeLessThan(p.score.before / 10);
    expect(new Set(p.moves.map((m) => m.vm)).size).toBe(p.moves.length);
    // Replayed move by move on the generated cluster: the checker allows each one when it runs.
    const s = stateOf(model);
    const byName = new Map(model.vms.map((x, i) => [x.name, i]));
    const nodeIdx = new Map(model.nodes.map((x, i) => [x.name, i]));
    for (const r of p.rounds) {
      const touched = r.flatMap((i) => [p.moves[i]?.from, p.moves[i]?.to]);
      expect(new Set(touched).size).toBe(touched.length);
    }
    for (const m of p.moves) {
      const vi = byName.get(m.vm) as number;
      const ni = nodeIdx.get(m.to) as number;
      expect(moveProblem(s, vi, ni)).toBeNull();
      const before = scoreOf(s).total;
      applyMove(s, vi, ni);
      expect(scoreOf(s).total).toBeCloseTo(m.score, 9);
      expect(m.score).toBeLessThan(before);
    }
  });
});
