// corral rolling-reboot: every node in turn drained, rebooted, back in the cluster and undrained,
// with every VM running throughout and moved as few times as possible.
//
// The plan is Pacemaker's, step by step, on a copy of the CIB: for node X, crm_simulate with X in
// standby and, for the VMs leaving X, a preference (a location hint of STEER_SCORE) for the nodes
// already rebooted — so that Pacemaker puts them where they will not have to move again, when
// capacity allows; then X comes back empty, and the next step starts from that simulated state.
// The order: the nodes with the fewest VMs first (their VMs are the ones that may have to move
// twice), the node running the command and the DC last (the DC last, as the issue of moving the
// DC around is a new election each time).
//
// Execution (--exec) does exactly those steps through Pacemaker: the drain of lib/ops/maintenance.ts
// with the hints, the reboot (reboot_command of corral.conf), the wait until the node is back in
// Pacemaker and its libvirt answers, the undrain. Progress lives in the CIB (the cluster option
// corral-rolling-reboot: NODE:STATE words), so an interrupted run, or one whose own node was
// rebooted by the plan, continues with --resume.
//
// The operator's hooks node-reboot-pre.d and -post.d (lib/ops/hooks.ts) run around each turn, with
// CORRAL_NODES the turn's node (its nodes, with --groups): pre before its drain starts — a veto
// stops the run there, nothing of that turn changed, the progress kept for --resume — and post
// once it is undrained.
import { changeCib } from '../cib/change.js';
import { CibDoc } from '../cib/edit.js';
import { DRAINED_ATTR, setClusterOption, setNodeAttribute } from '../cib/nodes.js';
import { takeSnapshot, type Snapshot } from '../cluster/snapshot.js';
import { configNodes } from '../cluster/view.js';
import { hostClusterPort, type ClusterPort } from '../host/pacemaker/cluster-port.js';
import { planDrain, type PlannedMove, type PlannedStop } from '../plan/drain.js';
import { groupNodes, quorate } from '../plan/rolling-groups.js';
import { commandFor, nodeUri, type Config } from './config.js';
import { HookVeto, type Hooks } from './hooks.js';
import { applySteering, drainNodes, MaintenanceInputError, placeLocalDisks, planDrainOf, planUndrainOf, undrainNode, type SteerHint } from './maintenance.js';
import { snapshotOf } from './wait.js';

export const PROGRESS_OPTION = 'corral-rolling-reboot';
const BOOT_MARK = 'corral-boot-mark';
/** How much a leaving VM prefers a node that was already rebooted (stickiness is 100 in the lab). */
const STEER_SCORE = '1000';

type StepState = 'pending' | 'draining' | 'rebooting' | 'done';

interface RollingStep {
  node: string;
  dc: boolean;
  moves: PlannedMove[];
  stops: PlannedStop[];
}

export interface RollingPlan {
  order: string[];
  steps: RollingStep[];
  /** Nodes not rebooted: offline (named with the reason). */
  skipped: { node: string; why: string }[];
  migrations: number;
  vms: number;
  migrationsPerVm: number;
}

function sortNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** One turn of a run as recorded: its node, or its group's nodes, and how far it got. */
export interface TurnProgress {
  nodes: string[];
  state: StepState;
}

/**
 * Progress as stored in the CIB: "n2:done n3:rebooting n1:pending" (in the order of the plan); a
 * group of --groups is its nodes joined by commas ("n1,n2:draining n3:pending").
 */
export function parseProgress(text: string | undefined): TurnProgress[] {
  if (!text) return [];
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => {
      const cut = w.lastIndexOf(':');
      const nodes = cut > 0 ? w.slice(0, cut).split(',') : [];
      const state = cut > 0 ? w.slice(cut + 1) : '';
      if (nodes.length === 0 || nodes.some((n) => !n) || !['pending', 'draining', 'rebooting', 'done'].includes(state)) throw new Error(`the CIB's ${PROGRESS_OPTION} is not corral's ("${w}")`);
      return { nodes, state: state as StepState };
    });
}

