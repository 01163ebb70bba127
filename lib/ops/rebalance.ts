// corral rebalance: the greedy plan of lib/plan/rebalance.ts on the cluster as it is, checked by
// Pacemaker's scheduler before anything moves, then carried out through Pacemaker.
//
// The check runs the plan as it would be run, round by round, on a copy of the CIB: each round's
// VMs get a temporary location hint (corral-steer-RSC-NODE, INFINITY) and crm_simulate must migrate
// each of them live to its planned node and touch nothing else; then the hints go and crm_simulate
// must do nothing at all (the VMs stay by stickiness). A move Pacemaker would not make that way
// (location rules, anti-affinity, capacity, orderings, priorities, too little stickiness) is
// rejected and the plan is made again without it, so the next best move takes its place.
//
// Running it: round by round, one CIB change adds the round's hints (the moves of a round touch
// disjoint nodes and migrate in parallel), corral watches until each VM runs on its new node and
// the cluster is idle, and one CIB change removes the hints again; then it checks that every VM
// stayed. A VM that was stopped and started instead of migrated live, a failed operation, or a VM
// that did not stay, is a failure, and no further round starts.
import { CorralError } from '../errors.js';
import { changeCib } from '../cib/change.js';
import { CibDoc } from '../cib/edit.js';
import { kid, nvpairs } from '../cib/model.js';
import type { Snapshot } from '../cluster/snapshot.js';
import { hostClusterPort, type ClusterPort } from '../host/pacemaker/cluster-port.js';
import { balanceModel, planRebalance, type PlanOptions, type RebalanceMove, type RebalancePlan } from '../plan/rebalance.js';
import { applySteering, arrival, steerId, type SteerHint } from './maintenance.js';
import { clusterWatch, snapshotOf, vmState, watch } from './wait.js';

/** Input the user must fix (exit 2); nothing was changed. */
class RebalanceInputError extends CorralError {
  readonly kind = 'refused';
  override name = 'RebalanceInputError';
}

/** Pacemaker has work of its own to do first (a transition under way, a node going into standby). */
class RebalanceNotIdleError extends CorralError {
  readonly kind = 'failed';
  override name = 'RebalanceNotIdleError';
}

/** How many times a plan is made again after crm_simulate rejected some of its moves. */
const MAX_REPLANS = 25;

export interface RebalanceOptions {
  maxMoves?: number;
  minGain?: number;
  /** Measured CPU load per VM (name → cores busy), when known. */
  load?: ReadonlyMap<string, number>;
}

export interface RebalanceCheck {
  plan: RebalancePlan;
  /** Moves crm_simulate rejected, and why; the plan was made again without them. */
  rejected: { vm: string; to: string; why: string }[];
  warnings: string[];
  /** crm_simulate runs the check took. */
  simulations: number;
}

/** resource-stickiness of each VM (its own meta attribute, else rsc_defaults; 0 when unset). */
function stickiness(snap: Snapshot): Map<string, number> {
  const defaults = nvpairs(kid(snap.cib.configuration, 'rsc_defaults'), 'meta_attributes');
  const out = new Map<string, number>();
  for (const r of snap.cib.resources) {
    const text = r.meta['resource-stickiness'] ?? r.meta['resource_stickiness'] ?? defaults['resource-stickiness'] ?? defaults['resource_stickiness'];
    const n = text === undefined ? 0 : /^\+?INFINITY$/i.test(text) ? Number.POSITIVE_INFINITY : Number(text);
    out.set(r.id, Number.isFinite(n) || n === Number.POSITIVE_INFINITY ? n : 0);
  }
  return out;
}

const hintsOf = (snap: Snapshot, moves: readonly Pick<RebalanceMove, 'vm' | 'to'>[]): SteerHint[] =>
  moves.map((m) => ({ rid: snap.view.vms.find((v) => v.name === m.vm)?.resource as string, node: m.to, score: 'INFINITY' }));

