// The lab figures of npm run bench, on a real 3-node lab cluster:
//   - live migration driven by Pacemaker (crm_resource --move to Started on the target):
//     ocf:corral:TransientDomain against ocf:heartbeat:VirtualDomain, the same test guest, the
//     same lab, alternating moves; wall time as crm_mon sees it, and the agents' own
//     migrate_to + migrate_from execution times (pacemaker-execd's log);
//   - node crash to the crashed node's VM running again on a survivor (and fencing's share).
// Floors: corral's migration no slower than VirtualDomain's (medians of wall time); recovery
// within 20 s of the crash.
import { setTimeout as sleep } from 'node:timers/promises';
import { median, secs, via, waitFor } from './common.js';
import { readFile } from 'node:fs/promises';
import { create } from 'xmlbuilder2';
import { createInCib } from '../../lib/host/pacemaker/cib.js';
import { fenceHistory } from '../../lib/host/pacemaker/fencing.js';
import { clearResource, moveResource } from '../../lib/host/pacemaker/resources.js';
import {
  clusterStatus,
  crashNode,
  createClusterLab,
  destroyClusterLab,
  nodeVia,
  reachableNode,
  waitClusterIdle,
  type ClusterLab,
} from '../../lib/lab/cluster.js';
import { ensureTestGuest } from '../../lib/lab/test-guest.js';
import { addLabVm, labQemus, writeLabVmXml } from '../../lib/lab/vms.js';
import { LabWatcher } from '../../lib/lab/watch.js';

const LAB = 'benchlab';
const SUBNET = '10.213.84';
const MOVES = Number(process.env.BENCH_MOVES ?? 6);
const CRASHES = Number(process.env.BENCH_CRASHES ?? 2);
const RECOVERY_FLOOR_MS = 20_000;




async function startedOn(lab: ClusterLab, id: string): Promise<string | undefined> {
  const r = (await clusterStatus(lab)).resources.get(id);
  return r?.role === 'Started' && r.nodes.length === 1 ? r.nodes[0] : undefined;
}

/** The ocf:heartbeat:VirtualDomain primitive of the same guest, as its users configure it. */
function virtualDomainXml(id: string, configFile: string): string {
  const doc = create();
  const p = doc.ele('primitive', { id, class: 'ocf', provider: 'heartbeat', type: 'VirtualDomain' });
  const ia = p.ele('instance_attributes', { id: `${id}-instance_attributes` });
  // autoset_utilization_host_memory off: the lab's nodes offer cpu and hv_memory (nodecap's
  // names); a resource asking for host_memory would fit on no node under placement-strategy.
  const params = { config: configFile, hypervisor: 'qemu:///system', migration_transport: 'tcp', autoset_utilization_host_memory: 'false' };
  for (const [n, v] of Object.entries(params)) {
    ia.ele('nvpair', { id: `${id}-instance_attributes-${n}`, name: n, value: v });
  }
  p.ele('meta_attributes', { id: `${id}-meta_attributes` }).ele('nvpair', { id: `${id}-meta_attributes-allow-migrate`, name: 'allow-migrate', value: 'true' });
  const ops = p.ele('operations');
  for (const [name, timeout, interval] of [['start', '120s', '0s'], ['stop', '120s', '0s'], ['monitor', '30s', '10s'], ['migrate_to', '120s', '0s'], ['migrate_from', '120s', '0s']]) {
    ops.ele('op', { id: `${id}-${name}-interval-${interval}`, name: name!, timeout: timeout!, interval: interval! });
  }
  return doc.end({ headless: true });
}

/** migrate_to + migrate_from execution times (ms) of RSC logged by pacemaker-execd since FROM. */
async function agentMigrationMs(lab: ClusterLab, rsc: string, from: number): Promise<number | undefined> {
  let total = 0;
  let seen = 0;
  const re = new RegExp(`^(\\w+ \\d+ [\\d:.]+) \\S+ pacemaker-execd.*\\b${rsc} (migrate_to|migrate_from) \\(call \\d+, PID \\d+\\) exited with status 0 \\(execution time ([\\d.]+)(ms|s)\\)`);
  const year = new Date().getFullYear();
  for (const n of lab.nodes) {
    const log = await readFile(`${n.dir}/fs/var/log/pacemaker/pacemaker.log`, 'utf8').catch(() => '');
    for (const line of log.split('\n')) {
      const m = re.exec(line);
      if (!m) continue;
      if (Date.parse(`${m[1]} ${year}`) < from - 1000) continue;
      total += Number(m[3]) * (m[4] === 's' ? 1000 : 1);
      seen++;
    }
  }
  return seen === 2 ? total : undefined;
}

export interface LabBenchResult {
  ok: boolean;
}

