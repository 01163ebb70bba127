// npm run bench: ocf:corral:TransientDomain against ocf:heartbeat:VirtualDomain on the same test
// guest, in the same lab node, in the same run, interleaved. Prints medians and ratios and checks
// the floors of issue 18: a monitor costs at most 0.1× VirtualDomain's CPU (its defaults) and less
// than VirtualDomain's with autoset_utilization_* off; start-to-ready at most 1.0× VirtualDomain's.
// Then the other parts (./list.ts, and ./lab.ts: Pacemaker-driven live migration
// against VirtualDomain and node-crash recovery on a 3-node lab cluster). Needs root and the
// packages of .ci/run.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DomainDoc } from '../../lib/domain/doc.js';
import { createLab, destroyLab } from '../../lib/lab/create.js';
import { startLibvirtAll } from '../../lib/lab/libvirt.js';
import { nodeExec } from '../../lib/lab/node.js';
import type { LabNode } from '../../lib/lab/state.js';
import { ensureTestGuest, testGuestDomainXml } from '../../lib/lab/test-guest.js';
import { AGENT, agentEnv, domState, sharedFile, uuid, waitFor } from '../support/agent-lab.js';
import { runLabBench } from './lab.js';
import { benchNeeds, requirePrograms } from '../../scripts/dev/needs.js';
import { median } from './common.js';

const VD = '/usr/lib/ocf/resource.d/heartbeat/VirtualDomain';
const HERE = new URL('.', import.meta.url).pathname;
const LAB = 'bench';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MONITORS = Number(process.env.BENCH_MONITORS ?? 20);

interface Run {
  wallMs: number;
  cpuMs: number;
  code: number;
  stderr: string;
}

// CPU times come in clock ticks (10 ms) per run, which a monitor of a few ms falls between: their
// mean is exact (the kernel sums the children's time in ns), a median of ticks is not.
const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;