/** The part of a plan the check and the executor read: the moves, and the rounds they run in. */
type MovePlan = Pick<RebalancePlan, 'rounds'> & { moves: readonly Pick<RebalanceMove, 'vm' | 'from' | 'to'>[] };

interface Verdict {
  /** Rounds that passed, from the first. */
  passed: number;
  /** Moves to reject (empty when every round passed). */
  blame: { vm: string; to: string; why: string }[];
  simulations: number;
}

/** Runs PLAN round by round on a copy of SNAP's CIB (see the top of this file). */
async function verify(snap: Snapshot, plan: MovePlan, port: ClusterPort): Promise<Verdict> {
  {
    const nameOf = new Map(snap.view.vms.map((v) => [v.resource, v.name]));
    let xml = snap.xml;
    // Pacemaker has nothing to do now, or the check could not tell its actions from the plan's.
    const { sim: idle } = await port.simulate(xml);
    let simulations = 1;
    if (idle.actions.length) {
      const what = idle.actions.slice(0, 3).map((a) => `${a.action.toLowerCase()} ${nameOf.get(a.resource) ?? a.resource}${a.node ? ` on ${a.node}` : ''}`);
      throw new RebalanceNotIdleError(`the cluster is not idle: Pacemaker still has ${idle.actions.length} action${idle.actions.length === 1 ? '' : 's'} to carry out (${what.join(', ')}${idle.actions.length > 3 ? ', …' : ''}); run corral rebalance again once it is done`);
    }
    for (let r = 0; r < plan.rounds.length; r++) {
      const moves = (plan.rounds[r] as number[]).map((i) => plan.moves[i] as MovePlan['moves'][number]);
      const hints = hintsOf(snap, moves);
      const byRsc = new Map(hints.map((h, i) => [h.rid, moves[i] as MovePlan['moves'][number]]));
      const steered = CibDoc.parse(xml);
      applySteering(steered, hints);
      const { sim, after: moved } = await port.simulate(steered.toXml(), { output: true });
      simulations++;
      const blame: Verdict['blame'] = [];
      const blameNear = (nodes: readonly string[], why: string) => {
        const near = moves.filter((m) => nodes.includes(m.from) || nodes.includes(m.to));
        for (const m of near.length ? near : moves) blame.push({ vm: m.vm, to: m.to, why });
      };
      for (const [rid, m] of byRsc) {
        const after = sim.placement.get(rid) ?? [];
        const acts = sim.actions.filter((a) => a.resource === rid).map((a) => a.action.toLowerCase());
        if (after.length !== 1 || after[0] !== m.to) blame.push({ vm: m.vm, to: m.to, why: `Pacemaker would ${after.length ? `place it on ${after.join(', ')}` : 'stop it'}, not on ${m.to} (location rules, anti-affinity or capacity)` });
        else if (!acts.includes('migrate')) blame.push({ vm: m.vm, to: m.to, why: `Pacemaker would stop it and start it on ${m.to}, not migrate it live (allow-migrate is off, or an ordering)` });
      }
      for (const a of sim.actions) {
        if (byRsc.has(a.resource)) continue;
        const who = nameOf.get(a.resource) ?? a.resource;
        blameNear([a.node, a.source].filter((n): n is string => n !== undefined), `moving it would make Pacemaker ${a.action.toLowerCase()} ${who}${a.node ? ` on ${a.node}` : ''}`);
      }
      if (blame.length) return { passed: r, blame, simulations };
      // The hints go: nothing may happen then.
      const released = CibDoc.parse(moved as string);
      applySteering(released, hints, true);
      const { sim: sim2 } = await port.simulate(released.toXml());
      simulations++;
      for (const a of sim2.actions) {
        const m = byRsc.get(a.resource);
        if (m) blame.push({ vm: m.vm, to: m.to, why: `Pacemaker would ${a.action.toLowerCase()} it away from ${m.to} once its hint is removed (its stickiness does not outweigh its other scores there)` });
        else blameNear([a.node, a.source].filter((n): n is string => n !== undefined), `once the hints are removed Pacemaker would ${a.action.toLowerCase()} ${nameOf.get(a.resource) ?? a.resource}`);
      }
      if (blame.length) return { passed: r, blame, simulations };
      xml = released.toXml();
    }
    return { passed: plan.rounds.length, blame: [], simulations };
  }
}

