// `corral capacity`: N+1 and room for more VMs, asked of Pacemaker's scheduler (crm_simulate with
// each node down in turn). Registered by scripts/corral.ts; the work is lib/ops/maintenance.ts's
// capacityOf.
import type { Command } from 'commander';
import { printable, printableLines } from '../../cluster/format.js';
import { takeSnapshot } from '../../cluster/snapshot.js';
import { parseSizeMiB, SizeError } from '../../domain/size.js';
import { capacityOf, stoppedWords } from '../../ops/maintenance.js';
import { checkAction, checkExitCodes, setUnanswered, UsageError } from '../errors.js';

// Text for people shows control and bidi characters escaped (node names); JSON stays exact.
const out = (s: string) => process.stdout.write(printableLines(s));
const json = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
const err = (s: string) => process.stderr.write(`corral: ${printable(s)}\n`);

export function registerCapacity(program: Command): void {
  program
    .command('capacity')
    .description("N+1 and room for more VMs, answered by Pacemaker's scheduler (crm_simulate with each node down in turn).")
    .option('--size <vcpus,mem>', 'also: how many more VMs of this size fit with N+1 holding, e.g. 2,4g')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
For every online node: the VMs that would stay stopped if it failed (crm_simulate --node-fail:
the node is lost and fenced, its VMs recovered elsewhere). When Pacemaker cannot simulate a
node's failure, its own reason is printed for that node, and the other nodes are still answered.
A VM on local disks (domadd --local) is lost when its node fails: no other node has its disks,
so N+1 never holds for it; the output names it with its node ("disks local to n1"), says N+1
for the VMs on shared storage apart (JSON: ifFails.lost, nPlusOneShared), and --size counts
room with N+1 holding for those.
With --size: how many more VMs of that size Pacemaker would place, all added at once, with N+1
still holding (hspace's question).

${checkExitCodes('N+1 holds (no single node failure stops a running VM)', "N+1 does not hold (a node's failure would leave VMs stopped, even if Pacemaker could not say for another)")}

Examples:
  corral capacity
  corral capacity --size 2,4g --json`,
    )
    .action(checkAction(async (o: { size?: string; json?: boolean }) => {
      let size: { vcpus: number; memoryMiB: number } | undefined;
      if (o.size !== undefined) {
        const m = /^\s*(\d+)\s*,\s*(\S+)\s*$/.exec(o.size);
        if (!m) throw new UsageError(`--size ${JSON.stringify(o.size)}: VCPUS,MEMORY, e.g. 2,4g`);
        const vcpus = Number(m[1]);
        if (vcpus < 1 || vcpus > 4096) throw new UsageError(`--size ${JSON.stringify(o.size)}: vCPUs from 1 to 4096`);
        try {
          size = { vcpus, memoryMiB: parseSizeMiB(m[2] as string) };
        } catch (e) {
          if (e instanceof SizeError) throw new UsageError(`--size ${JSON.stringify(o.size)}: ${e.message}`);
          throw e;
        }
        if (size.memoryMiB < 1) throw new UsageError(`--size ${JSON.stringify(o.size)}: memory of at least 1 MiB`);
      }
      const snap = await takeSnapshot();
      const r = await capacityOf(snap, size);
      const unanswered = r.nodes.filter((n) => n.ifFails.errors);
      if (o.json) json(r);
      else {
        for (const n of r.nodes) {
          const answer = n.ifFails.errors ? 'Pacemaker could not say' : n.ifFails.stopped.length ? `${stoppedWords(n.ifFails)} would stay stopped` : 'every VM runs elsewhere';
          out(`if ${n.name} fails: ${answer}\n`);
        }
        if (r.notRunning.length) out(`not running now (not counted): ${r.notRunning.join(', ')}\n`);
        out(r.nPlusOne === null ? `N+1: could not answer (${unanswered.map((n) => n.name).join(', ')})\n` : r.nPlusOne ? 'N+1: yes\n' : 'N+1: no\n');
        if (r.nPlusOneShared !== undefined) {
          const lost = r.nodes.flatMap((n) => (n.ifFails.lost ?? []).map((l) => `${l.vm} (${l.why})`));
          out(`N+1 cannot hold for VMs on local disks: a node's failure cannot restart them elsewhere${lost.length ? `: ${lost.join(', ')}` : ''}\n`);
          out(`N+1 for the VMs on shared storage: ${r.nPlusOneShared === null ? 'could not answer' : r.nPlusOneShared ? 'yes' : 'no'}\n`);
        }
        if (r.fit) {
          const what = `more VMs of ${r.fit.vcpus} vCPU, ${r.fit.memoryMiB} MiB with N+1 holding`;
          out(r.fit.count === null ? `room for ${what}: could not answer\n` : `room for ${r.fit.count} ${r.fit.count === 1 ? what.replace('VMs', 'VM') : what}\n`);
        }
      }
      // Pacemaker's own reasons, a line each, whatever the output format.
      for (const n of unanswered) err(`if ${n.name} fails: Pacemaker could not say: ${(n.ifFails.errors ?? []).join('; ')}`);
      if (r.fit?.errors) err(`room for more VMs: Pacemaker could not say: ${r.fit.errors.join('; ')}`);
      if (r.nPlusOne === false) process.exitCode = 1;
      else if (r.nPlusOne === null || r.fit?.count === null) setUnanswered();
    }));
}