export function formatProgress(p: readonly TurnProgress[]): string {
  return p.map((x) => `${x.nodes.join(',')}:${x.state}`).join(' ');
}

/** The order of the nodes: fewest VMs first, then the local node, then the DC. */
function rollingOrder(snap: Snapshot, nodes: readonly string[], local?: string): string[] {
  const rank = (n: string): number => {
    const h = snap.view.hosts.find((x) => x.name === n);
    return (h?.dc ? 2 : 0) + (n === local ? 1 : 0);
  };
  const count = (n: string) => snap.view.hosts.find((x) => x.name === n)?.vms.length ?? 0;
  return [...nodes].sort((a, b) => rank(a) - rank(b) || count(a) - count(b) || sortNames(a, b));
}

export interface PlanOptions {
  nodes?: readonly string[];
  /** The node this runs on (goes last but for the DC). */
  local?: string;
  /** The cluster (default: this host's, hostClusterPort). */
  cluster?: ClusterPort;
}

/** Which nodes a rolling reboot covers (--nodes, or every node), and the ones it must skip. */
function coveredNodes(snap: Snapshot, wanted: readonly string[] | undefined): { nodes: string[]; skipped: { node: string; why: string }[] } {
  const known = snap.view.hosts.map((h) => h.name);
  for (const n of wanted ?? []) if (!known.includes(n)) throw new MaintenanceInputError(`there is no node ${n} in the cluster (nodes: ${known.join(', ')})`);
  const twice = wanted?.find((n, i) => wanted.indexOf(n) !== i);
  if (twice) throw new MaintenanceInputError(`node ${twice} is named twice`);
  const skipped: { node: string; why: string }[] = [];
  const nodes: string[] = [];
  for (const n of wanted ?? known) {
    const h = snap.view.hosts.find((x) => x.name === n);
    if (!h?.online) {
      if (wanted) throw new MaintenanceInputError(`node ${n} is ${h?.state ?? 'unknown'}: a rolling reboot needs it online`);
      skipped.push({ node: n, why: `${h?.state ?? 'unknown'}` });
    } else nodes.push(n);
  }
  if (snap.view.hosts.filter((h) => h.online && !h.standby).length < 2) throw new MaintenanceInputError('a rolling reboot needs at least two nodes online and out of standby');
  // Each turn takes a node out of the membership: the rest must stay quorate, or no-quorum-policy stops every VM.
  const members = snap.view.hosts.filter((h) => h.online).length;
  if (nodes.length && !quorate({ members, votes: known.length }, 1)) {
    throw new MaintenanceInputError(`rebooting a node would leave ${members - 1} of ${known.length} votes: the cluster would lose quorum and stop every VM; bring ${snap.view.hosts.filter((h) => !h.online).map((h) => h.name).join(', ')} back first`);
  }
  return { nodes, skipped };
}

/** The hints that steer the VMs leaving NODE towards the nodes in REBOOTED. */
function steering(snap: Snapshot, node: string, rebooted: readonly string[]): SteerHint[] {
  const hints: SteerHint[] = [];
  for (const v of snap.view.vms.filter((x) => x.nodes.includes(node))) for (const r of rebooted) hints.push({ rid: v.resource, node: r, score: STEER_SCORE });
  return hints;
}

/**
 * One turn of the plan on STATE, simulated on copies of the CIB in DIR: NODES in standby together,
 * the VMs leaving them steered towards REBOOTED; then the nodes back, empty, the hints gone, and
 * Pacemaker settled (stickiness keeps the VMs where they went).
 */
