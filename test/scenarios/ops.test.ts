// The executors as scenario folders (test/scenarios/ops/<case>/), run on the simulated cluster
// (test/support/sim-cluster.ts: Pacemaker's own scheduler on a CIB file, a virtual clock, faults):
//   cluster       the folder, under test/scenarios/, of the cluster it starts from: its spec.txt is
//                 the cluster as text (test/scenarios/build.ts's lines, copied to the log's top),
//                 its cib.xml built from that (the planners' scenario clusters are reused; a new
//                 one: a folder under ops/_clusters/ with a spec.txt, then
//                 npm run build && npx tsx test/scenarios/build.ts test/scenarios/ops/_clusters/NAME)
//   cmd           the commands, one a line, run one after the other on the same cluster, each
//                 as its corral command runs it (the Operation and its runner, lib/ops/operation.ts:
//                 the plan's text, the lock, --force, --dry-run, hooks, the outcome and exit code):
//                 drain N... [--parallel P] [--force] [--dry-run] | undrain N [--return] [--dry-run] |
//                 rebalance [--max-moves M] [--dry-run] |
//                 rolling-reboot [--nodes N,...] [--groups] [--resume] [--force] [--dry-run] |
//                 vm start|stop|restart|clear NAME [--no-wait] | vm migrate NAME [NODE] | vm priority NAME N |
//                 balance ROUNDS
//   hooks         (optional) the operator's hooks, scripted: "veto POINT-pre [NODE] [: REASON]"
//                 vetoes POINT's pre hook (for NODE only, when named), "fail POINT-post" fails a
//                 post hook; every hook run is a line of the log
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
import { HookVeto, Hooks, type HookContext } from '../../lib/ops/hooks.js';
import { runOperation, type Operation, type OperationIo, type Outcome } from '../../lib/ops/operation.js';
import { drainOperation } from '../../lib/ops/operations/drain.js';
import { rebalanceOperation } from '../../lib/ops/operations/rebalance.js';
import { rollingRebootOperation } from '../../lib/ops/operations/rolling-reboot.js';
import { undrainOperation } from '../../lib/ops/operations/undrain.js';
import type { NodeSample } from '../../lib/cluster/facts.js';
import type { DomainCounters } from '../../lib/cluster/libvirt.js';
import { checkMove, clusterBusy, moveLive, runBalancer } from '../../lib/ops/balance.js';
import type { Config } from '../../lib/ops/config.js';
import { DEFAULT_BALANCER } from '../../lib/plan/balance.js';
import { parseProgress, PROGRESS_OPTION } from '../../lib/ops/rolling.js';
import type { Context } from '../../lib/ops/context.js';
import * as vmRequests from '../../lib/ops/pacemaker.js';
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

/** The operator's hooks as the scenario's hooks file scripts them: a line per hook run, vetoes and failures as asked. */
class ScriptedHooks extends Hooks {
  constructor(
    private readonly rules: string[],
    private readonly say: (line: string) => void,
  ) {
    super({ dir: '/nonexistent', timeoutMs: 1000, user: 'root', say, log: async () => undefined });
  }

  private rule(kind: string, point: string, phase: string, ctx: HookContext): string | undefined {
    for (const r of this.rules) {
      const m = /^(\w+)\s+([a-z-]+)-(pre|post)(?:\s+([^:\s]+))?\s*(?::\s*(.*))?$/.exec(r);
      if (m && m[1] === kind && m[2] === point && m[3] === phase && (!m[4] || ctx.nodes?.includes(m[4]))) return m[5] ?? `${kind} by the scenario`;
    }
    return undefined;
  }

  override async pre(point: string, ctx: HookContext): Promise<void> {
    this.say(`hook ${point}-pre.d: nodes=${ctx.nodes?.join(',') ?? ''} vms=${ctx.vms?.join(',') ?? ''}${ctx.dryRun ? ' dry-run' : ''}`);
    const veto = this.rule('veto', point, 'pre', ctx);
    if (veto) throw new HookVeto(`vetoed by hook ${point}-pre.d/scripted (exit status 1): ${veto}; nothing was done`);
  }

  override async post(point: string, ctx: HookContext, ok = true): Promise<string[]> {
    this.say(`hook ${point}-post.d: nodes=${ctx.nodes?.join(',') ?? ''} result=${ok ? 'ok' : 'failed'}`);
    const fail = this.rule('fail', point, 'post', ctx);
    if (!fail) return [];
    const line = `hook ${point}-post.d/scripted failed (exit status 1): ${fail}; the ${point} stands as done`;
    this.say(`stderr: ${line}`);
    return [line];
  }
}

