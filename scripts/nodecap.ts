// nodecap: a node's capacity (utilization) for placement, and the cluster's placement-strategy.
// A thin shell over lib/cib/vm.ts.
import { Command } from 'commander';
import { z } from 'zod';
import { runCli, UsageError, withCliConventions, zodIssueLines } from '../lib/cli/errors.js';
import { applyCibChange } from '../lib/cli/cib-change.js';
import type { Cib } from '../lib/cib/model.js';
import { nodeName } from '../lib/domain/names.js';
import { planNodeCapacity } from '../lib/cib/vm.js';
import { formatMiB, sizeMiBSchema } from '../lib/domain/size.js';
import { cibTarget, readCib } from '../lib/cli/target.js';

const COMMAND = 'nodecap';

const STRATEGIES = ['balanced', 'utilization', 'minimal', 'default'] as const;

const DETAILS = `
Sets the node's utilization cpu (vCPUs it may run) and hv_memory (MiB of guest memory), the
same names the VMs' utilization uses (domadd, VirtualDomain's autoset_utilization). Placement
respects them only with a placement-strategy other than "default": when the cluster has none,
nodecap sets it (balanced unless --placement-strategy says otherwise). One atomic CIB change.

Without --cpus/--mem it shows the node's capacity; without NODE, every node's.

Examples:
  nodecap node1 --cpus 32 --mem 256g
  nodecap node2 --mem 120g --placement-strategy utilization
  CIB_file=cib.xml nodecap`;

const CPUS_RULE = 'the vCPUs a node may run are a whole number from 1 to 100000, e.g. 32';

const args = z.object({
  node: nodeName,
  cpus: z
    .string()
    .regex(/^\d+$/, CPUS_RULE)
    .transform(Number)
    .refine((n) => n >= 1 && n <= 100_000, CPUS_RULE)
    .optional(),
  mem: sizeMiBSchema({ minMiB: 1, maxMiB: 1024 * 1024 * 1024 }).optional(),
  placementStrategy: z
    .enum(STRATEGIES, { error: `the placement strategy is ${STRATEGIES.slice(0, -1).join(', ')} or ${STRATEGIES.at(-1)}` })
    .optional(),
});

const FLAGS: Record<string, string> = { cpus: '--cpus', mem: '--mem', placementStrategy: '--placement-strategy' };

function describeNode(cib: Cib, uname: string): string {
  const n = cib.node(uname);
  const u = n?.utilization ?? {};
  const cpu = u.cpu === undefined ? 'cpu unset' : `cpu ${u.cpu}`;
  const mem = u.hv_memory === undefined ? 'hv_memory unset' : `hv_memory ${u.hv_memory} (${formatMiB(Number(u.hv_memory))})`;
  return `${uname}: ${cpu}, ${mem}`;
}

async function main(argv: readonly string[]): Promise<void> {
  const program = withCliConventions(new Command(COMMAND), COMMAND)
    .description("Set a node's capacity (utilization cpu and hv_memory) and the cluster's placement-strategy.")
    .argument('[node]', 'node name (as in the CIB)')
    .option('--cpus <n>', 'vCPUs the node may run')
    .option('--mem <size>', 'guest memory the node may run, e.g. 256g (a plain number is MiB)')
    .option('--placement-strategy <strategy>', `${STRATEGIES.join(', ')} (default: balanced, set only when unset)`)
    .option('--dry-run', 'print the change (a crm_diff patch) and change nothing')
    .addHelpText('after', DETAILS);
  program.parse(argv);
  const o = program.opts<{ cpus?: string; mem?: string; placementStrategy?: string; dryRun?: boolean }>();
  const nodeArg = program.args[0];

  if (nodeArg === undefined) {
    if (o.cpus !== undefined || o.mem !== undefined || o.placementStrategy !== undefined) {
      throw new UsageError('--cpus, --mem and --placement-strategy need a NODE');
    }
    const cib = await readCib();
    process.stdout.write(`placement-strategy: ${cib.options['placement-strategy'] ?? 'unset (default)'}\n`);
    for (const n of cib.nodes) process.stdout.write(`${describeNode(cib, n.uname)}\n`);
    return;
  }
  const given: Record<string, string | undefined> = { node: nodeArg, cpus: o.cpus, mem: o.mem, placementStrategy: o.placementStrategy };
  const parsed = args.safeParse(given);
  const label = (p: readonly PropertyKey[]) => {
    const key = String(p[0]);
    const value = JSON.stringify(given[key] ?? '');
    return key === 'node' ? `NODE ${value}` : `${FLAGS[key] ?? key} ${value}`;
  };
  if (!parsed.success) throw new UsageError(zodIssueLines(parsed.error, label).join('\n'));
  const a = parsed.data;

  if (a.cpus === undefined && a.mem === undefined && a.placementStrategy === undefined) {
    const cib = await readCib();
    if (!cib.node(a.node)) throw new UsageError(`there is no node ${a.node} in ${cibTarget()}`);
    process.stdout.write(`${describeNode(cib, a.node)}\n`);
    return;
  }

  const result = await applyCibChange(
    COMMAND,
    (cd, cib) =>
      planNodeCapacity(cd, cib, a.node, { cpus: a.cpus, memoryMiB: a.mem }, a.placementStrategy ?? 'balanced', a.placementStrategy !== undefined),
    o.dryRun === true,
  );
  if (!result) return;
  for (const n of result.notes) process.stdout.write(`${COMMAND}: ${n}\n`);
  if (!result.applied) process.stdout.write(`${COMMAND}: nothing changed\n`);
}

runCli(COMMAND, () => main(process.argv));
