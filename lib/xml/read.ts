// corral's one XML reader: everything it reads (the CIB, crm_mon's and crm_simulate's XML, a
// patch read back, a domain XML) becomes this XNode tree. A document to edit (the CIB, a domain
// XML) is built from it by lib/xml/dom.ts (buildDom: xmlbuilder2's DOM, node by node), and
// written by lib/xml/dom.ts's serializer; no other parser reads XML in the product. It knows no
// vocabulary: lib/cib and lib/domain read through it and give their own errors (ReadOptions.error).
//
// Why not fast-xml-parser (which corral used before): `corral list` reads the whole CIB, status section
// included, and a cluster with 1000 VMs has a CIB of about 8 MB (every VM is probed on every
// node). fast-xml-parser needs about 0.6 s for that in a fresh process; this reader about a
// fifth. It reads what libxml2 writes: elements, attributes (quoted, entities and character
// references decoded once), text, CDATA, comments and processing instructions. Whitespace-only
// text is dropped (as xmlbuilder2's parser did for the editable documents). readXml keeps
// elements and their text; readDocument also keeps comments, CDATA sections and processing
// instructions in document order, for a DOM. Anything else (a DOCTYPE, an entity libxml2 would
// not know, a reference to a character XML forbids, an encoding other than UTF-8, a stray "<",
// mismatched or unclosed elements) is an error naming the line, never a guess.
import { CorralError } from '../errors.js';

/** An element: tag name, attributes (entities decoded), element children in document order. */
export interface XNode {
  tag: string;
  attrs: Readonly<Record<string, string>>;
  children: XNode[];
  /** The element's own text (its text and CDATA children joined). */
  text: string;
}

/** What readDocument keeps besides elements: text, CDATA sections, comments, processing instructions. */
type XMisc = { kind: 'text' | 'cdata' | 'comment'; data: string } | { kind: 'pi'; target: string; data: string };

/** An element as readDocument reads it: with everything it holds, in document order. */
interface XElement extends XNode {
  children: XElement[];
  content: XContent[];
}

export type XContent = XElement | XMisc;

/** A whole document: its root, and the comments and processing instructions around it. */
export interface XDocument {
  root: XElement;
  /** Everything at the top level in document order (the root among them); no XML declaration. */
  content: XContent[];
}

/** XML that cannot be read or written (the reader's error unless the caller names its own). */
export class XmlError extends CorralError {
  readonly kind = 'failed';
  override name = 'XmlError';
}

type ErrorClass = new (message: string) => Error;

export interface ReadOptions {
  /**
   * Element name → the only attributes to keep for it (the others are skipped: the status section
   * of a large CIB is mostly operation records whose digests and timings nobody here reads).
   */
  keep?: Readonly<Record<string, readonly string[]>>;
  /** The error to throw for what cannot be read (XmlError by default). */
  error?: ErrorClass;
}

