// The executors as scenario folders (test/scenarios/ops/<case>/), run on the simulated cluster
// (test/support/sim-cluster.ts: Pacemaker's own scheduler on a CIB file, a virtual clock, faults):
//   cluster       the folder, under test/scenarios/, of the cluster it starts from: its spec.txt is
//                 the cluster as text (test/scenarios/build.ts's lines, copied to the log's top),
//                 its cib.xml built from that (the planners' scenario clusters are reused; a new
//                 one: a folder under ops/_clusters/ with a spec.txt, then
//                 npm run build && npx tsx test/scenarios/build.ts test/scenarios/ops/_clusters/NAME)
//   cmd           the commands, one a line, run one after the other on the same cluster:
//                 drain N... [--parallel P] [--force] | undrain N [--return] |
//                 rebalance [--max-moves M] | rolling-reboot [--nodes N,...] [--resume] | balance ROUNDS
//   faults        (optional) what goes wrong (sim-cluster.ts's fault lines)
//   load          (optional, balance) each VM's CPU load in cores: "a=1.5 b=0.2"
//   expected.log  every step: the CIB writes, the transitions Pacemaker ran, the executor's own
//                 lines, its outcome and where every VM ended
// CORRAL_SCENARIO_WRITE=1 npx vitest run test/scenarios/ops.test.ts writes the logs anew (read the
// diff before committing it). The real side of the port is proven by the lab tests
// (test/cluster/maintenance.test.ts, test/cluster/rebalance.test.ts).
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { drainNodes, planDrainOf, planUndrainOf, undrainNode } from '../../lib/ops/maintenance.js';
import type { NodeSample } from '../../lib/cluster/facts.js';
import type { DomainCounters } from '../../lib/cluster/libvirt.js';
import { checkMove, clusterBusy, moveLive, runBalancer } from '../../lib/ops/balance.js';
import type { Config } from '../../lib/ops/config.js';
import { DEFAULT_BALANCER } from '../../lib/plan/balance.js';
import { planRebalanceOf, runRebalance } from '../../lib/ops/rebalance.js';
import { execRollingReboot, parseProgress, planRollingReboot, PROGRESS_OPTION } from '../../lib/ops/rolling.js';
import { snapshotOf } from '../../lib/ops/wait.js';
import { parseFaults, simCluster, type SimCluster } from '../support/sim-cluster.js';

const HERE = join(new URL('.', import.meta.url).pathname, 'ops');
const cases = (await readdir(HERE, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('_')).map((d) => d.name).sort();
const write = Boolean(process.env.CORRAL_SCENARIO_WRITE);

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : (args[i + 1] ?? '');
}

/** Where every VM runs and which nodes are not plainly online, for the log's last line. */
async function placement(sim: SimCluster): Promise<string> {
  const snap = await snapshotOf(sim);
  const vms = snap.view.vms.map((v) => `${v.name}@${v.nodes.join('+') || '-'}${v.state === 'running' ? '' : `(${v.state})`}`);
  const nodes = snap.view.hosts.filter((h) => !h.online || h.standby).map((h) => `${h.name}:${h.online ? 'standby' : 'offline'}`);
  const opts = Object.entries(snap.cib.options).filter(([k]) => k.startsWith('corral-') || k === 'migration-limit').map(([k, v]) => `${k}=${v}`);
  const left = snap.cib.constraints.map((c) => c.attrs.id ?? '').filter((id) => id.startsWith('corral-'));
  return [`vms ${vms.join(' ')}`, nodes.length ? `nodes ${nodes.join(' ')}` : '', opts.length ? `options ${opts.join(' ')}` : '', left.length ? `constraints ${left.join(' ')}` : ''].filter(Boolean).join('; ');
}

