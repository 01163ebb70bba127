// The domain XML as an editable document. Parsing and serialising go through xmlbuilder2's DOM,
// so everything corral does not touch (comments, unknown elements, metadata) survives unchanged.
// Accessors walk direct children only: <name> inside <metadata> is not the domain's name.
//
// What xmlbuilder2 gets wrong, and how this file copes (checkMarkup, toXml):
// - it drops a DOCTYPE's internal subset and keeps undefined entity references (&foo;) as if
//   they were text, where libvirt would expand or refuse them: corral refuses both, so what corral
//   reads is what libvirt reads;
// - it decodes &amp; before character references, so "&amp;#65;" became "A": "&amp;" is handed
//   to it as "&#38;", which it decodes in the right order;
// - it writes "&" unescaped when what follows looks like a reference, so the text "&lt;" came out
//   as "<": toXml escapes such an "&" itself.
import { CorralError } from '../errors.js';
import { readXml } from '../cib/read.js';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';

export class DomainXmlError extends CorralError {
  readonly kind = 'failed';
  override name = 'DomainXmlError';
}

export type El = Element;

export function children(el: El, tag?: string): El[] {
  const out: El[] = [];
  for (const n of Array.from(el.childNodes)) {
    if (n.nodeType === 1 && (tag === undefined || (n as El).tagName === tag)) out.push(n as El);
  }
  return out;
}

export function child(el: El, tag: string): El | undefined {
  return children(el, tag)[0];
}

/** Finds or creates the direct child TAG of EL. */
export function ensureChild(el: El, tag: string): El {
  const found = child(el, tag);
  if (found) return found;
  const made = el.ownerDocument.createElement(tag);
  el.appendChild(made);
  return made;
}

export function text(el: El | undefined): string | undefined {
  const t = el?.textContent?.trim();
  return t ? t : undefined;
}

