// fixup_domxml: make a domain XML stable and cluster-ready. A thin shell over lib/domain/fixup.ts.
import { Command } from 'commander';
import { runCli, UsageError, withCliConventions } from '../lib/cli/errors.js';
import { withPrefix } from '../lib/errors.js';
import { readDomainArg } from '../lib/cli/input.js';
import { checkOutputFile, writeOutputFile } from '../lib/cli/output.js';
import { knownVms } from '../lib/cib/vms.js';
import { configForCib } from '../lib/cib/config.js';
import { serialize } from '../lib/xml/dom.js';
import { FixupError, clashes, fixupDomain, identityOf, type KnownVm } from '../lib/domain/fixup.js';
import { cibTarget, nodeDiskIds, readCibIfReachable, runningNodes } from '../lib/cli/target.js';
import { checkRbdImages } from '../lib/cli/rbd-check.js';

const COMMAND = 'fixup_domxml';

const DETAILS = `
What it does (and leaves alone when already done, so running it twice changes nothing):
  - a missing or "auto" <uuid> becomes a fixed random uuid;
  - every <interface> without a MAC address gets a fixed random one (52:54:00:xx:xx:xx);
    existing addresses are kept;
  - the serial console logs to /var/log/corral/console/NAME.log (a pty serial console is added
    when there is none); the startup_signal channel is left as it is;
  - the name must be a valid VM name; uuid and MAC addresses must be well-formed;
  - when a CIB is reachable (a live cluster, or CIB_file=PATH), no other VM there may have the
    same name, uuid or any of the MAC addresses, nor a disk of this VM under any name (see
    domadd --help);
  - an RBD image must exist, and no other client may have it open (rbd status shows no watcher
    but this VM's own QEMU where the cluster runs it).

Examples:
  create_domxml --name gum --cpus 2 --mem 4g --bridge br0 | fixup_domxml - > gum.xml
  fixup_domxml -i gum.xml
  CIB_file=cib.xml fixup_domxml -i gum.xml`;

async function main(argv: readonly string[]): Promise<void> {
  const program = withCliConventions(new Command(COMMAND), COMMAND)
    .description('Make a libvirt domain XML stable (fixed uuid and MAC addresses) and cluster-ready (console log).')
    .argument('<file>', 'domain XML file, or - for stdin')
    .option('-i, --in-place', 'rewrite FILE (a regular file: atomically, keeping its owner and mode) instead of writing to stdout')
    .option('--no-cib', 'do not compare with the VMs in the cluster')
    .option('--one-line', 'print the result as domadd stores it in the CIB (one line, ASCII), e.g. for crm configure … params config="$(fixup_domxml --one-line FILE)"')
    .option('-v, --verbose', 'say what was changed (on stderr)')
    .addHelpText('after', DETAILS);
  program.parse(argv);
  const o = program.opts<{ inPlace?: boolean; cib: boolean; verbose?: boolean; oneLine?: boolean }>();
  if (o.inPlace && o.oneLine) throw new UsageError('--one-line prints to stdout; it does not go with --in-place');
  const file = program.args[0] as string;
  if (o.inPlace && file === '-') throw new UsageError('--in-place needs a FILE, not - (stdin)');
  // Before reading: a FIFO given to -i would block the read, a symlink would be replaced.
  if (o.inPlace) await checkOutputFile(file, '-i');

  const doc = await readDomainArg(file);

  let known: KnownVm[] = [];
  if (o.cib) {
    const cib = await readCibIfReachable();
    if (cib) {
      const k = knownVms(cib);
      known = k.vms;
      if (o.verbose) for (const w of k.warnings) process.stderr.write(`${COMMAND}: warning: ${w}\n`);
    } else if (o.verbose) {
      process.stderr.write(`${COMMAND}: no cluster reachable: not compared with other VMs\n`);
    }
  }

  let changes: string[];
  try {
    changes = fixupDomain(doc, { takenMacs: known.flatMap((k) => k.macs) });
  } catch (e) {
    // What fixup refuses (kind refused, exit 2), said with the file it is about.
    if (e instanceof FixupError) throw withPrefix(e, `${file}: `);
    throw e;
  }
  const problems = clashes(identityOf(doc), known, nodeDiskIds());
  if (problems.length) {
    throw new UsageError(
      `${doc.name} clashes with VMs in ${cibTarget()}:\n  ${problems.join('\n  ')}\n` +
        'a copy of another VM\'s XML? give it its own name, delete its <uuid> and <mac> lines, and run fixup_domxml again',
    );
  }
  // RBD disks: each image exists and no other client has it open (this VM's own running QEMU may,
  // when the cluster says it runs it).
  const cibRead = o.cib && known.length > 0;
  for (const w of await checkRbdImages(doc, async () => (cibRead ? runningNodes(`vm-${doc.name}`) : []))) process.stderr.write(`${COMMAND}: warning: ${w}\n`);
  if (o.verbose) {
    for (const c of changes) process.stderr.write(`${COMMAND}: ${c}\n`);
    if (!changes.length) process.stderr.write(`${COMMAND}: already stable, nothing changed\n`);
  }

  if (o.oneLine) {
    try {
      process.stdout.write(`${configForCib(doc)}\n`);
    } catch (e) {
      throw new UsageError(`${file}: ${(e as Error).message}`);
    }
    return;
  }
  const out = `${serialize(doc.root.ownerDocument, { indent: '  ' })}\n`;
  if (o.inPlace) {
    if (changes.length) await writeOutputFile(file, out, '-i');
  } else {
    process.stdout.write(out);
  }
}

runCli(COMMAND, () => main(process.argv));
