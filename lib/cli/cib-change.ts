// How the authoring commands make their one CIB change and report it: a plan the user got wrong
// (PlanError: refused, exit 2), warnings go to stderr, --dry-run prints the patch and changes nothing.
import { changeCib, type ChangeResult, type Edit } from '../cib/change.js';
import { cibTarget, hostCibPort } from '../host/pacemaker/cib.js';

/** Applies EDIT (or, with dryRun, prints it); returns the result, or undefined after a dry run. */
export async function applyCibChange(command: string, edit: Edit, dryRun: boolean): Promise<ChangeResult | undefined> {
  const result: ChangeResult = await changeCib(hostCibPort(), edit, { dryRun });
  for (const w of result.warnings) process.stderr.write(`${command}: warning: ${w}\n`);
  if (!dryRun) return result;
  process.stdout.write(`# dry run on ${cibTarget()}: nothing was changed\n`);
  for (const n of result.notes) process.stdout.write(`# ${n}\n`);
  process.stdout.write(result.patch ? `${result.patch.trimEnd()}\n` : '# (no difference)\n');
  return undefined;
}
