// `corral node drain|undrain|on-shutdown|on-boot` and `corral rolling-reboot`: node maintenance,
// asked of Pacemaker's scheduler and carried out through Pacemaker, each an Operation
// (lib/ops/operations/) run by lib/ops/operation.ts's runner. Registered by scripts/corral.ts; the
// work is in lib/ops/maintenance.ts (I/O) and lib/plan/ (pure readings).
import type { Command } from 'commander';
import { printable, printableLines } from '../../cluster/format.js';
import { DEFAULT_PARALLEL } from '../../ops/maintenance.js';
import { localNodeName } from '../../host/pacemaker/status.js';
import { loadConfig, SHUTDOWN_DRAIN_TIMEOUT_RANGE } from '../../ops/config.js';
import { onBoot, onShutdown } from '../../ops/node-lifecycle.js';
import { drainOperation } from '../../ops/operations/drain.js';
import { rollingRebootOperation } from '../../ops/operations/rolling-reboot.js';
import { undrainOperation } from '../../ops/operations/undrain.js';
import { PROGRESS_OPTION } from '../../ops/rolling.js';
import { UsageError } from '../errors.js';
import { runCliOperation } from '../operation.js';

// Text for people shows control and bidi characters escaped (node names); JSON stays exact.
const out = (s: string) => process.stdout.write(printableLines(s));
const json = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
const err = (s: string) => process.stderr.write(`corral: ${printable(s)}\n`);

function parallelOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PARALLEL;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 100) throw new UsageError(`--parallel ${JSON.stringify(text)}: a whole number from 1 to 100`);
  return Number(text);
}