async function simulateTurn(port: ClusterPort, state: Snapshot, nodes: readonly string[], rebooted: readonly string[]): Promise<{ step: RollingStep; next: Snapshot }> {
  const hints = nodes.flatMap((n) => steering(state, n, rebooted));
  const cd = CibDoc.parse(state.xml);
  for (const n of nodes) setNodeAttribute(cd, n, 'standby', 'on');
  applySteering(cd, hints);
  // VMs on local disks leave by a live copy, to where Pacemaker would put them (as the drain does).
  const { local } = await placeLocalDisks(cd, state, nodes, port);
  const { sim, after } = await port.simulate(cd.toXml(), { output: true });
  const plan = planDrain(state.view, nodes, sim, local);
  const dc = nodes.some((n) => state.view.hosts.find((h) => h.name === n)?.dc);
  const back = CibDoc.parse(after as string);
  for (const n of nodes) setNodeAttribute(back, n, 'standby', undefined);
  applySteering(back, hints, true);
  const settled = (await port.simulate(back.toXml(), { output: true })).after as string;
  return { step: { node: nodes.join(','), dc, moves: plan.moves, stops: plan.stops }, next: await takeSnapshot({ cibXml: settled }) };
}

function tally(snap: Snapshot, steps: readonly RollingStep[]): { migrations: number; vms: number; migrationsPerVm: number } {
  const vms = snap.view.vms.filter((v) => v.nodes.length > 0).length;
  const migrations = steps.reduce((s, st) => s + st.moves.length, 0);
  return { migrations, vms, migrationsPerVm: vms ? migrations / vms : 0 };
}

/** The whole plan, simulated step by step on copies of the CIB. */
export async function planRollingReboot(snap: Snapshot, opts: PlanOptions = {}): Promise<RollingPlan> {
  const { nodes, skipped } = coveredNodes(snap, opts.nodes);
  const order = rollingOrder(snap, nodes, opts.local);
  const port = opts.cluster ?? hostClusterPort();
  const steps: RollingStep[] = [];
  let state = snap;
  const rebooted: string[] = [];
  for (const node of order) {
    const t = await simulateTurn(port, state, [node], rebooted);
    steps.push(t.step);
    state = t.next;
    rebooted.push(node);
  }
  return { order, steps, skipped, ...tally(snap, steps) };
}

/** One group of the grouped plan: its nodes go into standby, reboot and come back together. */
interface RollingGroup {
  nodes: string[];
  moves: PlannedMove[];
  stops: PlannedStop[];
}

export interface GroupedRollingPlan {
  order: string[];
  groups: RollingGroup[];
  /** Groups tried and refused by Pacemaker's answer, and why (the last node named was left out). */
  split: { nodes: string[]; why: string }[];
  skipped: { node: string; why: string }[];
  migrations: number;
  vms: number;
  migrationsPerVm: number;
  /** The one-at-a-time plan of the same nodes, for comparison. */
  oneAtATime: { steps: number; migrations: number; migrationsPerVm: number };
}

/**
 * The grouped plan (--groups): lib/plan/rolling-groups.ts groups the one-at-a-time order; each
 * candidate group is the drain check of corral node drain (planDrainOf: crm_simulate with the
 * group in standby and its VMs steered towards the nodes already rebooted, then each remaining
 * node failing in turn), and each group's turn is simulated as one step of the one-at-a-time plan.
 * The DC and the node this runs on go alone, last.
 */