/**
 * Whether Pacemaker would make exactly these moves (one round, on a copy of SNAP's CIB) and keep
 * the VMs there once the hints are gone: the reasons it would not, none when it would. Throws
 * RebalanceNotIdleError when Pacemaker still has work of its own. The load balancer asks this.
 */
export async function checkMoves(snap: Snapshot, moves: readonly Pick<RebalanceMove, 'vm' | 'from' | 'to'>[], port: ClusterPort = hostClusterPort()): Promise<{ vm: string; to: string; why: string }[]> {
  return (await verify(snap, { moves, rounds: [moves.map((_m, i) => i)] }, port)).blame;
}

function checkOptions(opts: RebalanceOptions): void {
  if (opts.maxMoves !== undefined && (!Number.isInteger(opts.maxMoves) || opts.maxMoves < 0)) throw new RebalanceInputError(`--max-moves ${opts.maxMoves}: a whole number, 0 or more`);
  if (opts.minGain !== undefined && !(Number.isFinite(opts.minGain) && opts.minGain >= 0)) throw new RebalanceInputError(`--min-gain ${opts.minGain}: a number, 0 or more`);
}

/** The rebalance plan for SNAP, every round of it checked with crm_simulate. */
export async function planRebalanceOf(snap: Snapshot, opts: RebalanceOptions = {}, port: ClusterPort = hostClusterPort()): Promise<RebalanceCheck> {
  checkOptions(opts);
  const model = balanceModel(snap.view, { load: opts.load });
  const planOpts: PlanOptions = {};
  if (opts.maxMoves !== undefined) planOpts.maxMoves = opts.maxMoves;
  if (opts.minGain !== undefined) planOpts.minGain = opts.minGain;
  const rejected = new Map<string, { vm: string; to: string; why: string }>();
  let simulations = 0;
  let gaveUp = false;
  let plan = planRebalance(model, planOpts);
  for (let attempt = 0; ; attempt++) {
    if (plan.moves.length === 0) break;
    const v = await verify(snap, plan, port);
    simulations += v.simulations;
    if (v.blame.length === 0) break;
    for (const b of v.blame) rejected.set(`${b.vm}>${b.to}`, b);
    if (attempt + 1 >= MAX_REPLANS) {
      // No plan Pacemaker accepts as a whole after so many: nothing is planned (the rejections say why).
      plan = planRebalance(model, { ...planOpts, maxMoves: 0 });
      gaveUp = true;
      break;
    }
    plan = planRebalance(model, { ...planOpts, rejected: new Set(rejected.keys()) });
  }
  const warnings: string[] = [];
  if (gaveUp) warnings.push(`crm_simulate rejected a move in each of ${MAX_REPLANS} plans in a row: no move is planned (see rejected)`);
  const sticky = stickiness(snap);
  const loose = plan.moves.filter((m) => (sticky.get(snapVm(snap, m.vm)) ?? 0) <= 0).map((m) => m.vm);
  if (loose.length) warnings.push(`${loose.join(', ')} ${loose.length === 1 ? 'has' : 'have'} no resource-stickiness: Pacemaker keeps ${loose.length === 1 ? 'it' : 'them'} on the new node only while nothing scores another node higher (set resource-stickiness in rsc_defaults, e.g. crm configure rsc_defaults resource-stickiness=100)`);
  if (plan.stranded.length) warnings.push(`no allowed move takes ${plan.stranded.join(', ')} off nodes that take no VMs (standby, maintenance, down)`);
  return { plan, rejected: [...rejected.values()], warnings, simulations };
}