async function measure(node: LabNode, n: number, cmd: string, args: string[], env: Record<string, string>, expectCode = 0): Promise<Run[]> {
  const r = await nodeExec(node, process.execPath, [path.join(HERE, 'measure.mjs'), String(n), cmd, ...args], { env, timeoutMs: 600_000 });
  if (r.exitCode !== 0) throw new Error(`measure failed: ${r.stderr}`);
  const runs = JSON.parse(r.stdout) as Run[];
  const bad = runs.find((x) => x.code !== expectCode);
  if (bad) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${bad.code}, expected ${expectCode}: ${bad.stderr}`);
  return runs;
}

async function agentBench(): Promise<boolean> {
  if (!existsSync(AGENT)) throw new Error('run npm run build first');
  if (!existsSync(VD)) throw new Error(`${VD} is missing: apt-get install resource-agents`);
  const guest = await ensureTestGuest();
  await destroyLab(LAB);
  const lab = await createLab({ name: LAB, nodes: ['bn1'], subnet: '10.213.79' });
  const node = lab.nodes[0]!;
  try {
    await startLibvirtAll(lab.nodes);
    const name = 'bench-guest';
    const xml = testGuestDomainXml({ name, uuid: uuid(), guest });
    const file = await sharedFile('bench-guest.xml', xml);
    const corral = agentEnv('vm-bench', xml, 120_000, { OCF_RESKEY_CRM_meta_interval: '10000' });
    // VirtualDomain as deployed: its defaults, which keep the resource's utilization up to date
    // on every monitor (virsh dominfo and crm_resource for cpu, host_memory and hv_memory).
    const vd = {
      ...agentEnv('vm-bench', file, 120_000, { OCF_RESKEY_CRM_meta_interval: '10000' }),
      OCF_RESOURCE_TYPE: 'VirtualDomain',
      OCF_RESKEY_hypervisor: 'qemu:///system',
    };
    // And pared down to one virsh domstate: the cheapest VirtualDomain can be.
    const vdLean = {
      ...vd,
      OCF_RESKEY_autoset_utilization_cpu: 'false',
      OCF_RESKEY_autoset_utilization_hv_memory: 'false',
      OCF_RESKEY_autoset_utilization_host_memory: 'false',
    };
    const result: Record<string, { corral: Run[]; vd: Run[] }> = {
      monitor: { corral: [], vd: [] },
      'monitor (lean VD)': { corral: [], vd: [] },
      'start-to-ready': { corral: [], vd: [] },
      stop: { corral: [], vd: [] },
    };
    // Monitors of the running guest, interleaved so that drift hits both agents alike.
    const monitors = async () => {
      for (let i = 0; i < 2; i++) {
        const c = await measure(node, MONITORS / 2, AGENT, ['monitor'], corral);
        result.monitor!.corral.push(...c);
        result['monitor (lean VD)']!.corral.push(...c);
        result.monitor!.vd.push(...(await measure(node, MONITORS / 2, VD, ['monitor'], vd)));
        result['monitor (lean VD)']!.vd.push(...(await measure(node, MONITORS / 2, VD, ['monitor'], vdLean)));
      }
    };
    // Warm-up: libvirt's first start in a node and the page cache.
    await measure(node, 1, AGENT, ['start'], corral);
    await measure(node, 1, AGENT, ['stop'], corral);

    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
      // corral starts the guest: start-to-ready is the agent's own start (it waits for the signal).
      result['start-to-ready']!.corral.push(...(await measure(node, 1, AGENT, ['start'], corral)));
      await monitors();
      result.stop!.corral.push(...(await measure(node, 1, AGENT, ['stop'], corral)));
      if ((await domState(node, name)) !== undefined) throw new Error('corral stop left the domain');

      // VirtualDomain starts the same guest; ready is when the guest's signal has been answered.
      const t0 = Date.now();
      const start = (await measure(node, 1, VD, ['start'], vd))[0]!;
      const sock = await waitFor('the signal socket', async () => {
        const r = await nodeExec(node, 'virsh', ['-q', 'dumpxml', name]);
        if (r.exitCode !== 0) return undefined;
        const channel = DomainDoc.parse(r.stdout).virtioChannel('startup_signal');
        return channel?.getElementsByTagName('source')[0]?.getAttribute('path') ?? undefined;
      }, 20_000, 50);
      const responder = (await measure(node, 1, process.execPath, [path.join(HERE, 'signal-responder.mjs'), sock], {}))[0]!;
      const wall = Date.now() - t0;
      result['start-to-ready']!.vd.push({ ...start, wallMs: Math.max(wall, start.wallMs + responder.wallMs), cpuMs: start.cpuMs });
      await monitors();
      result.stop!.vd.push(...(await measure(node, 1, VD, ['stop'], vd)));
      if ((await domState(node, name)) !== undefined) throw new Error('VirtualDomain stop left the domain');
    }

    const rows = Object.entries(result).map(([op, r]) => {
      const c = { wall: median(r.corral.map((x) => x.wallMs)), cpu: mean(r.corral.map((x) => x.cpuMs)) };
      const v = { wall: median(r.vd.map((x) => x.wallMs)), cpu: mean(r.vd.map((x) => x.cpuMs)) };
      return { op, n: r.corral.length, c, v, wallRatio: c.wall / v.wall, cpuRatio: c.cpu / v.cpu };
    });
    const f = (x: number) => x.toFixed(1).padStart(8);
    console.log('\nTransientDomain vs VirtualDomain, same guest, same node, ms: wall medians, CPU means (with child processes)');
    console.log(`${'operation'.padEnd(20)}${'n'.padStart(4)}  ${'corral wall'.padStart(12)}${'cpu'.padStart(8)}  ${'VD wall'.padStart(10)}${'cpu'.padStart(8)}  ${'wall ×'.padStart(8)}${'cpu ×'.padStart(8)}`);
    for (const r of rows) {
      console.log(`${r.op.padEnd(20)}${String(r.n).padStart(4)}  ${f(r.c.wall).padStart(12)}${f(r.c.cpu)}  ${f(r.v.wall).padStart(10)}${f(r.v.cpu)}  ${r.wallRatio.toFixed(2).padStart(8)}${r.cpuRatio.toFixed(2).padStart(8)}`);
    }
    console.log('monitor: VirtualDomain with its defaults (utilization kept up to date); monitor (lean VD): autoset_utilization_* off.');
    console.log('start-to-ready: VirtualDomain start + the time until the guest signalled and was answered; its CPU is the agent\'s alone.');
    console.log('This node runs no cluster: VirtualDomain\'s crm_resource calls fail fast here and cost more against a live CIB.');
    const node0 = await measure(node, MONITORS, process.execPath, ['-e', '0'], {});
    console.log(`For scale, \`node -e 0\` here: ${median(node0.map((x) => x.wallMs)).toFixed(1)} ms wall, ${mean(node0.map((x) => x.cpuMs)).toFixed(1)} ms CPU.`);
    const m = rows.find((r) => r.op === 'monitor')!;
    const lean = rows.find((r) => r.op === 'monitor (lean VD)')!;
    const start = rows.find((r) => r.op === 'start-to-ready')!;
    const floors = [
      { what: "monitor at most 0.1× VirtualDomain's CPU (its defaults)", ok: m.cpuRatio <= 0.1, got: `${m.cpuRatio.toFixed(3)}×` },
      { what: "monitor below lean VirtualDomain's CPU", ok: lean.cpuRatio < 1, got: `${lean.cpuRatio.toFixed(2)}×` },
      { what: "start-to-ready at most 1.0× VirtualDomain's", ok: start.wallRatio <= 1, got: `${start.wallRatio.toFixed(2)}×` },
    ];
    console.log('');
    for (const fl of floors) console.log(`floor: ${fl.what}: ${fl.ok ? 'met' : 'NOT met'} (${fl.got})`);
    return floors.every((fl) => fl.ok);
  } finally {
    await destroyLab(LAB);
  }
}

// BENCH_ONLY=agent, list, metrics, lab, maintenance, rebalance, balance, installer or rbd runs one part.
async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  let ok = true;
  if (!only || only === 'agent') ok = (await agentBench()) && ok;
  if (!only || only === 'list') ok = (await (await import('./list.js')).benchList()) && ok;
  if (!only || only === 'metrics') ok = (await (await import('./metrics.js')).runMetricsBench()).ok && ok;
  if (!only || only === 'lab') ok = (await runLabBench()).ok && ok;
  if (!only || only === 'maintenance') ok = (await (await import('./maintenance.js')).runMaintenanceBench()).ok && ok;
  if (!only || only === 'rolling-groups') ok = (await (await import('./rolling-groups.js')).runRollingGroupsBench()).ok && ok;
  if (!only || only === 'rebalance') ok = (await (await import('./rebalance.js')).runRebalanceBench()).ok && ok;
  if (!only || only === 'balance') ok = (await (await import('./balance.js')).runBalanceBench()).ok && ok;
  if (!only || only === 'installer') ok = (await (await import('./installer.js')).runInstallerBench()).ok && ok;
  if (!only || only === 'rbd') ok = (await (await import('./rbd.js')).runRbdBench()).ok && ok;
  process.exitCode = ok ? 0 : 1;
}

// A program the bench runs that is not installed: its package and the apt-get line, exit 1.
requirePrograms('npm run bench', benchNeeds(process.env.BENCH_ONLY));
main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).stack ?? e}`);
  process.exit(2);
});
