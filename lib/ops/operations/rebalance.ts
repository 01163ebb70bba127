// `corral rebalance [--exec]` as an Operation (lib/ops/operation.ts): hbal's method on Pacemaker
// (lib/ops/rebalance.ts planRebalanceOf, each round checked with crm_simulate), carried out round
// by round (runRebalance).
import type { Snapshot } from '../../cluster/snapshot.js';
import type { ClusterPort } from '../../host/pacemaker/cluster-port.js';
import { planRebalanceOf, runRebalance, type RebalanceCheck, type RebalanceOptions, type RebalanceOutcome } from '../rebalance.js';
import { vmCount, type Operation } from '../operation.js';

export interface RebalanceArgs extends RebalanceOptions {
  /** More fields of the JSON answer (the measured load). */
  extraJson?: Record<string, unknown>;
  cluster?: ClusterPort;
}

/** Scores as hbal prints them: 8 decimals. */
const score = (x: number) => Number(x.toFixed(8));

function planJson(check: RebalanceCheck) {
  const { plan } = check;
  return {
    score: { before: score(plan.score.before), after: score(plan.score.after) },
    moves: plan.moves.map((m) => ({ vm: m.vm, from: m.from, to: m.to })),
    rounds: plan.rounds.map((r) => r.map((i) => plan.moves[i]?.vm as string)),
    parts: plan.parts,
    rejected: check.rejected,
    fixed: plan.fixed,
    warnings: check.warnings,
  };
}

function planText(check: RebalanceCheck): string {
  const { plan } = check;
  const lines: string[] = [];
  lines.push(`score ${plan.score.before.toFixed(8)} → ${plan.score.after.toFixed(8)} (lower is better balanced): ${plan.moves.length} move${plan.moves.length === 1 ? '' : 's'} in ${plan.rounds.length} round${plan.rounds.length === 1 ? '' : 's'}`);
  plan.rounds.forEach((r, ri) => {
    for (const i of r) {
      const m = plan.moves[i];
      if (m) lines.push(`  ${ri + 1}. ${m.vm}: ${m.from} → ${m.to}  (score ${m.score.toFixed(8)})`);
    }
  });
  for (const r of check.rejected) lines.push(`  not ${r.vm} → ${r.to}: ${r.why}`);
  return `${lines.join('\n')}\n`;
}

export function rebalanceOperation(a: RebalanceArgs): Operation<{ check: RebalanceCheck; snap: Snapshot }, RebalanceOutcome> {
  const { extraJson, cluster, ...opts } = a;
  return {
    name: 'rebalance',
    // A drain or rolling reboot steers VMs with hints of the same kind.
    lock: { hint: () => 'run corral rebalance --exec again once it is done' },
    async plan(snap) {
      const check = await planRebalanceOf(snap, opts, cluster);
      const { moves } = check.plan;
      return {
        plan: { check, snap },
        json: { ...planJson(check), ...extraJson },
        text: planText(check),
        warnings: check.warnings,
        ...(moves.length ? {} : { nothing: 'nothing to do: no move lowers the score enough' }),
        nodes: [...new Set(moves.flatMap((m) => [m.from, m.to]))].sort(),
        vms: moves.map((m) => m.vm),
      };
    },
    execute: ({ check, snap }, progress) => runRebalance(check, snap, { progress, ...(cluster ? { cluster } : {}) }),
    report: (r) => ({
      out: r.ok ? [`rebalanced: ${vmCount(r.moved.length)} moved live in ${r.seconds.toFixed(1)} s`] : [],
      err: [...r.failures.map((f) => `failed operation: ${f}`), ...r.problems, ...(r.notRun.length ? [`not run: ${r.notRun.map((m) => `${m.vm} ${m.from} → ${m.to}`).join(', ')}`] : [])],
    }),
    dryRunLine: 'dry run: nothing was changed (--exec carries it out)',
  };
}