function snapVm(snap: Snapshot, name: string): string {
  return snap.view.vms.find((v) => v.name === name)?.resource ?? name;
}

interface MoveOutcome {
  vm: string;
  from: string;
  to: string;
  seconds: number;
  /** migrated: live; restarted: stopped and started there; elsewhere: did not stay there. */
  how: 'migrated' | 'restarted' | 'elsewhere';
}

export interface RebalanceOutcome {
  ok: boolean;
  moved: MoveOutcome[];
  /** Planned moves that were not started (a round before them failed). */
  notRun: { vm: string; from: string; to: string }[];
  /** Failed operations seen while moving. */
  failures: string[];
  problems: string[];
  seconds: number;
}

export interface ExecOptions {
  progress: (line: string) => void;
  /** Per round (default 10 minutes). */
  timeoutMs?: number;
  pollMs?: number;
  /** The cluster (default: this host's, hostClusterPort). */
  cluster?: ClusterPort;
}


/** Waits until Pacemaker is done (lib/ops/wait.ts's rule), at most MS; whether it is. */
async function settle(port: ClusterPort, ms: number, vms: readonly string[]): Promise<boolean> {
  const { end } = await watch(clusterWatch(port), { timeoutMs: ms, idle: true }, (snap) => ({
    done: true,
    state: vms.map((rid) => vmState(snap.view.byResource.get(rid))).join(' '),
  }));
  return end === 'done';
}

