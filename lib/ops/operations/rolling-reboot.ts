// `corral rolling-reboot [--exec] [--groups] [--resume]` as an Operation (lib/ops/operation.ts): the
// plan is Pacemaker's, step by step on a copy of the CIB (lib/ops/rolling.ts), the work
// execRollingReboot, whose turns run the operator's node-reboot hooks themselves.
import type { Snapshot } from '../../cluster/snapshot.js';
import type { ClusterPort } from '../../host/pacemaker/cluster-port.js';
import type { Config } from '../config.js';
import type { Hooks } from '../hooks.js';
import { MaintenanceInputError } from '../maintenance.js';
import type { Operation } from '../operation.js';
import {
  execRollingReboot,
  formatProgress,
  parseProgress,
  planRollingGroups,
  planRollingReboot,
  PROGRESS_OPTION,
  type ExecOutcome,
  type GroupedRollingPlan,
  type RollingPlan,
  type TurnProgress,
} from '../rolling.js';

export interface RollingArgs {
  /** --nodes: only these. */
  nodes?: readonly string[];
  groups: boolean;
  resume: boolean;
  parallel?: number;
  /** Goes on at a turn whose drain would stop a VM (the runner's --force, handed to each turn's check). */
  force: boolean;
  /** The node this runs on (it goes last but for the DC). */
  local?: string;
  config: Config;
  hooks?: Hooks;
  cluster?: ClusterPort;
}

const per = (m: number, v: number) => `${m} migration${m === 1 ? '' : 's'} for ${v} running VM${v === 1 ? '' : 's'} (${(v ? m / v : 0).toFixed(2)} per VM)`;

/** The grouped plan for people: a line per group, its moves, then the groups refused and why. */
function groupsText(plan: GroupedRollingPlan, dc: string | undefined): string {
  const lines: string[] = [];
  const n = plan.groups.length;
  lines.push(`rolling reboot in ${n} group${n === 1 ? '' : 's'}: ${plan.groups.map((g) => g.nodes.join('+')).join(', ')} (in this order)${plan.skipped.length ? `; skipped: ${plan.skipped.map((s) => `${s.node} (${s.why})`).join(', ')}` : ''}`);
  for (const g of plan.groups) {
    lines.push(`  ${g.nodes.join(', ')}${dc !== undefined && g.nodes.includes(dc) ? ' (DC)' : ''}: ${g.moves.length ? g.moves.map((m) => `${m.vm} → ${m.to}${m.copy ? ' (with a copy of its local disks)' : m.live ? '' : ' (not live)'}`).join(', ') : 'no VM to move'}`);
    for (const s of g.stops) lines.push(`    ${s.vm} would STOP: ${s.why}`);
  }
  for (const s of plan.split) lines.push(`  not together: ${s.nodes.join(', ')}: ${s.why}`);
  lines.push(`${per(plan.migrations, plan.vms)}; one node at a time: ${plan.oneAtATime.steps} step${plan.oneAtATime.steps === 1 ? '' : 's'}, ${per(plan.oneAtATime.migrations, plan.vms)}`);
  return `${lines.join('\n')}\n`;
}

/** The one-node-at-a-time plan for people. */
function stepsText(plan: RollingPlan): string {
  const lines = [`rolling reboot of ${plan.order.join(', ')} (in this order)${plan.skipped.length ? `; skipped: ${plan.skipped.map((s) => `${s.node} (${s.why})`).join(', ')}` : ''}`];
  for (const st of plan.steps) {
    lines.push(`  ${st.node}${st.dc ? ' (DC)' : ''}: ${st.moves.length ? st.moves.map((m) => `${m.vm} → ${m.to}${m.copy ? ' (with a copy of its local disks)' : m.live ? '' : ' (not live)'}`).join(', ') : 'no VM to move'}`);
    for (const s of st.stops) lines.push(`    ${s.vm} would STOP: ${s.why}`);
  }
  lines.push(`${plan.migrations} migration${plan.migrations === 1 ? '' : 's'} for ${plan.vms} running VM${plan.vms === 1 ? '' : 's'} (${plan.migrationsPerVm.toFixed(2)} per VM)`);
  return `${lines.join('\n')}\n`;
}

