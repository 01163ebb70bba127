// corral's metrics in Prometheus' text format (version 0.0.4), from corral's one model of the
// cluster (lib/cluster: the snapshot and its view) and what `corral serve` (lib/ops/serve.ts) keeps
// beside it: N+1 from `corral capacity`'s crm_simulate answer (computed in the background), this
// node's libvirt counters, the fencing history, and counters of migrations and restarts.
//
// Names follow Prometheus' conventions (corral_ prefix, _total counters, bytes and seconds) and
// ClusterLabs' ha_cluster_exporter where the same thing is measured (ha_cluster_pacemaker_nodes,
// ha_cluster_pacemaker_resources, ha_cluster_pacemaker_stonith_enabled,
// ha_cluster_corosync_quorate), so that its dashboards and alerts read them. State is one gauge per
// possible state, 1 for the one that holds. README ("Metrics") lists every name.
//
// The text is written directly: a few dozen families of labelled gauges, for which prom-client's
// registry (meant for counters a program increments as it runs) would add code, not remove it.
import type { CapacityReport } from '../plan/capacity.js';
import { balanceModel, scoreOf, stateOf } from '../plan/rebalance.js';
import { kid, kids } from '../cib/model.js';
import type { DomainCounters } from '../cluster/libvirt.js';
import type { Snapshot } from '../cluster/snapshot.js';
import type { HostView, VmView } from '../cluster/view.js';
import type { FenceEvent } from '../host/pacemaker/fencing.js';
import { balancerResource, recordedMoves, type readDecisionRecord } from './balance.js';
import { maintenanceUnderWay } from './operation.js';

/** The VM states of `corral list`, each a line of corral_vm_state. */
const VM_STATES = ['running', 'stopped', 'disabled', 'starting', 'stopping', 'migrating', 'failed', 'unknown'] as const;
/** A node's one state for corral_node_state: Pacemaker's, with corral's drain on top of standby. */
const NODE_STATES = ['online', 'standby', 'draining', 'drained', 'maintenance', 'pending', 'offline', 'unclean'] as const;
/** ha_cluster_exporter's node statuses that corral's model knows. */
const HA_NODE_STATUSES = ['online', 'standby', 'maintenance', 'pending', 'unclean', 'dc'] as const;
const MIB = 1024 * 1024;

/** What `corral capacity` answered last, and when (computed in the background, never in a scrape). */
export interface CapacityState {
  report: CapacityReport | null;
  /** Seconds since the epoch when the answer was computed (or the attempt failed). */
  at: number;
  seconds: number;
  /** Why the last attempt gave no answer. */
  error?: string;
}

/** This node's libvirt, as last sampled (virsh domstats). */
export interface LibvirtState {
  node: string;
  up: boolean;
  domains: DomainCounters[];
}

export interface MetricsInput {
  snap: Snapshot | null;
  /** Why there is no snapshot (the CIB could not be read). */
  snapError?: string;
  capacity?: CapacityState;
  libvirt?: LibvirtState;
  fencing?: FenceEvent[] | null;
  counters?: OperationCounters;
  /** Seconds the snapshot took (CIB query and reading). */
  snapSeconds?: number;
  /** The decisions of the balancer running on this node (its decision record), if it runs here. */
  balancerDecisions?: Awaited<ReturnType<typeof readDecisionRecord>>;
}

// ---------------------------------------------------------------------------------------------
// Counters of migrations and restarts, kept by the serving process

/**
 * Each VM's successful start and migrate_from operations in the CIB's operation history, as
 * "NODE:CALL-ID" keys: Pacemaker keeps one record per operation and node, and a new start
 * replaces it with a new call id. One walk over the status section of the snapshot's parsed CIB.
 */
