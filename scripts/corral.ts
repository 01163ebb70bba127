// corral: the cluster-wide commands. Each group of subcommands lives in lib/cli/corral/ and is
// registered here; this file is only the shell.
import { Command } from 'commander';
import { runCli, withCliConventions } from '../lib/cli/errors.js';
import { registerBalance } from '../lib/cli/corral/balance.js';
import { registerCapacity } from '../lib/cli/corral/capacity.js';
import { registerEvents } from '../lib/cli/corral/events.js';
import { registerLab } from '../lib/cli/corral/lab.js';
import { registerMaintenance } from '../lib/cli/corral/maintenance.js';
import { registerRebalance } from '../lib/cli/corral/rebalance.js';
import { registerServe } from '../lib/cli/corral/serve.js';
import { registerTables } from '../lib/cli/corral/tables.js';
import { registerVerify } from '../lib/cli/corral/verify.js';

const COMMAND = 'corral';

runCli(COMMAND, async () => {
  const program = withCliConventions(new Command(COMMAND), COMMAND)
    .description('Highly available VMs on Pacemaker and libvirt: the cluster at a glance, and the lab.');
  registerTables(program);
  registerMaintenance(program);
  registerCapacity(program);
  registerRebalance(program);
  registerBalance(program);
  registerServe(program);
  registerEvents(program);
  registerVerify(program);
  registerLab(program);
  await program.parseAsync(process.argv);
});
