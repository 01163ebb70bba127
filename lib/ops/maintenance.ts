// Node maintenance through Pacemaker: drain (standby) and undrain a node, and N+1/capacity.
// Pacemaker decides, corral asks it: every plan comes from crm_simulate on a copy of the CIB
// (lib/plan has the pure readings), and every action is a CIB change (standby, the record of where
// VMs came from, migration-limit) or a crm_resource move, watched until Pacemaker is done.
import { CorralError } from '../errors.js';
import { changeCib } from '../cib/change.js';
import { CibDoc } from '../cib/edit.js';
import { borrowMigrationLimit, DRAIN_REASON_ATTR, DRAIN_STATE_ATTR, DRAINED_ATTR, nodeAttribute, returnMigrationLimit, setNodeAttribute } from '../cib/nodes.js';
import { kid, kids, parseXNode } from '../cib/model.js';
import { capacityProbeXml, hintXml, ids } from '../cib/shapes.js';
import { planMoveLocal } from '../cib/vm.js';
import { configNodes, localDisksOn, type ClusterView, type VmView } from '../cluster/view.js';
import type { Snapshot } from '../cluster/snapshot.js';
import { operationHistory } from '../cluster/status.js';
import { hostClusterPort, type ClusterPort } from '../host/pacemaker/cluster-port.js';
import { SimulationError, type Simulation } from '../host/pacemaker/simulate.js';
import { capacityReport, largestFitting, type CapacityReport, type FailureAnswer } from '../plan/capacity.js';
import { planDrain, type DrainPlan, type PlannedMove } from '../plan/drain.js';
import { clusterWatch, snapshotOf, vmState, watch } from './wait.js';

/** Live migrations at a time per node when --parallel is not given. */
export const DEFAULT_PARALLEL = 4;

/** Input the user must fix (exit 2); nothing was changed. */
export class MaintenanceInputError extends CorralError {
  readonly kind = 'refused';
  override name = 'MaintenanceInputError';
}

function sortNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The VMs a drain recorded on NODE (its corral-drained attribute). */
function drainRecord(snap: Snapshot, node: string): string[] {
  const attrs = configNodes(snap.cib).find((n) => n.uname === node)?.attrs ?? {};
  return (attrs[DRAINED_ATTR] ?? '').split(/[\s,]+/).filter(Boolean);
}

function checkNodes(view: ClusterView, nodes: readonly string[]): void {
  if (nodes.length === 0) throw new MaintenanceInputError('name at least one node');
  const known = view.hosts.map((h) => h.name);
  for (const n of nodes) {
    if (!known.includes(n)) throw new MaintenanceInputError(`there is no node ${n} in the cluster (nodes: ${known.join(', ') || 'none'})`);
  }
  const twice = nodes.find((n, i) => nodes.indexOf(n) !== i);
  if (twice) throw new MaintenanceInputError(`node ${twice} is named twice`);
}

// ---------------------------------------------------------------------------------------------
// Drain

export interface DrainCheck {
  plan: DrainPlan;
  /** N+1 after the drain (the remaining nodes, each failing in turn). */
  capacityAfter: CapacityReport;
  warnings: string[];
}

/** A temporary preference of one VM for one node (rolling-reboot: the nodes already rebooted). */
export interface SteerHint {
  rid: string;
  node: string;
  score: string;
}

/** The id of HINT's constraint (ids.steer: valid whatever the node is called). */
export function steerId(h: SteerHint): string {
  return ids.steer(h.rid, h.node);
}

/** Adds (or with REMOVE drops) the steering hints HINTS in CD. */
export function applySteering(cd: CibDoc, hints: readonly SteerHint[], remove = false): void {
  for (const h of hints) {
    const el = cd.byId(steerId(h));
    if (el) cd.remove(el);
    if (!remove) cd.append(cd.section('constraints'), hintXml(steerId(h), h.rid, h.node, h.score));
  }
}

/**
 * The VMs on local disks that run on NODES (domadd --local): name → the node that holds their
 * disks. A drain moves them first, each by a live copy of its disks to the node Pacemaker picks.
 */
function localLeaving(view: ClusterView, nodes: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of view.vms) {
    const disks = localDisksOn(v);
    if (disks && v.nodes.some((n) => nodes.includes(n))) out.set(v.name, disks);
  }
  return out;
}

/**
 * For a drain of NODES planned on CD (a copy of SNAP's CIB with the nodes in standby): where the
 * VMs on local disks that run on them go. Pacemaker picks each one's target on a copy without its
 * constraint; CD then gets the constraint naming that target, as the drain writes it before the
 * standby. local: VM name → the node that holds its disks now; disksAfter: resource id → where
 * every local VM's disks are after the drain.
 */