function arrivalsOf(snap: Snapshot): Map<string, Map<string, 'start' | 'migrate_from'>> {
  const rids = new Set(snap.view.vms.map((v) => v.resource));
  const out = new Map<string, Map<string, 'start' | 'migrate_from'>>();
  for (const s of kids(kid(snap.root, 'status'), 'node_state')) {
    const node = s.attrs.uname ?? '';
    for (const r of kids(kid(kid(s, 'lrm'), 'lrm_resources'), 'lrm_resource')) {
      const rid = r.attrs.id ?? '';
      if (!rids.has(rid)) continue;
      for (const o of r.children) {
        const op = o.attrs.operation;
        if (o.tag !== 'lrm_rsc_op' || (op !== 'start' && op !== 'migrate_from') || o.attrs['rc-code'] !== '0' || o.attrs['op-status'] !== '0') continue;
        let m = out.get(rid);
        if (!m) out.set(rid, (m = new Map()));
        m.set(`${node}:${o.attrs['call-id'] ?? ''}`, op);
      }
    }
  }
  return out;
}

/**
 * Migrations and restarts per VM since this process started: a start or migrate_from record that
 * was not in the previous snapshot's history is one more restart (Pacemaker started the domain
 * afresh: recovery, a move that was not live, a start after a stop) or live migration. What
 * happened between two snapshots on the same node is seen once (the newest record); the counts
 * start at 0 with the process, as Prometheus counters may (rate() and increase() allow for resets).
 */
export class OperationCounters {
  readonly migrations = new Map<string, number>();
  readonly restarts = new Map<string, number>();
  private seen: Map<string, Set<string>> | undefined;

  observe(snap: Snapshot): void {
    const now = arrivalsOf(snap);
    if (this.seen) {
      for (const [rid, keys] of now) {
        const before = this.seen.get(rid) ?? new Set<string>();
        const vm = snap.view.byResource.get(rid)?.name ?? rid;
        for (const [key, op] of keys) {
          if (before.has(key)) continue;
          const m = op === 'migrate_from' ? this.migrations : this.restarts;
          m.set(vm, (m.get(vm) ?? 0) + 1);
        }
      }
    }
    this.seen = new Map([...now].map(([rid, keys]) => [rid, new Set(keys.keys())]));
  }
}

/**
 * How long each VM's newest successful start took, in seconds, and on which node: the start
 * operation's exec-time. TransientDomain's start returns once the guest has said it is ready when
 * the domain has the startup_signal channel (README, ocf:corral:TransientDomain), so it is then the
 * time from Pacemaker's start to the guest ready.
 */
