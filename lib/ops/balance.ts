// corral's load balancer at work: it samples every VM's CPU from libvirt (domstats on each node, in
// parallel), keeps a short history, asks lib/plan/balance.ts what to do, and records each move it
// makes in the CIB (cluster option corral-balancer-moves) so that cooldowns and the hourly cap
// survive a failover of the balancer itself. The move itself is the caller's (a live migration
// through Pacemaker that leaves no constraint behind); a move Pacemaker would not make is refused
// by the caller's judge before it is chosen.
import type { NodeAccess, NodeSample } from '../cluster/facts.js';
import { sampleNode } from '../cluster/facts.js';
import type { Snapshot } from '../cluster/snapshot.js';
import type { CibResource } from '../cib/model.js';
import { computeRates } from '../cluster/stats.js';
import type { ClusterView } from '../cluster/view.js';
import { setClusterOption } from '../cib/nodes.js';
import { changeCib } from '../cib/change.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CibDoc } from '../cib/edit.js';
import { hintXml } from '../cib/shapes.js';
import { hostCibPort } from '../host/pacemaker/cib.js';
import { simulate } from '../host/pacemaker/simulate.js';
import { clusterSettled } from '../host/pacemaker/status.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { takeSnapshot } from '../cluster/snapshot.js';
import { arrival, withScratch } from './maintenance.js';
import { PROGRESS_OPTION } from './rolling.js';
import { decideBalancer, type Allowed, type BalancerDecision, type BalancerMove, type BalancerSettings, type LoadSample } from '../plan/balance.js';

/** Where the balancer keeps the moves it made: "VM:FROM:TO:EPOCH_SECONDS" words, newest last. */
const BALANCER_MOVES_OPTION = 'corral-balancer-moves';
/** Moves older than this are forgotten (the longest cooldown or cap they can matter to). */
const KEEP_S = 24 * 3600;

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

/** Adds MOVE to the record (one CIB change), forgetting moves older than a day. */
async function recordMove(move: BalancerMove, earlier: readonly BalancerMove[]): Promise<void> {
  const keep = [...earlier.filter((m) => m.at > move.at - KEEP_S), move].slice(-100);
  await changeCib(hostCibPort(), (cd) => {
    setClusterOption(cd, BALANCER_MOVES_OPTION, keep.map((m) => `${m.vm}:${m.from}:${m.to}:${m.at}`).join(' '));
    return { notes: [], warnings: [] };
  });
}

/**
 * Pacemaker's answer to "may VM go to TO now": on a copy of SNAP's CIB with a preference of VM
 * for TO, crm_simulate must migrate it there live and leave every other resource where it is.
 */
export async function checkMove(snap: Snapshot, vm: string, to: string): Promise<boolean> {
  const v = snap.view.vms.find((x) => x.name === vm);
  if (!v || v.state !== 'running' || v.node === to) return false;
  const cd = CibDoc.parse(snap.xml);
  cd.append(cd.section('constraints'), hintXml(`corral-check-${v.resource}`, v.resource, to, 'INFINITY'));
  return withScratch(async (dir) => {
    const file = join(dir, 'move.xml');
    await writeFile(file, cd.toXml(), { mode: 0o600 });
    const sim = await simulate(file);
    if ((sim.placement.get(v.resource) ?? []).join(' ') !== to) return false;
    if (!sim.actions.some((a) => a.resource === v.resource && a.action === 'migrate')) return false;
    // nothing else may move, stop or start for it
    return sim.actions.every((a) => a.resource === v.resource || a.action === 'monitor');
  });
}

/**
 * Moves VM to TO, live, through Pacemaker: a location hint (INFINITY) for TO, watched until the VM
 * runs there alone, then dropped again (stickiness keeps it there). Throws when the move failed, or
 * when the VM was stopped and started instead of migrated.
 */
export async function moveLive(snap: Snapshot, vm: string, to: string, timeoutMs = 300_000): Promise<void> {
  const v = snap.view.vms.find((x) => x.name === vm);
  if (!v) throw new Error(`there is no VM ${vm}`);
  const rid = v.resource;
  const id = `corral-balance-${rid}`;
  const since = Math.floor(Date.now() / 1000);
  const hint = (on: boolean) =>
    changeCib(hostCibPort(), (cd) => {
      const old = cd.byId(id);
      if (old) cd.remove(old);
      if (on) cd.append(cd.section('constraints'), hintXml(id, rid, to, 'INFINITY'));
      return { notes: [], warnings: [] };
    });
  await hint(true);
  try {
    for (const deadline = Date.now() + timeoutMs; ; await sleep(500)) {
      const now = await takeSnapshot();
      const there = now.view.byResource.get(rid);
      if (there?.state === 'running' && there.nodes.length === 1 && there.node === to) {
        if (arrival(now, rid, to, since) !== 'migrated') throw new Error(`${vm} was stopped and started on ${to}, not migrated live`);
        return;
      }
      const f = there?.lastFailure;
      if (f && (f.at ?? 0) >= since - 1) throw new Error(`${f.operation} of ${vm} failed on ${f.node}${f.reason ? `: ${f.reason}` : ''}`);
      if (Date.now() > deadline) throw new Error(`${vm} was not on ${to} after ${Math.round(timeoutMs / 1000)} s (${there?.state ?? 'gone'})`);
    }
  } finally {
    await hint(false);
  }
}

