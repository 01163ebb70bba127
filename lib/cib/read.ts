// corral's one XML reader: everything it reads (the CIB, crm_mon's and crm_simulate's XML, a
// patch read back, a domain XML checked for well-formedness) becomes this XNode tree. Editing is
// lib/cib/edit.ts's DOM, writing lib/cib/xml.ts's serializer.
//
// Why not fast-xml-parser (which corral used before): `corral list` reads the whole CIB, status section
// included, and a cluster with 1000 VMs has a CIB of about 8 MB (every VM is probed on every
// node). fast-xml-parser needs about 0.6 s for that in a fresh process; this reader about a
// fifth. Whitespace-only text between elements is dropped. It reads what libxml2 writes: elements, attributes (quoted, entities and character
// references decoded), text, CDATA, comments and processing instructions (skipped). Anything
// else (a DOCTYPE, a stray "<", mismatched or unclosed elements) is an error, never a guess.
import { CorralError } from '../errors.js';

/** An element: tag name, attributes (entities decoded), element children in document order. */
export interface XNode {
  tag: string;
  attrs: Readonly<Record<string, string>>;
  children: XNode[];
  /** The element's own text (its text children joined). */
  text: string;
}

export class CibError extends CorralError {
  readonly kind = 'failed';
  override name = 'CibError';
}

const NAME = '[A-Za-z_][\\w.:-]*';
const OPEN = new RegExp(`<(${NAME})((?:\\s+[^\\s=/>]+\\s*=\\s*(?:"[^"]*"|'[^']*'))*)\\s*(/?)>`, 'y');
const CLOSE = new RegExp(`</(${NAME})\\s*>`, 'y');

/** Decodes the five XML entities and numeric character references; rejects any other "&". */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  // Fixed-string replacements are native and much faster than a replace callback per entity
  // (a CIB holds hundreds of thousands of them in the VMs' domain XML); &amp; goes last.
  let out = s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'");
  if (out.includes('&#')) {
    out = out.replace(/&#(?:(\d{1,7})|x([0-9a-fA-F]{1,6}));/g, (m, dec: string | undefined, hex: string | undefined) => {
      const code = dec !== undefined ? Number(dec) : parseInt(hex ?? '', 16);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    });
  }
  // What is left of "&" must all be &amp;.
  for (let i = out.indexOf('&'); i !== -1; i = out.indexOf('&', i + 1)) {
    if (!out.startsWith('&amp;', i)) throw new CibError(`XML has a bare "&" or an unknown entity near "${out.slice(i, i + 20)}"`);
  }
  return out.replaceAll('&amp;', '&');
}

/** The attributes of a start tag (the text between its name and ">"), decoded; with ONLY, just those. */
function parseAttrs(raw: string, fail: (why: string) => never, only: readonly string[] | undefined): Record<string, string> {
  const attrs: Record<string, string> = {};
  let i = 0;
  const n = raw.length;
  for (;;) {
    while (i < n && (raw.charCodeAt(i) <= 32)) i++;
    if (i >= n) return attrs;
    const eq = raw.indexOf('=', i);
    if (eq === -1) return fail('an attribute without a value');
    const name = raw.slice(i, eq).trimEnd();
    let q = eq + 1;
    while (q < n && raw.charCodeAt(q) <= 32) q++;
    const quote = raw[q];
    if (quote !== '"' && quote !== "'") return fail(`attribute ${name} is not quoted`);
    const end = raw.indexOf(quote, q + 1);
    if (end === -1) return fail(`attribute ${name} is not closed`);
    if (Object.hasOwn(attrs, name)) return fail(`attribute ${name} twice`);
    if (!only || only.includes(name)) attrs[name] = decodeEntities(raw.slice(q + 1, end));
    i = end + 1;
  }
}

/** Children of empty elements: one shared, frozen array (most CIB elements are empty). */
const NO_CHILDREN = Object.freeze([]) as unknown as XNode[];

function blank(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 9 && c !== 13) return false;
  }
  return true;
}

