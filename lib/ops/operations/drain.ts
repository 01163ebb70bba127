// `corral node drain` as an Operation (lib/ops/operation.ts): the plan is Pacemaker's (crm_simulate
// with the nodes in standby, lib/ops/maintenance.ts planDrainOf), the work drainNodes.
import type { Snapshot } from '../../cluster/snapshot.js';
import type { ClusterPort } from '../../host/pacemaker/cluster-port.js';
import { drainNodes, planDrainOf, type DrainCheck, type DrainOutcome } from '../maintenance.js';
import { vmCount, type Operation } from '../operation.js';

export interface DrainArgs {
  nodes: readonly string[];
  parallel?: number;
  /** Recorded on the node with the drain (corral-drain-reason), e.g. "shutdown". */
  reason?: string;
  /** How long the drain may take. */
  timeoutMs?: number;
  /** Takes no part in the maintenance lock (the drain at shutdown: the machine goes down either way). */
  unlocked?: boolean;
  cluster?: ClusterPort;
}

/** The plan for people: a line per VM, where it goes or why it would stop. */
function planText(check: DrainCheck, nodes: readonly string[]): string {
  const { plan } = check;
  const lines = [`drain ${nodes.join(', ')}: ${vmCount(plan.moves.length)} move, ${plan.stops.length} would stop`];
  for (const m of plan.moves) {
    if (m.copy) lines.push(`  ${m.vm}: ${m.from} → ${m.to} (live migration with a copy of its disks, local to ${m.from}: first, before the standby)`);
    else lines.push(`  ${m.vm}: ${m.from} → ${m.to}${m.live ? ' (live migration)' : ' (stop and start: not live)'}`);
  }
  for (const s of plan.stops) lines.push(`  ${s.vm}: would STOP on ${s.from}: ${s.why}`);
  for (const s of plan.sideEffects) lines.push(`  also: ${s}`);
  return `${lines.join('\n')}\n`;
}

export function drainOperation(a: DrainArgs): Operation<{ check: DrainCheck; snap: Snapshot }, DrainOutcome> {
  const nodes = a.nodes;
  return {
    name: 'node-drain',
    ...(a.unlocked ? {} : { lock: { finishes: nodes, hint: (b) => (b.draining.length ? `run corral node drain ${b.draining[0]} again to finish that drain, or undrain it` : 'corral rolling-reboot --exec --resume finishes the rolling reboot') } }),
    async plan(snap) {
      const check = await planDrainOf(snap, nodes, [], a.cluster);
      const { plan } = check;
      return {
        plan: { check, snap },
        json: { nodes, plan: { moves: plan.moves, stops: plan.stops, sideEffects: plan.sideEffects }, warnings: check.warnings, nPlusOneAfter: check.capacityAfter.nPlusOne },
        text: planText(check, nodes),
        warnings: check.warnings,
        ...(plan.stops.length ? { blocked: `${plan.stops.map((s) => s.vm).join(', ')} would stop (--force drains anyway)` } : {}),
        nodes,
        vms: [...plan.moves, ...plan.stops].map((m) => m.vm).sort(),
      };
    },
    execute: ({ check, snap }, progress) => drainNodes(nodes, check, snap, {
        progress,
        ...(a.parallel ? { parallel: a.parallel } : {}),
        ...(a.reason ? { reason: a.reason } : {}),
        ...(a.timeoutMs ? { timeoutMs: a.timeoutMs } : {}), ...(a.cluster ? { cluster: a.cluster } : {}) }),
    report: (r) => ({
      out: r.ok ? [`${nodes.join(', ')} drained: ${vmCount(r.left.length)} moved live in ${r.seconds.toFixed(1)} s`] : [],
      err: [...r.failures.map((f) => `failed operation: ${f}`), ...r.problems],
    }),
  };
}
