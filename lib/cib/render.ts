// A tiny template renderer for cib-templates/: `{{name}}` placeholders, every value escaped for
// XML (attribute-safe, so a value may sit in an attribute or in text). The only way to insert
// markup is a Fragment, which only render() and fragments() make: no string reaches the output
// unescaped. Unknown, missing and unused placeholders are errors, so a typo cannot pass silently.
import { CorralError } from '../errors.js';
import { assertXmlChars, escapeAttr } from '../xml/dom.js';

/** Rendered, trusted XML (possibly several sibling elements, possibly empty). */
export class Fragment {
  /** @internal use render() or fragments() */
  constructor(readonly xml: string) {}
  toString(): string {
    return this.xml;
  }
}

export type TemplateValue = string | number | Fragment;

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

export class TemplateError extends CorralError {
  readonly kind = 'failed';
  override name = 'TemplateError';
}

/** The placeholder names TEMPLATE uses, in order of first appearance. */
export function placeholders(template: string): string[] {
  return [...new Set(Array.from(template.matchAll(PLACEHOLDER), (m) => m[1] ?? ''))];
}

/** Fills TEMPLATE's placeholders from VALUES (strings and numbers escaped, fragments as is). */
export function render(template: string, values: Readonly<Record<string, TemplateValue>>): Fragment {
  const used = new Set<string>();
  const xml = template.replace(PLACEHOLDER, (_all, name: string) => {
    if (!Object.prototype.hasOwnProperty.call(values, name)) throw new TemplateError(`no value for {{${name}}}`);
    used.add(name);
    const v = values[name] as TemplateValue;
    if (v instanceof Fragment) return v.xml;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new TemplateError(`{{${name}}} is not a finite number`);
      return String(v);
    }
    if (typeof v !== 'string') throw new TemplateError(`{{${name}}} must be a string, a number or a Fragment`);
    assertXmlChars(v, `{{${name}}}`);
    return escapeAttr(v);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length) throw new TemplateError(`values not used by the template: ${unused.join(', ')}`);
  return new Fragment(xml.trim());
}

/** Joins fragments into one (siblings). */
export function fragments(list: readonly Fragment[]): Fragment {
  return new Fragment(list.map((f) => f.xml).join(''));
}
