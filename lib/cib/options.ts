// The values corral's CIB commands accept, as zod schemas: checked at the edge, before anything
// reaches a template. Every message names the value and the rule.
import { CorralError } from '../errors.js';
import { z } from 'zod';
import { nodeName, vmName } from '../domain/names.js';
import { parseParams } from '../ocf/params.js';
import { transientDomainSpec } from '../ocf/transient-domain.js';

/** Pacemaker's INFINITY: scores at or beyond it are infinite. */
const SCORE_INFINITY = 1_000_000;

/** The score --avoid and --group-apart use unless told: a strong preference, not a law. */
export const DEFAULT_AVOID_SCORE = '-150';

/**
 * A Pacemaker score: an integer between -1000000 and 1000000, INFINITY, +INFINITY, -INFINITY, or
 * "never" (= -INFINITY). Yields the form the CIB takes ("-INFINITY", "INFINITY", "-150").
 */
export const score = z.string().transform((s, ctx) => {
  const t = s.trim();
  if (/^(never|-inf(inity)?)$/i.test(t)) return '-INFINITY';
  if (/^\+?inf(inity)?$/i.test(t)) return 'INFINITY';
  if (/^[+-]?\d{1,7}$/.test(t) && Math.abs(Number(t)) <= SCORE_INFINITY) {
    const n = Number(t);
    if (n === SCORE_INFINITY) return 'INFINITY';
    if (n === -SCORE_INFINITY) return '-INFINITY';
    return String(n);
  }
  ctx.addIssue({
    code: 'custom',
    message: `"${s}" is not a score: use a whole number between -1000000 and 1000000, INFINITY, -INFINITY or never`,
  });
  return z.NEVER;
});

function scoreValue(s: string): number {
  if (s === 'INFINITY') return SCORE_INFINITY;
  if (s === '-INFINITY') return -SCORE_INFINITY;
  return Number(s);
}

/** A score that keeps apart: below 0. */
const negativeScore = score.refine((s) => scoreValue(s) < 0, {
  message: 'a score that keeps VMs apart must be negative (e.g. -150, -INFINITY or never)',
});

/** A --group-apart tag: it becomes a Pacemaker tag id, so an XML name. */
const tagName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/,
    'a tag is 1-63 characters: letters, digits, ".", "_" and "-", starting with a letter',
  );

/** The Pacemaker `priority` meta attribute: a whole number within Pacemaker's score range. */
const PRIORITY_RULE = 'a priority is a whole number from -1000000 to 1000000 (Pacemaker\'s score range), e.g. 10';
export const priority = z
  .string()
  .regex(/^[+-]?\d{1,7}$/, PRIORITY_RULE)
  .transform(Number)
  .refine((n) => Math.abs(n) <= SCORE_INFINITY, PRIORITY_RULE);

/** "OTHER[:SCORE]" → { other, score } with score defaulting to DEFAULT. */
function nameWithScore<T extends z.ZodType<string>>(nameSchema: T, scoreSchema: z.ZodType<string>, dflt?: string) {
  return z.string().transform((spec, ctx) => {
    const i = spec.indexOf(':');
    const rawName = i < 0 ? spec : spec.slice(0, i);
    const rawScore = i < 0 ? undefined : spec.slice(i + 1);
    const n = nameSchema.safeParse(rawName);
    if (!n.success) {
      const why = n.error.issues[0]?.message ?? 'not a valid name';
      ctx.addIssue({ code: 'custom', message: rawName === spec ? why : `"${rawName}": ${why}` });
      return z.NEVER;
    }
    let s: string | undefined = dflt;
    if (rawScore !== undefined) {
      const r = scoreSchema.safeParse(rawScore);
      if (!r.success) {
        ctx.addIssue({ code: 'custom', message: r.error.issues[0]?.message ?? 'bad score' });
        return z.NEVER;
      }
      s = r.data;
    }
    return { name: n.data as string, score: s };
  });
}

export const avoidSpec = nameWithScore(vmName, negativeScore, DEFAULT_AVOID_SCORE);
export const groupApartSpec = nameWithScore(tagName, negativeScore);

/** What domadd is told about a VM's placement. undefined: not told (kept on --replace); false/[]: none. */
export interface Placement {
  priority?: number | false;
  avoid?: { name: string; score: string }[];
  groupApart?: { tag: string; score?: string }[];
  pin?: string | false;
  onlyOn?: string[];
  after?: { name: string; kind: 'Optional' | 'Mandatory' }[];
  /** The node that holds the VM's disks (--local NODE); false: shared disks (--no-local). */
  local?: string | false;
}

/** The raw options as commander hands them over (repeatable options as arrays, --no-X as false). */
export interface RawPlacement {
  priority?: string | boolean;
  avoid?: string[] | boolean;
  groupApart?: string[] | boolean;
  pin?: string | boolean;
  onlyOn?: string[] | boolean;
  after?: string[] | boolean;
  local?: string | boolean;
}

export class OptionError extends CorralError {
  readonly kind = 'refused';
  override name = 'OptionError';
}

