// XML as a DOM: editable documents built from corral's one reader (lib/xml/read.ts), walking their
// elements, escaping, and a faithful serializer. Used for the CIB (lib/cib) and for domain XML
// (lib/domain) alike; it knows neither vocabulary.
//
// Why a serializer of our own: xmlbuilder2 writes a newline, tab or carriage return inside an
// attribute value as the raw character, which every parser turns back into a space (attribute
// value normalisation). A CIB attribute can hold a whole document (TransientDomain's `config`),
// so we write those characters as character references and nothing is lost on the way to
// crm_diff and cibadmin.
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { XmlError, readDocument, type XContent } from './read.js';

/** Escapes TEXT for a double-quoted attribute value; \n, \r and \t survive as character references. */
export function escapeAttr(text: string): string {
  return text.replace(/[&<>"\n\r\t]/g, (c) => ATTR_ESCAPES[c] ?? c);
}

/** Escapes TEXT for element content; \r survives as a character reference. */
export function escapeText(text: string): string {
  return text.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c] ?? c);
}

const ATTR_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#9;',
};
const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };

/** Characters XML 1.0 forbids anywhere, even as character references. */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;

/** Throws XmlError when TEXT holds a character no XML document may contain. */
export function assertXmlChars(text: string, what: string): void {
  const m = FORBIDDEN_CHARS.exec(text);
  if (m) {
    const code = m[0].charCodeAt(0).toString(16).padStart(4, '0');
    throw new XmlError(`${what} contains the control character U+${code}, which XML cannot hold`);
  }
}

export interface SerializeOptions {
  /**
   * Write only ASCII: every other character in text and attribute values as a character
   * reference, CDATA as escaped text; a name, comment or processing instruction that holds one
   * is an XmlError. For anything Pacemaker 2.1 stores: its own XML writer stops escaping an
   * attribute value after the first non-ASCII character (in the CIB file, in cibadmin --query,
   * in what the nodes send each other), so markup after such a character would become CIB
   * elements.
   */
  ascii?: boolean;
  /** Drop text nodes that hold only whitespace (indentation). */
  dropBlankText?: boolean;
  /**
   * Indent with this string (implies dropBlankText): an element whose children are all elements
   * (or comments) gets each on its own line; one with text keeps its content exactly as it is.
   */
  indent?: string;
}

/** Serializes NODE (an element, or a document: its children) with escapes that survive a parse. */
export function serialize(node: Node, opts: SerializeOptions = {}): string {
  const out: string[] = [];
  const o = opts.indent !== undefined ? { ...opts, dropBlankText: true } : opts;
  if (node.nodeType === 9 || node.nodeType === 11) {
    const kids = Array.from(node.childNodes).filter((c) => !(o.dropBlankText && isBlankText(c)));
    kids.forEach((c, i) => {
      if (i > 0 && o.indent !== undefined) out.push('\n');
      write(c, out, o, 0);
    });
  } else {
    write(node, out, o, 0);
  }
  return out.join('');
}

/** Characters outside ASCII (whole code points, so a surrogate pair becomes one reference). */
const NON_ASCII = /[^\u0000-\u007f]/gu;

function asciiOnly(text: string): string {
  return text.replace(NON_ASCII, (c) => `&#x${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()};`);
}

function assertAscii(text: string, what: string): void {
  const m = /[^\u0000-\u007f]/u.exec(text);
  if (m) throw new XmlError(`${what} holds the character ${JSON.stringify(m[0])}: outside text and attribute values, Pacemaker can store only ASCII`);
}

function write(node: Node, out: string[], opts: SerializeOptions, depth: number): void {
  const attr = opts.ascii ? (t: string) => asciiOnly(escapeAttr(t)) : escapeAttr;
  const txt = opts.ascii ? (t: string) => asciiOnly(escapeText(t)) : escapeText;
  switch (node.nodeType) {
    case 9: // document
    case 11: // fragment
      for (const c of Array.from(node.childNodes)) write(c, out, opts, depth);
      return;
    case 1: {
      const el = node as Element;
      if (opts.ascii) assertAscii(el.tagName, `the element name <${el.tagName}>`);
      out.push('<', el.tagName);
      for (const a of Array.from(el.attributes)) {
        if (opts.ascii) assertAscii(a.name, `the attribute name ${a.name} of <${el.tagName}>`);
        out.push(' ', a.name, '="', attr(a.value), '"');
      }
      const kids = Array.from(el.childNodes).filter((c) => !(opts.dropBlankText && isBlankText(c)));
      if (kids.length === 0) {
        out.push('/>');
        return;
      }
      out.push('>');
      const block = opts.indent !== undefined && kids.every((c) => c.nodeType === 1 || c.nodeType === 8);
      for (const c of kids) {
        if (block) out.push('\n', (opts.indent ?? '').repeat(depth + 1));
        write(c, out, opts, depth + 1);
      }
      if (block) out.push('\n', (opts.indent ?? '').repeat(depth));
      out.push('</', el.tagName, '>');
      return;
    }
    case 3:
      if (!(opts.dropBlankText && isBlankText(node))) out.push(txt(node.nodeValue ?? ''));
      return;
    case 4:
      if (opts.ascii) out.push(txt(node.nodeValue ?? ''));
      else out.push('<![CDATA[', node.nodeValue ?? '', ']]>');
      return;
    case 7: {
      const pi = node as ProcessingInstruction;
      if (opts.ascii) assertAscii(`${pi.target} ${pi.data}`, 'a processing instruction');
      out.push('<?', pi.target, pi.data ? ` ${pi.data}` : '', '?>');
      return;
    }
    case 8:
      if (opts.ascii) assertAscii(node.nodeValue ?? '', 'a comment');
      out.push('<!--', node.nodeValue ?? '', '-->');
      return;
    default:
      return; // doctype and others: not in anything corral writes
  }
}

