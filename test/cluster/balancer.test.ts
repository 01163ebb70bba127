// corral's load balancer on the lab cluster, as a Pacemaker resource (corral balance enable):
// three guests burning CPU gathered on n1 make it hot; the balancer moves one of them off by live
// migration within the hold time and an interval, once, and nothing more; two guests whose load
// switches on and off every half hold time on n3 push it over the threshold again and again, and
// nothing moves for them. The watcher never sees a VM on two nodes; no guest boots again.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterExec, createClusterLab, destroyClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import { labDir, type LabNode } from '../../lib/lab/state.js';
import { LabWatcher } from '../../lib/lab/watch.js';
import type { RunResult } from '../../lib/host/exec.js';
import { addVms, built, bootsOf, copyBuild, ok, endLabTest, watchWhenIdle } from '../support/ops-lab.js';

const LAB = { name: 'bal', subnet: '10.213.103' };
const HOT = ['h1', 'h2', 'h3'];
const FLAP = ['f1', 'f2'];
const INTERVAL = 5;
const HOLD = 20;
let lab: ClusterLab;
let n1: LabNode;
let watcher: LabWatcher;

function inNode(node: LabNode, command: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return clusterExec(node, built(command), args, { timeoutMs: opts.timeoutMs ?? 120_000 });
}

interface Status {
  nodes: { node: string; loadPct: number }[];
  moves: { vm: string; from: string; to: string; at: number }[];
}
/** corral balance status --json (exit 1 only says a move would be made). */
async function status(seconds = 5): Promise<Status> {
  const r = await inNode(n1, 'corral', ['balance', 'status', '--seconds', String(seconds), '--json']);
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`corral balance status: ${r.stderr}`);
  return JSON.parse(r.stdout) as Status;
}
const where = async (): Promise<Map<string, string>> =>
  new Map((JSON.parse((await ok(inNode(n1, 'corral', ['list', '--json']))).stdout) as { vms: { name: string; node: string }[] }).vms.map((v) => [v.name, v.node]));
const boots = (vm: string): Promise<number> => bootsOf(lab, vm);
/** The balancer's log, from whichever node has one. */
const balancerLog = async (): Promise<string> => {
  const logs = await Promise.all(lab.nodes.map((n) => readFile(path.join(labDir(lab.name), 'nodes', n.name, 'fs/var/log/corral/balancer.log'), 'utf8').catch(() => '')));
  return logs.join('');
};