export async function placeLocalDisks(cd: CibDoc, snap: Snapshot, nodes: readonly string[], port: ClusterPort): Promise<{ local: Map<string, string>; disksAfter: Map<string, string> }> {
  const local = localLeaving(snap.view, nodes);
  const disksAfter = localDisksOf(snap.view);
  if (local.size === 0) return { local, disksAfter };
  const rid = (name: string) => snap.view.vms.find((v) => v.name === name)?.resource as string;
  const free = CibDoc.parse(cd.toXml());
  for (const name of local.keys()) {
    const el = free.byId(ids.local(rid(name)));
    if (el) free.remove(el);
  }
  const { sim: where } = await port.simulate(free.toXml());
  for (const name of local.keys()) {
    const to = (where.placement.get(rid(name)) ?? []).find((n) => !nodes.includes(n));
    if (to === undefined) continue;
    planMoveLocal(cd, snap.cib, name, to);
    disksAfter.set(rid(name), to);
  }
  return { local, disksAfter };
}

/**
 * Plans draining NODES on a copy of SNAP's CIB: crm_simulate with the nodes in standby (and
 * STEER's hints). A VM on local disks is bound to its node by its constraint: Pacemaker picks its
 * target on a copy without that constraint, and the plan is asked of a copy whose constraint
 * names that target, as the drain will write it before the standby.
 */
export async function planDrainOf(snap: Snapshot, nodes: readonly string[], steer: readonly SteerHint[] = [], port: ClusterPort = hostClusterPort()): Promise<DrainCheck> {
  checkNodes(snap.view, nodes);
  const left = snap.view.hosts.filter((h) => h.online && !h.standby && !nodes.includes(h.name));
  if (left.length === 0) {
    throw new MaintenanceInputError(`draining ${nodes.join(', ')} would leave no node to run VMs (online and not in standby: ${snap.view.hosts.filter((h) => h.online && !h.standby).map((h) => h.name).join(', ') || 'none'})`);
  }
  const cd = CibDoc.parse(snap.xml);
  for (const n of nodes) setNodeAttribute(cd, n, 'standby', 'on');
  applySteering(cd, steer);
  const { local, disksAfter } = await placeLocalDisks(cd, snap, nodes, port);
  {
    const { sim, after } = await port.simulate(cd.toXml(), { output: true });
    const plan = planDrain(snap.view, nodes, sim, local);
    const capacityAfter = await capacityOfXml(port, after as string, snap.view, disksAfter);
    const warnings: string[] = [];
    if (capacityAfter.nPlusOne === false) {
      const bad = capacityAfter.nodes.filter((n) => n.ifFails.stopped.length);
      warnings.push(`after the drain the cluster is not N+1: ${bad.map((n) => `if ${n.name} failed, ${stoppedWords(n.ifFails)} would stay stopped`).join('; ')}`);
    }
    for (const n of capacityAfter.nodes) {
      if (n.ifFails.errors) warnings.push(`after the drain, Pacemaker could not say what a failure of ${n.name} would stop: ${n.ifFails.errors.join('; ')}`);
    }
    for (const m of plan.moves) if (!m.live) warnings.push(`${m.vm} would be stopped and started on ${m.to}, not migrated live (allow-migrate is off, or its agent cannot migrate)`);
    return { plan, capacityAfter, warnings };
  }
}

/** The VMs a node's failure stops, those lost with their local disks said so: "a, x (disks local to n2)". */
export function stoppedWords(ifFails: { stopped: readonly string[]; lost?: readonly { vm: string; why: string }[] }): string {
  const why = new Map((ifFails.lost ?? []).map((l) => [l.vm, l.why]));
  return ifFails.stopped.map((vm) => (why.has(vm) ? `${vm} (${why.get(vm)})` : vm)).join(', ');
}

export interface DrainOptions {
  parallel?: number;
  /** Temporary preferences of the leaving VMs (rolling-reboot), made with the standby and dropped at the end. */
  steer?: readonly SteerHint[];
  timeoutMs?: number;
  progress: (line: string) => void;
  pollMs?: number;
  /** Recorded on the node with the drain (corral-drain-reason), e.g. "shutdown"; undrain removes it. */
  reason?: string;
  /** The cluster (default: this host's, hostClusterPort). */
  cluster?: ClusterPort;
}

interface LeftNode {
  vm: string;
  from: string;
  to: string | null;
  seconds: number;
  /** migrated: live; restarted: stopped and started elsewhere; stopped: not running anywhere. */
  how: 'migrated' | 'restarted' | 'stopped';
}

