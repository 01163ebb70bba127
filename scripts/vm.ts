// vm: the operator's command for one VM (or a pattern of them), safe to hand out through sudo.
// A thin commander shell over lib/ops/vm.ts.
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import { LIFETIME_RE } from '../lib/cib/durations.js';
import { runCli, UsageError, withCliConventions } from '../lib/cli/errors.js';
import { ACTIONS } from '../lib/ops/actions.js';
import { runVm } from '../lib/ops/vm.js';

const COMMAND = 'vm';

const actionList = Object.values(ACTIONS)
  .map((a) => `  ${`${a.name}${a.args ? ` ${a.args}` : ''}`.padEnd(44)} ${a.summary}`)
  .join('\n');

const DETAILS = `
Actions:
${actionList}

VM is a name (gum), a glob of names ('*web*', 'db[12]') or NODE/NAME globs ('hv17/*sql*': the
VMs running on nodes matching hv17). An action that changes something and matches more than one
VM lists them and asks first, unless --yes.

vm finds the node that runs the VM from one CIB query and acts there through libvirt's remote URI
(libvirt_uri in /etc/corral/corral.conf, default qemu+ssh://{node}/system; CORRAL_LIBVIRT_URI
when not run through sudo). start, stop, restart and migrate go through Pacemaker (target-role,
crm_resource --move with a lifetime) and wait, showing progress, until it is done (--no-wait:
return once asked).

Through sudo, the caller is SUDO_USER, and /etc/corral/access must allow the action on the VM;
every action is logged (syslog authpriv, /var/log/corral/vm.log).

Examples:
  sudo vm gum console
  vm gum console --log --lines 100
  vm '*web*' reset --yes
  vm 'hv17/*sql*' status
  vm niifidp sysrq c
  vm gum migrate hv3
  vm gum priority 10`;

function toInt(flag: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new UsageError(`${flag} ${JSON.stringify(v)}: expected a whole number`);
    return Number(v);
  };
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

runCli(COMMAND, async () => {
  const program = withCliConventions(new Command(COMMAND), COMMAND)
    .description('Act on a VM of the cluster: console, reset, start, stop, migrate, edit, …')
    .argument('<vm>', 'VM name or pattern')
    .argument('<action>', 'what to do (see Actions below)')
    .argument('[arg]', 'the action\'s argument (sysrq KEY, migrate NODE, priority N)')
    .option('-y, --yes', 'act on every matching VM without asking')
    .option('--no-wait', 'start/stop/restart/migrate: return once Pacemaker has been asked')
    .option('--json', 'status, vnc: machine-readable output')
    .option('--log', 'console: print the continuous console log instead of attaching')
    .addOption(new Option('--lines <n>', 'console --log, log: only the last N lines').argParser(toInt('--lines')))
    .option('--force', 'console: take the console over from another session')
    .option('--lifetime <duration>', 'migrate: how long the move constraint lasts (ISO 8601, e.g. PT1H; "none": until vm NAME clear)')
    .addOption(new Option('--timeout <seconds>', 'bound for waiting (default: from the VM\'s operation timeouts)').argParser(toInt('--timeout')))
    .addHelpText('after', DETAILS)
    .showHelpAfterError(false);
  program.parse(process.argv);
  const [pattern, action, ...args] = program.args as [string, string, ...string[]];
  const o = program.opts<{ yes?: boolean; wait: boolean; json?: boolean; log?: boolean; lines?: number; force?: boolean; lifetime?: string; timeout?: number }>();
  if (o.lifetime !== undefined && !LIFETIME_RE.test(o.lifetime)) {
    throw new UsageError(`--lifetime ${JSON.stringify(o.lifetime)}: expected an ISO 8601 duration such as PT1H, or "none"`);
  }
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const code = await runVm(
    {
      pattern,
      action,
      args,
      options: {
        yes: o.yes === true,
        wait: o.wait,
        json: o.json === true,
        log: o.log === true,
        force: o.force === true,
        ...(o.lines !== undefined ? { lines: o.lines } : {}),
        ...(o.lifetime !== undefined ? { lifetime: o.lifetime } : {}),
        ...(o.timeout !== undefined ? { timeoutSeconds: o.timeout } : {}),
      },
    },
    {
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
      confirm,
      interactive,
    },
  );
  process.exitCode = code;
});
