// The domain XML as an editable document: corral's one reader (lib/xml/read.ts) reads it once,
// and lib/xml/dom.ts builds xmlbuilder2's DOM from what it read, so everything corral does not
// touch (comments, unknown elements, metadata) survives unchanged. Accessors walk direct children
// only: <name> inside <metadata> is not the domain's name.
//
// What libvirt would read differently is refused by the reader: a DOCTYPE (and so entity
// declarations), references to undefined entities or to characters XML does not allow, an
// encoding declaration other than UTF-8. xmlbuilder2 writes the document back (toXml); what its
// writer gets wrong, toXml works around.
import { CorralError } from '../errors.js';
import { buildDom } from '../xml/dom.js';
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

export class DomainDoc {
  private constructor(
    private readonly builder: XMLBuilder,
    readonly root: El,
  ) {}

  /**
   * Parses XML; throws DomainXmlError unless it is a well-formed <domain> document with exactly
   * one <name>, and nothing libvirt would read differently (see the top of the file).
   */
  static parse(xml: string): DomainDoc {
    const builder = buildDom(xml, 'domain XML', DomainXmlError);
    const root = (builder.node as unknown as Document).documentElement;
    if (root.tagName !== 'domain') throw new DomainXmlError(`expected a <domain> document, found <${root.tagName}>`);
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
