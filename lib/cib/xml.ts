// XML text for the CIB: escaping, a faithful DOM serializer, and DOM parsing.
//
// Why a serializer of our own: xmlbuilder2 writes a newline, tab or carriage return inside an
// attribute value as the raw character, which every parser turns back into a space (attribute
// value normalisation). A CIB attribute can hold a whole document (TransientDomain's `config`),
// so we write those characters as character references and nothing is lost on the way to
// crm_diff and cibadmin.
import { CorralError } from '../errors.js';
import { create } from 'xmlbuilder2';

class XmlError extends CorralError {
  readonly kind = 'failed';
  override name = 'XmlError';
}

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

/** Parses XML into a DOM document; throws XmlError with the parser's first line on failure. */
export function parseDom(xml: string, what = 'XML'): Document {
  try {
    const doc = create(singleDecode(xml)).node as unknown as Document;
    if (!doc.documentElement) throw new Error('no root element');
    return doc;
  } catch (e) {
    throw new XmlError(`${what} is not well-formed: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * XML for xmlbuilder2's parser that reads back as XML means. That parser decodes text and
 * attribute values in two passes (named entities, then character references), so `&amp;#xE9;`
 * — the text "&#xE9;", as every domain XML stored in a CIB attribute holds it — came out as "é",
 * and `&amp;#10;` as a newline. Written as `&#38;`, the ampersand is decoded in the second pass
 * only, and nothing after it is decoded again. Comments, CDATA and processing instructions, which
 * are not decoded at all, are left as they are.
 */
function singleDecode(xml: string): string {
  if (!xml.includes('&amp;')) return xml;
  return xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|&amp;/g, (m) => (m === '&amp;' ? '&#38;' : m));
}

/** Removes whitespace-only text nodes under EL (Pacemaker ignores them; our output stays tidy). */
export function stripBlankText(el: Node): void {
  for (const c of Array.from(el.childNodes)) {
    if (isBlankText(c)) el.removeChild(c);
    else if (c.nodeType === 1) stripBlankText(c);
  }
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
