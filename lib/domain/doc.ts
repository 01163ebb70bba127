// The domain XML as an editable document. Parsing and serialising go through xmlbuilder2's DOM,
// so everything corral does not touch (comments, unknown elements, metadata) survives unchanged.
// Accessors walk direct children only: <name> inside <metadata> is not the domain's name.
import { XMLValidator } from 'fast-xml-parser';
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { singleDecode } from '../cib/xml.js';

export class DomainXmlError extends Error {
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

export class DomainDoc {
  private constructor(
    private readonly builder: XMLBuilder,
    readonly root: El,
  ) {}

  /** Parses XML; throws DomainXmlError unless it is a well-formed <domain> document with a name. */
  static parse(xml: string): DomainDoc {
    // xmlbuilder2's parser forgives unclosed elements; a domain definition must be well-formed.
    const valid = XMLValidator.validate(xml);
    if (valid !== true) {
      throw new DomainXmlError(`domain XML is not well-formed: ${valid.err.msg} (line ${valid.err.line})`);
    }
    let builder: XMLBuilder;
    let root: El;
    try {
      builder = create(singleDecode(xml));
      root = (builder.node as unknown as Document).documentElement;
    } catch (e) {
      throw new DomainXmlError(`domain XML is not well-formed: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!root || root.tagName !== 'domain') {
      throw new DomainXmlError(`expected a <domain> document, found <${root?.tagName ?? 'nothing'}>`);
    }
    const doc = new DomainDoc(builder, root);
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

  toXml(): string {
    return this.builder.end({ headless: true, prettyPrint: false });
  }
}