async function runCommand(sim: SimCluster, cmd: string[], say: (line: string) => void, load: Record<string, number>): Promise<void> {
  const [what, ...args] = cmd;
  const progress = (l: string) => say(l);
  switch (what) {
    case 'drain': {
      const nodes = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--parallel'));
      const parallel = flag(args, '--parallel');
      const snap = await snapshotOf(sim);
      const check = await planDrainOf(snap, nodes, [], sim);
      for (const m of check.plan.moves) say(`plan: ${m.vm} ${m.from} → ${m.to}${m.live ? '' : ' (not live)'}`);
      for (const s of check.plan.stops) say(`plan: ${s.vm} stops (${s.why})`);
      for (const w of check.warnings) say(`warning: ${w}`);
      if (check.plan.stops.length && !args.includes('--force')) {
        say('refused: the drain would stop VMs (--force goes ahead)');
        return;
      }
      const r = await drainNodes(nodes, check, snap, { progress, cluster: sim, ...(parallel ? { parallel: Number(parallel) } : {}) });
      say(`outcome: ${JSON.stringify(r)}`);
      return;
    }
    case 'undrain': {
      const node = args.find((a) => !a.startsWith('--')) as string;
      const ret = args.includes('--return');
      const check = await planUndrainOf(await snapshotOf(sim), node, ret, sim);
      for (const m of check.back) say(`plan: ${m.vm} ${m.from} → ${m.to}${m.live ? '' : ' (not live)'}`);
      for (const s of check.stay) say(`plan: ${s.vm} stays (${s.why})`);
      const r = await undrainNode(check, { returnVms: ret, progress, cluster: sim });
      say(`outcome: ${JSON.stringify(r)}`);
      return;
    }
    case 'rebalance': {
      const max = flag(args, '--max-moves');
      const snap = await snapshotOf(sim);
      const check = await planRebalanceOf(snap, max ? { maxMoves: Number(max) } : {}, sim);
      for (const m of check.plan.moves) say(`plan: ${m.vm} ${m.from} → ${m.to}`);
      say(`plan: rounds ${JSON.stringify(check.plan.rounds)}`);
      for (const x of check.rejected) say(`rejected: ${x.vm} → ${x.to}: ${x.why}`);
      for (const w of check.warnings) say(`warning: ${w}`);
      const r = await runRebalance(check, snap, { progress, cluster: sim });
      say(`outcome: ${JSON.stringify(r)}`);
      return;
    }
    case 'rolling-reboot': {
      const snap = await snapshotOf(sim);
      const config = { rebootCommand: ['ssh', '{node}', 'reboot'], libvirtUri: 'qemu+tcp://{node}/system' } as Config;
      const recorded = parseProgress(snap.cib.options[PROGRESS_OPTION]);
      let turns: string[][];
      if (args.includes('--resume')) {
        say(`recorded: ${recorded.map((p) => `${p.nodes.join(',')}:${p.state}`).join(' ') || 'nothing'}`);
        turns = recorded.map((p) => p.nodes);
      } else {
        const nodes = flag(args, '--nodes');
        const plan = await planRollingReboot(snap, { cluster: sim, ...(nodes ? { nodes: nodes.split(',') } : {}) });
        for (const st of plan.steps) say(`plan: ${st.node}${st.dc ? ' (DC)' : ''}: ${st.moves.map((m) => `${m.vm} → ${m.to}`).join(', ') || 'no VM'}${st.stops.length ? `; stops ${st.stops.map((x) => x.vm).join(', ')}` : ''}`);
        turns = plan.order.map((n) => [n]);
      }
      const r = await execRollingReboot(turns, args.includes('--resume') ? recorded : undefined, { config, progress, cluster: sim, force: args.includes('--force') });
      say(`outcome: ${JSON.stringify(r)}`);
      return;
    }
    case 'balance': {
      // libvirt's counters: each VM burns its load (cores) wherever it runs, on the virtual clock.
      const busy = new Map<string, number>();
      let last = sim.now();
      const burn = () => {
        for (const [vm, cores] of Object.entries(load)) busy.set(vm, (busy.get(vm) ?? 0) + cores * (sim.now() - last) * 1e6);
        last = sim.now();
      };
      const read = async (): Promise<NodeSample[]> => {
        burn();
        const snap = await snapshotOf(sim);
        return snap.view.hosts
          .filter((h) => h.online)
          .map((h) => ({
            node: h.name,
            at: sim.now(),
            domains: snap.view.vms.filter((v) => v.state === 'running' && v.node === h.name).map((v) => ({ name: v.name, state: 1, cpuTimeNs: busy.get(v.name) ?? 0, vcpus: v.vcpus }) as DomainCounters),
            cpu: null,
            memory: null,
            problems: [],
          }));
      };
      const d = await runBalancer({
        settings: { ...DEFAULT_BALANCER, thresholdPct: 60, holdS: 60, intervalS: 10, cooldownS: 600 },
        read,
        snapshot: () => snapshotOf(sim),
        check: (snap, vm, from, to) => checkMove(snap, vm, from, to, sim),
        move: (snap, vm, from, to) => moveLive(snap, vm, from, to, progress, sim),
        busy: (snap) => clusterBusy(snap, sim),
        cluster: sim,
        log: progress,
        now: () => Math.floor(sim.now() / 1000),
        sleep: (ms) => sim.sleep(ms),
        rounds: Number(args[0] ?? 10),
      });
      say(`last decision: ${d?.move ? `${d.move.vm} ${d.move.from} → ${d.move.to}` : 'no move'} (${d?.reason ?? 'none'})`);
      return;
    }
    default:
      throw new Error(`unknown command: ${cmd.join(' ')}`);
  }
}

