// `vm NAME edit`: the domain XML from the CIB, edited by the user, checked, and written back as
// one atomic CIB change only if nobody changed that VM meanwhile.
//
// Under sudo the editor runs as the calling user (uid, gid, no supplementary groups: an editor
// can start a shell, and that shell must not be root's), on a copy in a private directory the
// user owns; only the checked result goes back, by vm, as root. vm reads it back without following
// links (lib/ops/edit-file.ts), and runs no editor at all for a caller who is not root and whose
// uid it does not know.
import { CorralError, withContext } from '../errors.js';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configForCib, domainFromConfig } from '../cib/config.js';
import { parseDom, serialize } from '../xml/dom.js';
import { changeCib, type ChangeResult } from '../cib/change.js';
import { corralVms } from '../cib/model.js';
import { planAddVm } from '../cib/vm.js';
import { DomainDoc, DomainXmlError } from '../domain/doc.js';
import { editRefusals } from '../domain/edit-policy.js';
import { checkDomain, FixupError, unstableReasons } from '../domain/fixup.js';
import { domainUtilization } from '../domain/utilization.js';
import type { VmView } from '../cluster/view.js';
import { hostCibPort } from '../host/pacemaker/cib.js';
import { runAttached } from '../host/exec.js';
import { homeOf } from '../host/identity.js';
import { validateDomainXml } from '../host/virt-xml-validate.js';
import type { Caller } from './access.js';
import type { Context } from './context.js';
import { editDir, EditedFileError, readEditedFile, removeEditDir } from './edit-file.js';

export class EditError extends CorralError {
  readonly kind = 'refused';
  override name = 'EditError';
}

/** The edited VM changed in the CIB after it was opened for editing. */
class EditConflictError extends CorralError {
  readonly kind = 'failed';
  override name = 'EditConflictError';
}

/** The stored single-line domain XML, indented for people. */
function editableXml(config: string): string {
  return `${serialize(parseDom(config, 'the stored domain XML'), { indent: '  ' })}\n`;
}

interface CheckedEdit {
  doc: DomainDoc;
  /** What changes besides the XML text, for the user: vCPUs, memory. */
  notes: string[];
}

/**
 * Checks EDITED (the user's text) as the new domain of VM NAME whose stored config is ORIGINAL:
 * well-formed, a domain of the same name, fixup_domxml's checks, for a CALLER who is not root only
 * what the allow list lets them change (lib/domain/edit-policy.ts), stable identity, libvirt's
 * schema. Throws EditError with what to fix.
 */
async function checkEdited(name: string, original: string, edited: string, caller: Pick<Caller, 'user' | 'root'>): Promise<CheckedEdit> {
  let doc: DomainDoc;
  try {
    doc = DomainDoc.parse(edited);
    checkDomain(doc);
  } catch (e) {
    if (e instanceof DomainXmlError || e instanceof FixupError) throw new EditError(e.message);
    throw e;
  }
  if (doc.name !== name) throw new EditError(`the domain is named ${JSON.stringify(doc.name)}; it must stay ${name} (to rename a VM, domdel it and domadd it under the new name)`);
  if (!caller.root) {
    const refused = editRefusals(domainFromConfig(original).root, doc.root);
    if (refused.length) {
      throw new EditError(
        `${caller.user} is not root: edit changes only memory, vCPUs (and the CPU topology), title, description, metadata outside corral's, ` +
          `the NIC model, clock, features and lifecycle actions; refused: ${refused.join('; ')}`,
      );
    }
  }
  const unstable = unstableReasons(doc);
  if (unstable.length) throw new EditError(`the domain lost its stable identity: ${unstable.join('; ')}`);
  const valid = await validateDomainXml(doc.toXml());
  if (!valid.ok) throw new EditError(`libvirt's schema refuses it:\n${valid.message}`);
  const notes: string[] = [];
  try {
    const before = domainUtilization(domainFromConfig(original));
    const after = domainUtilization(doc);
    if (before.cpu !== after.cpu) notes.push(`vCPUs ${before.cpu} → ${after.cpu}`);
    if (before.memoryMiB !== after.memoryMiB) notes.push(`memory ${before.memoryMiB} → ${after.memoryMiB} MiB`);
  } catch (e) {
    throw new EditError((e as Error).message);
  }
  return { doc, notes };
}

/** Whether EDITED means the same domain as ORIGINAL (only formatting differs). */
function sameDomain(original: string, edited: string): boolean {
  try {
    return configForCib(DomainDoc.parse(edited)) === configForCib(DomainDoc.parse(original));
  } catch {
    return false;
  }
}

