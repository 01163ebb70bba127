// `corral rebalance`: spread the VMs over the nodes again, by live migration through Pacemaker,
// with the fewest moves that lower the cluster score (hbal's method). Registered by
// scripts/corral.ts; the work is in lib/ops/rebalance.ts (I/O) and lib/plan/rebalance.ts (pure).
import type { Command } from 'commander';
import { printable, printableLines } from '../../cluster/format.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { takeSnapshot } from '../../cluster/snapshot.js';
import { loadSample, readNodes } from '../../ops/balance.js';
import { rebalanceOperation } from '../../ops/operations/rebalance.js';
import { nodeAccess } from './tables.js';
import { DEFAULT_MIN_GAIN, MIN_GAIN_LIMIT } from '../../plan/rebalance.js';
import { UsageError } from '../errors.js';
import { runCliOperation } from '../operation.js';

// Text for people shows control and bidi characters escaped (node names).
const out = (s: string) => process.stdout.write(printableLines(s));
const err = (s: string) => process.stderr.write(`corral: ${printable(s)}\n`);

function maxMovesOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 100_000) throw new UsageError(`--max-moves ${JSON.stringify(text)}: a whole number from 0 to 100000`);
  return Number(text);
}

function minGainOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(text.trim())) throw new UsageError(`--min-gain ${JSON.stringify(text)}: a number, 0 or more (a score difference, e.g. 0.05)`);
  return Number(text);
}

export function registerRebalance(program: Command): void {
  program
    .command('rebalance')
    .description('Spread the VMs evenly over the nodes again, by live migration through Pacemaker (hbal for Pacemaker). Dry run unless --exec.')
    .option('--exec', 'carry out the moves (without it: print the plan only)')
    .option('--max-moves <n>', 'at most N moves (default: as many as lower the score, each VM at most once)')
    .option('--min-gain <x>', `stop when the best move lowers the score by less than X (default ${DEFAULT_MIN_GAIN}, applied once the score is below ${MIN_GAIN_LIMIT}, as hbal does)`)
    .option('--measure <seconds>', "read every VM's CPU load from libvirt over this many seconds and weigh it in the score (default: the number of VMs stands for load, as hbal without load data)")
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
The score (lower is better; README "corral rebalance" explains it) weighs, over the nodes that
take VMs, the spread of free memory and of vCPUs against each node's capacity (its Pacemaker
utilization), the spread of CPU load (measured load when known, else the number of VMs) and of the
number of VMs, plus penalties for VMs on standby or down nodes and for VMs sharing a node with one
they must avoid. It is hbal's score for what htools can see.
The plan: the best single move at a time, each VM at most once; moves on disjoint node pairs form
a round and run in parallel. Every round is checked with crm_simulate on a copy of the CIB: its
VMs, given a temporary location hint, must migrate live to the planned node and nothing else may
move or stop; with the hints removed nothing may happen (the VMs stay by stickiness). A move
Pacemaker would not make that way is dropped and the next best is planned instead.
--exec: round by round, the hints are added, the VMs migrate live, the hints are removed; a VM
restarted instead of migrated, a failed operation, or a VM that does not stay is a failure and
no further round starts (exit 1). No constraint is left behind.

Examples:
  corral rebalance
  corral rebalance --exec
  corral rebalance --measure 10
  corral rebalance --max-moves 5 --min-gain 0.1 --json`,
    )
    .action(async (o: { exec?: boolean; maxMoves?: string; minGain?: string; measure?: string; json?: boolean }) => {
      const maxMoves = maxMovesOf(o.maxMoves);
      const minGain = minGainOf(o.minGain);
      if (o.measure !== undefined && (!/^\d+$/.test(o.measure) || Number(o.measure) < 1 || Number(o.measure) > 600)) throw new UsageError(`--measure ${JSON.stringify(o.measure)}: a whole number of seconds from 1 to 600`);
      const snap = await takeSnapshot();
      // Measured load: the CPU each running VM used over the time asked, read as the load balancer reads it.
      let load: Map<string, number> | undefined;
      if (o.measure !== undefined) {
        const access = await nodeAccess();
        const first = await readNodes(snap.view, access);
        await sleep(Number(o.measure) * 1000);
        const { sample, problems } = loadSample(snap.view, first, await readNodes(snap.view, access), 0);
        for (const p of problems) err(`warning: ${p}`);
        load = new Map(Object.values(sample.nodes).flatMap((n) => Object.entries(n.vms)));
        if (!o.json) out(`CPU load over ${o.measure} s: ${[...load].map(([vm, c]) => `${vm} ${c.toFixed(2)}`).join(', ') || 'no VM runs'} cores\n`);
      }
      const measured = load ? { measuredLoad: { seconds: Number(o.measure), vms: Object.fromEntries([...load].map(([vm, c]) => [vm, Math.round(c * 1000) / 1000])) } } : {};
      await runCliOperation(() => rebalanceOperation({ maxMoves, minGain, ...(load ? { load } : {}), extraJson: measured }), { dryRun: !o.exec, json: o.json }, { snapshot: snap });
    });
}