function parseWith<T>(schema: z.ZodType<T>, value: string, option: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new OptionError(`${option} ${JSON.stringify(value)}: ${r.error.issues[0]?.message}`);
  return r.data;
}

function list(v: string[] | boolean | undefined): string[] | false | undefined {
  if (v === undefined || v === true) return undefined;
  if (v === false) return false;
  return v.flatMap((s) => s.split(',')).map((s) => s.trim()); // an empty item fails validation
}

/** `--after OTHER[:optional|:mandatory]`. */
function parseAfter(spec: string): { name: string; kind: 'Optional' | 'Mandatory' } {
  const colon = spec.indexOf(':');
  const name = parseWith(vmName, colon < 0 ? spec : spec.slice(0, colon), '--after');
  const k = colon < 0 ? 'optional' : spec.slice(colon + 1).toLowerCase();
  if (k !== 'optional' && k !== 'mandatory') {
    throw new OptionError(`--after ${JSON.stringify(spec)}: the ordering after ":" is optional (the default) or mandatory`);
  }
  return { name, kind: k === 'mandatory' ? 'Mandatory' : 'Optional' };
}

/** Validates commander's raw placement options. Throws OptionError naming the option. */
export function parsePlacement(raw: RawPlacement): Placement {
  const out: Placement = {};
  if (raw.priority === false) out.priority = false;
  else if (typeof raw.priority === 'string') out.priority = parseWith(priority, raw.priority, '--priority');

  const avoid = list(raw.avoid);
  if (avoid !== undefined) {
    out.avoid = avoid === false ? [] : avoid.map((s) => {
      const r = parseWith(avoidSpec, s, '--avoid');
      return { name: r.name, score: r.score ?? DEFAULT_AVOID_SCORE };
    });
    const seen = new Set<string>();
    for (const a of out.avoid) {
      if (seen.has(a.name)) throw new OptionError(`--avoid ${a.name} is given twice`);
      seen.add(a.name);
    }
  }
  const tags = list(raw.groupApart);
  if (tags !== undefined) {
    out.groupApart = tags === false ? [] : tags.map((s) => {
      const r = parseWith(groupApartSpec, s, '--group-apart');
      return r.score === undefined ? { tag: r.name } : { tag: r.name, score: r.score };
    });
    if (new Set(out.groupApart.map((t) => t.tag)).size !== out.groupApart.length) {
      throw new OptionError('--group-apart names a tag twice');
    }
  }
  if (raw.pin === false) out.pin = false;
  else if (typeof raw.pin === 'string') out.pin = parseWith(nodeName, raw.pin, '--pin');

  const onlyOn = list(raw.onlyOn);
  if (onlyOn !== undefined) {
    out.onlyOn = onlyOn === false ? [] : [...new Set(onlyOn.map((n) => parseWith(nodeName, n, '--only-on')))];
  }
  if (raw.local === false) out.local = false;
  else if (typeof raw.local === 'string') out.local = parseWith(nodeName, raw.local, '--local');
  if (typeof out.local === 'string' && out.onlyOn?.length) throw new OptionError('--local keeps the VM on the node that holds its disks: leave out --only-on');
  const after = list(raw.after);
  if (after !== undefined) {
    out.after = after === false ? [] : after.map(parseAfter);
    const names = out.after.map((a) => a.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new OptionError(`--after ${twice} is given twice`);
  }
  return out;
}

/** Agent parameters domadd does not take from --param: it writes them itself. */
const OWN_PARAMS = new Set(['config']);

/**
 * domadd's --param NAME=VALUE list → { NAME: VALUE }, each checked against TransientDomain's own
 * parameter table (the one its meta-data and validation come from): unknown names, config and
 * invalid values are OptionErrors. undefined when none was given.
 */
export function parseAgentParams(raw: readonly string[] | undefined): Record<string, string> | undefined {
  if (raw === undefined || raw.length === 0) return undefined;
  const out: Record<string, string> = {};
  const known = transientDomainSpec.params.map((p) => p.name).filter((n) => !OWN_PARAMS.has(n));
  for (const item of raw) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    if (eq <= 0) throw new OptionError(`--param ${JSON.stringify(item)}: expected NAME=VALUE, e.g. migration_transport=tcp`);
    const value = item.slice(eq + 1);
    if (OWN_PARAMS.has(name)) throw new OptionError(`--param ${name}: domadd sets ${name} itself (from the XML file)`);
    if (!known.includes(name)) {
      throw new OptionError(`--param ${name}: TransientDomain has no parameter ${name} (it has: ${known.join(', ')})`);
    }
    if (name in out) throw new OptionError(`--param ${name} is given twice`);
    if (value === '') throw new OptionError(`--param ${name}: empty value (leave the parameter out for its default)`);
    const check = parseParams(transientDomainSpec, { OCF_RESKEY_config: '<domain/>', [`OCF_RESKEY_${name}`]: value });
    if (!check.ok) throw new OptionError(`--param ${name}=${value}: ${check.errors.join('; ').replace(/^parameter \S+: /, '')}`);
    out[name] = value;
  }
  return out;
}