export interface DrainOutcome {
  ok: boolean;
  left: LeftNode[];
  /** VMs still active on a drained node at the end. */
  remaining: string[];
  /** Operations that failed during the drain. */
  failures: string[];
  problems: string[];
  seconds: number;
}

/**
 * How VM (resource RID) got to NODE since SINCE (seconds): live when its memory moved there (a
 * migrate_to towards NODE, or a migrate_from on NODE; Pacemaker finishes a migration whose
 * transition was interrupted after migrate_to with a stop on the source and a start on NODE that
 * finds the domain already running), else restarted.
 */
export function arrival(snap: Snapshot, rid: string, node: string, since: number): 'migrated' | 'restarted' | undefined {
  const ops = operationHistory(snap.root, rid).filter((o) => o.interval === 0 && o.operation !== 'monitor' && (o['last-rc-change'] ?? 0) >= since - 2);
  if (ops.length === 0) return undefined;
  const live = ops.some((o) => o['rc-code'] === 0 && ((o.operation === 'migrate_to' && o.migrate_target === node) || (o.operation === 'migrate_from' && o.node === node)));
  return live ? 'migrated' : 'restarted';
}

/**
 * The first step of a drain with VMs on local disks (the plan's copies), and `vm NAME migrate
 * NODE` of such a VM (lib/ops/local-move.ts): each one's constraint
 * (vm-NAME-local) is rewritten to its target in one CIB change, so that Pacemaker migrates them
 * live and the agent's migrate_to copies their disks; the drain waits for each to run on its
 * target. One that did not arrive gets its constraint back on its source, which still holds its
 * disks (the agent removes the source's copy only after a move), and the drain stops there.
 */
