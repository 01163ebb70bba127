// `vm NAME edit`: the domain XML from the CIB, edited by the user, checked, and written back as
// one atomic CIB change only if nobody changed that VM meanwhile.
//
// Under sudo the editor runs as the calling user (uid, gid, no supplementary groups: an editor
// can start a shell, and that shell must not be root's), on a copy in a private directory the
// user owns; only the checked result goes back, by vm, as root.
import { configForCib, domainFromConfig } from '../cib/config.js';
import { parseDom, serialize } from '../cib/xml.js';
import { changeCib, type ChangeResult } from '../cib/change.js';
import { corralVms } from '../cib/model.js';
import { planAddVm } from '../cib/vm.js';
import { DomainDoc, DomainXmlError } from '../domain/doc.js';
import { checkDomain, FixupError, unstableReasons } from '../domain/fixup.js';
import { domainUtilization } from '../domain/utilization.js';
import { hostCibPort } from '../host/pacemaker/cib.js';
import { validateDomainXml } from '../host/virt-xml-validate.js';

export class EditError extends Error {
  override name = 'EditError';
}

/** The edited VM changed in the CIB after it was opened for editing. */
export class EditConflictError extends Error {
  override name = 'EditConflictError';
}

/** The stored single-line domain XML, indented for people. */
export function editableXml(config: string): string {
  return `${serialize(parseDom(config, 'the stored domain XML'), { indent: '  ' })}\n`;
}

export interface CheckedEdit {
  doc: DomainDoc;
  /** What changes besides the XML text, for the user: vCPUs, memory. */
  notes: string[];
}

/**
 * Checks EDITED (the user's text) as the new domain of VM NAME whose stored config is ORIGINAL:
 * well-formed, a domain of the same name, fixup_domxml's checks, stable identity, libvirt's schema.
 * Throws EditError with what to fix.
 */
export async function checkEdited(name: string, original: string, edited: string): Promise<CheckedEdit> {
  let doc: DomainDoc;
  try {
    doc = DomainDoc.parse(edited);
    checkDomain(doc);
  } catch (e) {
    if (e instanceof DomainXmlError || e instanceof FixupError) throw new EditError(e.message);
    throw e;
  }
  if (doc.name !== name) throw new EditError(`the domain is named ${JSON.stringify(doc.name)}; it must stay ${name} (to rename a VM, domdel it and domadd it under the new name)`);
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
export function sameDomain(original: string, edited: string): boolean {
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
export async function writeBack(name: string, original: string, doc: DomainDoc): Promise<ChangeResult> {
  return changeCib(hostCibPort(), (cd, cib) => {
    const vm = corralVms(cib).find((v) => v.name === name);
    if (!vm) throw new EditConflictError(`${name} is no longer in the cluster`);
    if (vm.config !== original) throw new EditConflictError(`${name} was changed by someone else while you edited it`);
    return planAddVm(cd, cib, { doc, placement: {}, replace: true });
  });
}
