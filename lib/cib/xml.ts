// XML text for the CIB: escaping, a faithful DOM serializer, and DOM parsing.
//
// Why a serializer of our own: xmlbuilder2 writes a newline, tab or carriage return inside an
// attribute value as the raw character, which every parser turns back into a space (attribute
// value normalisation). A CIB attribute can hold a whole document (TransientDomain's `config`),
// so we write those characters as character references and nothing is lost on the way to
// crm_diff and cibadmin.
import { create } from 'xmlbuilder2';

export class XmlError extends Error {
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

function write(node: Node, out: string[], opts: SerializeOptions, depth: number): void {
  switch (node.nodeType) {
    case 9: // document
    case 11: // fragment
      for (const c of Array.from(node.childNodes)) write(c, out, opts, depth);
      return;
    case 1: {
      const el = node as Element;
      out.push('<', el.tagName);
      for (const a of Array.from(el.attributes)) out.push(' ', a.name, '="', escapeAttr(a.value), '"');
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
      if (!(opts.dropBlankText && isBlankText(node))) out.push(escapeText(node.nodeValue ?? ''));
      return;
    case 4:
      out.push('<![CDATA[', node.nodeValue ?? '', ']]>');
      return;
    case 7: {
      const pi = node as ProcessingInstruction;
      out.push('<?', pi.target, pi.data ? ` ${pi.data}` : '', '?>');
      return;
    }
    case 8:
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
    const doc = create(xml).node as unknown as Document;
    if (!doc.documentElement) throw new Error('no root element');
    return doc;
  } catch (e) {
    throw new XmlError(`${what} is not well-formed: ${(e as Error).message.split('\n')[0]}`);
  }
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
