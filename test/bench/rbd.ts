// The RBD figures of npm run bench (BENCH_ONLY=rbd), on a 3-node lab with Ceph (corral lab up
// --storage ceph): the same test guest twice, once with an RBD disk (create_domxml --rbd with the
// nodes' corral.conf, a 32 MiB image imported into corral-vms) and once without a disk (the lab's
// other VMs: kernel and initrd are files every node sees), in the same lab, interleaved:
//   - start to ready (target-role Started until crm_mon says Started: the guest signalled);
//   - live migration driven by Pacemaker (crm_resource --move, until Started on the target);
//   - node crash to running on a survivor: both VMs on the crashed node, the same crash.
// Floors (issue 20): the RBD VM at most 1.2× the other in each (medians).
import { setTimeout as sleep } from 'node:timers/promises';
import { median, secs, via, waitFor } from './common.js';
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { rbd } from '../../lib/host/ceph.js';
import { clearResource, moveResource } from '../../lib/host/pacemaker/resources.js';
import { CEPH_CLIENT, CEPH_POOL } from '../../lib/lab/ceph.js';
import { clusterExec, clusterStatus, crashNode, createClusterLab, destroyClusterLab, nodeVia, reachableNode, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import type { LabNode } from '../../lib/lab/state.js';
import { ensureTestGuest } from '../../lib/lab/test-guest.js';
import { addLabVm, createDomxmlArgs, domaddLabVm } from '../../lib/lab/vms.js';

const LAB = 'benchrbd';
const SUBNET = '10.213.127';
const ROUNDS = Number(process.env.BENCH_RBD_ROUNDS ?? 4);
const CRASHES = Number(process.env.BENCH_CRASHES ?? 2);
const FLOOR = 1.2;
const DIR = '/var/cache/corral/bench/rbd';
const VMS = { rbd: 'b-rbd', plain: 'b-plain' } as const;
type Kind = keyof typeof VMS;




async function startedOn(lab: ClusterLab, vm: string): Promise<string | undefined> {
  const r = (await clusterStatus(lab)).resources.get(`vm-${vm}`);
  return r?.role === 'Started' && r.nodes.length === 1 ? r.nodes[0] : undefined;
}

async function stoppedAll(lab: ClusterLab, vm: string): Promise<true | undefined> {
  const r = (await clusterStatus(lab)).resources.get(`vm-${vm}`);
  return r && r.nodes.length === 0 ? true : undefined;
}

async function ok(r: Promise<{ exitCode: number; stderr: string; stdout: string; command: string }>) {
  const x = await r;
  if (x.exitCode !== 0) throw new Error(`${x.command}: exit ${x.exitCode}: ${x.stderr || x.stdout}`);
  return x;
}

/** target-role of VM through crm_resource in a node. */
async function targetRole(lab: ClusterLab, vm: string, role: 'Started' | 'Stopped'): Promise<void> {
  const n = await reachableNode(lab);
  await ok(clusterExec(n as LabNode, 'crm_resource', ['--resource', `vm-${vm}`, '--meta', '--set-parameter', 'target-role', '--parameter-value', role]));
}

function row(what: string, t: Record<Kind, number[]>): { line: string; ratio: number } {
  const r = median(t.rbd) / median(t.plain);
  return { line: `${what.padEnd(40)}${secs(median(t.rbd)).padStart(10)}${secs(median(t.plain)).padStart(12)}${r.toFixed(2).padStart(8)}`, ratio: r };
}

export async function runRbdBench(): Promise<{ ok: boolean }> {
  const guest = await ensureTestGuest();
  await destroyClusterLab(LAB);
  const lab = await createClusterLab({ name: LAB, nodes: 3, subnet: SUBNET, storage: 'ceph' });
  process.stderr.write(`lab: ${LAB} (with Ceph) up in ${secs(lab.timings!.totalMs)}\n`);
  try {
    const [n1] = lab.nodes as [LabNode, ...LabNode[]];
    // The RBD image: 32 MiB of random bytes, imported as client.corral.
    await mkdir(DIR, { recursive: true, mode: 0o755 });
    for (const d of ['/var/cache/corral', '/var/cache/corral/bench', DIR]) await chmod(d, 0o755);
    const raw = path.join(DIR, 'b-rbd.img');
    await ok(clusterExec(n1, 'sh', ['-c', `head -c 32M /dev/urandom > ${raw}`]));
    const imported = await rbd(['import', raw, `${CEPH_POOL}/${VMS.rbd}`], { via: nodeVia(n1, 120_000), client: { id: CEPH_CLIENT } });
    if (imported.exitCode !== 0) throw new Error(`rbd import: ${imported.stderr}`);
    await rm(raw, { force: true });
    // The same guest twice: create_domxml with and without --rbd (its Ceph settings from the node's corral.conf).
    const file = path.join(DIR, `${VMS.rbd}.xml`);
    const args = createDomxmlArgs({ name: VMS.rbd, guest }, file);
    await ok(clusterExec(n1, 'create_domxml', [...args, '--rbd', `${CEPH_POOL}/${VMS.rbd}`]));
    await ok(clusterExec(n1, 'fixup_domxml', ['-i', file]));
    await domaddLabVm(n1, file);
    await addLabVm(lab, n1, { name: VMS.plain, guest });
    await waitFor('both VMs started', async () => ((await startedOn(lab, VMS.rbd)) && (await startedOn(lab, VMS.plain)) ? true : undefined), 180_000, 250);
    await waitClusterIdle(lab, { timeoutMs: 120_000 });
    await sleep(2000);

    const start: Record<Kind, number[]> = { rbd: [], plain: [] };
    const move: Record<Kind, number[]> = { rbd: [], plain: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const kind of (i % 2 ? ['plain', 'rbd'] : ['rbd', 'plain']) as Kind[]) {
        const vm = VMS[kind];
        // Start to ready: stopped, then Started until crm_mon says so (the guest has signalled).
        await targetRole(lab, vm, 'Stopped');
        await waitFor(`${vm} stopped`, () => stoppedAll(lab, vm), 120_000, 100);
        await waitClusterIdle(lab, { timeoutMs: 120_000, quietMs: 500 });
        let t0 = Date.now();
        await targetRole(lab, vm, 'Started');
        await waitFor(`${vm} started`, () => startedOn(lab, vm), 120_000, 50);
        start[kind].push(Date.now() - t0);
        await waitClusterIdle(lab, { timeoutMs: 120_000, quietMs: 500 });
        // Live migration to the next node.
        const from = (await startedOn(lab, vm))!;
        const to = lab.nodes[(lab.nodes.findIndex((n) => n.name === from) + 1) % lab.nodes.length]!.name;
        t0 = Date.now();
        await moveResource(`vm-${vm}`, { node: to }, await via(lab));
        await waitFor(`${vm} on ${to}`, async () => ((await startedOn(lab, vm)) === to ? true : undefined), 120_000, 50);
        move[kind].push(Date.now() - t0);
        await clearResource(`vm-${vm}`, await via(lab));
        await waitClusterIdle(lab, { timeoutMs: 120_000, quietMs: 500 });
        process.stderr.write(`round ${i + 1}/${ROUNDS} ${kind}: start ${secs(start[kind].at(-1)!)}, move ${from} → ${to} ${secs(move[kind].at(-1)!)}\n`);
      }
    }

    // Node crash: both VMs on one node, crashed; each one's time to running on a survivor.
    const recovery: Record<Kind, number[]> = { rbd: [], plain: [] };
    for (let i = 0; i < CRASHES; i++) {
      const victim = lab.nodes[i % lab.nodes.length]!.name;
      for (const vm of Object.values(VMS)) {
        if ((await startedOn(lab, vm)) === victim) continue;
        await moveResource(`vm-${vm}`, { node: victim }, await via(lab));
        await waitFor(`${vm} on ${victim}`, async () => ((await startedOn(lab, vm)) === victim ? true : undefined), 120_000, 100);
        await clearResource(`vm-${vm}`, await via(lab));
      }
      await waitClusterIdle(lab, { timeoutMs: 180_000 });
      const t0 = Date.now();
      await crashNode(lab, victim);
      await Promise.all(
        (Object.keys(VMS) as Kind[]).map(async (kind) => {
          await waitFor(`${VMS[kind]} on a survivor`, async () => {
            const where = await startedOn(lab, VMS[kind]);
            return where !== undefined && where !== victim ? true : undefined;
          }, 180_000, 100);
          recovery[kind].push(Date.now() - t0);
        }),
      );
      process.stderr.write(`crash ${i + 1}/${CRASHES} of ${victim}: rbd running again after ${secs(recovery.rbd.at(-1)!)}, plain after ${secs(recovery.plain.at(-1)!)}\n`);
      await waitClusterIdle(lab, { timeoutMs: 300_000 });
    }

    console.log(`\nRBD figures (3-node lab with Ceph, the same test guest with an RBD disk and without a disk, medians; ${ROUNDS} starts and moves each, ${CRASHES} crashes)`);
    console.log(`${''.padEnd(40)}${'RBD'.padStart(10)}${'no disk'.padStart(12)}${'ratio'.padStart(8)}`);
    const rows = [row('start to ready (target-role Started)', start), row('live migration (Pacemaker move)', move), row('node crash to running on a survivor', recovery)];
    for (const r of rows) console.log(r.line);
    const met = rows.every((r) => r.ratio <= FLOOR);
    console.log(`\nfloor: the RBD VM at most ${FLOOR}× the other in each: ${met ? 'met' : 'NOT met'} (${rows.map((r) => r.ratio.toFixed(2)).join(', ')})`);
    return { ok: met };
  } finally {
    await destroyClusterLab(LAB);
  }
}