interface RollingWork {
  turns: string[][];
  recorded?: TurnProgress[];
}

export function rollingRebootOperation(a: RollingArgs): Operation<RollingWork, ExecOutcome> {
  return {
    name: 'rolling-reboot',
    lock: { resumes: a.resume, hint: (b) => (b.rolling ? `its progress: ${formatProgress(parseProgress(b.rolling))}; --exec --resume continues it` : `finish or undrain ${b.draining.join(', ')} first`) },
    async plan(snap: Snapshot) {
      const recorded = parseProgress(snap.cib.options[PROGRESS_OPTION]);
      const opts = { ...(a.nodes ? { nodes: a.nodes } : {}), ...(a.local ? { local: a.local } : {}), ...(a.cluster ? { cluster: a.cluster } : {}) };
      if (a.resume) {
        // Resuming follows the recorded turns; nodes may be down or rejoining right now, so nothing is planned again.
        if (recorded.length === 0) throw new MaintenanceInputError('there is no rolling reboot to resume');
        const turns = recorded.map((p) => p.nodes);
        const summary = { order: turns.flat(), ...(recorded.some((p) => p.nodes.length > 1) || a.groups ? { groups: [] } : { steps: [] }), skipped: [], migrations: 0, vms: 0, migrationsPerVm: 0 };
        return { plan: { turns, recorded }, json: { plan: summary }, text: `resuming the rolling reboot: ${formatProgress(recorded)}\n`, ...touched(snap, turns) };
      }
      if (a.groups) {
        const plan = await planRollingGroups(snap, opts);
        const turns = plan.groups.map((g) => g.nodes);
        const stops = plan.groups.flatMap((g) => g.stops.map((s) => `${s.vm} (with ${g.nodes.join('+')})`));
        return { plan: { turns }, json: { plan: { ...plan } }, text: groupsText(plan, snap.view.hosts.find((h) => h.dc)?.name), ...blocked(stops), ...touched(snap, turns) };
      }
      const plan = await planRollingReboot(snap, opts);
      const turns = plan.order.map((n) => [n]);
      const stops = plan.steps.flatMap((st) => st.stops.map((s) => `${s.vm} (with ${st.node})`));
      const summary = { order: plan.order, steps: plan.steps, skipped: plan.skipped, migrations: plan.migrations, vms: plan.vms, migrationsPerVm: plan.migrationsPerVm };
      return { plan: { turns }, json: { plan: summary }, text: stepsText(plan), ...blocked(stops), ...touched(snap, turns) };
    },
    execute: ({ turns, recorded }, progress) =>
      execRollingReboot(turns, recorded, {
        force: a.force,
        config: a.config,
        progress,
        ...(a.parallel ? { parallel: a.parallel } : {}),
        ...(a.local ? { local: a.local } : {}),
        ...(a.hooks ? { hooks: a.hooks } : {}),
        ...(a.cluster ? { cluster: a.cluster } : {}),
      }),
    resultJson: ({ rebootSelf: _self, ...result }) => result,
    report: (r) => ({
      out: r.resumeAfterOwnReboot
        ? [`${r.resumeAfterOwnReboot} (this node) reboots now: once it is back, run corral rolling-reboot --exec --resume`]
        : r.ok
          ? [`rolling reboot done: ${r.rebooted.join(', ')} in ${r.seconds.toFixed(0)} s; ${Object.values(r.migrations).reduce((x, y) => x + y, 0)} live migrations`]
          : [],
      err: r.problems,
    }),
    dryRunLine: 'dry run: nothing was changed (--exec carries it out)',
  };
}

function blocked(stops: readonly string[]): { blocked?: string } {
  return stops.length ? { blocked: `the plan would stop ${stops.join(', ')} (--force goes ahead)` } : {};
}

/** The nodes of TURNS and the VMs on them now, for the hooks and the audit line. */
function touched(snap: Snapshot, turns: readonly string[][]): { nodes: string[]; vms: string[] } {
  const nodes = turns.flat();
  return { nodes, vms: snap.view.vms.filter((v) => v.nodes.some((n) => nodes.includes(n))).map((v) => v.name) };
}