function isBlankText(n: Node): boolean {
  return n.nodeType === 3 && /^\s*$/.test(n.nodeValue ?? '');
}

/**
 * XML as an editable xmlbuilder2 document. corral's one reader (lib/xml/read.ts) reads it; the
 * document is built from what it read node by node, with the namespaces xmlbuilder2's own parser
 * would give each element and attribute. Text and attribute values are handed over decoded, so
 * nothing is decoded twice ("&amp;#xE9;" stays the text "&#xE9;"). Whitespace-only text is not
 * kept. Throws ERROR (XmlError by default) for what it cannot read.
 *
 * The nodes are made with the DOM's own methods, not the builder's ele(): ele() reads a string
 * that starts with "<", "{" or "[" as a document to parse, and a namespace is the user's text
 * (`xmlns="<devices>…"` would have become elements).
 */
export function buildDom(xml: string, what = 'XML', error: new (message: string) => Error = XmlError): XMLBuilder {
  const parsed = readDocument(xml, what, { error });
  const builder = create();
  const doc = builder.node as unknown as Document;
  try {
    for (const c of parsed.content) append(doc, doc, c);
  } catch (e) {
    // A name the DOM refuses (e.g. "a:b:c", a prefix without a namespace): the reader took it.
    throw new error(`${what} is not well-formed: ${(e as Error).message.split('\n')[0]}`);
  }
  return builder;
}

/** Parses XML into a DOM document (see buildDom). */
export function parseDom(xml: string, what = 'XML', error: new (message: string) => Error = XmlError): Document {
  return buildDom(xml, what, error).node as unknown as Document;
}

const XMLNS = 'http://www.w3.org/2000/xmlns/';

/** A qualified name's prefix (null without one) and local name; throws for "a:b:c", "a:" or ":b". */
function qname(name: string): [string | null, string] {
  const parts = name.split(':');
  if (parts.length > 2 || parts.includes('')) throw new Error(`${name} is not a qualified name (one ":" at most, between a prefix and a name)`);
  return parts.length === 2 ? [parts[0] as string, parts[1] as string] : [null, name];
}

/** Appends C to PARENT, a node of DOC. */
function append(doc: Document, parent: Node, c: XContent): void {
  if (!('tag' in c)) {
    if (c.kind === 'pi') parent.appendChild(doc.createProcessingInstruction(c.target, c.data));
    else if (c.kind === 'text') parent.appendChild(doc.createTextNode(c.data));
    else if (c.kind === 'cdata') parent.appendChild(doc.createCDATASection(c.data));
    else parent.appendChild(doc.createComment(c.data));
    return;
  }
  // The element's namespace: one it declares itself for its prefix, or its prefix's in scope.
  const [prefix] = qname(c.tag);
  let ns = parent.lookupNamespaceURI(prefix);
  const declared: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.attrs)) {
    if (name === 'xmlns') ns = value;
    else if (name.startsWith('xmlns:')) {
      const local = name.slice(6);
      if (local === prefix) ns = value;
      declared[local] = value;
    }
  }
  const el = ns !== null ? doc.createElementNS(ns, c.tag) : doc.createElement(c.tag);
  parent.appendChild(el);
  for (const [name, value] of Object.entries(c.attrs)) {
    const [attPrefix, local] = qname(name);
    let attNs: string | null;
    if (attPrefix === 'xmlns' || (attPrefix === null && local === 'xmlns')) attNs = XMLNS;
    else {
      attNs = el.lookupNamespaceURI(attPrefix);
      if (attNs !== null && el.isDefaultNamespace(attNs)) attNs = null;
      else if (attNs === null && attPrefix !== null) attNs = declared[attPrefix] ?? null;
    }
    if (attNs !== null) el.setAttributeNS(attNs, name, value);
    else el.setAttribute(name, value);
  }
  for (const k of c.content) append(doc, el, k);
}

/** The direct element children of EL, optionally only those named TAG. */
export function elements(el: Node, tag?: string): Element[] {
  const out: Element[] = [];
  for (const n of Array.from(el.childNodes)) {
    if (n.nodeType === 1 && (tag === undefined || (n as Element).tagName === tag)) out.push(n as Element);
  }
  return out;
}

/** Every element under EL (depth first, EL excluded). */
export function descendants(el: Node): Element[] {
  const out: Element[] = [];
  const walk = (n: Node): void => {
    for (const c of elements(n)) {
      out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}
