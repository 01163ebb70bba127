// corral's load balancer at work: it samples every VM's CPU from libvirt (domstats on each node, in
// parallel), keeps a short history, asks lib/plan/balance.ts what to do, and records each move it
// makes in the CIB (cluster option corral-balancer-moves) so that cooldowns and the hourly cap
// survive a failover of the balancer itself. The move itself is the caller's (a live migration
// through Pacemaker that leaves no constraint behind); a move Pacemaker would not make is refused
// by the caller's judge before it is chosen. Each move runs the operator's hooks balance-move-pre.d
// (a veto skips that move, said in the log; the loop goes on) and balance-move-post.d
// (lib/ops/hooks.ts); a dry run moves nothing and runs no hooks.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive } from '../host/procs.js';
import type { NodeAccess, NodeSample } from '../cluster/facts.js';
import { sampleNode } from '../cluster/facts.js';
import type { Snapshot } from '../cluster/snapshot.js';
import type { CibResource } from '../cib/model.js';
import { computeRates } from '../cluster/stats.js';
import type { ClusterView } from '../cluster/view.js';
import { setClusterOption } from '../cib/nodes.js';
import { changeCib } from '../cib/change.js';
import { hostClusterPort, type ClusterPort } from '../host/pacemaker/cluster-port.js';
import { checkMoves, runRebalance } from './rebalance.js';
import { HookVeto, loadHooks, type Hooks } from './hooks.js';
import { maintenanceUnderWay } from './operation.js';
import { DECISION_KINDS, decideBalancer, recordAfter, type Allowed, type DecisionKind, type BalancerDecision, type BalancerMove, type BalancerSettings, type LoadSample } from '../plan/balance.js';

/** Where the balancer keeps the moves it made: "VM:FROM:TO:EPOCH_SECONDS" words, newest last. */
const BALANCER_MOVES_OPTION = 'corral-balancer-moves';

/** The moves on record in a snapshot's CIB (words that do not parse are skipped). */
export function recordedMoves(snap: Snapshot): BalancerMove[] {
  const text = snap.cib.options[BALANCER_MOVES_OPTION] ?? '';
  const out: BalancerMove[] = [];
  for (const w of text.split(/\s+/)) {
    const m = /^([^:\s]+):([^:\s]+):([^:\s]+):(\d+)$/.exec(w);
    if (m) out.push({ vm: m[1] as string, from: m[2] as string, to: m[3] as string, at: Number(m[4]) });
  }
  return out;
}

/** Adds MOVE to the record (one CIB change), forgetting moves older than a day or dated in the future (recordAfter). */
async function recordMove(move: BalancerMove, earlier: readonly BalancerMove[], cluster: ClusterPort = hostClusterPort()): Promise<void> {
  const keep = recordAfter(move, earlier);
  await changeCib(cluster.cib, (cd) => {
    setClusterOption(cd, BALANCER_MOVES_OPTION, keep.map((m) => `${m.vm}:${m.from}:${m.to}:${m.at}`).join(' '));
    return { notes: [], warnings: [] };
  });
}

/**
 * Pacemaker's answer to "may VM go from FROM to TO now": the rebalance check of a one-move round
 * (lib/ops/rebalance.ts checkMoves: crm_simulate must migrate it there live, move nothing else,
 * and keep it there once the hint is gone).
 */
export async function checkMove(snap: Snapshot, vm: string, from: string, to: string, cluster: ClusterPort = hostClusterPort()): Promise<boolean> {
  const v = snap.view.vms.find((x) => x.name === vm);
  if (!v || v.state !== 'running' || v.node !== from || from === to) return false;
  return (await checkMoves(snap, [{ vm, from, to }], cluster)).length === 0;
}

/**
 * Moves VM from FROM to TO, live, the way corral rebalance --exec does (a temporary location hint,
 * watched until it is there, then dropped; stickiness keeps it). Throws when it did not end there
 * by a live migration.
 */