/**
 * Writes DOC back as VM NAME's domain in one CIB update, through domadd's own plan (utilization
 * follows the XML; placement, meta attributes and constraints stay), refusing with
 * EditConflictError when the stored config is no longer ORIGINAL.
 */
async function writeBack(name: string, original: string, doc: DomainDoc): Promise<ChangeResult> {
  return changeCib(hostCibPort(), (cd, cib) => {
    const vm = corralVms(cib).find((v) => v.name === name);
    if (!vm) throw new EditConflictError(`${name} is no longer in the cluster`);
    if (vm.config !== original) throw new EditConflictError(`${name} was changed by someone else while you edited it`);
    return planAddVm(cd, cib, { doc, placement: {}, replace: true });
  });
}

/** The edit session: copy for the user, their editor (as them), checks, question, write-back. */
export async function editSession(ctx: Context, v: VmView): Promise<string> {
  const original = ctx.snapshot.cib.resource(v.resource)?.params.config;
  if (!original) throw new EditError(`${v.resource} has no domain XML (config) to edit`);
  if (!ctx.io.interactive && !process.env.VISUAL && !process.env.EDITOR) throw new EditError('edit needs a terminal (or $VISUAL/$EDITOR naming a non-interactive editor)');
  // Root acting for a caller who is not root runs the editor as that caller, or not at all.
  const asUser = process.getuid?.() === 0 && !ctx.caller.root;
  if (asUser && !(ctx.caller.uid !== undefined && ctx.caller.uid > 0 && ctx.caller.gid !== undefined)) {
    throw new EditError(`cannot tell the uid and gid of ${ctx.caller.user}, and vm never runs an editor as root for a caller who is not root`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), `vm-edit-${v.name}-`));
  const edir = await editDir(dir);
  const file = path.join(dir, `${v.name}.xml`);
  let keep = false;
  try {
    await writeFile(file, editableXml(original), { mode: 0o600 });
    if (asUser) {
      await chown(dir, ctx.caller.uid as number, ctx.caller.gid as number);
      await chown(file, ctx.caller.uid as number, ctx.caller.gid as number);
    }
    await chmod(dir, 0o700);
    const editor = (process.env.VISUAL || process.env.EDITOR || 'vi').trim().split(/\s+/);
    const env: Record<string, string | undefined> = asUser
      ? {
          PATH: '/usr/local/bin:/usr/bin:/bin',
          TERM: process.env.TERM,
          LANG: process.env.LANG,
          HOME: (await homeOf(ctx.caller.user)) ?? '/',
          USER: ctx.caller.user,
          LOGNAME: ctx.caller.user,
        }
      : {};
    const code = await runAttached(editor[0] as string, [...editor.slice(1), file], {
      ...(asUser ? { uid: ctx.caller.uid, gid: ctx.caller.gid, env, cleanEnv: true } : {}),
    });
    if (code !== 0) throw new Error(`the editor (${editor.join(' ')}) exited ${code}; nothing changed`);
    // Read back without following links, as a regular file of the editor's user (lib/ops/edit-file.ts).
    let edited: string;
    try {
      edited = await readEditedFile(edir, path.basename(file), asUser ? (ctx.caller.uid as number) : (process.geteuid?.() ?? 0));
    } catch (e) {
      if (e instanceof EditedFileError) throw new EditError(e.message);
      throw e;
    }
    if (sameDomain(original, edited)) return 'no change';
    let checked;
    try {
      checked = await checkEdited(v.name, original, edited, ctx.caller);
    } catch (e) {
      keep = true;
      throw withContext(e, `\nnothing changed; your edit is in ${file}`);
    }
    const effect = `${checked.notes.length ? `${checked.notes.join(', ')}; ` : ''}Pacemaker restarts ${v.name} to apply it${v.state === 'running' ? ` (it runs on ${v.node})` : ''}`;
    if (!ctx.options.yes) {
      if (!ctx.io.interactive) {
        keep = true;
        throw new EditError(`${effect}: add --yes to write it back; your edit is in ${file}`);
      }
      if (!(await ctx.io.confirm(`Write it back? ${effect}. [y/N] `))) {
        keep = true;
        return `not written back; your edit is in ${file}`;
      }
    }
    try {
      await writeBack(v.name, original, checked.doc);
    } catch (e) {
      keep = true;
      throw withContext(e, `${e instanceof EditConflictError ? '; ' : '\n'}nothing changed; your edit is in ${file}`);
    }
    return `domain XML written back; ${effect}`;
  } finally {
    if (!keep) await (asUser ? removeEditDir(edir) : rm(dir, { recursive: true, force: true }));
  }
}
