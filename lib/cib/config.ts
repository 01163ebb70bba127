// How a domain XML is stored in the CIB: the `config` instance attribute of a TransientDomain.
//
// Pacemaker 2.1 writes a newline inside an attribute value as the two characters "\n" (and reads
// them back as such), so a multi-line domain XML would not survive the CIB. The stored form is a
// single line: indentation (whitespace-only text) is dropped, which libvirt ignores anyway, and
// any newline, carriage return or tab that carries meaning (in text or attribute values) is
// written as a character reference, which survives as plain characters. The agent hands the
// value to libvirt as it is.
//
// The stored form is also pure ASCII: every other character is a character reference
// (`Caf&#xE9;`), which libvirt reads back as the same character. Pacemaker 2.1.5's XML writer
// stops escaping an attribute value at its first non-ASCII character, so a raw "é" followed by
// markup would turn that markup into CIB elements wherever Pacemaker writes the CIB out.
import { DomainDoc } from '../domain/doc.js';
import { escapeAttr, serialize } from '../xml/dom.js';

/** The single-line form of DOC for the `config` attribute. */
export function configForCib(doc: DomainDoc): string {
  const xml = serialize(doc.root, { dropBlankText: true, ascii: true });
  // serialize() leaves \n and \t raw in text content; make them character references too.
  return xml.replace(/[\n\t]/g, (c) => escapeAttr(c));
}

/** The domain of a stored `config` value. Throws DomainXmlError when it is not a domain XML. */
export function domainFromConfig(config: string): DomainDoc {
  return DomainDoc.parse(config);
}