/** Carries out CHECK's plan (made from SNAP), round by round; stops after the first round with a failure. */
export async function runRebalance(check: { plan: MovePlan }, snap: Snapshot, opts: ExecOptions): Promise<RebalanceOutcome> {
  const port = opts.cluster ?? hostClusterPort();
  const t0 = port.now();
  const { plan } = check;
  const moved: MoveOutcome[] = [];
  const failures: string[] = [];
  const problems: string[] = [];
  // Interrupted (Ctrl-C, a stop): the hints of the round under way go before the process does, so
  // that no constraint is left behind; the migrations already started finish under Pacemaker and
  // the VMs stay where they are by stickiness. Run it again to go on.
  let live: SteerHint[] = [];
  // The CIB change that adds a round's hints, while it is under way: a signal waits for it, so
  // that the removal cannot come first and find nothing to remove.
  let adding: Promise<unknown> | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    opts.progress(`${signal}: removing the hints of the round under way and stopping (run corral rebalance again to go on)`);
    void (async () => {
      await adding?.catch(() => undefined);
      await changeCib(port.cib, (cd) => (applySteering(cd, live, true), { notes: [], warnings: [] }));
    })()
      .catch((e: unknown) => opts.progress(`could not remove the steering hints ${live.map(steerId).join(', ')}: ${(e as Error).message}`))
      .finally(() => process.exit(1));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await runRounds();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  async function runRounds(): Promise<RebalanceOutcome> {
    let r = 0;
    for (; r < plan.rounds.length && problems.length === 0 && failures.length === 0; r++) {
      const moves = (plan.rounds[r] as number[]).map((i) => plan.moves[i] as MovePlan['moves'][number]);
      const hints = hintsOf(snap, moves);
      const roundStart = port.now();
      const since = Math.floor(roundStart / 1000);
      if (interrupted) break;
      live = hints;
      adding = changeCib(port.cib, (cd) => (applySteering(cd, hints), { notes: [], warnings: [] }));
      await adding;
      adding = undefined;
      opts.progress(`round ${r + 1}/${plan.rounds.length}: ${moves.map((m) => `${m.vm} ${m.from} → ${m.to}`).join(', ')}`);
      const pending = new Map(hints.map((h, i) => [h.rid, moves[i] as MovePlan['moves'][number]]));
      const seen = new Set<string>();
      try {
        // Pacemaker done with a VM pending (lib/ops/wait.ts's rule, asked after the hints are in
        // the CIB): the round is over all the same (a node lost midway, a move it gave up on).
        const { end, last } = await watch(
          clusterWatch(port),
          { timeoutMs: opts.timeoutMs ?? 10 * 60_000, pollMs: opts.pollMs ?? 1000, idle: true },
          (now) => {
            for (const [rid, m] of [...pending]) {
              const v = now.view.byResource.get(rid);
              const f = v?.lastFailure;
              if (f && (f.at ?? 0) >= since - 1 && !seen.has(`${rid}:${f.node}:${f.operation}:${f.at}`)) {
                seen.add(`${rid}:${f.node}:${f.operation}:${f.at}`);
                failures.push(`${m.vm}: ${f.operation} failed on ${f.node} (rc ${f.rc}${f.reason ? `: ${f.reason}` : ''})`);
                opts.progress(`${m.vm}: ${f.operation} failed on ${f.node}`);
              }
              if (!v) continue;
              const seconds = (port.now() - roundStart) / 1000;
              if (v.state === 'running' && v.nodes.length === 1 && v.node === m.to) {
                const how = arrival(now, rid, m.to, since) ?? 'restarted';
                moved.push({ vm: m.vm, from: m.from, to: m.to, seconds, how });
                pending.delete(rid);
                opts.progress(`  ${m.vm}: ${m.from} → ${m.to} (${how === 'migrated' ? 'live migration' : 'stopped and started, not live'}, ${seconds.toFixed(1)} s)`);
              }
              // Anything else (stopped, on another node) is judged only once Pacemaker is done: a
              // recovery passes through "stopped" on its way to a start.
            }
            return { done: pending.size === 0, state: hints.map((h) => vmState(now.view.byResource.get(h.rid))).join(' ') };
          },
        );
        if (end === 'settled') {
          for (const [rid, m] of pending) {
            const v = last.view.byResource.get(rid);
            problems.push(`${m.vm} did not reach ${m.to}: Pacemaker is done and it ${v?.nodes.length ? `runs on ${v.nodes.join(', ')}` : 'runs nowhere'}`);
          }
        } else if (end === 'timeout') {
          for (const m of pending.values()) problems.push(`${m.vm} did not reach ${m.to} within ${Math.round((port.now() - roundStart) / 1000)} s`);
        }
      } finally {
        await changeCib(port.cib, (cd) => (applySteering(cd, hints, true), { notes: [], warnings: [] })).catch((e: unknown) =>
          problems.push(`could not remove the steering hints ${hints.map(steerId).join(', ')}: ${(e as Error).message}`),
        );
        live = [];
      }
      // With the hints gone the VMs must stay (stickiness).
      if (!(await settle(port, 60_000, hints.map((h) => h.rid)))) problems.push('the cluster did not settle within 60 s after the hints were removed');
      const after = await snapshotOf(port);
      for (const o of moved.filter((x) => moves.some((m) => m.vm === x.vm))) {
        const v = after.view.vms.find((x) => x.name === o.vm);
        if (o.how === 'restarted') problems.push(`${o.vm} was stopped and started on ${o.to}, not migrated live`);
        else if (v?.node !== o.to) {
          o.how = 'elsewhere';
          problems.push(`${o.vm} did not stay on ${o.to} once its hint was removed (it runs on ${v?.node ?? 'no node'})`);
        }
      }
    }
    const notRun = plan.rounds
      .slice(r)
      .flat()
      .map((i) => plan.moves[i] as MovePlan['moves'][number])
      .map((m) => ({ vm: m.vm, from: m.from, to: m.to }));
    return { ok: failures.length === 0 && problems.length === 0, moved, notRun, failures, problems, seconds: (port.now() - t0) / 1000 };
  }
}