export async function moveLive(snap: Snapshot, vm: string, from: string, to: string, log: (line: string) => void, cluster: ClusterPort = hostClusterPort()): Promise<void> {
  const r = await runRebalance({ plan: { moves: [{ vm, from, to }], rounds: [[0]] } }, snap, { progress: log, timeoutMs: 300_000, cluster });
  if (!r.ok) throw new Error([...r.failures, ...r.problems].join('; ') || `${vm} did not reach ${to}`);
}


/** Why the balancer must not move a VM now, from SNAP and Pacemaker: maintenance under way, or transitions running. */
export async function clusterBusy(snap: Snapshot, cluster: ClusterPort = hostClusterPort()): Promise<string | undefined> {
  return maintenanceUnderWay(snap)?.what ?? ((await cluster.settled()) ? undefined : 'Pacemaker is still carrying out a transition');
}

/** The id `corral balance enable` gives the balancer's primitive. */
export const BALANCER_ID = 'corral-balancer';

/** The balancer's primitive (ocf:corral:Balancer) in SNAP, if there is one. */
export function balancerResource(snap: Snapshot): CibResource | undefined {
  return snap.cib.resources.find((r) => r.kind === 'primitive' && r.class === 'ocf' && r.provider === 'corral' && r.type === 'Balancer');
}

/** The nodes the balancer reads: online ones (a standby node's VMs still count, they run there). */
function onlineNodes(view: ClusterView): string[] {
  return view.hosts.filter((h) => h.online).map((h) => h.name);
}

/** One reading of every online node (libvirt's counters), in parallel. */
export function readNodes(view: ClusterView, access: NodeAccess): Promise<NodeSample[]> {
  return Promise.all(onlineNodes(view).map((n) => sampleNode(n, access)));
}

/**
 * A load sample from two readings: the cores each VM used between them, grouped by the node it
 * runs on, and each node's CPUs (its utilization `cpu`, as nodecap set it; else its VMs' vCPUs,
 * at least one). Domains that libvirt runs but the cluster does not know are counted too: they
 * load the node all the same. AT is in seconds.
 */
export function loadSample(view: ClusterView, first: readonly NodeSample[], second: readonly NodeSample[], at: number): { sample: LoadSample; problems: string[] } {
  const { hosts, vms } = computeRates(first, second);
  const problems = hosts.flatMap((h) => h.problems.map((p) => `${h.node}: ${p}`));
  const nodes: LoadSample['nodes'] = {};
  for (const h of hosts) {
    const host = view.hosts.find((x) => x.name === h.node);
    const here = vms.filter((v) => v.node === h.node);
    const cpus = host?.cpus ?? Math.max(1, here.reduce((a, v) => a + (v.vcpus ?? 1), 0));
    nodes[h.node] = { cpus, vms: Object.fromEntries(here.map((v) => [v.name, (v.cpuPercent ?? 0) / 100])) };
  }
  return { sample: { at, nodes }, problems };
}

/**
 * The decision with Pacemaker as the judge: the planner's best move is put to CHECK (crm_simulate
 * on a copy of the CIB); a refused move is ruled out and the planner asked again, so the answer
 * is the best move Pacemaker would make, or no move with every refusal named.
 */
export async function decideChecked(history: readonly LoadSample[], moves: readonly BalancerMove[], s: BalancerSettings, now: number, check: (vm: string, from: string, to: string) => Promise<boolean>): Promise<BalancerDecision> {
  const refused = new Set<string>();
  const allowed: Allowed = (vm, to) => !refused.has(`${vm} ${to}`);
  for (;;) {
    const d = decideBalancer(history, moves, s, now, allowed);
    if (!d.move || (await check(d.move.vm, d.move.from, d.move.to))) return d;
    refused.add(`${d.move.vm} ${d.move.to}`);
  }
}