describe('corral balance on the lab cluster', () => {
  beforeAll(async () => {
    await destroyClusterLab(LAB.name).catch(() => undefined);
    // 4 CPUs a node: three 1-vCPU guests fit on one node, and their burners show as a real share of it.
    lab = await createClusterLab({ name: LAB.name, nodes: 3, subnet: LAB.subnet, timeoutMs: 300_000, settings: { nodeCpus: 4 } });
    n1 = lab.nodes[0] as LabNode;
    await copyBuild();
    await addVms(lab, [
      // one heavy and two lighter: moving the heavy one halves n1's load, clear of the threshold either way
      ...HOT.map((name, i) => ({ name, tick: true, burn: { percent: i === 0 ? 60 : 30 } })),
      ...FLAP.map((name) => ({ name, tick: true, burn: { percent: 60, cycle: [HOLD / 2, HOLD / 2] as const } })),
    ]);
    await waitClusterIdle(lab, { timeoutMs: 300_000 });
    await ok(inNode(n1, 'vm', ['h*', 'migrate', 'n1', '--yes'], { timeoutMs: 300_000 }));
    await ok(inNode(n1, 'vm', ['f*', 'migrate', 'n3', '--yes'], { timeoutMs: 300_000 }));
    await ok(inNode(n1, 'vm', ['*', 'clear', '--yes']));
    watcher = await watchWhenIdle(lab);
  }, 900_000);

  afterAll(() => endLabTest(lab, watcher), 120_000);

  it('relieves the hot node once, within the hold time and an interval, and moves nothing for a load that flaps', async () => {
    expect([...(await where())].sort()).toEqual([['f1', 'n3'], ['f2', 'n3'], ['h1', 'n1'], ['h2', 'n1'], ['h3', 'n1']]);
    // The threshold from what this machine gives the burners now: n1 well above it with all three
    // (100 %), well below it once the heavy one has left (about 50 %); the target that takes it ends
    // at about 50 %, under threshold − margin. n1 is judged by its mean over a whole flap cycle
    // (the hold), sampled as the balancer samples: on two host cores the flapping guests on n3 take
    // CPU from n1's burners half of the time, and a threshold from a flap-off moment left n1 under
    // it in every other sample, so the hold never ran out.
    const samples: Status[] = [];
    for (let i = 0; i < HOLD / INTERVAL; i++) samples.push(await status(INTERVAL));
    const l1 = samples.reduce((sum, s) => sum + (s.nodes.find((n) => n.node === 'n1')?.loadPct ?? 0), 0) / samples.length;
    expect(l1, 'the three burners load n1').toBeGreaterThan(10);
    const threshold = Math.round(l1 * 0.65);
    const margin = Math.max(1, Math.floor(l1 * 0.1));
    const bootsBefore = new Map(await Promise.all([...HOT, ...FLAP].map(async (vm) => [vm, await boots(vm)] as const)));

    const enabled = Date.now();
    await ok(inNode(n1, 'corral', ['balance', 'enable', '--interval', String(INTERVAL), '--hold', String(HOLD), '--threshold', String(threshold), '--margin', String(margin), '--min-gain', '1', '--cooldown', '600']));
    // Relieved: one hot VM left n1 for the emptiest node, n2.
    let moved: string | undefined;
    for (const end = Date.now() + (HOLD + 6 * INTERVAL + 60) * 1000; !moved && Date.now() < end; await sleep(1000)) {
      moved = [...(await where())].find(([vm, node]) => HOT.includes(vm) && node !== 'n1')?.[0];
    }
    expect(moved, `no hot VM left n1; the balancer said:\n${await balancerLog()}`).toBeDefined();
    const log = await balancerLog();
    const decided = log.split('\n').find((l) => l.includes(`move ${moved} n1 → n2`));
    expect(decided, log).toBeDefined();
    // It acted at the first sample after the hold: the decision says how long n1 had been above the
    // threshold, in the samples' own times — the hold, plus at most an interval and a round's work.
    const overFor = Number(new RegExp(`n1 above \\d+% for (\\d+) s: move ${moved}`).exec(decided ?? '')?.[1]);
    expect(overFor, decided).toBeGreaterThanOrEqual(HOLD);
    expect(overFor, decided).toBeLessThanOrEqual(HOLD + 2 * INTERVAL);
    // and the samples began soon after the resource started
    const firstSample = Date.parse(/^(\S+) n1 /m.exec(log)?.[1] ?? '');
    expect(firstSample - enabled).toBeLessThan(60_000);

    // Then two hold times more: nothing else moves (n1 is below the threshold; n3 flaps).
    await sleep(2 * HOLD * 1000 + 2 * INTERVAL * 1000);
    const after = await where();
    expect([...after].filter(([vm, node]) => (HOT.includes(vm) ? vm !== moved && node !== 'n1' : node !== 'n3'))).toEqual([]);
    const s = await status();
    expect(s.moves.map((m) => `${m.vm} ${m.from}→${m.to}`)).toEqual([`${moved} n1→n2`]);
    const full = await balancerLog();
    // Whenever n3 went over the threshold, the balancer said why it would not act. (Whether its
    // flapping guests get there at all depends on what two host cores give five burning TCG
    // guests; the rule itself is proved by the balancer scenarios, test/scenarios/balance/.)
    const n3Hot = full.split('\n').filter((l) => /: no move \(n3(, \S+)* above|: no move \(\S+, n3 above|n3 above \d+% for/.test(l));
    for (const l of n3Hot) expect(l).toMatch(/not yet 20 s|cover less than the hold time/);
    expect(full).not.toMatch(/move f\d/);
    if (n3Hot.length === 0) process.stderr.write(`balancer lab test: n3's flapping load stayed under ${threshold}% on this machine; the flap rule was not met here\n`);
    // live: no guest booted again; no constraint left behind
    for (const vm of [...HOT, ...FLAP]) expect(await boots(vm), `${vm} booted again`).toBe(bootsBefore.get(vm));
    const config = (await ok(clusterExec(n1, 'cibadmin', ['--query', '--scope', 'constraints']))).stdout;
    expect(config).not.toMatch(/corral-steer-|cli-prefer|cli-ban/);
  }, 600_000);

  it('disable stops the balancer; its record stays', async () => {
    await ok(inNode(n1, 'corral', ['balance', 'disable']));
    await waitClusterIdle(lab, { timeoutMs: 60_000 });
    const mon = (await ok(clusterExec(n1, 'crm_mon', ['-1', '--inactive']))).stdout;
    expect(mon).toMatch(/corral-balancer\s+\(ocf:corral:Balancer\):\s+Stopped \(disabled\)/);
    const text = (await inNode(n1, 'corral', ['balance', 'status', '--seconds', '2'])).stdout;
    expect(text).toContain('Balancer corral-balancer: disabled');
    expect(text).toMatch(/Moves in the last 24 h:\n\s+\S+\s+h\d n1 → n2/);
  }, 120_000);

  it('the watcher never saw a VM on two nodes, nor one vanish from the CIB', async () => {
    const report = await watcher.stop();
    expect(report.violations).toEqual([]);
  });
});
