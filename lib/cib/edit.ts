// The CIB as an editable DOM, for computing a change: the commands edit a copy of the queried
// CIB, and lib/cib/change.ts turns the difference into one patch. Nothing here talks to the
// cluster.
import type { Fragment } from './render.js';
import { descendants, elements, parseDom, serialize } from '../xml/dom.js';
import { CibError, REFERENCE_TAGS } from './model.js';

export type Section = 'crm_config' | 'nodes' | 'resources' | 'constraints' | 'tags';

export class CibDoc {
  private constructor(readonly doc: Document) {}

  static parse(xml: string): CibDoc {
    const doc = parseDom(xml, 'the CIB', CibError);
    if (doc.documentElement.tagName !== 'cib') {
      throw new CibError(`expected a <cib> document, found <${doc.documentElement.tagName}>`);
    }
    const d = new CibDoc(doc);
    if (!elements(doc.documentElement, 'configuration')[0]) throw new CibError('the CIB has no <configuration>');
    return d;
  }

  get configuration(): Element {
    return elements(this.doc.documentElement, 'configuration')[0] as Element;
  }

  /** The configuration section NAME, created (empty) when missing. */
  section(name: Section): Element {
    const found = elements(this.configuration, name)[0];
    if (found) return found;
    const made = this.doc.createElement(name);
    this.configuration.appendChild(made);
    return made;
  }

  /** The element of the configuration whose id is ID. */
  byId(id: string): Element | undefined {
    return descendants(this.configuration).find((e) => e.getAttribute('id') === id && !REFERENCE_TAGS.has(e.tagName));
  }

  /** Elements of the configuration named TAG (or any of a set of names), anywhere, optionally filtered. */
  all(tag: string | ReadonlySet<string>, where: (e: Element) => boolean = () => true): Element[] {
    const named = typeof tag === 'string' ? (e: Element) => e.tagName === tag : (e: Element) => tag.has(e.tagName);
    return descendants(this.configuration).filter((e) => named(e) && where(e));
  }

  /** Parses FRAGMENT into elements of this document (not yet inserted). */
  materialize(fragment: Fragment): Element[] {
    const holder = parseDom(`<holder>${fragment.xml}</holder>`, 'a rendered template', CibError).documentElement;
    return elements(holder).map((e) => this.doc.importNode(e, true) as Element);
  }

  /** Appends the elements of FRAGMENT to PARENT; returns them. */
  append(parent: Element, fragment: Fragment): Element[] {
    const els = this.materialize(fragment);
    for (const e of els) parent.appendChild(e);
    return els;
  }

  /** Puts the single element of FRAGMENT where OLD is; returns it. */
  replace(old: Element, fragment: Fragment): Element {
    const [el, ...rest] = this.materialize(fragment);
    if (!el || rest.length) throw new CibError('a replacement must be exactly one element');
    old.parentNode?.replaceChild(el, old);
    return el;
  }

  remove(el: Element): void {
    el.parentNode?.removeChild(el);
  }

  /** Ids that occur more than once in the configuration. */
  duplicateIds(): string[] {
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const e of descendants(this.configuration)) {
      const id = e.getAttribute('id');
      if (id === null || REFERENCE_TAGS.has(e.tagName)) continue;
      if (seen.has(id)) dup.add(id);
      seen.add(id);
    }
    return [...dup];
  }

  toXml(): string {
    return serialize(this.doc);
  }
}