export async function planRollingGroups(snap: Snapshot, opts: PlanOptions = {}): Promise<GroupedRollingPlan> {
  const { nodes, skipped } = coveredNodes(snap, opts.nodes);
  const order = rollingOrder(snap, nodes, opts.local);
  const last = new Set(order.filter((n) => n === opts.local || snap.view.hosts.find((h) => h.name === n)?.dc));
  const up = snap.view.hosts.filter((h) => h.online && !h.standby && !h.maintenance).length;
  const single = await planRollingReboot(snap, opts);
  const port = opts.cluster ?? hostClusterPort();
  {
    let state = snap;
    const rebooted: string[] = [];
    const grouped = await groupNodes<RollingStep>(order, last, up, {
      check: async (group) => {
        const hints = group.flatMap((n) => steering(state, n, rebooted));
        const c = await planDrainOf(state, group, hints, port);
        return { moves: c.plan.moves, stops: c.plan.stops, sideEffects: c.plan.sideEffects, nPlusOne: c.capacityAfter.nPlusOne };
      },
      commit: async (group) => {
        const t = await simulateTurn(port, state, group, rebooted);
        state = t.next;
        rebooted.push(...group);
        return t.step;
      },
    }, 2, { members: snap.view.hosts.filter((h) => h.online).length, votes: snap.view.hosts.length });
    const groups = grouped.groups.map((g) => ({ nodes: g.nodes, moves: g.step.moves, stops: g.step.stops }));
    const t = tally(snap, grouped.groups.map((g) => g.step));
    return {
      order: groups.flatMap((g) => g.nodes),
      groups,
      split: grouped.split,
      skipped,
      ...t,
      oneAtATime: { steps: single.steps.length, migrations: single.migrations, migrationsPerVm: single.migrationsPerVm },
    };
  }
}

export interface ExecOptions {
  parallel?: number;
  force?: boolean;
  config: Config;
  local?: string;
  progress: (line: string) => void;
  /** The operator's hooks (node-reboot-pre.d, -post.d); none when not given. */
  hooks?: Hooks;
  /** How long a node may take to come back (ms). */
  bootTimeoutMs?: number;
  /** The cluster (default: this host's, hostClusterPort). */
  cluster?: ClusterPort;
}

export interface ExecOutcome {
  ok: boolean;
  /** Nodes rebooted in this run. */
  rebooted: string[];
  /** Live migrations seen, per VM. */
  migrations: Record<string, number>;
  /** This run's own node is being rebooted: run again with --resume once it is back. */
  resumeAfterOwnReboot?: string;
  /** Starts that reboot: the caller's last act, once it has said what it has to say. */
  rebootSelf?: () => Promise<void>;
  problems: string[];
  seconds: number;
}

async function saveProgress(port: ClusterPort, progress: readonly TurnProgress[]): Promise<void> {
  await changeCib(port.cib, (cd) => {
    setClusterOption(cd, PROGRESS_OPTION, progress.length && progress.some((p) => p.state !== 'done') ? formatProgress(progress) : undefined);
    return { notes: [], warnings: [] };
  });
}

/**
 * Starts the reboot of NODE (reboot_command) on its own: it goes on when this command is
 * interrupted, and when NODE is the node this runs on.
 */
async function reboot(port: ClusterPort, node: string, opts: ExecOptions): Promise<void> {
  const argv = commandFor(opts.config.rebootCommand, node);
  opts.progress(`${node}: rebooting (${argv.join(' ')})`);
  await port.reboot(node, argv);
}

/** How long a node may stay up and unrebooted after its reboot was asked before it is asked again. */
const ASK_AGAIN_MS = 90_000;

/**
 * Waits until NODE has rebooted (its boot mark is gone), is online in Pacemaker and its libvirt
 * answers. A node that stays up and marked for ASK_AGAIN_MS did not get (or lost) the reboot: it
 * is asked again (a run interrupted between recording "rebooting" and the reboot starting leaves
 * exactly that behind), at most twice.
 */
