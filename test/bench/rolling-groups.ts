// The grouped rolling reboot in npm run bench (BENCH_ONLY=rolling-groups), on a real 5-node lab:
// `corral rolling-reboot --groups --exec` against `corral rolling-reboot --exec` (one node at a
// time) from the same start — two VMs on each node — in the same run: total time, turns, and live
// migrations per VM, each beside what its plan said. The run goes from the DC, which both plans
// reboot last and alone: its own turn ends the command, and a node already rebooted resumes it.
import { clusterExec, clusterStatus, createClusterLab, destroyClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import type { LabNode } from '../../lib/lab/state.js';
import type { RunResult } from '../../lib/host/exec.js';
import { addVms, built, copyBuild, ok } from '../support/ops-lab.js';

const LAB = { name: 'benchroll', subnet: '10.213.86' };
const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];
/** Two VMs per node: g1 and g2 on n1, g3 and g4 on n2, … */
const VMS = NODES.flatMap((node, i) => [{ vm: `g${2 * i + 1}`, node }, { vm: `g${2 * i + 2}`, node }]);

function inNode(node: LabNode, command: string, args: readonly string[], timeoutMs = 120_000): Promise<RunResult> {
  return clusterExec(node, built(command), args, { timeoutMs });
}

function nodeOf(lab: ClusterLab, name: string): LabNode {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name} in the lab`);
  return n;
}

/** Every VM back on its own node, no constraint left, the cluster idle. */
async function place(lab: ClusterLab): Promise<void> {
  const n1 = nodeOf(lab, 'n1');
  for (const { vm, node } of VMS) await ok(inNode(n1, 'vm', [vm, 'migrate', node, '--yes'], 600_000));
  await ok(inNode(n1, 'vm', ['g*', 'clear', '--yes']));
  await waitClusterIdle(lab, { timeoutMs: 300_000 });
}

interface RollingPlan {
  order: string[];
  steps?: unknown[];
  groups?: { nodes: string[] }[];
  migrationsPerVm: number;
}

interface RollingRun {
  seconds: number;
  migrationsPerVm: number;
  plan: RollingPlan;
}

/** A rolling reboot with ARGS from the DC, resumed from a rebooted node after the DC's own turn. */
async function rolling(lab: ClusterLab, args: readonly string[]): Promise<RollingRun> {
  const dcName = (await clusterStatus(lab)).nodes.find((n) => n.dc)?.name;
  if (!dcName) throw new Error('the lab has no DC');
  const dc = nodeOf(lab, dcName);
  const plan = (JSON.parse((await ok(inNode(dc, 'corral', ['rolling-reboot', ...args, '--json']))).stdout) as { plan: RollingPlan }).plan;
  const t0 = Date.now();
  const r = await inNode(dc, 'corral', ['rolling-reboot', ...args, '--exec', '--json'], 3_600_000);
  if (r.exitCode !== 0 && r.exitCode < 128) throw new Error(`rolling-reboot ${args.join(' ')} failed: ${r.stderr}\n${r.stdout}`);
  const out = JSON.parse(r.stdout) as { result: { migrations: Record<string, number>; resumeAfterOwnReboot?: string } };
  const migrations = { ...out.result.migrations };
  if (out.result.resumeAfterOwnReboot) {
    await waitClusterIdle(lab, { timeoutMs: 600_000 });
    const other = nodeOf(lab, plan.order.find((n) => n !== dcName) ?? 'n1');
    const again = JSON.parse((await ok(inNode(other, 'corral', ['rolling-reboot', ...args, '--exec', '--resume', '--json'], 3_600_000))).stdout) as { result: { migrations: Record<string, number> } };
    for (const [vm, n] of Object.entries(again.result.migrations)) migrations[vm] = (migrations[vm] ?? 0) + n;
  }
  await waitClusterIdle(lab, { timeoutMs: 600_000 });
  const seconds = (Date.now() - t0) / 1000;
  const total = Object.values(migrations).reduce((a, b) => a + b, 0);
  return { seconds, migrationsPerVm: total / VMS.length, plan };
}

export async function runRollingGroupsBench(): Promise<{ ok: boolean }> {
  await destroyClusterLab(LAB.name).catch(() => undefined);
  const lab = await createClusterLab({ name: LAB.name, nodes: NODES.length, subnet: LAB.subnet, timeoutMs: 600_000 });
  try {
    await copyBuild();
    await addVms(lab, VMS.map(({ vm }) => ({ name: vm, tick: true })));
    await waitClusterIdle(lab, { timeoutMs: 600_000 });

    await place(lab);
    const grouped = await rolling(lab, ['--groups']);
    await place(lab);
    const single = await rolling(lab, []);

    const turns = grouped.plan.groups?.length ?? 0;
    console.log(`\ncorral rolling-reboot of ${NODES.length} nodes with ${VMS.length} running VMs (two per node, TCG guests of 128 MiB), from the DC:`);
    console.log(`  one node at a time: ${single.plan.order.length} turns, ${single.seconds.toFixed(0)} s, ${single.migrationsPerVm.toFixed(2)} live migrations per VM (planned ${single.plan.migrationsPerVm.toFixed(2)})`);
    console.log(`  --groups: ${turns} turns (${(grouped.plan.groups ?? []).map((g) => `{${g.nodes.join(',')}}`).join(' → ')}), ${grouped.seconds.toFixed(0)} s, ${grouped.migrationsPerVm.toFixed(2)} live migrations per VM (planned ${grouped.plan.migrationsPerVm.toFixed(2)})`);
    console.log(`  --groups took ${(grouped.seconds / single.seconds).toFixed(2)}× the time of one node at a time, for ${(grouped.migrationsPerVm - single.migrationsPerVm).toFixed(2)} more migrations per VM`);
    // A grouped plan that does not save a turn, or that moves VMs more than it planned, is a defect.
    return { ok: turns > 0 && turns < single.plan.order.length && grouped.seconds < single.seconds && grouped.migrationsPerVm <= grouped.plan.migrationsPerVm + 1e-9 };
  } finally {
    if (!process.env.CORRAL_KEEP_LAB) await destroyClusterLab(LAB.name);
  }
}
