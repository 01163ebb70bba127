// corral's load balancer loop (lib/ops/balance.ts runBalancer) on a simulated cluster: libvirt's
// CPU counters grow at the rates each VM burns, moves change where they run, the clock is fake.
// What a user would check: it waits the hold time, moves one VM, then lets the effect show; a load
// that flaps every half hold time moves nothing; each move is recorded.
import { describe, expect, it } from 'vitest';
import type { NodeSample } from '../../lib/cluster/facts.js';
import type { DomainCounters } from '../../lib/cluster/libvirt.js';
import type { Snapshot } from '../../lib/cluster/snapshot.js';
import type { ClusterView } from '../../lib/cluster/view.js';
import { runBalancer } from '../../lib/ops/balance.js';
import { DEFAULT_BALANCER, type BalancerMove } from '../../lib/plan/balance.js';

class FakeCluster {
  now = 1_000_000; // seconds
  cpuNs = new Map<string, number>();
  moves: BalancerMove[] = [];
  log: string[] = [];
  constructor(
    public where: Map<string, string>,
    public rate: (vm: string, now: number) => number,
  ) {}

  snapshot = async (): Promise<Snapshot> => {
    const hosts = ['n1', 'n2', 'n3'].map((name) => ({ name, online: true, standby: false, cpus: 2 }));
    const vms = [...this.where].map(([name, node]) => ({ name, node, nodes: [node], state: 'running' }));
    const options = this.moves.length ? { 'corral-balancer-moves': this.moves.map((m) => `${m.vm}:${m.from}:${m.to}:${m.at}`).join(' ') } : {};
    return { view: { hosts, vms } as unknown as ClusterView, cib: { options } } as unknown as Snapshot;
  };

  read = async (view: ClusterView): Promise<NodeSample[]> =>
    view.hosts.map((h) => ({
      node: h.name,
      at: this.now * 1000,
      domains: [...this.where].filter(([, n]) => n === h.name).map(([name]) => ({ name, state: 1, cpuTimeNs: this.cpuNs.get(name) ?? 0, vcpus: 1 }) as DomainCounters),
      cpu: null,
      memory: null,
      problems: [],
    }));

  sleep = async (ms: number): Promise<void> => {
    const until = this.now + ms / 1000;
    for (; this.now < until; this.now += 1) for (const vm of this.where.keys()) this.cpuNs.set(vm, (this.cpuNs.get(vm) ?? 0) + this.rate(vm, this.now) * 1e9);
  };

  run(rounds: number, settings = {}) {
    return runBalancer({
      settings: { ...DEFAULT_BALANCER, thresholdPct: 60, holdS: 60, intervalS: 10, cooldownS: 600, ...settings },
      read: this.read,
      record: async (m) => void this.moves.push(m),
      snapshot: this.snapshot,
      check: async () => true,
      move: async (_snap, vm, _from, to) => void this.where.set(vm, to),
      log: (l) => this.log.push(l),
      now: () => this.now,
      sleep: this.sleep,
      rounds,
    });
  }
}

describe('the load balancer loop', () => {
  it('three busy VMs on n1: waits the hold time, moves one, then lets the effect show before anything else', async () => {
    const busy: Record<string, number> = { a: 0.5, b: 0.4, c: 0.6, d: 0.1 };
    const c = new FakeCluster(new Map([['a', 'n1'], ['b', 'n1'], ['c', 'n1'], ['d', 'n2']]), (vm) => busy[vm] ?? 0);
    await c.run(30);
    expect(c.moves.map((m) => `${m.vm} ${m.from}→${m.to}`)).toEqual(['c n1→n3']);
    const first = c.log.findIndex((l) => l.startsWith('n1') && l.includes('move c'));
    // samples every 10 s from t=10: the hold of 60 s is covered at the seventh round
    expect(first).toBe(6);
    expect(c.log.slice(0, 6).every((l) => l.includes('no move'))).toBe(true);
    expect(c.log[7]).toBe('moved c n1 → n3');
    // n1 is left at 45 %: below the threshold, nothing more moves
    expect(c.log.slice(8).every((l) => l.includes('no move'))).toBe(true);
  });

  it('a load that switches on and off every half hold time moves nothing', async () => {
    const c = new FakeCluster(new Map([['a', 'n1'], ['b', 'n1']]), (_vm, now) => (Math.floor(now / 30) % 2 === 0 ? 0.9 : 0.05));
    await c.run(60);
    expect(c.moves).toEqual([]);
    expect(c.log.some((l) => /n1 above 60% for \d+ s: not yet 60 s/.test(l))).toBe(true);
  });

  it('a move that fails stops the moving (it goes on deciding and logging) until it is restarted', async () => {
    const busy: Record<string, number> = { a: 0.5, b: 0.4, c: 0.6, d: 0.1 };
    const c = new FakeCluster(new Map([['a', 'n1'], ['b', 'n1'], ['c', 'n1'], ['d', 'n2']]), (vm) => busy[vm] ?? 0);
    let tries = 0;
    await runBalancer({
      settings: { ...DEFAULT_BALANCER, thresholdPct: 60, holdS: 60, intervalS: 10, cooldownS: 0 },
      read: c.read,
      record: async (m) => void c.moves.push(m),
      snapshot: c.snapshot,
      check: async () => true,
      move: async () => {
        tries++;
        throw new Error('c was stopped and started on n3, not migrated live');
      },
      log: (l) => c.log.push(l),
      now: () => c.now,
      sleep: c.sleep,
      rounds: 40,
    });
    expect(tries).toBe(1);
    expect(c.moves.map((m) => m.vm)).toEqual(['c']); // on record, so its cooldown counts
    expect(c.log.find((l) => l.startsWith('move of c'))).toContain('no more moves until the balancer is restarted');
    expect(c.log.slice(-1)[0]).toMatch(/^n1 .*: move c n1 → n3/); // still deciding
  });

  it('a dry run says what it would move and moves nothing', async () => {
    const c = new FakeCluster(new Map([['a', 'n1'], ['b', 'n1']]), () => 0.8);
    const last = await runBalancer({
      settings: { ...DEFAULT_BALANCER, thresholdPct: 60, holdS: 30, intervalS: 10 },
      read: c.read,
      record: async (m) => void c.moves.push(m),
      snapshot: c.snapshot,
      check: async () => true,
      move: async () => {
        throw new Error('a dry run must not move');
      },
      log: (l) => c.log.push(l),
      now: () => c.now,
      sleep: c.sleep,
      rounds: 6,
      dryRun: true,
    });
    expect(last?.move?.vm).toBe('a');
    expect(c.moves).toEqual([]);
  });
});