async function runCommand(sim: SimCluster, cmd: string[], say: (line: string) => void, load: Record<string, number>, hooks: Hooks): Promise<void> {
  const [what, ...args] = cmd;
  const progress = (l: string) => say(l);
  const lines = (prefix: string) => (text: string) => text.replace(/\n$/, '').split('\n').forEach((l) => say(`${prefix}${l}`));
  const io: OperationIo = { out: lines(''), err: lines('stderr: '), json: (v) => say(`json: ${JSON.stringify(v)}`) };
  const flags = { dryRun: args.includes('--dry-run'), force: args.includes('--force'), json: false, io, cluster: sim, hooks };
  const names = args.filter((a, i) => !a.startsWith('--') && !/^--(parallel|max-moves|nodes)$/.test(args[i - 1] ?? ''));
  const run = async <P, R extends Outcome>(op: Operation<P, R>, o = flags) => {
    const { code, result } = await runOperation(op, o);
    if (result) say(`outcome: ${JSON.stringify(result)}`);
    say(`exit ${code}`);
  };
  switch (what) {
    case 'drain': {
      const parallel = flag(args, '--parallel');
      return run(drainOperation({ nodes: names, cluster: sim, ...(parallel ? { parallel: Number(parallel) } : {}) }));
    }
    case 'undrain':
      return run(undrainOperation({ node: names[0] as string, returnVms: args.includes('--return'), cluster: sim }));
    case 'rebalance': {
      const max = flag(args, '--max-moves');
      return run(rebalanceOperation({ cluster: sim, ...(max ? { maxMoves: Number(max) } : {}) }));
    }
    case 'rolling-reboot': {
      const config = { rebootCommand: ['ssh', '{node}', 'reboot'], libvirtUri: 'qemu+tcp://{node}/system' } as Config;
      const nodes = flag(args, '--nodes');
      const resume = args.includes('--resume');
      if (resume) say(`recorded: ${parseProgress((await snapshotOf(sim)).cib.options[PROGRESS_OPTION]).map((p) => `${p.nodes.join(',')}:${p.state}`).join(' ') || 'nothing'}`);
      const op = rollingRebootOperation({ groups: args.includes('--groups'), resume, force: flags.force, config, hooks, cluster: sim, ...(nodes ? { nodes: nodes.split(',') } : {}) });
      // Without --exec a rolling reboot only plans: the scenarios carry it out unless --dry-run.
      return run(op);
    }
    case 'vm': {
      // vm ACTION NAME [ARG]: the request to Pacemaker and the wait, as vm makes them (lib/ops/pacemaker.ts).
      const [action, name, arg] = args;
      const snapshot = await snapshotOf(sim);
      const vm = snapshot.view.vms.find((v) => v.name === name);
      if (!vm) throw new Error(`no VM ${name}`);
      const ctx = {
        config: { moveLifetime: 'PT10M' } as Config,
        snapshot,
        io: { out: lines(''), err: lines('stderr: '), confirm: async () => false, interactive: false },
        options: { yes: true, wait: !args.includes('--no-wait'), json: false, log: false, force: false },
        cluster: sim,
      } as unknown as Context;
      const outcomes =
        action === 'start' ? await vmRequests.start(ctx, [vm])
        : action === 'stop' ? await vmRequests.stop(ctx, [vm])
        : action === 'restart' ? await vmRequests.restart(ctx, [vm])
        : action === 'migrate' ? await vmRequests.migrate(ctx, [vm], arg && !arg.startsWith('--') ? arg : undefined)
        : action === 'clear' ? await vmRequests.clear(ctx, [vm])
        : action === 'priority' ? await vmRequests.priority(ctx, [vm], Number(arg))
        : undefined;
      if (!outcomes) throw new Error(`unknown vm action: ${action}`);
      for (const o of outcomes) say(`outcome: ${o.vm} ${o.ok ? 'ok' : 'FAILED'}${o.node ? ` on ${o.node}` : ''}: ${o.message}`);
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
    const hookRules = (await read('hooks')).split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
    if (hookRules.length) sim.log.push(`hooks: ${hookRules.join(' | ')}`);
    const hooks = new ScriptedHooks(hookRules, say);
    let interrupted = false;
    for (const line of (await read('cmd')).split('\n').map((l) => l.trim()).filter(Boolean)) {
      const cmd = line.split(/\s+/);
      // After an interrupted command the next one is a new process, once the cluster ran on.
      if (interrupted) await sim.revive(60_000);
      interrupted = false;
      say(`$ ${cmd.join(' ')}`);
      try {
        await runCommand(sim, cmd, say, Object.fromEntries((await read('load')).split(/\s+/).filter(Boolean).map((w) => [w.split('=')[0] as string, Number(w.split('=')[1])])), hooks);
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
