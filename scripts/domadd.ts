// domadd: put a VM into the cluster (or update it) in one atomic CIB change. A thin shell over
// lib/cib/vm.ts (what changes) and lib/cib/change.ts (how it is applied).
import { Command } from 'commander';
import { runCli, withCliConventions } from '../lib/cli/errors.js';
import { applyCibChange } from '../lib/cli/cib-change.js';
import { readDomainArg } from '../lib/cli/input.js';
import { parseAgentParams, parsePlacement, DEFAULT_AVOID_SCORE, type RawPlacement } from '../lib/cib/options.js';
import { planAddVm } from '../lib/cib/vm.js';
import { checkDomain } from '../lib/domain/fixup.js';
import { nodeDiskIds, runningNodes } from '../lib/cli/target.js';
import { checkRbdImages } from '../lib/cli/rbd-check.js';
import { loadHooks } from '../lib/ops/hooks.js';

const COMMAND = 'domadd';

const DETAILS = `
The VM becomes the primitive vm-NAME (ocf:corral:TransientDomain) holding the domain XML, with
utilization cpu (vCPUs) and hv_memory (MiB) from the XML, allow-migrate=true, and op timeouts
for the startup signal. The XML is made stable first, with fixup_domxml's own code (a fixed uuid,
MAC addresses no other VM in the CIB has, the console log), and domadd says what it fixed; the
file is not changed (fixup_domxml -i FILE keeps the result in the file). --no-fixup refuses an XML
that is not stable instead. No two VMs may share a name, uuid, MAC address or disk (a disk marked
<shareable/> or <readonly/>, and CD-ROMs, excepted). A disk is known by what it is, not by the path
written: /dev/VG/LV and /dev/mapper/VG-LV are one logical volume, pool/image one RBD image; and
where this machine sees both paths, one block device (major:minor) or one file (device and inode:
a hard link, a symbolic link, a bind mount) is one disk. An RBD image must exist, and no other
client may have it open (rbd status shows no watcher but this VM's own running QEMU); Ceph is
asked as the disk's <auth> user through the monitors it names (else /etc/ceph/ceph.conf).

Placement (repeatable options take one value each time, or a comma-separated list):
  --avoid OTHER[:SCORE]      keep away from VM OTHER; SCORE ${DEFAULT_AVOID_SCORE} unless given, negative;
                             -INFINITY or "never": never on the same node
  --group-apart TAG[:SCORE]  every VM in group TAG keeps apart from every other one (a Pacemaker
                             tag and one colocation set); the score belongs to the group
  --pin NODE                 run on NODE whenever NODE is up
  --only-on NODE[,NODE...]   never run anywhere else
  --local NODE               its file disks live on NODE only: it runs only
                             there (constraint vm-NAME-local, agent parameter storage=local), a
                             node failure cannot restart it elsewhere, and vm NAME migrate NODE
                             moves it by a live copy of its disks
  --after OTHER[:mandatory]  start only once VM OTHER has started (its guest said ready) when
                             both start, e.g. a cold start of the cluster; a running VM is left
                             alone when OTHER fails over. :mandatory: never run without OTHER
                             (stopped before it stops, restarted after it moves or restarts)
  --priority N               wins over lower priorities when there is not room for all
Agent parameters: --param NAME=VALUE sets a TransientDomain parameter (checked against its
meta-data), e.g. --param migration_transport=tcp; repeatable. With --replace, a parameter given
replaces its old value and the others stay.
With --replace, what is not given stays as it was; --no-avoid, --no-pin, … drop a kind.
All changes are one CIB update: on any error nothing changes. CIB_file=PATH works on a file.

Examples:
  domadd gum.xml
  domadd --priority 10 --avoid ns2:-INFINITY --group-apart dns ns1.xml
  domadd --replace --no-pin gum.xml
  CIB_file=cib.xml domadd --dry-run gum.xml`;

const collect = (value: string, previous: unknown): string[] => [...(Array.isArray(previous) ? previous : []), value];

async function main(argv: readonly string[]): Promise<void> {
  const program = withCliConventions(new Command(COMMAND), COMMAND)
    .description('Add a VM (its domain XML) to the cluster, with its placement, in one atomic CIB change.')
    .argument('<file>', 'domain XML file (create_domxml), or - for stdin')
    .option('--priority <n>', 'Pacemaker priority of the VM (a whole number from -1000000 to 1000000)')
    .option('--no-priority', 'with --replace: drop the priority')
    .option('--avoid <other[:score]>', 'anti-affinity with VM OTHER (repeatable)', collect)
    .option('--no-avoid', 'with --replace: drop every --avoid')
    .option('--group-apart <tag[:score]>', 'keep apart from the other VMs of group TAG (repeatable)', collect)
    .option('--no-group-apart', 'with --replace: leave every group')
    .option('--pin <node>', 'prefer NODE absolutely (location INFINITY)')
    .option('--no-pin', 'with --replace: drop the pin')
    .option('--only-on <nodes>', 'run on these nodes only (repeatable, or NODE,NODE)', collect)
    .option('--no-only-on', 'with --replace: drop the restriction')
    .option('--local <node>', 'its disks live on NODE only: it runs there, moves by a live disk copy')
    .option('--no-local', 'with --replace: its disks are shared now')
    .option('--after <other[:mandatory]>', 'start after VM OTHER (repeatable)', collect)
    .option('--no-after', 'with --replace: drop every --after')
    .option('--param <name=value>', 'set a TransientDomain parameter, e.g. migration_transport=tcp (repeatable)', collect)
    .option('--replace', 'update the existing VM of this name (XML and the options given)')
    .option('--no-fixup', 'refuse an XML that is not stable instead of fixing it up')
    .option('--dry-run', 'print the change (the CIB patch) and change nothing')
    .addHelpText('after', DETAILS);
  program.parse(argv);
  const o = program.opts<RawPlacement & { replace?: boolean; dryRun?: boolean; param?: string[]; fixup?: boolean }>();
  const file = program.args[0] as string;

  const placement = parsePlacement(o);
  const params = parseAgentParams(o.param);

  const doc = await readDomainArg(file, checkDomain);
  // RBD disks: each image exists and no other client has it open (this VM's own running QEMU may).
  for (const w of await checkRbdImages(doc, () => runningNodes(`vm-${doc.name}`))) process.stderr.write(`${COMMAND}: warning: ${w}\n`);
  const fixup = o.fixup !== false;
  // The operator's hooks domadd-pre.d and domadd-post.d (README "Hooks"): a pre hook's veto changes nothing.
  const hooks = await loadHooks((l) => process.stderr.write(`${COMMAND}: ${l}\n`));
  const result = await hooks.around('domadd', { vms: [doc.name], dryRun: o.dryRun === true }, () =>
    applyCibChange(COMMAND, (cd, cib) => planAddVm(cd, cib, { doc, fixup, placement, replace: o.replace === true, params, nodeDisks: nodeDiskIds() }), o.dryRun === true),
  );
  if (!result) return;
  if (!result.applied) {
    process.stdout.write(`${COMMAND}: ${doc.name} is already like this; nothing changed\n`);
    return;
  }
  for (const n of result.notes) process.stdout.write(`${COMMAND}: ${n}\n`);
}

runCli(COMMAND, () => main(process.argv));