export async function runLabBench(): Promise<LabBenchResult> {
  const guest = await ensureTestGuest();
  await destroyClusterLab(LAB);
  const lab = await createClusterLab({ name: LAB, nodes: 3, subnet: SUBNET });
  process.stderr.write(`lab: ${LAB} up in ${secs(lab.timings!.totalMs)}\n`);
  const watcher = new LabWatcher(lab).start();
  try {
    const [n1] = lab.nodes as [(typeof lab.nodes)[0]];
    // The same guest twice: corral's VM through domadd, VirtualDomain's from an XML file made by
    // the same tools (create_domxml, fixup_domxml), configured as VirtualDomain's users do.
    await addLabVm(lab, n1, { name: 'bench-td', guest });
    const vdFile = await writeLabVmXml(lab, n1, { name: 'bench-vd', guest });
    await createInCib('resources', virtualDomainXml('vm-bench-vd', vdFile), await via(lab));
    await waitFor('both VMs started', async () => ((await startedOn(lab, 'vm-bench-td')) && (await startedOn(lab, 'vm-bench-vd')) ? true : undefined), 180_000, 250);
    await waitClusterIdle(lab, { timeoutMs: 120_000 });
    await sleep(3000);

    // -- live migration, alternating, each VM between n1 and n2 (the guest idles meanwhile)
    const wall: Record<'td' | 'vd', number[]> = { td: [], vd: [] };
    const agent: Record<'td' | 'vd', number[]> = { td: [], vd: [] };
    for (let i = 0; i < MOVES; i++) {
      for (const kind of ['td', 'vd'] as const) {
        const id = kind === 'td' ? 'vm-bench-td' : 'vm-bench-vd';
        const from = (await startedOn(lab, id))!;
        const to = lab.nodes[(lab.nodes.findIndex((n) => n.name === from) + 1) % lab.nodes.length]!.name;
        const t0 = Date.now();
        await moveResource(id, { node: to }, await via(lab));
        await waitFor(`${id} on ${to}`, async () => ((await startedOn(lab, id)) === to ? true : undefined), 120_000, 50);
        wall[kind].push(Date.now() - t0);
        await clearResource(id, await via(lab));
        await waitClusterIdle(lab, { timeoutMs: 120_000, quietMs: 500 });
        const a = await agentMigrationMs(lab, id, t0);
        if (a !== undefined) agent[kind].push(a);
        process.stderr.write(`move ${i + 1}/${MOVES} ${kind}: ${from} → ${to} ${secs(wall[kind].at(-1)!)}\n`);
      }
    }

    // -- node crash to recovered: the node running corral's VM
    const recovery: number[] = [];
    const fencing: number[] = [];
    for (let i = 0; i < CRASHES; i++) {
      await waitClusterIdle(lab, { timeoutMs: 180_000 });
      const victim = (await startedOn(lab, 'vm-bench-td'))!;
      const t0 = Date.now();
      await crashNode(lab, victim);
      const fenced = waitFor('fencing recorded', async () => {
        const n = await reachableNode(lab);
        const e = n && (await fenceHistory(victim, nodeVia(n, 10_000))).find((x) => x.status === 'success' && (x.completedMs ?? 0) >= t0 - 1000);
        return e ? Date.now() - t0 : undefined;
      }, 120_000, 200);
      await waitFor('bench-td running on a survivor', async () => {
        const where = await startedOn(lab, 'vm-bench-td');
        const q = (await labQemus(lab)).filter((x) => x.vm === 'bench-td');
        return where !== undefined && where !== victim && q.length === 1 && q[0]!.node === where ? true : undefined;
      }, 120_000, 100);
      recovery.push(Date.now() - t0);
      fencing.push(await fenced);
      process.stderr.write(`crash ${i + 1}/${CRASHES} of ${victim}: fenced after ${secs(fencing.at(-1)!)}, recovered after ${secs(recovery.at(-1)!)}\n`);
    }
    await waitClusterIdle(lab, { timeoutMs: 180_000 });

    const report = await watcher.stop();
    const mw = { td: median(wall.td), vd: median(wall.vd) };
    const ma = { td: median(agent.td), vd: median(agent.vd) };
    console.log(`\nLab figures (3-node lab cluster, same test guest, medians; ${MOVES} moves each, ${CRASHES} crashes)`);
    console.log(`${'live migration (Pacemaker move)'.padEnd(40)}${'corral'.padStart(10)}${'VirtualDomain'.padStart(15)}${'ratio'.padStart(8)}`);
    console.log(`${'  move → Started on target (wall)'.padEnd(40)}${secs(mw.td).padStart(10)}${secs(mw.vd).padStart(15)}${(mw.td / mw.vd).toFixed(2).padStart(8)}`);
    console.log(`${'  migrate_to + migrate_from (agents)'.padEnd(40)}${secs(ma.td).padStart(10)}${secs(ma.vd).padStart(15)}${(ma.td / ma.vd).toFixed(2).padStart(8)}`);
    console.log(`node crash → fencing recorded:           ${secs(median(fencing))} (each: ${fencing.map(secs).join(', ')})`);
    console.log(`node crash → VM running on a survivor:   ${secs(median(recovery))} (each: ${recovery.map(secs).join(', ')})`);
    console.log(`watcher: ${report.violations.length} violations in ${report.samples} samples (a VM twice, a VM lost from the CIB)`);
    const migOk = mw.td <= mw.vd;
    const recOk = recovery.every((x) => x <= RECOVERY_FLOOR_MS);
    console.log(`\nfloor: migration no slower than VirtualDomain's: ${migOk ? 'met' : 'NOT met'} (${(mw.td / mw.vd).toFixed(2)}×)`);
    console.log(`floor: recovery within ${RECOVERY_FLOOR_MS / 1000} s of the crash: ${recOk ? 'met' : 'NOT met'} (worst ${secs(Math.max(...recovery))})`);
    return { ok: migOk && recOk && report.violations.length === 0 };
  } finally {
    await watcher.stop();
    await destroyClusterLab(LAB);
  }
}