export async function copyLocalDisks(copies: readonly PlannedMove[], snap: Snapshot, port: ClusterPort, opts: DrainOptions, parallel: number): Promise<{ ok: boolean; left: LeftNode[]; failures: string[]; problems: string[] }> {
  const t0 = port.now();
  const since = Math.floor(t0 / 1000);
  const pending = new Map<string, PlannedMove>();
  for (const m of copies) {
    const v = snap.view.vms.find((x) => x.name === m.vm);
    if (!v) continue;
    pending.set(v.resource, m);
    // A ban or an older failure on the target would keep Pacemaker from going there.
    if (v.constraints.some((c) => c.kind === 'moved' || c.kind === 'banned')) await port.resources.clear(v.resource);
    if (v.failCounts[m.to]) await port.resources.cleanup(v.resource);
  }
  const rids = [...pending.keys()];
  await changeCib(port.cib, (cd, cib) => {
    for (const m of pending.values()) planMoveLocal(cd, cib, m.vm, m.to);
    holdOnFailedCopy(cd, rids, true);
    borrowMigrationLimit(cd, parallel);
    return { notes: [], warnings: [] };
  });
  for (const m of pending.values()) opts.progress(`${m.vm}: its disks are copied live from ${m.from} to ${m.to} (constraint ${ids.local(resourceIdOf(snap, m.vm))} names ${m.to})`);
  const left: LeftNode[] = [];
  const failures: string[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  // Failed operations of the moving VMs since the copy began, from their operation history (with
  // on-fail=block no fail count is kept to read them from).
  const watchFailures = (now: Snapshot) => {
    for (const [rid, m] of pending) {
      for (const o of operationHistory(now.root, rid)) {
        // 0 done, 7 not running (a probe), 193 pending (record-pending: the operation is under way).
        if (o['rc-code'] === 0 || o['rc-code'] === 7 || o['rc-code'] === 193 || (o['last-rc-change'] ?? 0) < since - 1) continue;
        const key = `${rid}:${o.node}:${o.operation}:${o['last-rc-change']}`;
        if (seen.has(key)) continue;
        seen.add(key);
        failures.push(`${m.vm}: ${o.operation} failed on ${o.node} (rc ${o['rc-code']})`);
        opts.progress(`${m.vm}: ${o.operation} failed on ${o.node}`);
      }
    }
  };
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  const { end } = await watch(clusterWatch(port), { timeoutMs, pollMs: opts.pollMs ?? 500, idle: true }, (now) => {
    watchFailures(now);
    for (const [rid, m] of [...pending]) {
      const v = now.view.byResource.get(rid);
      if (v?.state !== 'running' || v.node !== m.to) continue;
      const how = arrival(now, rid, m.to, since) ?? 'restarted';
      const seconds = (port.now() - t0) / 1000;
      left.push({ vm: m.vm, from: m.from, to: m.to, seconds, how });
      pending.delete(rid);
      opts.progress(`${m.vm}: ${m.from} → ${m.to} (${how === 'migrated' ? 'live migration with its disks' : 'stopped and started, not live'}, ${seconds.toFixed(1)} s)`);
      if (how !== 'migrated') problems.push(`${m.vm} was stopped and started on ${m.to}, not migrated live`);
    }
    return { done: pending.size === 0, state: [...pending.keys()].map((rid) => vmState(now.view.byResource.get(rid))).join(' ') };
  });
  if (pending.size === 0) {
    await changeCib(port.cib, (cd) => (holdOnFailedCopy(cd, rids, false), returnMigrationLimit(cd), { notes: [], warnings: [] })).catch((e: unknown) => problems.push(`could not give migration-limit its value back: ${(e as Error).message}`));
    return { ok: problems.length === 0 && failures.length === 0, left, failures, problems };
  }
  // Not arrived: back to the source, where the disks still are (the agent's failed migrate_to
  // left the domain running there, and on-fail=block kept Pacemaker from recovering it onto the
  // target). The block stays while the constraint goes back, then a refresh (the history
  // forgotten on every node) lets Pacemaker's probes find it running there; only then the block
  // goes. Dropping it first had Pacemaker recover (restart) it in the lab, and a cleanup of the
  // failed node alone left an older migration's half that it read as one to finish by a restart.
  const back = [...pending.entries()];
  await changeCib(port.cib, (cd, cib) => {
    for (const [, m] of back) planMoveLocal(cd, cib, m.vm, m.from);
    return { notes: [], warnings: [] };
  });
  opts.progress(`${back.map(([, m]) => m.vm).join(', ')}: ${end === 'timeout' ? 'not arrived in time' : 'did not arrive'}; constraint back on ${[...new Set(back.map(([, m]) => m.from))].join(', ')}, where the disks are`);
  for (const [rid] of back) await port.resources.refresh(rid);
  const { last } = await watch(clusterWatch(port), { timeoutMs, pollMs: opts.pollMs ?? 500, idle: true }, (now) => {
    watchFailures(now);
    return { done: back.every(([rid, m]) => now.view.byResource.get(rid)?.node === m.from), state: back.map(([rid]) => vmState(now.view.byResource.get(rid))).join(' ') };
  });
  await changeCib(port.cib, (cd) => (holdOnFailedCopy(cd, rids, false), returnMigrationLimit(cd), { notes: [], warnings: [] })).catch((e: unknown) =>
    problems.push(`could not drop on-fail=block from migrate_to of ${rids.join(', ')} and give migration-limit its value back: ${(e as Error).message}`),
  );
  for (const [, m] of back) {
    const v = last.view.vms.find((x) => x.name === m.vm);
    const here = v?.state === 'running' && v.node === m.from;
    const how = here ? arrival(last, v.resource, m.from, since) : undefined;
    problems.push(
      here
        ? `${m.vm}: the copy of its disks to ${m.to} did not complete; it runs on ${m.from}, where its disks are${how === 'restarted' ? ' (Pacemaker started it there again: the guest rebooted)' : ''}, and its constraint names ${m.from} again`
        : `${m.vm}: the copy of its disks to ${m.to} did not complete; its constraint names ${m.from} again, where its disks are, but it is ${v ? `${v.state}${v.nodes.length ? ` on ${v.nodes.join(', ')}` : ''}` : 'gone'} (see vm ${m.vm} status)`,
    );
  }
  return { ok: false, left, failures, problems };
}

/**
 * Sets (ON) or drops on-fail=block on the migrate_to operation of RIDS: while a drain copies their
 * disks, a failed migrate_to (the agent leaves the domain running on its source and removes the
 * target's half-made copy) must not be recovered by Pacemaker with a stop on the source and a
 * start on the target, where the disks are not.
 */
function holdOnFailedCopy(cd: CibDoc, rids: readonly string[], on: boolean): void {
  const ops = cd.all('op', (e) => e.getAttribute('name') === 'migrate_to' && rids.includes((e.parentNode?.parentNode as Element | null)?.getAttribute('id') ?? ''));
  for (const op of ops) {
    if (on) op.setAttribute('on-fail', 'block');
    else if (op.getAttribute('on-fail') === 'block') op.removeAttribute('on-fail');
  }
}

function resourceIdOf(snap: Snapshot, name: string): string {
  return snap.view.vms.find((v) => v.name === name)?.resource ?? name;
}

/**
 * Drains NODES: standby (one CIB change that also records where each VM was and bounds parallel
 * live migrations with migration-limit), then watches Pacemaker until no VM is active on them and
 * the cluster is idle. A VM that was restarted instead of migrated, or stopped, is a failure.
 */
export async function drainNodes(nodes: readonly string[], check: DrainCheck, snapBefore: Snapshot, opts: DrainOptions): Promise<DrainOutcome> {
  let snap = snapBefore;
  const parallel = opts.parallel ?? DEFAULT_PARALLEL;
  const port = opts.cluster ?? hostClusterPort();
  const t0 = port.now();
  const since = Math.floor(t0 / 1000);
  const copies = check.plan.moves.filter((m) => m.copy);
  const copied: LeftNode[] = [];
  if (copies.length) {
    const moved = await copyLocalDisks(copies, snap, port, opts, parallel);
    if (!moved.ok) {
      const now = await snapshotOf(port);
      const remaining = now.view.vms.filter((v) => v.nodes.some((n) => nodes.includes(n))).map((v) => v.name);
      return { ok: false, left: moved.left, remaining, failures: moved.failures, problems: [...moved.problems, `${nodes.join(', ')} NOT put in standby: the drain stopped after the copies of local disks${remaining.length ? `; ${remaining.join(', ')} still run${remaining.length === 1 ? 's' : ''} there` : ''}`], seconds: (port.now() - t0) / 1000 };
    }
    copied.push(...moved.left);
    snap = await snapshotOf(port);
  }
  const leaving = new Map<string, { vm: VmView; from: string }>();
  for (const vm of snap.view.vms) {
    const from = vm.nodes.find((n) => nodes.includes(n));
    if (from) leaving.set(vm.resource, { vm, from });
  }
  await changeCib(port.cib, (cd) => {
    for (const n of nodes) {
      const before = nodeAttribute(cd, n, DRAINED_ATTR)?.split(/[\s,]+/).filter(Boolean) ?? [];
      const here = [...leaving.values()].filter((l) => l.from === n).map((l) => l.vm.name);
      setNodeAttribute(cd, n, 'standby', 'on');
      setNodeAttribute(cd, n, DRAIN_STATE_ATTR, 'draining');
      setNodeAttribute(cd, n, DRAIN_REASON_ATTR, opts.reason);
      setNodeAttribute(cd, n, DRAINED_ATTR, [...new Set([...before, ...here])].sort(sortNames).join(' ') || undefined);
    }
    borrowMigrationLimit(cd, parallel);
    applySteering(cd, opts.steer ?? []);
    return { notes: [], warnings: [] };
  });
  opts.progress(`${nodes.join(', ')}: standby; ${leaving.size} VM${leaving.size === 1 ? '' : 's'} to move, at most ${parallel} live migration${parallel === 1 ? '' : 's'} at a time per node`);

  const left: LeftNode[] = [];
  const failures: string[] = [];
  const problems: string[] = [];
  const seenFailures = new Set<string>();
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  let last: Snapshot = snap;
  const onDrained = (v: VmView) => v.nodes.some((n) => nodes.includes(n));
  try {
    const { end } = await watch(
      clusterWatch(port),
      { timeoutMs, pollMs: opts.pollMs ?? 500, idle: true },
      (now) => {
        last = now;
        for (const [rid, l] of [...leaving]) {
          const v = now.view.byResource.get(rid);
          const f = v?.lastFailure;
          if (f && (f.at ?? 0) >= since - 1 && !seenFailures.has(`${rid}:${f.node}:${f.operation}:${f.at}`)) {
            seenFailures.add(`${rid}:${f.node}:${f.operation}:${f.at}`);
            failures.push(`${l.vm.name}: ${f.operation} failed on ${f.node} (rc ${f.rc}${f.reason ? `: ${f.reason}` : ''})`);
            opts.progress(`${l.vm.name}: ${f.operation} failed on ${f.node}`);
          }
          if (!v || onDrained(v) || v.state !== 'running' || !v.node) continue;
          // Running elsewhere. Anything else (stopped, failed, gone) is judged once Pacemaker is
          // done: a recovery passes through "stopped" on its way to a start elsewhere.
          const seconds = (port.now() - t0) / 1000;
          const how = arrival(now, rid, v.node, since) ?? 'restarted';
          left.push({ vm: l.vm.name, from: l.from, to: v.node, seconds, how });
          leaving.delete(rid);
          opts.progress(`[${left.length}/${left.length + leaving.size}] ${l.vm.name}: ${l.from} → ${v.node} (${how === 'migrated' ? 'live migration' : 'stopped and started, not live'}, ${seconds.toFixed(1)} s)`);
        }
        const stillThere = now.view.vms.filter(onDrained);
        const watched = [...leaving.keys(), ...stillThere.map((v) => v.resource)];
        return { done: leaving.size === 0 && stillThere.length === 0, state: [...new Set(watched)].map((rid) => vmState(now.view.byResource.get(rid))).join(' ') };
      },
    );
    const stillThere = last.view.vms.filter(onDrained);
    if (end === 'settled') {
      // Pacemaker is done: what left the nodes and stopped stays so; the rest neither runs
      // elsewhere nor stopped (failed, blocked, or gone from the CIB), or is still there.
      const seconds = (port.now() - t0) / 1000;
      for (const [rid, l] of [...leaving]) {
        const v = last.view.byResource.get(rid);
        if (v && !onDrained(v) && v.nodes.length === 0) {
          left.push({ vm: l.vm.name, from: l.from, to: null, seconds, how: 'stopped' });
          leaving.delete(rid);
          opts.progress(`[${left.length}/${left.length + leaving.size}] ${l.vm.name}: stopped on ${l.from}, not running anywhere (${seconds.toFixed(1)} s)`);
        }
      }
      for (const [rid, l] of leaving) {
        const v = last.view.byResource.get(rid);
        if (v && onDrained(v)) problems.push(`${l.vm.name} is still ${v.state} on ${v.nodes.join(', ')} and Pacemaker is done with it (see vm ${l.vm.name} status)`);
        else problems.push(`${l.vm.name} left ${l.from} but Pacemaker is done with it ${v ? `${v.state}${v.nodes.length ? ` on ${v.nodes.join(', ')}` : ''}` : 'gone from the configuration'}`);
      }
    } else if (end === 'timeout') {
      problems.push(`gave up after ${Math.round((port.now() - t0) / 1000)} s: ${stillThere.map((v) => `${v.name} (${v.state} on ${v.nodes.join(', ')})`).join(', ') || 'the cluster is not idle'}`);
    }
  } finally {
    await changeCib(port.cib, (cd) => {
      for (const n of nodes) setNodeAttribute(cd, n, DRAIN_STATE_ATTR, problems.length ? 'interrupted' : 'drained');
      returnMigrationLimit(cd);
      applySteering(cd, opts.steer ?? [], true);
      return { notes: [], warnings: [] };
    }).catch((e: unknown) => problems.push(`could not record the end of the drain: ${(e as Error).message}`));
  }
  const remaining = last.view.vms.filter((v) => v.nodes.some((n) => nodes.includes(n))).map((v) => v.name);
  for (const l of left) {
    if (l.how === 'restarted') problems.push(`${l.vm} was stopped and started on ${l.to}, not migrated live`);
    if (l.how === 'stopped') problems.push(`${l.vm} stopped and runs nowhere`);
  }
  return {
    ok: problems.length === 0 && failures.length === 0 && remaining.length === 0,
    left: [...copied, ...left],
    remaining,
    failures,
    problems,
    seconds: (port.now() - t0) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// Undrain

export interface UndrainCheck {
  node: string;
  /** VMs the drain took off the node and that run elsewhere now. */
  owed: string[];
  /** With --return: which would go back (Pacemaker's answer) and which would not. */
  back: PlannedMove[];
  stay: { vm: string; why: string }[];
}

export async function planUndrainOf(snap: Snapshot, node: string, wantReturn: boolean, port: ClusterPort = hostClusterPort()): Promise<UndrainCheck> {
  checkNodes(snap.view, [node]);
  const host = snap.view.hosts.find((h) => h.name === node);
  const record = drainRecord(snap, node);
  if (!host?.standby && record.length === 0 && !host?.drainState) {
    throw new MaintenanceInputError(`node ${node} is not drained (not in standby, and no drain recorded)`);
  }
  const owedVms = record.map((name) => snap.view.vms.find((v) => v.name === name)).filter((v): v is VmView => v !== undefined);
  const owed = owedVms.filter((v) => v.state === 'running' && v.node !== node);
  if (!wantReturn || owed.length === 0) return { node, owed: owed.map((v) => v.name), back: [], stay: [] };
  const cd = CibDoc.parse(snap.xml);
  setNodeAttribute(cd, node, 'standby', undefined);
  for (const v of owed) {
    cd.append(cd.section('constraints'), hintXml(ids.returnHint(v.resource), v.resource, node, 'INFINITY'));
  }
  {
    const { sim } = await port.simulate(cd.toXml());
    const back: PlannedMove[] = [];
    const stay: { vm: string; why: string }[] = [];
    for (const v of owed) {
      const to = sim.placement.get(v.resource) ?? [];
      if (to.includes(node)) back.push({ vm: v.name, from: v.node ?? '?', to: node, live: sim.actions.some((a) => a.resource === v.resource && a.action.toLowerCase() === 'migrate') });
      else stay.push({ vm: v.name, why: `Pacemaker keeps it on ${to.join(', ') || 'no node'} (constraints or capacity)` });
    }
    return { node, owed: owed.map((v) => v.name), back, stay };
  }
}

export interface UndrainOutcome {
  ok: boolean;
  returned: LeftNode[];
  stayed: { vm: string; why: string }[];
  problems: string[];
}

/** Takes NODE out of standby; with the check's `back` list, moves those VMs back, live, and lets go. */
export async function undrainNode(check: UndrainCheck, opts: DrainOptions & { returnVms: boolean }): Promise<UndrainOutcome> {
  const node = check.node;
  const port = opts.cluster ?? hostClusterPort();
  const t0 = port.now();
  const since = Math.floor(t0 / 1000);
  const snap0 = await snapshotOf(port);
  const parallel = opts.parallel ?? DEFAULT_PARALLEL;
  const rids = new Map(snap0.view.vms.map((v) => [v.name, v.resource]));
  const back = opts.returnVms ? check.back.filter((m) => rids.has(m.vm)) : [];
  const hintId = ids.returnHint;
  // One CIB change: out of standby, and (with --return) a hint per VM to come back, so that
  // Pacemaker plans all the returns in one transition (a change per VM would abort the running
  // transition each time, and interrupt migrations halfway).
  await changeCib(port.cib, (cd) => {
    setNodeAttribute(cd, node, 'standby', undefined);
    setNodeAttribute(cd, node, DRAIN_STATE_ATTR, undefined);
    setNodeAttribute(cd, node, DRAIN_REASON_ATTR, undefined);
    if (!opts.returnVms) setNodeAttribute(cd, node, DRAINED_ATTR, undefined);
    if (back.length) borrowMigrationLimit(cd, parallel);
    for (const m of back) {
      const rid = rids.get(m.vm) as string;
      cd.append(cd.section('constraints'), hintXml(hintId(rid), rid, node, 'INFINITY'));
    }
    return { notes: [], warnings: [] };
  });
  opts.progress(`${node}: out of standby${back.length ? `; ${back.length} VM${back.length === 1 ? '' : 's'} coming back` : ''}`);
  const returned: LeftNode[] = [];
  const problems: string[] = [];
  if (back.length === 0) {
    if (opts.returnVms) await changeCib(port.cib, (cd) => (setNodeAttribute(cd, node, DRAINED_ATTR, undefined), { notes: [], warnings: [] }));
    return { ok: true, returned, stayed: check.stay, problems };
  }
  try {
    const pending = new Map(back.map((m) => [rids.get(m.vm) as string, m]));
    const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
    const { end } = await watch(
      clusterWatch(port),
      { timeoutMs, pollMs: opts.pollMs ?? 500, idle: true },
      (snap) => {
        for (const [rid, m] of [...pending]) {
          const v = snap.view.byResource.get(rid);
          if (v?.state === 'running' && v.node === node) {
            const how = arrival(snap, rid, node, since) ?? 'restarted';
            const seconds = (port.now() - t0) / 1000;
            returned.push({ vm: m.vm, from: m.from, to: node, seconds, how });
            pending.delete(rid);
            opts.progress(`[${returned.length}/${back.length}] ${m.vm}: ${m.from} → ${node} (${how === 'migrated' ? 'live migration' : 'stopped and started, not live'}, ${seconds.toFixed(1)} s)`);
            if (how !== 'migrated') problems.push(`${m.vm} was stopped and started on ${node}, not migrated live`);
          }
        }
        return { done: pending.size === 0, state: [...pending.keys()].map((rid) => vmState(snap.view.byResource.get(rid))).join(' ') };
      },
    );
    // Given up on: Pacemaker is done with some not back, or the time is over.
    for (const m of pending.values()) problems.push(`${m.vm} did not come back to ${node}`);
    if (end === 'timeout' && pending.size === 0) problems.push(`Pacemaker was still busy ${Math.round(timeoutMs / 1000)} s after the returns began`);
  } finally {
    await changeCib(port.cib, (cd) => {
      for (const m of back) {
        const el = cd.byId(hintId(rids.get(m.vm) as string));
        if (el) cd.remove(el);
      }
      setNodeAttribute(cd, node, DRAINED_ATTR, undefined);
      returnMigrationLimit(cd);
      return { notes: [], warnings: [] };
    }).catch((e: unknown) => problems.push(`could not remove the return hints and the drain record: ${(e as Error).message}`));
  }
  return { ok: problems.length === 0, returned, stayed: check.stay, problems };
}

// ---------------------------------------------------------------------------------------------
// Capacity

/**
 * N+1 of the cluster in XML (a CIB whose status is settled): each online node failing in turn
 * (crm_simulate --node-fail: lost, fenced, its VMs recovered elsewhere). A node whose failure
 * Pacemaker cannot simulate is answered with its errors; the other nodes are still answered.
 */
async function capacityOfXml(port: ClusterPort, xml: string, view: ClusterView, local: ReadonlyMap<string, string>, extra: ReadonlyMap<string, string> = new Map()): Promise<CapacityReport> {
  const names = new Map<string, string>([...view.vms.map((v) => [v.resource, v.name] as [string, string]), ...extra]);
  const { sim: base } = await port.simulate(xml);
  const failed = new Map<string, FailureAnswer>();
  for (const n of onlineNodes(base)) {
    try {
      failed.set(n, (await port.simulate(xml, { nodesFailed: [n] })).sim);
    } catch (e) {
      if (!(e instanceof SimulationError)) throw e;
      failed.set(n, { errors: e.errors });
    }
  }
  return capacityReport(names, base, failed, local);
}

/** Resource id → the node that holds its disks, for the VMs on local disks (domadd --local). */
function localDisksOf(view: ClusterView): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of view.vms) {
    const node = localDisksOn(v);
    if (node) out.set(v.resource, node);
  }
  return out;
}

/** Nodes online and out of standby after the simulated transition. */
function onlineNodes(sim: Simulation): string[] {
  const root = parseXNode(sim.xml);
  const out: string[] = [];
  for (const n of kids(kid(kid(root, 'revised_cluster_status'), 'nodes'), 'node')) {
    if (n.attrs.online === 'true' && n.attrs.standby !== 'true' && n.attrs.maintenance !== 'true' && n.attrs.name) out.push(n.attrs.name);
  }
  return out.sort(sortNames);
}

export interface CapacityAnswer extends CapacityReport {
  /**
   * With a size: how many more VMs of it Pacemaker would place with N+1 still holding; null when
   * Pacemaker could not say (errors: its reasons; none when N+1 itself is open).
   */
  fit?: { vcpus: number; memoryMiB: number; count: number | null; errors?: string[] };
}

/** N+1 and, with SIZE, room for more VMs of that size; on a copy of the CIB. */
export async function capacityOf(snap: Snapshot, size?: { vcpus: number; memoryMiB: number }, maxCount = 1000, port: ClusterPort = hostClusterPort()): Promise<CapacityAnswer> {
  const settledXml = (await port.simulate(snap.xml, { output: true })).after as string;
  const local = localDisksOf(snap.view);
  const report = await capacityOfXml(port, settledXml, snap.view, local);
  // A VM on local disks is lost with its node whatever the room: room for more is N+1 of the rest.
  const holds = (r: CapacityReport) => r.nPlusOneShared !== undefined ? r.nPlusOneShared : r.nPlusOne;
  if (!size) return report;
  const runningNow = new Set(report.nodes.length ? snap.view.vms.filter((v) => !report.notRunning.includes(v.name)).map((v) => v.resource) : []);
  const fits = async (k: number): Promise<boolean> => {
    const cd = CibDoc.parse(settledXml);
    const probes = new Map<string, string>();
    for (let i = 1; i <= k; i++) {
      const id = `corral-capacity-probe-${i}`;
      probes.set(id, id);
      cd.append(cd.section('resources'), capacityProbeXml(id, size.vcpus, size.memoryMiB));
    }
    const { sim, after: placed } = await port.simulate(cd.toXml(), { output: true });
    for (const id of probes.keys()) if ((sim.placement.get(id) ?? []).length === 0) return false;
    for (const rid of runningNow) if ((sim.placement.get(rid) ?? []).length === 0) return false;
    const after = await capacityOfXml(port, placed as string, snap.view, local, probes);
    if (holds(after) === null) throw new SimulationError(after.nodes.flatMap((n) => n.ifFails.errors ?? []));
    return holds(after) as boolean;
  };
  if (holds(report) === null) return { ...report, fit: { ...size, count: null } };
  if (holds(report) === false) return { ...report, fit: { ...size, count: 0 } };
  try {
    return { ...report, fit: { ...size, count: await largestFitting(fits, maxCount) } };
  } catch (e) {
    if (!(e instanceof SimulationError)) throw e;
    return { ...report, fit: { ...size, count: null, errors: [...e.errors] } };
  }
}