function lineOf(xml: string, at: number): number {
  let n = 1;
  for (let i = xml.indexOf('\n'); i !== -1 && i < at; i = xml.indexOf('\n', i + 1)) n++;
  return n;
}

export interface ReadOptions {
  /**
   * Element name → the only attributes to keep for it (the others are skipped: the status section
   * of a large CIB is mostly operation records whose digests and timings nobody here reads).
   */
  keep?: Readonly<Record<string, readonly string[]>>;
}

/** Parses XML into XNodes; returns the root element. Throws CibError for what it cannot read. */
export function readXml(xml: string, what = 'XML', opts: ReadOptions = {}): XNode {
  const keep = opts.keep ?? {};
  const fail = (at: number, why: string): never => {
    throw new CibError(`${what} is not well-formed (line ${lineOf(xml, at)}): ${why}`);
  };
  const top: XNode = { tag: '#document', attrs: {}, children: [], text: '' };
  const stack: XNode[] = [top];
  let pos = 0;
  for (;;) {
    const lt = xml.indexOf('<', pos);
    const end = lt === -1 ? xml.length : lt;
    if (end > pos && !blank(xml, pos, end)) {
      // Text; whitespace between elements (the indentation of cibadmin's output) is dropped.
      const parent = stack[stack.length - 1] as XNode;
      if (parent === top) fail(pos, 'text outside the root element');
      parent.text += decodeEntities(xml.slice(pos, end));
    }
    if (lt === -1) break;
    const next = xml.charCodeAt(lt + 1);
    if (next === 47 /* / */) {
      CLOSE.lastIndex = lt;
      const m = CLOSE.exec(xml);
      if (!m) return fail(lt, 'a broken closing tag');
      const open = stack.pop();
      if (!open || open === top || open.tag !== m[1]) return fail(lt, `</${m[1]}> does not close <${open?.tag ?? 'nothing'}>`);
      pos = CLOSE.lastIndex;
      continue;
    }
    if (next === 33 /* ! */) {
      if (xml.startsWith('<!--', lt)) {
        const close = xml.indexOf('-->', lt + 4);
        if (close === -1) return fail(lt, 'an unclosed comment');
        pos = close + 3;
        continue;
      }
      if (xml.startsWith('<![CDATA[', lt)) {
        const close = xml.indexOf(']]>', lt + 9);
        if (close === -1) return fail(lt, 'an unclosed CDATA section');
        const parent = stack[stack.length - 1] as XNode;
        if (parent === top) return fail(lt, 'CDATA outside the root element');
        parent.text += xml.slice(lt + 9, close);
        pos = close + 3;
        continue;
      }
      return fail(lt, 'a DOCTYPE or other declaration, which this reader does not accept');
    }
    if (next === 63 /* ? */) {
      const close = xml.indexOf('?>', lt + 2);
      if (close === -1) return fail(lt, 'an unclosed processing instruction');
      pos = close + 2;
      continue;
    }
    OPEN.lastIndex = lt;
    const m = OPEN.exec(xml);
    if (!m) return fail(lt, 'a "<" that starts no element');
    const rawAttrs = m[2];
    const tag = m[1] as string;
    const attrs = rawAttrs ? parseAttrs(rawAttrs, (why) => fail(lt, `${why} in <${tag}>`), Object.hasOwn(keep, tag) ? keep[tag] : undefined) : {};
    const selfClosing = m[3] === '/';
    const node: XNode = { tag, attrs, children: selfClosing ? NO_CHILDREN : [], text: '' };
    const parent = stack[stack.length - 1] as XNode;
    if (parent === top && top.children.length > 0) return fail(lt, 'a second root element');
    parent.children.push(node);
    if (!selfClosing) stack.push(node);
    pos = OPEN.lastIndex;
  }
  if (stack.length > 1) fail(xml.length, `<${(stack[stack.length - 1] as XNode).tag}> is never closed`);
  const root = top.children[0];
  if (!root) return fail(0, 'no root element');
  return root;
}
