// One CIB change, all or nothing. The command's edit runs on a copy of the queried CIB; crm_diff
// turns old → new into one patch; crm_verify checks the result; `cibadmin --patch` applies it as
// a single update, which the CIB manager validates and applies entirely or not at all. A refused
// change (by us or by Pacemaker) leaves the CIB exactly as it was.
//
// The patch carries no version numbers (crm_diff --no-version), so it applies on top of whatever
// changed meanwhile elsewhere in the CIB, the way crmsh commits; a change that conflicts (say,
// the same id created twice) fails schema validation and changes nothing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffCib, patchCib, queryCib, verifyCibFile } from '../host/cib.js';
import { CibDoc } from './edit.js';
import { Cib } from './model.js';
import type { Plan } from './vm.js';

export class CibChangeError extends Error {
  override name = 'CibChangeError';
}

export interface ChangeOptions {
  /** Compute and check the change, print it, apply nothing. */
  dryRun?: boolean;
}

export interface ChangeResult extends Plan {
  /** The patch (crm_diff format), or undefined when nothing would change. */
  patch?: string;
  applied: boolean;
}

export type Edit = (doc: CibDoc, cib: Cib) => Plan;

/** Reads the CIB, applies EDIT to a copy, and writes the difference back as one update. */
export async function changeCib(edit: Edit, opts: ChangeOptions = {}): Promise<ChangeResult> {
  const original = await queryCib();
  const cib = Cib.parse(original);
  const doc = CibDoc.parse(original);
  const plan = edit(doc, cib);
  const dups = doc.duplicateIds();
  if (dups.length) throw new CibChangeError(`the change would use these ids twice: ${dups.join(', ')}`);

  const dir = await mkdtemp(join(tmpdir(), 'corral-cib-'));
  try {
    const oldFile = join(dir, 'old.xml');
    const newFile = join(dir, 'new.xml');
    await writeFile(oldFile, original);
    await writeFile(newFile, doc.toXml());
    const patch = await diffCib(oldFile, newFile);
    if (patch === undefined) return { ...plan, applied: false };

    const warnings = [...plan.warnings];
    const after = await verifyCibFile(newFile);
    if (!after.ok) {
      const before = await verifyCibFile(oldFile);
      const fresh = after.messages.filter((m) => !before.messages.includes(m));
      if (before.ok || fresh.length) {
        throw new CibChangeError(`the change would make the configuration invalid:\n  ${(fresh.length ? fresh : after.messages).join('\n  ')}`);
      }
      warnings.push(`the configuration already has problems (not from this change):\n  ${before.messages.join('\n  ')}`);
    }
    if (opts.dryRun) return { ...plan, warnings, patch, applied: false };
    const patchFile = join(dir, 'patch.xml');
    await writeFile(patchFile, patch);
    await patchCib(patchFile);
    return { ...plan, warnings, patch, applied: true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
