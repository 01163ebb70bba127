// The XML a node hands to `virsh create`: the configuration plus what this agent adds on the way,
// never written back to the CIB — the continuous console log and the resource that owns the domain.
import { child, ensureChild, type DomainDoc } from '../domain/doc.js';

export const AGENT_XMLNS = 'urn:corral:transientdomain:1';

function consoleLogPath(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`;
}

function ownerElement(doc: DomainDoc): Element | undefined {
  const metadata = child(doc.root, 'metadata');
  if (!metadata) return undefined;
  return Array.from(metadata.childNodes).find((n) => n.nodeType === 1 && (n as Element).namespaceURI === AGENT_XMLNS) as Element | undefined;
}

/** The resource that started this (live) domain, from the metadata prepareForCreate() added. */
export function ownerOf(doc: DomainDoc): string | undefined {
  return ownerElement(doc)?.textContent?.trim() || undefined;
}

/** Adds the console log to the first serial device (unless it has one) and the owner metadata. */
export function prepareForCreate(doc: DomainDoc, opts: { consoleLogDir: string; resource: string }): { xml: string; consoleLog?: string } {
  let consoleLog: string | undefined;
  const serial = doc.devicesOf('serial')[0];
  if (serial) {
    const existing = child(serial, 'log');
    if (existing) consoleLog = existing.getAttribute('file') ?? undefined;
    else {
      consoleLog = consoleLogPath(opts.consoleLogDir, doc.name);
      const log = serial.ownerDocument.createElement('log');
      log.setAttribute('file', consoleLog);
      log.setAttribute('append', 'on');
      serial.appendChild(log);
    }
  }
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
