// `corral verify`: every node checked, one line per thing wrong with its fix (Ganeti's
// gnt-cluster verify). Registered by scripts/corral.ts; the work is in lib/ops/verify.ts.
import type { Command } from 'commander';
import { printable } from '../../cluster/format.js';
import { verifyCluster } from '../../ops/verify.js';
import { formatLine, summaryLine } from '../../ops/verify/report.js';
import { checkAction, checkExitCodes, UsageError } from '../errors.js';
import { corralVersion } from '../version.js';
import { nodeAccess } from './tables.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('Check every node and the cluster: one line per problem, with its fix (versions, fencing, quorum, clocks, migration, disks, CPU, capacity, N+1, leftovers).')
    .option('--json', 'machine-readable output for monitoring: {ok, checks: [{check, node, ok, severity, message, fix}]}')
    .option('--all', 'also print the checks that passed')
    .option('--timeout <seconds>', 'bound of each question to a node', '15')
    .addHelpText(
      'after',
      `
Each line is "NODE: what is wrong — fix: what to do" ("cluster" for what is no one node's);
"warning:" lines (e.g. no KVM where every VM is type qemu) and "not checked:" lines (e.g. an RBD
disk) do not change the exit code. Nodes are asked in parallel: through the node command
(node_command in corral.conf) for their clock, versions, console log directory, what they see at
each disk's path and whether they reach every other node's libvirt with the VMs' migration URI;
through libvirt_uri for libvirt and QEMU.

${checkExitCodes('nothing wrong (warnings at most)', 'something is wrong (the lines say what)')}

Examples:
  corral verify
  corral verify --json | jq '.checks[] | select(.ok | not)'`,
    )
    .action(
      checkAction(async (o: { json?: boolean; all?: boolean; timeout: string }) => {
        if (!/^\d+$/.test(o.timeout) || Number(o.timeout) < 1 || Number(o.timeout) > 300) {
          throw new UsageError(`--timeout ${JSON.stringify(o.timeout)}: whole seconds from 1 to 300`);
        }
        const report = await verifyCluster({ access: await nodeAccess(), corralVersion: corralVersion(), timeoutMs: Number(o.timeout) * 1000 });
        if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else {
          const shown = report.checks.filter((l) => o.all || !l.ok);
          process.stdout.write(shown.map((l) => `${printable(formatLine(l))}\n`).join(''));
          process.stdout.write(`${summaryLine(report)}\n`);
        }
        if (!report.ok) process.exitCode = 1;
      }),
    );
}