function lastStarts(snap: Snapshot): Map<string, { node: string; seconds: number }> {
  const out = new Map<string, { node: string; seconds: number; at: number }>();
  const vmOf = new Map(snap.view.vms.map((v) => [v.resource, v.name]));
  for (const s of kids(kid(snap.root, 'status'), 'node_state')) {
    const node = s.attrs.uname ?? '';
    for (const r of kids(kid(kid(s, 'lrm'), 'lrm_resources'), 'lrm_resource')) {
      const vm = vmOf.get(r.attrs.id ?? '');
      if (vm === undefined) continue;
      for (const o of r.children) {
        if (o.tag !== 'lrm_rsc_op' || o.attrs.operation !== 'start' || o.attrs['rc-code'] !== '0' || o.attrs['op-status'] !== '0') continue;
        const at = Number(o.attrs['last-rc-change']);
        const ms = Number(o.attrs['exec-time']);
        if (!Number.isFinite(ms) || (out.get(vm)?.at ?? -Infinity) >= at) continue;
        out.set(vm, { node, seconds: ms / 1000, at });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The text format

type Labels = Record<string, string>;
type Sample = [Labels, number];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

class Writer {
  private readonly parts: string[] = [];

  family(name: string, type: 'gauge' | 'counter', help: string, samples: readonly Sample[]): void {
    if (samples.length === 0) return;
    this.parts.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`);
    for (const [labels, value] of samples) {
      const keys = Object.keys(labels);
      const l = keys.length ? `{${keys.map((k) => `${k}="${escapeLabel(labels[k] as string)}"`).join(',')}}` : '';
      this.parts.push(`${name}${l} ${num(value)}\n`);
    }
  }

  text(): string {
    return this.parts.join('');
  }
}

const b = (x: boolean): number => (x ? 1 : 0);

/** The one state of HOST for corral_node_state (and the web view's node). */
export function nodeState(h: HostView): (typeof NODE_STATES)[number] {
  if (h.state === 'offline' || h.state === 'unclean' || h.state === 'pending') return h.state;
  if (h.drainState === 'drained' || h.drainState === 'interrupted') return 'drained';
  if (h.drainState === 'draining') return 'draining';
  if (h.maintenance) return 'maintenance';
  if (h.standby) return 'standby';
  return 'online';
}

/** ha_cluster_exporter's role word for a VM. */
function haRole(v: VmView): string {
  switch (v.state) {
    case 'running':
      return 'started';
    case 'stopped':
    case 'disabled':
      return 'stopped';
    case 'failed':
    case 'unknown':
      return v.nodes.length ? 'started' : 'stopped';
    default:
      return v.state;
  }
}

/** The rebalance score of the cluster as it is (corral rebalance's, lower is better). */
export function rebalanceScore(snap: Snapshot): number {
  return scoreOf(stateOf(balanceModel(snap.view))).total;
}

/** The metrics text for INPUT. */
export function renderMetrics(input: MetricsInput): string {
  const w = new Writer();
  const { snap } = input;
  w.family('corral_scrape_success', 'gauge', 'Whether the cluster could be read for this scrape (1) or not (0: the reason is in the log).', [[{}, b(snap !== null)]]);
  if (input.snapSeconds !== undefined) w.family('corral_scrape_cib_read_seconds', 'gauge', 'Wall time of reading the CIB and building the cluster view for this scrape.', [[{}, input.snapSeconds]]);
  if (snap) clusterMetrics(w, snap, input);
  capacityMetrics(w, input.capacity);
  libvirtMetrics(w, input.libvirt);
  fencingMetrics(w, input.fencing);
  return w.text();
}

function clusterMetrics(w: Writer, snap: Snapshot, input: MetricsInput): void {
  const { view, cib } = snap;
  const hosts = view.hosts;
  const vms = view.vms;

  // --- nodes, as ha_cluster_exporter names them
  w.family(
    'ha_cluster_pacemaker_nodes',
    'gauge',
    'Status of each node (1: the node is in this status), as ha_cluster_exporter exports it.',
    hosts.flatMap((h) =>
      HA_NODE_STATUSES.map((st): Sample => {
        const v = st === 'dc' ? h.dc : st === 'online' ? h.online : st === 'standby' ? h.standby : st === 'maintenance' ? h.maintenance : h.state === st;
        return [{ node: h.name, type: 'member', status: st }, b(v)];
      }),
    ),
  );
  w.family('corral_node_state', 'gauge', "Each node's one state (1: it holds): online, standby, draining or drained (corral node drain), maintenance, pending, offline, unclean.", hosts.flatMap((h) => {
    const s = nodeState(h);
    return NODE_STATES.map((st): Sample => [{ node: h.name, state: st }, b(st === s)]);
  }));
  w.family('corral_node_cpus', 'gauge', "The node's CPU capacity for VMs: its utilization cpu (nodecap).", hosts.filter((h) => h.cpus !== null).map((h) => [{ node: h.name }, h.cpus as number]));
  w.family('corral_node_memory_bytes', 'gauge', "The node's memory for VMs: its utilization hv_memory (nodecap).", hosts.filter((h) => h.memoryMiB !== null).map((h) => [{ node: h.name }, (h.memoryMiB as number) * MIB]));
  w.family('corral_node_allocated_cpus', 'gauge', 'What the VMs running on the node ask for: the sum of their utilization cpu.', hosts.map((h) => [{ node: h.name }, h.allocCpus]));
  w.family('corral_node_allocated_memory_bytes', 'gauge', 'What the VMs running on the node ask for: the sum of their utilization hv_memory.', hosts.map((h) => [{ node: h.name }, h.allocMemoryMiB * MIB]));
  w.family('corral_node_vms', 'gauge', 'VMs active on the node (a migrating VM counts on its source).', hosts.map((h) => [{ node: h.name }, h.vms.length]));
  w.family('corral_node_owed_vms', 'gauge', 'VMs a drain took off the node that do not run on it now (corral node undrain --return brings them back).', hosts.map((h) => [{ node: h.name }, h.owedVms.length]));

  // --- VMs
  w.family('corral_vm_state', 'gauge', "Each VM's state as corral list shows it (1: it holds).", vms.flatMap((v) => VM_STATES.map((st): Sample => [{ vm: v.name, state: st }, b(v.state === st)])));
  w.family('corral_vm_node', 'gauge', 'Where each VM is active (1 per node; a migrating VM on its source; none when it runs nowhere).', vms.flatMap((v) => v.nodes.map((n): Sample => [{ vm: v.name, node: n }, 1])));
  w.family('corral_vm_migrating_to', 'gauge', 'The target of each VM that is migrating now.', vms.filter((v) => v.migratingTo !== null).map((v) => [{ vm: v.name, node: v.migratingTo as string }, 1]));
  w.family('corral_vm_vcpus', 'gauge', "The VM's vCPUs (its utilization cpu).", vms.filter((v) => v.vcpus !== null).map((v) => [{ vm: v.name }, v.vcpus as number]));
  w.family('corral_vm_memory_bytes', 'gauge', "The VM's memory (its utilization hv_memory).", vms.filter((v) => v.memoryMiB !== null).map((v) => [{ vm: v.name }, (v.memoryMiB as number) * MIB]));
  w.family('corral_vm_priority', 'gauge', "The VM's priority meta attribute (who runs first when there is not room for all).", vms.map((v) => [{ vm: v.name }, v.priority]));
  w.family(
    'corral_vm_start_seconds',
    'gauge',
    "How long the VM's newest start took on the node it ran (the start operation's exec-time): until the guest said ready when the domain has the startup_signal channel, else until it ran.",
    [...lastStarts(snap)].map(([vm, x]): Sample => [{ vm, node: x.node }, x.seconds]),
  );
  const c = input.counters;
  if (c) {
    w.family('corral_vm_migrations_total', 'counter', 'Live migrations of the VM (a new migrate_from in the operation history) seen since corral serve started.', vms.map((v) => [{ vm: v.name }, c.migrations.get(v.name) ?? 0]));
    w.family('corral_vm_restarts_total', 'counter', 'Starts of the VM (a new start in the operation history: recovery, a move that was not live, a start after a stop) seen since corral serve started.', vms.map((v) => [{ vm: v.name }, c.restarts.get(v.name) ?? 0]));
  }

  // --- resources, as ha_cluster_exporter names them (corral's VMs; other primitives by their status)
  const vmByRid = view.byResource;
  const resources: Sample[] = [];
  for (const [rid, r] of view.status.resources) {
    const vm = vmByRid.get(rid);
    const role = vm ? haRole(vm) : r.role.toLowerCase();
    const managed = vm ? vm.managed : true;
    const status = r.failed || vm?.state === 'failed' ? 'failed' : 'active';
    const base = { agent: r.agent ?? '', clone: '', group: '', managed: String(managed), resource: rid, role, status };
    if (r.nodes.length === 0) resources.push([{ ...base, node: '' }, 1]);
    for (const n of r.nodes) resources.push([{ ...base, node: n }, 1]);
  }
  w.family('ha_cluster_pacemaker_resources', 'gauge', 'Each resource with its role and status (one line each, value 1), as ha_cluster_exporter exports it.', resources);
  const fail: Sample[] = [];
  for (const [rid, r] of view.status.resources) for (const [node, n] of Object.entries(r.failCounts)) fail.push([{ node, resource: rid }, n]);
  // ha_cluster_exporter's ha_cluster_pacemaker_fail_count, renamed: promtool check metrics refuses a
  // "_count" suffix outside histograms and summaries.
  w.family('corral_resource_failures', 'gauge', "Pacemaker's fail count per resource and node (ha_cluster_exporter: ha_cluster_pacemaker_fail_count).", fail);
  const failed = [...view.status.resources.values()].filter((r) => r.lastFailure);
  w.family('corral_failed_actions', 'gauge', 'Resources with a failed operation on record (until a cleanup), as crm_mon lists failed resource actions.', [[{}, failed.length]]);
  w.family(
    'corral_failed_action_timestamp_seconds',
    'gauge',
    'When the newest failed operation of each resource happened (seconds since the epoch; 0 when Pacemaker did not say).',
    failed.map((r) => [{ resource: r.id, node: r.lastFailure?.node ?? '', operation: r.lastFailure?.operation ?? '', rc: String(r.lastFailure?.rc ?? '') }, r.lastFailure?.at ?? 0]),
  );

  // --- the cluster
  const stonith = cib.options['stonith-enabled'];
  w.family('ha_cluster_pacemaker_stonith_enabled', 'gauge', 'Whether fencing is enabled (stonith-enabled).', [[{}, b(stonith === undefined || /^(true|on|yes|y|1)$/i.test(stonith))]]);
  w.family('ha_cluster_corosync_quorate', 'gauge', "Whether the cluster has quorum (the DC's partition, from the CIB's have-quorum).", [[{}, b(view.status.quorum)]]);
  w.family('corral_cluster_dc', 'gauge', 'The designated controller (1 on its node).', hosts.filter((h) => h.dc).map((h) => [{ node: h.name }, 1]));
  const maintenance = maintenanceUnderWay(snap);
  w.family('corral_maintenance_in_progress', 'gauge', 'corral maintenance under way (1): a drain or a rolling reboot, by kind.', [
    [{ kind: 'drain' }, b((maintenance?.draining.length ?? 0) > 0)],
    [{ kind: 'rolling_reboot' }, b(maintenance?.rolling !== undefined)],
  ]);
  w.family('corral_cluster_maintenance_mode', 'gauge', "Pacemaker's maintenance-mode cluster option.", [[{}, b(/^(true|on|yes|y|1)$/i.test(cib.options['maintenance-mode'] ?? ''))]]);
  w.family('corral_rebalance_score', 'gauge', "corral rebalance's score of the placement now (lower is better balanced; 0 is even).", [[{}, rebalanceScore(snap)]]);

  // --- the balancer (ocf:corral:Balancer), from its resource and the moves it records in the CIB
  const bal = balancerResource(snap);
  w.family('corral_balancer_configured', 'gauge', 'Whether the load balancer is a cluster resource (corral balance enable).', [[{}, b(bal !== undefined)]]);
  if (bal) {
    const st = view.status.resources.get(bal.id);
    const wanted = !/^stopped$/i.test(bal.meta['target-role'] ?? 'Started');
    w.family('corral_balancer_enabled', 'gauge', "Whether the balancer's resource is meant to run (target-role not Stopped).", [[{}, b(wanted)]]);
    w.family('corral_balancer_running', 'gauge', 'Whether the balancer runs (1 on its node; 0 with no node when it does not).', st && st.role === 'Started' && st.nodes.length ? st.nodes.map((n): Sample => [{ node: n }, 1]) : [[{ node: '' }, 0]]);
    const moves = recordedMoves(snap);
    w.family('corral_balancer_recorded_moves', 'gauge', 'Moves the balancer made in the last day, as it records them in the CIB (corral-balancer-moves).', [[{}, moves.length]]);
    const last = moves[moves.length - 1];
    if (last) w.family('corral_balancer_last_move_timestamp_seconds', 'gauge', "When the balancer's newest recorded move was made.", [[{}, last.at]]);
  }
  // Only the node the balancer runs on has its decisions (its process writes them there).
  const dec = input.balancerDecisions;
  if (dec) {
    w.family(
      'corral_balancer_decisions_total',
      'counter',
      'Decisions of the load balancer running on this node since it started, by reason: move, or no move because calm (no node hot), hold (not hot for the hold time yet), cap (moves per hour), no-relief (no move helps enough), busy (maintenance or a transition), no-sample.',
      Object.entries(dec.counts).map(([reason, n]): Sample => [{ reason }, n]),
    );
    w.family('corral_balancer_last_decision_timestamp_seconds', 'gauge', "When the balancer running on this node last decided (every interval while it runs).", [[{ reason: dec.last.kind }, dec.last.at]]);
  }
}

function capacityMetrics(w: Writer, cap: CapacityState | undefined): void {
  if (!cap) return;
  w.family('corral_capacity_check_timestamp_seconds', 'gauge', "When N+1 was last asked of Pacemaker's scheduler (crm_simulate, as corral capacity does), in the background.", [[{}, cap.at]]);
  w.family('corral_capacity_check_duration_seconds', 'gauge', 'How long that took.', [[{}, cap.seconds]]);
  w.family('corral_capacity_check_success', 'gauge', 'Whether it gave an answer (0: Pacemaker could not say; the reason is in the log).', [[{}, b(cap.report !== null && cap.report.nPlusOne !== null)]]);
  const r = cap.report;
  if (!r) return;
  if (r.nPlusOne !== null) w.family('corral_cluster_n_plus_one', 'gauge', "N+1: 1 when no single node's failure would leave a running VM stopped, 0 when one would (absent when Pacemaker could not say).", [[{}, b(r.nPlusOne)]]);
  const answered = r.nodes.filter((n) => !n.ifFails.errors);
  w.family('corral_node_failure_stopped_vms', 'gauge', 'How many running VMs would stay stopped if this node failed (crm_simulate --node-fail).', answered.map((n) => [{ node: n.name }, n.ifFails.stopped.length]));
  w.family('corral_vm_stopped_if_node_fails', 'gauge', 'The VMs that would stay stopped if this node failed (one line each, value 1).', answered.flatMap((n) => n.ifFails.stopped.map((vm): Sample => [{ node: n.name, vm }, 1])));
}

function libvirtMetrics(w: Writer, lv: LibvirtState | undefined): void {
  if (!lv) return;
  w.family('corral_node_libvirt_up', 'gauge', "Whether this node's libvirt answered the last sample (virsh domstats).", [[{ node: lv.node }, b(lv.up)]]);
  const d = lv.domains.filter((x) => x.cpuTimeNs !== null);
  w.family('corral_vm_cpu_seconds_total', 'counter', "CPU time the VM's qemu used on this node (libvirt's cpu.time; it starts again on each start or migration).", d.map((x) => [{ vm: x.name, node: lv.node }, (x.cpuTimeNs as number) / 1e9]));
  const rss = lv.domains.filter((x) => x.rssKiB !== null);
  w.family('corral_vm_resident_memory_bytes', 'gauge', "Resident memory of the VM's qemu process on this node (libvirt's balloon.rss).", rss.map((x) => [{ vm: x.name, node: lv.node }, (x.rssKiB as number) * 1024]));
}

function fencingMetrics(w: Writer, events: FenceEvent[] | null | undefined): void {
  if (events === undefined) return;
  w.family('corral_fencing_history_success', 'gauge', "Whether the fencing history could be read (stonith_admin --history).", [[{}, b(events !== null)]]);
  if (!events) return;
  const counts = new Map<string, Sample>();
  const last = new Map<string, number>();
  for (const e of events) {
    const key = `${e.target}\0${e.action}\0${e.status}`;
    const s = counts.get(key) ?? [{ node: e.target, action: e.action, status: e.status }, 0];
    s[1]++;
    counts.set(key, s);
    if (e.status === 'success' && e.completedMs !== undefined) last.set(e.target, Math.max(last.get(e.target) ?? 0, e.completedMs / 1000));
  }
  w.family('corral_fencing_events_total', 'counter', "Fencing actions in the cluster's fencing history, per target node, action and outcome (the history is the fencer's: it starts again when the whole cluster restarts).", [...counts.values()]);
  w.family('corral_node_last_fenced_timestamp_seconds', 'gauge', 'When the node was last fenced successfully.', [...last].map(([node, at]) => [{ node }, at]));
}
