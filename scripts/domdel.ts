// domdel: remove a VM from the cluster in one atomic CIB change. A thin shell over lib/cib/vm.ts.
import { Command } from 'commander';
import { runCli, UsageError, withCliConventions } from '../lib/cli/errors.js';
import { applyCibChange } from '../lib/cli/cib-change.js';
import { planRemoveVm } from '../lib/cib/vm.js';
import { resourceId, vmName } from '../lib/domain/names.js';
import { runningNodes } from '../lib/cli/target.js';
import { loadHooks } from '../lib/ops/hooks.js';

const COMMAND = 'domdel';

const DETAILS = `
Removes the primitive vm-NAME and everything that refers to it, in one CIB update: its
constraints and the ones of other VMs naming it (--avoid, --after), location constraints left by
crm_resource --move/--ban, its place in --group-apart groups (a group left empty goes too).

A VM that is running is refused: stop it first
  crm_resource --resource vm-NAME --meta --set-parameter target-role --parameter-value Stopped
or give --force, and Pacemaker stops it as soon as it is gone from the configuration. "Running"
is what the CIB's status section says; a CIB file (CIB_file=PATH) usually has none, so there a
VM counts as stopped.

Examples:
  domdel gum
  CIB_file=cib.xml domdel --dry-run gum`;

async function main(argv: readonly string[]): Promise<void> {
  const program = withCliConventions(new Command(COMMAND), COMMAND)
    .description('Remove a VM from the cluster, with every constraint and tag reference to it.')
    .argument('<name>', 'VM name (the resource is vm-NAME)')
    .option('--force', 'remove it even while it runs (Pacemaker then stops it)')
    .option('--dry-run', 'print the change (a crm_diff patch) and change nothing')
    .addHelpText('after', DETAILS);
  program.parse(argv);
  const o = program.opts<{ force?: boolean; dryRun?: boolean }>();
  const parsed = vmName.safeParse(program.args[0]);
  if (!parsed.success) throw new UsageError(`${JSON.stringify(program.args[0])}: ${parsed.error.issues[0]?.message}`);
  const name = parsed.data;
  const rid = resourceId(name);

  const running = await runningNodes(rid); // absent: the plan says so
  if (running.length && !o.force) {
    throw new UsageError(
      `${rid} is running on ${running.join(', ')}; stop it first ` +
        `(crm_resource --resource ${rid} --meta --set-parameter target-role --parameter-value Stopped) ` +
        'or use --force to have Pacemaker stop it as it goes',
    );
  }

  // The operator's hooks domdel-pre.d and domdel-post.d (README "Hooks"): a pre hook's veto changes nothing.
  const hooks = await loadHooks((l) => process.stderr.write(`${COMMAND}: ${l}\n`));
  const result = await hooks.around('domdel', { vms: [name], nodes: running, dryRun: o.dryRun === true }, () => applyCibChange(COMMAND, (cd, cib) => planRemoveVm(cd, cib, name), o.dryRun === true));
  if (!result) return;
  if (running.length) process.stdout.write(`${COMMAND}: ${rid} was running on ${running.join(', ')}: Pacemaker stops it now\n`);
  for (const n of result.notes) process.stdout.write(`${COMMAND}: ${n}\n`);
}

runCli(COMMAND, () => main(process.argv));