/** An "&" that xmlbuilder2's writer would leave unescaped (its own test, in reverse). */
const LOOKS_LIKE_REF = /&(?=[A-Za-z]+;|#\d+;)/g;

const PREDEFINED = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

/** True for a code point XML 1.0 allows in a document (its Char production). */
function xmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

function lineAt(xml: string, i: number): number {
  let n = 1;
  for (let k = xml.indexOf('\n'); k >= 0 && k < i; k = xml.indexOf('\n', k + 1)) n++;
  return n;
}

/**
 * Refuses what a domain XML must not hold and xmlbuilder2 would pass over silently: a DOCTYPE
 * (and so entity declarations), references to undefined entities, character references to
 * characters XML does not allow, and an encoding declaration other than UTF-8. Returns the text
 * to hand to xmlbuilder2: the same document, with "&amp;" written "&#38;" (see the top of the file).
 * Comments, CDATA sections and processing instructions are skipped: nothing in them is markup.
 */
function checkMarkup(xml: string): string {
  const out: string[] = [];
  let from = 0;
  let i = 0;
  const skipTo = (end: string, at: number): number => {
    const k = xml.indexOf(end, at);
    return k < 0 ? xml.length : k + end.length;
  };
  while (i < xml.length) {
    const c = xml.charCodeAt(i);
    if (c === 0x3c /* < */) {
      if (xml.startsWith('<!--', i)) i = skipTo('-->', i + 4);
      else if (xml.startsWith('<![CDATA[', i)) i = skipTo(']]>', i + 9);
      else if (xml.startsWith('<?', i)) {
        const end = skipTo('?>', i + 2);
        const pi = xml.slice(i, end);
        const enc = /^<\?xml\s[^]*?\bencoding\s*=\s*(["'])([^"']*)\1/.exec(pi)?.[2];
        if (enc !== undefined && !/^utf-?8$/i.test(enc)) {
          throw new DomainXmlError(`domain XML declares encoding "${enc}"; only UTF-8 is accepted (line ${lineAt(xml, i)})`);
        }
        i = end;
      } else if (xml.startsWith('<!', i)) {
        const what = /^<!DOCTYPE/i.test(xml.slice(i, i + 9)) ? 'a DOCTYPE declaration' : /^<!ENTITY/i.test(xml.slice(i, i + 8)) ? 'an entity declaration' : 'a markup declaration';
        throw new DomainXmlError(`domain XML contains ${what} (line ${lineAt(xml, i)}); corral accepts no DTD or entity declarations, remove it`);
      } else i++;
    } else if (c === 0x26 /* & */) {
      const m = /^&(?:#([0-9]+)|#x([0-9a-fA-F]+)|([A-Za-z_:][A-Za-z0-9._:-]*));/.exec(xml.slice(i, i + 64));
      if (!m) throw new DomainXmlError(`domain XML is not well-formed: a "&" that starts no reference, write it as &amp; (line ${lineAt(xml, i)})`);
      if (m[3] !== undefined) {
        if (!PREDEFINED.has(m[3])) {
          throw new DomainXmlError(`domain XML uses the undefined entity &${m[3]}; (line ${lineAt(xml, i)}); only &amp; &lt; &gt; &quot; &apos; exist without a DOCTYPE`);
        }
        if (m[3] === 'amp') {
          out.push(xml.slice(from, i), '&#38;');
          from = i + m[0].length;
        }
      } else {
        const cp = m[1] !== undefined ? Number.parseInt(m[1], 10) : Number.parseInt(m[2]!, 16);
        if (!xmlChar(cp)) throw new DomainXmlError(`domain XML refers to a character XML does not allow: ${m[0]} (line ${lineAt(xml, i)})`);
      }
      i += m[0].length;
    } else i++;
  }
  out.push(xml.slice(from));
  return out.join('');
}

export class DomainDoc {
  private constructor(
    private readonly builder: XMLBuilder,
    readonly root: El,
  ) {}

  /**
   * Parses XML; throws DomainXmlError unless it is a well-formed <domain> document with exactly
   * one <name>, and nothing libvirt would read differently (see checkMarkup).
   */
  static parse(xml: string): DomainDoc {
    const prepared = checkMarkup(xml);
    // xmlbuilder2's parser forgives unclosed elements; a domain definition must be well-formed:
    // corral's own reader (lib/cib/read.ts) says whether it is.
    try {
      readXml(xml, 'domain XML');
    } catch (e) {
      throw new DomainXmlError((e as Error).message);
    }
    let builder: XMLBuilder;
    let root: El;
    try {
      builder = create(prepared);
      root = (builder.node as unknown as Document).documentElement;
    } catch (e) {
      throw new DomainXmlError(`domain XML is not well-formed: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!root || root.tagName !== 'domain') {
      throw new DomainXmlError(`expected a <domain> document, found <${root?.tagName ?? 'nothing'}>`);
    }
    const doc = new DomainDoc(builder, root);
    const names = children(root, 'name').length;
    if (names > 1) throw new DomainXmlError(`domain XML has ${names} <name> elements; a domain has exactly one`);
    if (!doc.name) throw new DomainXmlError('domain XML has no <name>');
    return doc;
  }

  get name(): string {
    return text(child(this.root, 'name')) ?? '';
  }

  get uuid(): string | undefined {
    return text(child(this.root, 'uuid'));
  }

  get type(): string | undefined {
    return this.root.getAttribute('type') ?? undefined;
  }

  /** What libvirt needs to look up the emulator's capabilities for this domain. */
  get platform(): { virttype?: string; emulator?: string; arch?: string; machine?: string } {
    const type = child(child(this.root, 'os') ?? this.root, 'type');
    const o: { virttype?: string; emulator?: string; arch?: string; machine?: string } = {};
    if (this.type) o.virttype = this.type;
    const emulator = text(child(child(this.root, 'devices') ?? this.root, 'emulator'));
    if (emulator) o.emulator = emulator;
    const arch = type?.getAttribute('arch');
    if (arch) o.arch = arch;
    const machine = type?.getAttribute('machine');
    if (machine) o.machine = machine;
    return o;
  }

  get devices(): El {
    return ensureChild(this.root, 'devices');
  }

  devicesOf(tag: string): El[] {
    const devices = child(this.root, 'devices');
    return devices ? children(devices, tag) : [];
  }

  /** The virtio channel whose target is named NAME (e.g. startup_signal), if declared. */
  virtioChannel(name: string): El | undefined {
    return this.devicesOf('channel').find((c) => {
      const t = child(c, 'target');
      return t?.getAttribute('type') === 'virtio' && t.getAttribute('name') === name;
    });
  }

  /** The document as XML text that parses back to the same document (also in libvirt). */
  toXml(): string {
    // xmlbuilder2 writes "&" as it is when letters or "#digits" and ";" follow, and newlines,
    // tabs and carriage returns raw where a parser would turn them into spaces. Write those as
    // references ourselves, which it then leaves alone, and put the values back afterwards.
    const restore: Array<() => void> = [];
    const visit = (n: Node): void => {
      if (n.nodeType === 3) {
        const v = n.nodeValue ?? '';
        const escaped = v.replace(LOOKS_LIKE_REF, '&amp;').replace(/\r/g, '&#13;');
        if (escaped !== v) {
          n.nodeValue = escaped;
          restore.push(() => (n.nodeValue = v));
        }
      } else if (n.nodeType === 1) {
        for (const a of Array.from((n as El).attributes)) {
          const v = a.value;
          const escaped = v.replace(LOOKS_LIKE_REF, '&amp;').replace(/[\n\r\t]/g, (ch) => `&#${ch.charCodeAt(0)};`);
          if (escaped !== v) {
            a.value = escaped;
            restore.push(() => (a.value = v));
          }
        }
        for (const c of Array.from(n.childNodes)) visit(c);
      }
    };
    visit(this.root);
    try {
      return this.builder.end({ headless: true, prettyPrint: false });
    } finally {
      for (const r of restore) r();
    }
  }
}