async function runCase(folder: string): Promise<string> {
  const read = async (f: string) => (existsSync(join(folder, f)) ? readFile(join(folder, f), 'utf8') : '');
  const cluster = join(HERE, '..', (await read('cluster')).trim());
  const spec = await readFile(join(cluster, 'spec.txt'), 'utf8');
  const sim = await simCluster(await readFile(join(cluster, 'cib.xml'), 'utf8'), parseFaults(await read('faults')));
  const stamp = () => `[${((sim.now() - Date.UTC(2030, 0, 1)) / 1000).toFixed(1).padStart(6)}s]`;
  // A process that was interrupted says nothing more.
  const say = (line: string) => void (sim.dead() ? undefined : sim.log.push(`${stamp()} ${line}`));
  try {
    const lines = spec.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
    sim.log.push(`cluster: ${lines.join(' | ')}`);
    const faults = (await read('faults')).split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
    if (faults.length) sim.log.push(`faults: ${faults.join(' | ')}`);
    let interrupted = false;
    for (const line of (await read('cmd')).split('\n').map((l) => l.trim()).filter(Boolean)) {
      const cmd = line.split(/\s+/);
      // After an interrupted command the next one is a new process, once the cluster ran on.
      if (interrupted) await sim.revive(60_000);
      interrupted = false;
      say(`$ ${cmd.join(' ')}`);
      try {
        await runCommand(sim, cmd, say, Object.fromEntries((await read('load')).split(/\s+/).filter(Boolean).map((w) => [w.split('=')[0] as string, Number(w.split('=')[1])])));
      } catch (e) {
        say(`error (${(e as Error).name}): ${(e as Error).message}`);
      }
      if (sim.dead()) {
        await sim.revive(0);
        interrupted = true;
        say(`end (interrupted): ${await placement(sim)}`);
      } else say(`end: ${await placement(sim)}`);
    }
    return `${sim.log.join('\n')}\n`;
  } finally {
    await sim.close();
  }
}

describe.concurrent('ops scenarios (simulated cluster)', () => {
  it('there are at least 40 of them', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)('%s', async (name) => {
    const folder = join(HERE, name);
    const log = await runCase(folder);
    const file = join(folder, 'expected.log');
    if (write) await writeFile(file, log);
    else if (!existsSync(file)) {
      await writeFile(file, log);
      throw new Error(`${name} had no expected.log: written now; read it, then commit it`);
    }
    expect(log).toBe(await readFile(file, 'utf8'));
  }, 600_000);
});