const NAME = '[A-Za-z_][\\w.:-]*';
const OPEN = new RegExp(`<(${NAME})((?:\\s+[^\\s=/>]+\\s*=\\s*(?:"[^"]*"|'[^']*'))*)\\s*(/?)>`, 'y');
const CLOSE = new RegExp(`</(${NAME})\\s*>`, 'y');
const CHAR_REF = /&#(?:(\d+)|x([0-9a-fA-F]+));/g;
const REFERENCE = /&(?:#([0-9]+)|#x([0-9a-fA-F]+)|([A-Za-z_:][A-Za-z0-9._:-]*));/y;
const PREDEFINED = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

/** True for a code point XML 1.0 allows in a document (its Char production). */
function xmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** S with the five XML entities and character references decoded; undefined when S holds any other "&". */
function decode(s: string): string | undefined {
  if (!s.includes('&')) return s;
  // Fixed-string replacements are native and much faster than a replace callback per entity
  // (a CIB holds hundreds of thousands of them in the VMs' domain XML); &amp; goes last, so
  // "&amp;#xE9;" stays the text "&#xE9;".
  let out = s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'");
  if (out.includes('&#')) {
    out = out.replace(CHAR_REF, (m, dec: string | undefined, hex: string | undefined) => {
      const code = dec !== undefined ? Number(dec) : parseInt(hex ?? '', 16);
      return xmlChar(code) ? String.fromCodePoint(code) : m;
    });
  }
  // What is left of "&" must all be &amp;.
  for (let i = out.indexOf('&'); i !== -1; i = out.indexOf('&', i + 1)) {
    if (!out.startsWith('&amp;', i)) return undefined;
  }
  return out.replaceAll('&amp;', '&');
}

/** What a parse needs to say where it failed. */
interface Source {
  xml: string;
  what: string;
  Err: ErrorClass;
}

function lineOf(xml: string, at: number): number {
  let n = 1;
  for (let i = xml.indexOf('\n'); i !== -1 && i < at; i = xml.indexOf('\n', i + 1)) n++;
  return n;
}

function notWellFormed(src: Source, at: number, why: string): never {
  throw new src.Err(`${src.what} is not well-formed (line ${lineOf(src.xml, at)}): ${why}`);
}

/** Throws for the first "&" in xml[FROM, TO) that decode() refused, saying what it is. */
function refuseReference(src: Source, from: number, to: number): never {
  const { xml, what } = src;
  for (let i = xml.indexOf('&', from); i !== -1 && i < to; i = xml.indexOf('&', i + 1)) {
    REFERENCE.lastIndex = i;
    const m = REFERENCE.exec(xml);
    const line = `(line ${lineOf(xml, i)})`;
    if (!m || i + m[0].length > to) throw new src.Err(`${what} is not well-formed ${line}: a "&" that starts no reference, write it as &amp;`);
    if (m[3] !== undefined) {
      if (!PREDEFINED.has(m[3])) throw new src.Err(`${what} uses the undefined entity &${m[3]}; ${line}; only &amp; &lt; &gt; &quot; &apos; exist without a DOCTYPE`);
    } else {
      const cp = m[1] !== undefined ? Number(m[1]) : parseInt(m[2] ?? '', 16);
      if (!xmlChar(cp)) throw new src.Err(`${what} refers to a character XML does not allow: ${m[0]} ${line}`);
    }
  }
  return notWellFormed(src, from, 'a reference it cannot read');
}

/** Decodes the five XML entities and numeric character references; throws XmlError for any other "&". */
export function decodeEntities(s: string): string {
  return decode(s) ?? refuseReference({ xml: s, what: 'XML', Err: XmlError }, 0, s.length);
}

/**
 * The attributes of the start tag at LT, written in xml[FROM, TO) (between its name and ">"),
 * decoded; with ONLY, just those.
 */
function parseAttrs(src: Source, from: number, to: number, lt: number, tag: string, only: readonly string[] | undefined): Record<string, string> {
  const raw = src.xml;
  const attrs: Record<string, string> = {};
  let i = from;
  for (;;) {
    while (i < to && raw.charCodeAt(i) <= 32) i++;
    if (i >= to) return attrs;
    const eq = raw.indexOf('=', i);
    if (eq === -1 || eq >= to) return notWellFormed(src, lt, `an attribute without a value in <${tag}>`);
    const name = raw.slice(i, eq).trimEnd();
    let q = eq + 1;
    while (q < to && raw.charCodeAt(q) <= 32) q++;
    const quote = raw[q];
    if (quote !== '"' && quote !== "'") return notWellFormed(src, lt, `attribute ${name} is not quoted in <${tag}>`);
    const end = raw.indexOf(quote, q + 1);
    if (end === -1 || end >= to) return notWellFormed(src, lt, `attribute ${name} is not closed in <${tag}>`);
    if (Object.hasOwn(attrs, name)) return notWellFormed(src, lt, `attribute ${name} twice in <${tag}>`);
    if (!only || only.includes(name)) attrs[name] = decode(raw.slice(q + 1, end)) ?? refuseReference(src, q + 1, end);
    i = end + 1;
  }
}

/** Children of empty elements: one shared, frozen array (most CIB elements are empty). */
const NO_CHILDREN = Object.freeze([]) as unknown as XElement[];

function blank(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** The declaration or instruction between "<?" at LT and "?>" at CLOSE, checked; a PI for the DOM, or undefined. */
function instruction(src: Source, lt: number, close: number): XMisc | undefined {
  const body = src.xml.slice(lt + 2, close);
  if (/^xml\s/.test(body)) {
    // The XML declaration: corral reads text, already decoded from UTF-8.
    const enc = /\bencoding\s*=\s*(["'])([^"']*)\1/.exec(body)?.[2];
    if (enc !== undefined && !/^utf-?8$/i.test(enc)) {
      throw new src.Err(`${src.what} declares encoding "${enc}"; only UTF-8 is accepted (line ${lineOf(src.xml, lt)})`);
    }
    return undefined;
  }
  const m = /^(\S*)\s*([^]*)$/.exec(body) as RegExpExecArray;
  return { kind: 'pi', target: m[1] ?? '', data: m[2] ?? '' };
}

/** Parses XML; with FULL, every element also gets its content (XElement). Returns the document node. */
function read(xml: string, what: string, opts: ReadOptions, full: boolean): XElement {
  const keep = opts.keep ?? {};
  const src: Source = { xml, what, Err: opts.error ?? XmlError };
  // The document node has the shape of the elements it holds (V8 keeps the loop monomorphic).
  const top = (full ? { tag: '#document', attrs: {}, children: [], text: '', content: [] } : { tag: '#document', attrs: {}, children: [], text: '' }) as XElement;
  const stack: XNode[] = [top];
  let pos = 0;
  for (;;) {
    const lt = xml.indexOf('<', pos);
    const end = lt === -1 ? xml.length : lt;
    if (end > pos && !blank(xml, pos, end)) {
      // Text; whitespace between elements (the indentation of cibadmin's output) is dropped.
      const parent = stack[stack.length - 1] as XNode;
      if (parent === top) notWellFormed(src, pos, 'text outside the root element');
      const text = decode(xml.slice(pos, end)) ?? refuseReference(src, pos, end);
      parent.text += text;
      if (full) (parent as XElement).content.push({ kind: 'text', data: text });
    }
    if (lt === -1) break;
    const next = xml.charCodeAt(lt + 1);
    if (next === 47 /* / */) {
      CLOSE.lastIndex = lt;
      const m = CLOSE.exec(xml);
      if (!m) return notWellFormed(src, lt, 'a broken closing tag');
      const open = stack.pop();
      if (!open || open === top || open.tag !== m[1]) return notWellFormed(src, lt, `</${m[1]}> does not close <${open?.tag ?? 'nothing'}>`);
      pos = CLOSE.lastIndex;
      continue;
    }
    if (next === 33 /* ! */) {
      if (xml.startsWith('<!--', lt)) {
        const close = xml.indexOf('-->', lt + 4);
        if (close === -1) return notWellFormed(src, lt, 'an unclosed comment');
        if (full) (stack[stack.length - 1] as XElement).content.push({ kind: 'comment', data: xml.slice(lt + 4, close) });
        pos = close + 3;
        continue;
      }
      if (xml.startsWith('<![CDATA[', lt)) {
        const close = xml.indexOf(']]>', lt + 9);
        if (close === -1) return notWellFormed(src, lt, 'an unclosed CDATA section');
        const parent = stack[stack.length - 1] as XNode;
        if (parent === top) return notWellFormed(src, lt, 'CDATA outside the root element');
        const data = xml.slice(lt + 9, close);
        parent.text += data;
        if (full) (parent as XElement).content.push({ kind: 'cdata', data });
        pos = close + 3;
        continue;
      }
      const decl = /^<!DOCTYPE/i.test(xml.slice(lt, lt + 9)) ? 'a DOCTYPE declaration' : /^<!ENTITY/i.test(xml.slice(lt, lt + 8)) ? 'an entity declaration' : 'a markup declaration';
      throw new src.Err(`${what} contains ${decl} (line ${lineOf(xml, lt)}); corral accepts no DTD or entity declarations, remove it`);
    }
    if (next === 63 /* ? */) {
      const close = xml.indexOf('?>', lt + 2);
      if (close === -1) return notWellFormed(src, lt, 'an unclosed processing instruction');
      const pi = instruction(src, lt, close);
      if (full && pi) (stack[stack.length - 1] as XElement).content.push(pi);
      pos = close + 2;
      continue;
    }
    OPEN.lastIndex = lt;
    const m = OPEN.exec(xml);
    if (!m) return notWellFormed(src, lt, 'a "<" that starts no element');
    const rawAttrs = m[2];
    const tag = m[1] as string;
    const attrs = rawAttrs ? parseAttrs(src, lt + 1 + tag.length, lt + 1 + tag.length + rawAttrs.length, lt, tag, Object.hasOwn(keep, tag) ? keep[tag] : undefined) : {};
    const selfClosing = m[3] === '/';
    const parent = stack[stack.length - 1] as XNode;
    if (parent === top && top.children.length > 0) return notWellFormed(src, lt, 'a second root element');
    if (full) {
      const el: XElement = { tag, attrs, children: selfClosing ? NO_CHILDREN : [], text: '', content: selfClosing ? NO_CHILDREN : [] };
      (parent as XElement).children.push(el);
      (parent as XElement).content.push(el);
      if (!selfClosing) stack.push(el);
    } else {
      const node: XNode = { tag, attrs, children: selfClosing ? NO_CHILDREN : [], text: '' };
      parent.children.push(node);
      if (!selfClosing) stack.push(node);
    }
    pos = OPEN.lastIndex;
  }
  if (stack.length > 1) notWellFormed(src, xml.length, `<${(stack[stack.length - 1] as XNode).tag}> is never closed`);
  if (!top.children[0]) return notWellFormed(src, 0, 'no root element');
  return top;
}

/** Parses XML into XNodes; returns the root element. Throws XmlError (or OPTS.error) for what it cannot read. */
export function readXml(xml: string, what = 'XML', opts: ReadOptions = {}): XNode {
  return read(xml, what, opts, false).children[0] as XNode;
}

/** Parses XML for a DOM: elements with everything they hold, and what surrounds the root. */
export function readDocument(xml: string, what = 'XML', opts: Omit<ReadOptions, 'keep'> = {}): XDocument {
  const top = read(xml, what, opts, true);
  return { root: top.children[0] as XElement, content: top.content };
}