export interface BalancerDeps {
  settings: BalancerSettings;
  /** One reading of every online node's counters (readNodes). */
  read: (view: ClusterView) => Promise<NodeSample[]>;
  /** Keeps a move on record (default: in the CIB, recordMove). */
  record?: (move: BalancerMove, earlier: readonly BalancerMove[]) => Promise<void>;
  /** The cluster the default record is written to (default: this host's). */
  cluster?: ClusterPort;
  /** A fresh cluster snapshot. */
  snapshot: () => Promise<Snapshot>;
  /** Pacemaker's judgement of one move on SNAP (constraints, capacity, standby): checkMove. */
  check: (snap: Snapshot, vm: string, from: string, to: string) => Promise<boolean>;
  /** Carries out a move (live, through Pacemaker, no constraint left: moveLive); throws when it fails. */
  move: (snap: Snapshot, vm: string, from: string, to: string) => Promise<void>;
  /** One line per decision, with its numbers. */
  log: (line: string) => void;
  /** Seconds since the epoch. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Why no VM may be judged or moved now (a drain or rolling reboot under way, transitions running): clusterBusy. */
  busy?: (snap: Snapshot) => Promise<string | undefined>;
  /** Decide only, never move. */
  dryRun?: boolean;
  /** The operator's hooks around each move (default: this machine's, read at the first move). */
  hooks?: Hooks;
  /** Told of every decision (the decision record corral serve reads: DecisionRecord). */
  decided?: (decision: BalancerDecision, at: number) => Promise<void>;
  /** Stop after this many rounds (default: run until stopped). */
  rounds?: number;
  stopped?: () => boolean;
}

/**
 * The balancer's loop: every interval a sample, a decision, at most one move. The history is
 * kept in memory (hold time plus two intervals); after a restart it starts empty, so it waits a
 * whole hold time before it acts again — never on a single sample.
 */