export function registerMaintenance(program: Command): void {
  const node = program.command('node').description('Node maintenance: drain a node (standby, VMs leave live) and undrain it.');

  node
    .command('drain')
    .description('Move every VM off NODE(s) by live migration, through Pacemaker (node standby), and record where they were.')
    .argument('<nodes...>', 'the node(s) to drain')
    .option('--dry-run', 'print the plan (crm_simulate on a copy of the CIB) and change nothing')
    .option('--parallel <n>', `live migrations at a time per node (Pacemaker's migration-limit; default ${DEFAULT_PARALLEL})`)
    .option('--force', 'drain even when some VMs would stop (they are listed)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
First the plan: crm_simulate on a copy of the CIB with the node(s) in standby says where each VM
goes. A VM that would stop (pinned with --only-on, no capacity, anti-affinity) makes the drain
refuse (exit 1, listed with the likely reason) unless --force; a cluster that would no longer be
N+1 gets a warning. Then the node goes into standby (never maintenance, which would unmanage
the VMs), in the same CIB change as the record of which VMs were there (node attribute
corral-drained, for undrain --return) and migration-limit=N; a line per VM as it leaves.
Done means: no VM active on the node, the cluster idle, no new failed operation. A VM that was
stopped and started instead of migrated live is reported, and the command fails (exit 1).
VMs on local disks (domadd --local) go first, before the standby: each one's vm-NAME-local
constraint is rewritten to the node Pacemaker picks, and it migrates live with a copy of its
disks (the plan says "with a copy of its disks"). A copy that does not arrive puts the
constraint back on the source, where the VM keeps running, and the drain stops there: the node
is not put in standby (exit 1).

Examples:
  corral node drain hv3 --dry-run
  corral node drain hv3 --parallel 2
  corral node drain hv3 hv4 --json`,
    )
    .action(async (nodes: string[], o: { dryRun?: boolean; parallel?: string; force?: boolean; json?: boolean }) => {
      const parallel = parallelOf(o.parallel);
      await runCliOperation(() => drainOperation({ nodes, parallel }), { dryRun: o.dryRun === true, force: o.force, json: o.json });
    });

  node
    .command('undrain')
    .description('Take NODE out of standby; with --return, bring back the VMs the drain moved away (live).')
    .argument('<node>', 'the drained node')
    .option('--return', 'move the VMs that left the node back to it, by live migration')
    .option('--parallel <n>', `live migrations at a time (default ${DEFAULT_PARALLEL})`)
    .option('--dry-run', 'say what would happen and change nothing')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
With --return, each VM recorded by the drain that runs elsewhere is moved back with a temporary
crm_resource --move (dropped again once it is there: the VM then stays by stickiness). A VM that
Pacemaker would not put back (constraints, capacity) stays where it is and is listed.

Examples:
  corral node undrain hv3
  corral node undrain hv3 --return --dry-run`,
    )
    .action(async (name: string, o: { return?: boolean; parallel?: string; dryRun?: boolean; json?: boolean }) => {
      const parallel = parallelOf(o.parallel);
      await runCliOperation(() => undrainOperation({ node: name, returnVms: o.return === true, parallel }), { dryRun: o.dryRun === true, json: o.json });
    });

  node
    .command('on-shutdown')
    .description('What corral-node.service runs when the machine shuts down: drain this node before its cluster stack stops.')
    .option('--timeout <seconds>', `how long the drain may take (default: shutdown_drain_timeout in corral.conf, ${SHUTDOWN_DRAIN_TIMEOUT_RANGE[0]} to ${SHUTDOWN_DRAIN_TIMEOUT_RANGE[1]})`)
    .option('--dry-run', 'say what would happen and change nothing')
    .addHelpText(
      'after',
      `
Drains this node (crm_node --name) like corral node drain NODE --force, records the reason
(node attribute corral-drain-reason=shutdown) and prints every step (the journal, under systemd).
Under systemd it drains only when the system is going down (systemctl is-system-running says
"stopping"): stopping the unit for a package upgrade or removal, or by hand, leaves the VMs where
they are. Run by hand, it drains. Nothing happens when shutdown_drain = no, when Pacemaker is
not running here, or when the node is in standby already.
A VM that cannot run on another node stops with this one (Pacemaker stops it cleanly). A drain
that does not finish in time is left running: the node stays in standby, the command exits 1, and
Pacemaker, stopping next, moves or stops what is still here.

Examples:
  corral node on-shutdown --dry-run
  systemctl cat corral-node.service`,
    )
    .action(async (o: { timeout?: string; dryRun?: boolean }) => {
      let timeoutSeconds: number | undefined;
      if (o.timeout !== undefined) {
        const [lo, hi] = SHUTDOWN_DRAIN_TIMEOUT_RANGE;
        if (!/^\d+$/.test(o.timeout) || Number(o.timeout) < lo || Number(o.timeout) > hi) throw new UsageError(`--timeout ${JSON.stringify(o.timeout)}: a whole number of seconds from ${lo} to ${hi}`);
        timeoutSeconds = Number(o.timeout);
      }
      const cfg = await loadConfig();
      const seconds = timeoutSeconds ?? cfg.shutdownDrainTimeout;
      // The drain bounds its own wait; this bounds everything around it as well.
      const guard = setTimeout(() => {
        out(`corral node on-shutdown: gave up after ${seconds + 60} s\n`);
        process.exit(1);
      }, (seconds + 60) * 1000);
      guard.unref();
      process.exitCode = await onShutdown(cfg, { log: (l) => out(`${l}\n`) }, { timeoutSeconds, dryRun: o.dryRun === true });
    });

  node
    .command('on-boot')
    .description('What corral-node-undrain.service runs at boot: undrain this node if a shutdown drained it and corral.conf says so.')
    .option('--wait <seconds>', 'how long to wait for this node to be online in the cluster (default 600)')
    .addHelpText(
      'after',
      `
boot_undrain in corral.conf: "no" (the default) leaves the node drained; "yes" takes it out of
standby once it is online; "return" also brings back, live, the VMs the shutdown drain moved
away. Only a drain made by corral node on-shutdown is undone: a node drained by hand stays so.`,
    )
    .action(async (o: { wait?: string }) => {
      if (o.wait !== undefined && (!/^\d+$/.test(o.wait) || Number(o.wait) > 86400)) throw new UsageError(`--wait ${JSON.stringify(o.wait)}: a whole number of seconds up to 86400`);
      const cfg = await loadConfig();
      process.exitCode = await onBoot(cfg, { log: (l) => out(`${l}\n`) }, { waitSeconds: o.wait === undefined ? undefined : Number(o.wait) });
    });

  program
    .command('rolling-reboot')
    .description('Reboot every node in turn (drain, reboot, wait, undrain) with every VM running throughout. Dry run unless --exec.')
    .option('--exec', 'carry it out (without it: print the plan only)')
    .option('--nodes <a,b>', 'only these nodes (default: every online node)')
    .option('--resume', 'continue a rolling reboot that was interrupted (its progress is in the CIB)')
    .option('--groups', 'reboot nodes together when Pacemaker says they can go together (hroller\'s idea, N+1 kept)')
    .option('--parallel <n>', `live migrations at a time per node (default ${DEFAULT_PARALLEL})`)
    .option('--force', 'go on even when a drain would stop a VM')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
The plan is Pacemaker's, step by step on a copy of the CIB: each node in standby in turn, the VMs
leaving it steered (a location hint) towards the nodes already rebooted, so that most VMs move once.
Order: the nodes with the fewest VMs first, the node this runs on and the DC last. With --exec, for
each node: drain (as corral node drain) → reboot_command of corral.conf (default: ssh NODE systemctl
reboot) → wait until the node is back in Pacemaker and its libvirt answers → undrain → next. It
stops at the first failure and says what state the cluster is in. Progress is kept in the CIB
(cluster option ${PROGRESS_OPTION}): after an interruption, or after the node running it was
rebooted by the plan, run it again with --exec --resume.

--groups: nodes go into standby, reboot and come back together when Pacemaker says they can (each
candidate group is the drain check of corral node drain): nothing of theirs would stop, every VM
moves live, no VM of another node is moved to make room, and the cluster stays N+1 with the group
drained; a node that breaks one of these waits for a later group. The DC and the node this runs on
go alone, last. Combines with --nodes (groups of those nodes) and --parallel (live migrations at a
time per node, in each group's drain). --resume follows the recorded groups.

Examples:
  corral rolling-reboot
  corral rolling-reboot --groups
  corral rolling-reboot --exec --nodes hv1,hv2
  corral rolling-reboot --exec --resume`,
    )
    .action(async (o: { exec?: boolean; nodes?: string; resume?: boolean; groups?: boolean; parallel?: string; force?: boolean; json?: boolean }) => {
      const parallel = parallelOf(o.parallel);
      if (o.resume && !o.exec) throw new UsageError('--resume continues a rolling reboot: give --exec too');
      const nodes = o.nodes === undefined ? undefined : o.nodes.split(',').map((n) => n.trim());
      if (nodes?.some((n) => !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(n))) throw new UsageError(`--nodes ${JSON.stringify(o.nodes)}: node names separated by commas`);
      const local = await localNodeName().catch(() => undefined);
      const r = await runCliOperation(
        ({ hooks, config }) => rollingRebootOperation({ ...(nodes ? { nodes } : {}), groups: o.groups === true, resume: o.resume === true, parallel, force: o.force === true, ...(local ? { local } : {}), config, hooks }),
        { dryRun: !o.exec, force: o.force, json: o.json },
      );
      // Last: this node's own reboot, which ends this process (everything above is out by now).
      if (r?.rebootSelf) await new Promise<void>((done) => process.stdout.write('', () => done())).then(r.rebootSelf);
    });
}