/** Why the balancer must not move a VM now, from SNAP and Pacemaker: maintenance under way, or transitions running. */
export async function clusterBusy(snap: Snapshot): Promise<string | undefined> {
  const draining = snap.view.hosts.filter((h) => h.drainState === 'draining').map((h) => h.name);
  if (draining.length) return `${draining.join(', ')} ${draining.length === 1 ? 'is' : 'are'} being drained`;
  if (snap.cib.options[PROGRESS_OPTION]) return 'a rolling reboot is under way';
  if (!(await clusterSettled())) return 'Pacemaker is still carrying out a transition';
  return undefined;
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
export async function decideChecked(history: readonly LoadSample[], moves: readonly BalancerMove[], s: BalancerSettings, now: number, check: (vm: string, to: string) => Promise<boolean>): Promise<BalancerDecision> {
  const refused = new Set<string>();
  const allowed: Allowed = (vm, to) => !refused.has(`${vm} ${to}`);
  for (;;) {
    const d = decideBalancer(history, moves, s, now, allowed);
    if (!d.move || (await check(d.move.vm, d.move.to))) return d;
    refused.add(`${d.move.vm} ${d.move.to}`);
  }
}

export interface BalancerDeps {
  settings: BalancerSettings;
  /** One reading of every online node's counters (readNodes). */
  read: (view: ClusterView) => Promise<NodeSample[]>;
  /** Keeps a move on record (default: in the CIB, recordMove). */
  record?: (move: BalancerMove, earlier: readonly BalancerMove[]) => Promise<void>;
  /** A fresh cluster snapshot. */
  snapshot: () => Promise<Snapshot>;
  /** Pacemaker's judgement of one move on SNAP (constraints, capacity, standby): checkMove. */
  check: (snap: Snapshot, vm: string, to: string) => Promise<boolean>;
  /** Carries out a move (live, through Pacemaker, no constraint left); throws when it fails. */
  move: (snap: Snapshot, vm: string, from: string, to: string) => Promise<void>;
  /** One line per decision, with its numbers. */
  log: (line: string) => void;
  /** Seconds since the epoch. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Why no VM may move now (a drain or rolling reboot under way, transitions running), or undefined. */
  busy?: (snap: Snapshot) => Promise<string | undefined>;
  /** Decide only, never move. */
  dryRun?: boolean;
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
  const record = d.record ?? recordMove;
  const history: LoadSample[] = [];
  let snap = await d.snapshot();
  let previous = await d.read(snap.view);
  let last: BalancerDecision | undefined;
  for (let round = 0; d.rounds === undefined || round < d.rounds; round++) {
    await d.sleep(s.intervalS * 1000);
    if (d.stopped?.()) break;
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
    last = await decideChecked(history, moves, s, now, (vm, to) => d.check(snap, vm, to));
    d.log(`${last.loads.map((l) => `${l.node} ${l.loadPct}%${l.hot ? ' hot' : ''}`).join(', ')}: ${last.move ? `move ${last.move.vm} ${last.move.from} → ${last.move.to}` : 'no move'} (${last.reason})`);
    if (!last.move || d.dryRun) continue;
    const { vm, from, to } = last.move;
    const busy = await d.busy?.(snap);
    if (busy) {
      d.log(`not moving ${vm} now: ${busy}`);
      continue;
    }
    try {
      await d.move(snap, vm, from, to);
      await record({ vm, from, to, at: d.now() }, moves);
      d.log(`moved ${vm} ${from} → ${to}`);
    } catch (e) {
      // Recorded all the same: a VM whose move failed must not be tried again at once.
      await record({ vm, from, to, at: d.now() }, moves).catch(() => undefined);
      d.log(`move of ${vm} ${from} → ${to} failed: ${(e as Error).message}`);
    }
    // The load moved with the VM: start the history afresh, so the next decision sees the effect.
    history.length = 0;
    previous = await d.read((await d.snapshot()).view);
  }
  return last;
}
