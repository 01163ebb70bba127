// One table per agent describes its parameters; both the meta-data XML and the validation of
// OCF_RESKEY_* come from it, so they cannot disagree.
import { z } from 'zod';

type ParamType = 'string' | 'boolean' | 'integer';

interface ParamSpec {
  name: string;
  type: ParamType;
  shortdesc: string;
  longdesc: string;
  default?: string;
  required?: boolean;
  /** Pacemaker warns when two resources share the value; changing it means a restart. */
  unique?: boolean;
  /** Extra validation for the (defaulted, converted) value. */
  schema?: z.ZodType;
}

interface ActionSpec {
  name: string;
  timeout: string;
  interval?: string;
  depth?: string;
}

export interface AgentSpec {
  name: string;
  version: string;
  shortdesc: string;
  longdesc: string;
  params: readonly ParamSpec[];
  actions: readonly ActionSpec[];
  /** Parameter names of other agents we accept and ignore (logged at validate-all). */
  ignored?: readonly string[];
}

const TRUE = /^(1|yes|true|on|y)$/i;
const FALSE = /^(0|no|false|off|n)$/i;

function converter(spec: ParamSpec): z.ZodType {
  switch (spec.type) {
    case 'boolean':
      return z
        .string()
        .refine((v) => TRUE.test(v) || FALSE.test(v), { message: 'expected a boolean (true/false, yes/no, 1/0)' })
        .transform((v) => TRUE.test(v));
    case 'integer':
      return z
        .string()
        .regex(/^-?\d+$/, 'expected an integer')
        .transform((v) => Number.parseInt(v, 10));
    default:
      return z.string();
  }
}

/** Reads OCF_RESKEY_<name> for every parameter of SPEC, applies defaults, converts and validates. */
export function parseParams<T>(spec: AgentSpec, env: NodeJS.ProcessEnv): { ok: true; params: T } | { ok: false; errors: string[] } {
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const p of spec.params) {
    const raw = env[`OCF_RESKEY_${p.name}`];
    const value = raw === undefined || raw === '' ? p.default : raw;
    if (value === undefined || value === '') {
      if (p.required) errors.push(`parameter ${p.name} is required`);
      out[p.name] = undefined;
      continue;
    }
    let schema: z.ZodType = converter(p);
    if (p.schema) schema = schema.pipe(p.schema as z.ZodType<unknown, unknown>);
    const r = schema.safeParse(value);
    if (r.success) out[p.name] = r.data;
    else errors.push(`parameter ${p.name}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  }
  return errors.length ? { ok: false, errors } : { ok: true, params: out as T };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The OCF meta-data document (validates against resource-agents' metadata.rng). */
export function metadataXml(spec: AgentSpec): string {
  const lines = [
    '<?xml version="1.0"?>',
    '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">',
    `<resource-agent name="${esc(spec.name)}" version="${esc(spec.version)}">`,
    '<version>1.0</version>',
    `<longdesc lang="en">${esc(spec.longdesc)}</longdesc>`,
    `<shortdesc lang="en">${esc(spec.shortdesc)}</shortdesc>`,
    '<parameters>',
  ];
  for (const p of spec.params) {
    const attrs = [`name="${esc(p.name)}"`, `unique="${p.unique ? 1 : 0}"`, `required="${p.required ? 1 : 0}"`];
    lines.push(
      `<parameter ${attrs.join(' ')}>`,
      `<longdesc lang="en">${esc(p.longdesc)}</longdesc>`,
      `<shortdesc lang="en">${esc(p.shortdesc)}</shortdesc>`,
      `<content type="${p.type}"${p.default !== undefined ? ` default="${esc(p.default)}"` : ''}/>`,
      '</parameter>',
    );
  }
  lines.push('</parameters>', '<actions>');
  for (const a of spec.actions) {
    const extra = `${a.interval ? ` interval="${a.interval}"` : ''}${a.depth ? ` depth="${a.depth}"` : ''}`;
    lines.push(`<action name="${esc(a.name)}" timeout="${a.timeout}"${extra}/>`);
  }
  lines.push('</actions>', '</resource-agent>');
  return `${lines.join('\n')}\n`;
}