async function waitBack(port: ClusterPort, node: string, opts: ExecOptions): Promise<void> {
  const t0 = port.now();
  const deadline = t0 + (opts.bootTimeoutMs ?? 20 * 60_000);
  let said = '';
  const say = (s: string) => {
    if (s !== said) opts.progress(`${node}: ${s} (${((port.now() - t0) / 1000).toFixed(1)} s)`);
    said = s;
  };
  let upSince = port.now();
  let asked = 0;
  for (;;) {
    if (port.now() > deadline) throw new Error(`${node} did not come back within ${Math.round((opts.bootTimeoutMs ?? 20 * 60_000) / 60_000)} min`);
    const snap = await snapshotOf(port).catch(() => undefined);
    const h = snap?.view.hosts.find((x) => x.name === node);
    // The mark is a transient attribute: Pacemaker forgets it when the node leaves the cluster.
    const mark = h?.online ? await port.getNodeMark(node, BOOT_MARK).then((v) => v !== undefined, () => undefined) : undefined;
    if (!snap || mark === undefined && h?.online) {
      say('no answer from the cluster');
    } else if (!h?.online) {
      say('down');
      upSince = port.now();
    } else if (mark) {
      say('not rebooted yet');
      if (port.now() - upSince > ASK_AGAIN_MS && asked < 2) {
        asked++;
        opts.progress(`${node}: still up and not rebooted after ${Math.round(ASK_AGAIN_MS / 1000)} s; asking again`);
        await reboot(port, node, opts);
        upSince = port.now();
      }
    } else {
      const libvirt = await port.libvirtAnswers(node, nodeUri(opts.config.libvirtUri, node));
      if (libvirt) {
        say('back: in the cluster, libvirt answers');
        return;
      }
      say('in the cluster, waiting for libvirt');
    }
    await port.sleep(1000);
  }
}