export async function runBalancer(d: BalancerDeps): Promise<BalancerDecision | undefined> {
  const s = d.settings;
  const record = d.record ?? ((m: BalancerMove, earlier: readonly BalancerMove[]) => recordMove(m, earlier, d.cluster));
  const history: LoadSample[] = [];
  let snap = await d.snapshot();
  let previous = await d.read(snap.view);
  let last: BalancerDecision | undefined;
  let halted = false;
  let hooks: Hooks | undefined;
  // Each decision counted by kind for corral serve (best effort: a file that cannot be written
  // costs the metric, never the balancer).
  const tally = async (x: BalancerDecision, at: number) => {
    await d.decided?.(x, at).catch((e: unknown) => d.log(`problem: the decision record was not written: ${(e as Error).message}`));
  };
  for (let round = 0; d.rounds === undefined || round < d.rounds; round++) {
    await d.sleep(s.intervalS * 1000);
    if (d.stopped?.()) break;
    try {
      snap = await d.snapshot();
      const reading = await d.read(snap.view);
      const now = d.now();
      const { sample, problems } = loadSample(snap.view, previous, reading, now);
      previous = reading;
      for (const p of problems) d.log(`problem: ${p}`);
      // A node that could not be read leaves a gap: the history restarts rather than guess.
      if (problems.length) history.length = 0;
      history.push(sample);
      while (history.length > 0 && (history[0] as LoadSample).at < now - s.holdS - 2 * s.intervalS) history.shift();
      const moves = recordedMoves(snap);
      const loads = (x: BalancerDecision) => x.loads.map((l) => `${l.node} ${l.loadPct}%${l.hot ? ' hot' : ''}`).join(', ');
      // Only an idle cluster is judged and moved in: a drain, a rolling reboot or a transition under way wait.
      const busy = await d.busy?.(snap);
      if (busy) {
        last = decideBalancer(history, moves, s, now, () => true);
        d.log(`${loads(last)}: no move (${busy}${last.move ? `; would consider ${last.move.vm} ${last.move.from} → ${last.move.to}` : ''})`);
        last = { ...last, move: null, reason: busy, kind: 'busy' };
        await tally(last, now);
        continue;
      }
      last = await decideChecked(history, moves, s, now, (vm, from, to) => d.check(snap, vm, from, to));
      await tally(last, now);
      d.log(`${loads(last)}: ${last.move ? `move ${last.move.vm} ${last.move.from} → ${last.move.to}` : 'no move'} (${last.reason})`);
      if (!last.move || d.dryRun || halted) continue;
      // A stop that came while this round looked and judged: no move is started any more.
      if (d.stopped?.()) break;
      const { vm, from, to } = last.move;
      hooks ??= d.hooks ?? (await loadHooks((l) => d.log(`problem: ${l}`)));
      const hookCtx = { vms: [vm], nodes: [from, to], env: { CORRAL_FROM: from, CORRAL_TO: to } };
      try {
        await hooks.pre('balance-move', hookCtx);
      } catch (e) {
        if (!(e instanceof HookVeto)) throw e;
        d.log(`move of ${vm} ${from} → ${to} not made: ${e.message}`);
        continue;
      }
      try {
        await d.move(snap, vm, from, to);
        await hooks.post('balance-move', hookCtx, true);
        await record({ vm, from, to, at: d.now() }, moves);
        d.log(`moved ${vm} ${from} → ${to}`);
      } catch (e) {
        // Recorded all the same: a VM whose move failed must not be tried again at once. And no
        // more moves at all: a move that was not live (or failed) wants a person to look first.
        await record({ vm, from, to, at: d.now() }, moves).catch(() => undefined);
        await hooks.post('balance-move', hookCtx, false);
        halted = true;
        d.log(`move of ${vm} ${from} → ${to} failed: ${(e as Error).message}; no more moves until the balancer is restarted (it goes on deciding and logging)`);
      }
      // The load moved with the VM: start the history afresh, so the next decision sees the effect.
      history.length = 0;
      previous = await d.read((await d.snapshot()).view);
    } catch (e) {
      // The cluster could not be read or judged this round (a CIB or node that does not answer):
      // said, and tried again at the next interval, with a history started afresh.
      d.log(`problem: ${(e as Error).message}`);
      history.length = 0;
    }
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// The decision record: what the running balancer has decided, by kind, for corral serve on its node

/** Where the balancer's process keeps it (tmpfs: it goes with the node's boot, as the counts do). */
const DECISION_RECORD = '/run/corral/balancer-decisions.json';

interface DecisionFile {
  pid: number;
  since: number;
  counts: Record<DecisionKind, number>;
  last: { at: number; kind: DecisionKind; reason: string };
}

/** The running balancer's decisions counted by kind, written to FILE after each one. */
export class DecisionRecord {
  private readonly counts = Object.fromEntries(DECISION_KINDS.map((k) => [k, 0])) as Record<DecisionKind, number>;
  private readonly since = Math.floor(Date.now() / 1000);

  constructor(private readonly file: string = DECISION_RECORD) {}

  async add(x: BalancerDecision, at: number): Promise<void> {
    this.counts[x.kind]++;
    const body: DecisionFile = { pid: process.pid, since: this.since, counts: this.counts, last: { at, kind: x.kind, reason: x.reason } };
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o755 });
    const tmp = `${this.file}.${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(body)}\n`, { mode: 0o644 });
    await rename(tmp, this.file);
  }
}

/**
 * The decision record on this node, when the balancer that writes it still runs here (its process
 * is alive); undefined otherwise (no balancer here, or it moved to another node).
 */
export async function readDecisionRecord(file: string = DECISION_RECORD, alive: (pid: number) => boolean = isAlive): Promise<Omit<DecisionFile, 'pid'> | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let body: DecisionFile;
  try {
    body = JSON.parse(text) as DecisionFile;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(body.pid) || !alive(body.pid) || typeof body.counts !== 'object' || !body.last) return undefined;
  const counts = Object.fromEntries(DECISION_KINDS.map((k) => [k, Number(body.counts[k]) || 0])) as Record<DecisionKind, number>;
  return { since: body.since, counts, last: body.last };
}
