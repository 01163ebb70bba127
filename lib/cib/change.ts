// One CIB change, all or nothing, exactly as planned.
//
//  1. Read the CIB (with CIB_file: while holding the file's lock, so concurrent commands queue).
//  2. The command's edit runs on a copy; lib/cib/patch.ts writes the difference of the
//     configuration as a patch of our own making (never crm_diff: it mis-escapes non-ASCII text,
//     see patch.ts), tied to the version just read.
//  3. The patch is read back strictly and applied in memory to what was read: it must give
//     exactly the planned configuration, or nothing is sent.
//  4. crm_verify checks the planned CIB; `cibadmin --patch` applies it as one update, which the
//     CIB manager validates and applies entirely or not at all — and only to the CIB version the
//     patch was computed from. When anything else wrote the CIB meanwhile, the patch is refused
//     and the whole change starts again from a fresh read (the edit runs again, so a check like
//     "nobody changed this VM" is made against what is really there), a few times at most.
//  5. The CIB is read back: its configuration must be exactly the planned one. If not, the change
//     is undone and the command fails loudly with what differed.
import { CorralError } from '../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { readXml } from '../xml/read.js';
import { CibDoc } from './edit.js';
import { Cib, CibError } from './model.js';
import { applyPatch, configurationDifferences, configurationOf, formatVersion, makePatch, type CibVersion } from './patch.js';
import type { Plan } from './vm.js';

export class CibChangeError extends CorralError {
  readonly kind = 'failed';
  override name = 'CibChangeError';
}

export interface ChangeOptions {
  /** Compute and check the change, print it, apply nothing. */
  dryRun?: boolean;
}

export interface ChangeResult extends Plan {
  /** The patch, or undefined when nothing would change. */
  patch?: string;
  applied: boolean;
}

export type Edit = (doc: CibDoc, cib: Cib) => Plan;

/** What a CIB change needs from the world (lib/host/pacemaker/cib.ts gives the real one). */
export interface CibPort {
  /** The whole CIB (cibadmin --query). */
  query(): Promise<string>;
  /** crm_verify on a whole CIB. */
  verify(cib: string): Promise<{ ok: boolean; messages: string[] }>;
  /** cibadmin --patch; 'conflict' when the CIB is no longer at the patch's source version. */
  patch(patch: string): Promise<'applied' | 'conflict'>;
  /** The CIB's version now (the root element's admin_epoch, epoch and num_updates only). */
  version(): Promise<CibVersion>;
  /** Serializes changes to one CIB file; resolves with the release. */
  lock(): Promise<() => Promise<void>>;
}

/** How many times a change is computed afresh when the CIB changed under it. */
const ATTEMPTS = 5;

/** Reads the CIB, applies EDIT to a copy, and writes the difference back as one update. */
export async function changeCib(p: CibPort, edit: Edit, opts: ChangeOptions = {}): Promise<ChangeResult> {
  const release = opts.dryRun ? async () => {} : await p.lock();
  try {
    for (let attempt = 1; ; attempt++) {
      const outcome = await attemptChange(p, edit, opts);
      if (outcome !== 'conflict') return outcome;
      if (attempt >= ATTEMPTS) {
        throw new CibChangeError(`the CIB changed ${ATTEMPTS} times while this change was being made; nothing was changed, try again`);
      }
      await sleep(100 * attempt);
    }
  } finally {
    await release();
  }
}

async function attemptChange(p: CibPort, edit: Edit, opts: ChangeOptions): Promise<ChangeResult | 'conflict'> {
  const original = await p.query();
  const cib = Cib.parse(original);
  const before = CibDoc.parse(original);
  const doc = CibDoc.parse(original);
  const plan = edit(doc, cib);
  const dups = doc.duplicateIds();
  if (dups.length) throw new CibChangeError(`the change would use these ids twice: ${dups.join(', ')}`);

  const patch = makePatch(before.doc.documentElement, doc.doc.documentElement);
  if (patch === undefined) return { ...plan, applied: false };
  const foreign = /[^\u0000-\u007f]/u.exec(patch.xml);
  if (foreign) {
    // Pacemaker 2.1's XML writer mis-escapes attribute values after such a character (patch.ts).
    throw new CibChangeError(`the change holds the character ${JSON.stringify(foreign[0])} outside a domain XML; Pacemaker 2.1 can store only ASCII there`);
  }
  const planned = doc.toXml();
  const expected = configurationOf(readXml(planned, 'the changed CIB', { error: CibError }));
  const originalX = readXml(original, 'the CIB', { error: CibError });
  const wrong = configurationDifferences(expected, configurationOf(applyPatch(originalX, patch.xml)));
  if (wrong.length) {
    throw new CibChangeError(`refusing to write: the patch would not make exactly the planned change (${wrong.slice(0, 5).join('; ')})`);
  }

  const warnings = [...plan.warnings];
  const after = await p.verify(planned);
  if (!after.ok) {
    const was = await p.verify(original);
    const fresh = after.messages.filter((m) => !was.messages.includes(m));
    if (was.ok || fresh.length) {
      throw new CibChangeError(`the change would make the configuration invalid:\n  ${(fresh.length ? fresh : after.messages).join('\n  ')}`);
    }
    warnings.push(`the configuration already has problems (not from this change):\n  ${was.messages.join('\n  ')}`);
  }
  if (opts.dryRun) return { ...plan, warnings, patch: patch.xml, applied: false };

  // The patch is tied to the configuration it was computed from (admin_epoch.epoch: any
  // configuration change raises them) and to the status counter (num_updates), which a live
  // cluster raises with every operation result. When only the status moved on, the patch still
  // means exactly the plan: it is tied to the current counter and sent again, a few times; when
  // the configuration changed, the whole change is computed afresh.
  let xml = patch.xml;
  for (let tries = 0; ; tries++) {
    const now = await p.version();
    if (now.adminEpoch !== patch.source.adminEpoch || now.epoch !== patch.source.epoch) return 'conflict';
    xml = xml.replace(/<source admin_epoch="\d+" epoch="\d+" num_updates="\d+"\/>/, `<source admin_epoch="${now.adminEpoch}" epoch="${now.epoch}" num_updates="${now.numUpdates}"/>`);
    if ((await p.patch(xml)) === 'applied') break;
    if (tries >= 20) return 'conflict';
  }

  const readBack = await p.query();
  const readBackX = readXml(readBack, 'the CIB read back', { error: CibError });
  const differences = configurationDifferences(expected, configurationOf(readBackX));
  if (differences.length) {
    const undo = makePatch(CibDoc.parse(readBack).doc.documentElement, before.doc.documentElement);
    let undone = 'it was undone';
    try {
      if (undo && (await p.patch(undo.xml)) !== 'applied') undone = 'undoing it failed: the CIB changed again meanwhile';
    } catch (e) {
      undone = `undoing it failed: ${(e as Error).message}`;
    }
    throw new CibChangeError(
      `the CIB did not change as planned (version ${formatVersion(patch.source)} → ${formatVersion(patch.target)}); ${undone}. ` +
        `Check the configuration now. What differed: ${differences.slice(0, 10).join('; ')}`,
    );
  }
  return { ...plan, warnings, patch: xml, applied: true };
}
