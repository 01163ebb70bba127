// The XML a node hands to `virsh create`: the configuration plus what this agent adds on the way,
// never written back to the CIB — the continuous console log and the resource that owns the domain.
import { consoleLogFile, pinConsoleLog } from '../domain/console-log.js';
import { child, ensureChild, type DomainDoc } from '../domain/doc.js';

export const AGENT_XMLNS = 'urn:corral:transientdomain:1';

function ownerElement(doc: DomainDoc): Element | undefined {
  const metadata = child(doc.root, 'metadata');
  if (!metadata) return undefined;
  return Array.from(metadata.childNodes).find((n) => n.nodeType === 1 && (n as Element).namespaceURI === AGENT_XMLNS) as Element | undefined;
}

/** The resource that started this (live) domain, from the metadata prepareForCreate() added. */
export function ownerOf(doc: DomainDoc): string | undefined {
  return ownerElement(doc)?.textContent?.trim() || undefined;
}

/**
 * Makes console_log_dir/NAME.log the domain's one console log (on the first serial device; a
 * <log file> elsewhere in the stored XML is replaced, a <log> on any other chardev removed) and
 * adds the owner metadata.
 */
export function prepareForCreate(doc: DomainDoc, opts: { consoleLogDir: string; resource: string }): { xml: string; consoleLog?: string } {
  const file = consoleLogFile(doc.name, opts.consoleLogDir);
  pinConsoleLog(doc, file);
  const consoleLog = doc.devicesOf('serial').length ? file : undefined;
  const metadata = ensureChild(doc.root, 'metadata');
  const owner = ownerElement(doc);
  if (owner) owner.textContent = opts.resource;
  else {
    const el = metadata.ownerDocument.createElementNS(AGENT_XMLNS, 'corral:resource');
    el.textContent = opts.resource;
    metadata.appendChild(el);
  }
  return { xml: doc.toXml(), consoleLog };
}