/** Waits for every node of NODES to come back; the first that does not is the error. */
async function waitAllBack(port: ClusterPort, nodes: readonly string[], opts: ExecOptions): Promise<void> {
  const r = await Promise.allSettled(nodes.map((n) => waitBack(port, n, opts)));
  const failed = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Carries out TURNS (the plan's nodes one by one, or its groups; or, with a progress record in
 * the CIB, what is left of it). A turn of several nodes drains them together (one standby change,
 * their VMs leaving in parallel), reboots them together, waits for all of them, then undrains
 * each. Stops at the first failure, saying what state the cluster is in.
 */
export async function execRollingReboot(turns: readonly (readonly string[])[], recorded: TurnProgress[] | undefined, opts: ExecOptions): Promise<ExecOutcome> {
  const port = opts.cluster ?? hostClusterPort();
  const t0 = port.now();
  const progress: TurnProgress[] = recorded?.length ? recorded.map((p) => ({ nodes: [...p.nodes], state: p.state })) : turns.map((nodes) => ({ nodes: [...nodes], state: 'pending' as StepState }));
  const migrations: Record<string, number> = {};
  const rebooted: string[] = [];
  const problems: string[] = [];
  const out = (ok: boolean, extra: Partial<ExecOutcome> = {}): ExecOutcome => ({ ok, rebooted, migrations, problems, seconds: (port.now() - t0) / 1000, ...extra });
  await saveProgress(port, progress);
  for (const step of progress) {
    if (step.state === 'done') continue;
    const nodes = step.nodes;
    const name = nodes.join(', ');
    const done = progress.filter((p) => p.state === 'done').flatMap((p) => p.nodes);
    if (step.state === 'pending' || step.state === 'draining') {
      // A node of the cluster may be rejoining after the previous step (a new DC, a node that
      // restarted): wait until every node of this turn is online again.
      let snap = await snapshotOf(port);
      const offline = () => nodes.filter((n) => !snap.view.hosts.find((h) => h.name === n)?.online);
      for (let waited = 0; waited < 300 && offline().length; waited++) {
        if (waited === 0) opts.progress(`${offline().join(', ')}: waiting for ${offline().length === 1 ? 'it' : 'them'} to be online`);
        await port.sleep(1000);
        snap = await snapshotOf(port);
      }
      const hints = nodes.flatMap((n) => steering(snap, n, done));
      let check;
      try {
        check = await planDrainOf(snap, nodes, hints, port);
      } catch (e) {
        // Refused input up front is exit 2; the same refusal in the middle of a run is its failure, with the progress kept.
        if (!(e instanceof MaintenanceInputError)) throw e;
        problems.push(`cannot drain ${name}: ${e.message}; stopped before ${name} (nothing changed on ${nodes.length === 1 ? 'it' : 'them'}): corral rolling-reboot --exec --resume continues once it can`);
        return out(false);
      }
      if (check.plan.stops.length && !opts.force) {
        problems.push(`draining ${name} would stop ${check.plan.stops.map((s) => `${s.vm} (${s.why})`).join(', ')}; stopped before ${name} (nothing changed on ${nodes.length === 1 ? 'it' : 'them'}); --force goes ahead`);
        return out(false);
      }
      if (step.state === 'pending') {
        try {
          await opts.hooks?.pre('node-reboot', { nodes, vms: [...check.plan.moves, ...check.plan.stops].map((m) => m.vm).sort() });
        } catch (e) {
          if (!(e instanceof HookVeto)) throw e;
          problems.push(`${e.message}; stopped before ${name} (nothing changed on ${nodes.length === 1 ? 'it' : 'them'}): fix it, then corral rolling-reboot --exec --resume`);
          return out(false);
        }
      }
      step.state = 'draining';
      await saveProgress(port, progress);
      opts.progress(`${name}: draining (${check.plan.moves.length} VM${check.plan.moves.length === 1 ? '' : 's'})`);
      const r = await drainNodes(nodes, check, snap, { parallel: opts.parallel, steer: hints, progress: (l) => opts.progress(`  ${l}`), cluster: port });
      for (const l of r.left) if (l.how === 'migrated') migrations[l.vm] = (migrations[l.vm] ?? 0) + 1;
      if (!r.ok) {
        problems.push(`draining ${name} failed: ${[...r.problems, ...r.failures].join('; ') || `${r.remaining.join(', ')} still there`}; ${name} ${nodes.length === 1 ? 'stays' : 'stay'} in standby, the rest of the cluster runs as before: fix it, then corral rolling-reboot --exec --resume`);
        return out(false);
      }
      // Mark the boot: the transient attribute is gone once the node has left and rejoined.
      const mark = `${port.now()}`;
      for (const n of nodes) await port.setNodeMark(n, BOOT_MARK, mark);
      step.state = 'rebooting';
      await saveProgress(port, progress);
      for (const n of nodes) if (n !== opts.local) await reboot(port, n, opts);
      // This node's own turn: the caller says so first, then starts the reboot as its last act
      // (the reboot ends this process); the others of its turn are waited for by --resume.
      if (opts.local !== undefined && nodes.includes(opts.local)) {
        const self = opts.local;
        return out(true, { resumeAfterOwnReboot: self, rebootSelf: () => reboot(port, self, { ...opts, progress: () => undefined }) });
      }
      try {
        await waitAllBack(port, nodes, opts);
      } catch (e) {
        problems.push(`${(e as Error).message}; ${name} ${nodes.length === 1 ? 'is' : 'are'} still in standby with the drain recorded: once back, corral rolling-reboot --exec --resume`);
        return out(false);
      }
    } else if (step.state === 'rebooting') {
      try {
        await waitAllBack(port, nodes, opts);
      } catch (e) {
        problems.push((e as Error).message);
        return out(false);
      }
    }
    for (const n of nodes) {
      const now = await snapshotOf(port);
      // Undrained already: a run interrupted between the undrain and the record of "done".
      const h = now.view.hosts.find((x) => x.name === n);
      if (h && !h.standby && !h.drainState && !configNodes(now.cib).find((x) => x.uname === n)?.attrs[DRAINED_ATTR]) {
        opts.progress(`  ${n}: out of standby already`);
        continue;
      }
      const undrain = await planUndrainOf(now, n, false, port);
      await undrainNode(undrain, { returnVms: false, progress: (l) => opts.progress(`  ${l}`), cluster: port });
    }
    step.state = 'done';
    rebooted.push(...nodes);
    await saveProgress(port, progress);
    opts.progress(`${name}: done`);
    await opts.hooks?.post('node-reboot', { nodes });
  }
  return out(true);
}
