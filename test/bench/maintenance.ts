// The maintenance figures of npm run bench (BENCH_ONLY=maintenance), on a real 3-node lab:
//   - a drain of 8 running VMs with --parallel 1 and with the default, the same lab, the same VMs:
//     floor: the default at least 3× faster;
//   - a rolling reboot of the 3 nodes: migrations per VM (floor: at most 1.0 on average when
//     capacity allows, as here: the VMs start gathered on one node) and seconds per node;
//   - corral capacity --size beside hspace's count on the same cluster, and the rolling-reboot
//     order beside hroller's groups.
import { readFile } from 'node:fs/promises';
import { clusterExec, createClusterLab, destroyClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import type { LabNode } from '../../lib/lab/state.js';
import { takeSnapshot } from '../../lib/cluster/snapshot.js';
import { runHroller, runHspace } from '../../lib/host/htools.js';
import { htoolsText } from '../../lib/plan/htools.js';
import type { RunResult } from '../../lib/host/exec.js';
import { addVms, built, copyBuild, ok } from '../support/ops-lab.js';

/** This build's corral command run in NODE with the lab's own corral.conf (reboot_command included). */
function inNode(node: LabNode, command: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return clusterExec(node, built(command), args, { timeoutMs: opts.timeoutMs ?? 120_000 });
}

const LAB = { name: 'benchmnt', subnet: '10.213.85' };
const VMS = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8'];

async function gather(n1: LabNode, lab: ClusterLab): Promise<void> {
  await ok(inNode(n1, 'vm', ['b*', 'migrate', 'n1', '--yes'], { timeoutMs: 600_000 }));
  await ok(inNode(n1, 'vm', ['b*', 'clear', '--yes']));
  await waitClusterIdle(lab, { timeoutMs: 300_000 });
}

/** This machine's CPU time so far (busy and all, in clock ticks, /proc/stat): every lab node shares it. */
async function cpuTicks(): Promise<{ busy: number; all: number }> {
  const f = ((await readFile('/proc/stat', 'utf8')).split('\n')[0] as string).trim().split(/\s+/).slice(1).map(Number);
  const all = f.reduce((a, b) => a + b, 0);
  return { busy: all - (f[3] ?? 0) - (f[4] ?? 0), all };
}

/** A drain of n1: its seconds, and how busy the machine's cores were meanwhile (0–1). */
async function drainSeconds(n1: LabNode, parallel: string[]): Promise<{ seconds: number; busy: number }> {
  const before = await cpuTicks();
  const r = await ok(inNode(n1, 'corral', ['node', 'drain', 'n1', '--json', ...parallel], { timeoutMs: 900_000 }));
  const after = await cpuTicks();
  const out = JSON.parse(r.stdout) as { result: { ok: boolean; seconds: number; left: { how: string }[] } };
  if (!out.result.ok || out.result.left.some((l) => l.how !== 'migrated')) throw new Error(`drain was not all live: ${r.stdout}`);
  return { seconds: out.result.seconds, busy: (after.busy - before.busy) / Math.max(1, after.all - before.all) };
}

export async function runMaintenanceBench(): Promise<{ ok: boolean }> {
  await destroyClusterLab(LAB.name).catch(() => undefined);
  const lab = await createClusterLab({ name: LAB.name, nodes: 3, subnet: LAB.subnet, timeoutMs: 300_000 });
  const n1 = lab.nodes[0] as LabNode;
  try {
    await copyBuild();
    await addVms(lab, VMS.map((name) => ({ name, tick: true })));
    await waitClusterIdle(lab, { timeoutMs: 300_000 });

    // Drains, each from the same start: all eight on n1.
    const runs: { parallel: string; seconds: number; busy: number }[] = [];
    for (const parallel of [['--parallel', '1'], [], ['--parallel', '1'], []]) {
      await gather(n1, lab);
      const d = await drainSeconds(n1, parallel);
      runs.push({ parallel: parallel[1] ?? 'default', ...d });
      await ok(inNode(n1, 'corral', ['node', 'undrain', 'n1'], { timeoutMs: 300_000 }));
      await waitClusterIdle(lab, { timeoutMs: 300_000 });
    }
    const best = (p: string) => runs.filter((r) => r.parallel === p).reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const one = best('1');
    const dflt = best('default');
    const ratio = one.seconds / dflt.seconds;
    const cores = (await readFile('/proc/cpuinfo', 'utf8')).split('\n').filter((l) => l.startsWith('processor')).length;
    console.log('\ncorral node drain of 8 running VMs (live migrations, TCG guests of 128 MiB), best of 2 each:');
    console.log(`  --parallel 1: ${one.seconds.toFixed(1)} s; default: ${dflt.seconds.toFixed(1)} s; ${ratio.toFixed(2)}× faster (floor 3×: ${ratio >= 3 ? 'met' : 'NOT met'})`);
    console.log(`  this machine's ${cores} cores (all three lab nodes share them) were ${Math.round(one.busy * 100)}% busy during the --parallel 1 drain, ${Math.round(dflt.busy * 100)}% during the default one: ${one.seconds * one.busy * cores > 0 ? `${((one.seconds * one.busy * cores) / 8).toFixed(2)} and ${((dflt.seconds * dflt.busy * cores) / 8).toFixed(2)} CPU-seconds per migration` : ''}`);

    // The peers on the same cluster (the VMs gathered on n1 again).
    await gather(n1, lab);
    const snap = await takeSnapshot({ cibXml: (await ok(clusterExec(n1, 'cibadmin', ['--query']))).stdout });
    const cap = JSON.parse((await ok(inNode(n1, 'corral', ['capacity', '--size', '1,128m', '--json']))).stdout) as { fit?: { count: number } };
    const text = htoolsText(snap.view, {});
    const hs = await runHspace(text, { size: { vcpus: 1, memoryMiB: 128 } });
    console.log(`  corral capacity --size 1,128m: ${cap.fit?.count} more; hspace: ${hs.allocated} more (docs/htools.md: htools keeps 1 MiB per node free, Pacemaker fills a node exactly)`);
    const groups = (await runHroller(text)).map((g) => g.nodes);
    const plan = JSON.parse((await ok(inNode(n1, 'corral', ['rolling-reboot', '--json']))).stdout) as { plan: { order: string[]; migrationsPerVm: number } };
    console.log(`  rolling-reboot order: ${plan.plan.order.join(' → ')}; hroller's groups: ${groups.map((g) => `{${g.join(',')}}`).join(' → ')} (hroller reboots nodes together when no instance needs them; corral one at a time)`);

    // The rolling reboot itself.
    const t0 = Date.now();
    // Run from n1: when n1's own turn comes, the reboot ends the command (exit 128 and up) after
    // it has printed its result; a node already rebooted then resumes.
    const r = await inNode(n1, 'corral', ['rolling-reboot', '--exec', '--json'], { timeoutMs: 1_800_000 });
    if (r.exitCode !== 0 && r.exitCode < 128) throw new Error(`rolling-reboot failed: ${r.stderr}\n${r.stdout}`);
    const out = JSON.parse(r.stdout) as { result: { ok: boolean; rebooted: string[]; migrations: Record<string, number>; resumeAfterOwnReboot?: string } };
    let migrations = out.result.migrations;
    if (out.result.resumeAfterOwnReboot) {
      await waitClusterIdle(lab, { timeoutMs: 300_000 });
      const done = (await ok(clusterExec(n1, 'cibadmin', ['--query', '--scope', 'crm_config']).catch(() => clusterExec(lab.nodes[1] as LabNode, 'cibadmin', ['--query', '--scope', 'crm_config'])))).stdout;
      const n2 = lab.nodes.find((n) => new RegExp(`\\b${n.name}:done\\b`).test(done)) ?? (lab.nodes[1] as LabNode);
      const again = JSON.parse((await ok(inNode(n2, 'corral', ['rolling-reboot', '--exec', '--resume', '--json'], { timeoutMs: 1_800_000 }))).stdout) as { result: { migrations: Record<string, number> } };
      migrations = { ...migrations };
      for (const [vm, n] of Object.entries(again.result.migrations)) migrations[vm] = (migrations[vm] ?? 0) + n;
    }
    const seconds = (Date.now() - t0) / 1000;
    const total = Object.values(migrations).reduce((a, b) => a + b, 0);
    const perVm = total / VMS.length;
    console.log(`corral rolling-reboot --exec of 3 nodes with 8 VMs: ${total} live migrations, ${perVm.toFixed(2)} per VM (planned ${plan.plan.migrationsPerVm.toFixed(2)}; floor 1.0: ${perVm <= 1 ? 'met' : 'NOT met'}), ${(seconds / 3).toFixed(1)} s per node`);
    return { ok: ratio >= 3 && perVm <= 1 };
  } finally {
    if (!process.env.CORRAL_KEEP_LAB) await destroyClusterLab(LAB.name);
  }
}
