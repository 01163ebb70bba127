// Who may do what to which VMs: the access file (/etc/corral/access), read by vm when it runs for
// someone else (through sudo) or for a user other than root.
//
//   # WHO                 ACTIONS                     VMS
//   alice                 console,status,where        web-*,db1
//   %webadmins            *                           web-*,@web
//   bob,%helpdesk         status,where,console        *
//
// One rule per line, three columns separated by blanks; "#" starts a comment.
//   WHO      user names and %groups, comma-separated
//   ACTIONS  vm actions (console, reset, …, see `vm --help`), comma-separated, or * for all
//   VMS      VM name globs (* ? [ ]) and @TAG (the VMs in a Pacemaker tag), comma-separated
// A caller may run ACTION on VM when some rule names the caller or one of their groups, the
// action and the VM. There are no deny rules: what no rule allows is refused. root (not through
// sudo) needs no rule. A file that does not parse, in any line, refuses everyone but root: a
// typo never grants anything.
import { CorralError } from '../errors.js';
import { z } from 'zod';
import { ACTION_NAMES, type ActionName } from './actions.js';
import { globRegExp, parseVmPattern } from './patterns.js';

export class AccessFileError extends CorralError {
  readonly kind = 'failed';
  override name = 'AccessFileError';
}

const userName = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/;
const tagName = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const whoSchema = z
  .string()
  .transform((s) => s.split(','))
  .pipe(
    z.array(
      z.string().transform((w, ctx) => {
        const group = w.startsWith('%');
        const name = group ? w.slice(1) : w;
        if (!userName.test(name)) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(w)} is not a user name or %group` });
          return z.NEVER;
        }
        return group ? { group: name } : { user: name };
      }),
    ),
  );

const actionsSchema = z
  .string()
  .transform((s) => (s === '*' ? [...ACTION_NAMES] : s.split(',')))
  .pipe(z.array(z.enum(ACTION_NAMES, { error: (i) => `unknown action ${JSON.stringify(i.input)} (actions: ${ACTION_NAMES.join(', ')}, or *)` })));

const vmsSchema = z
  .string()
  .transform((s) => s.split(','))
  .pipe(
    z.array(
      z.string().transform((v, ctx) => {
        if (v.startsWith('@')) {
          if (!tagName.test(v.slice(1))) {
            ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a tag (@ and an XML id)` });
            return z.NEVER;
          }
          return { tag: v.slice(1) };
        }
        try {
          const p = parseVmPattern(v);
          if (p.node) throw new Error('a node part (NODE/NAME) has no place in the access file: VMs move');
          return { glob: v, re: globRegExp(v) };
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
          return z.NEVER;
        }
      }),
    ),
  );

type Who = { user: string } | { group: string };
type VmSelector = { tag: string } | { glob: string; re: RegExp };

export interface AccessRule {
  line: number;
  text: string;
  who: Who[];
  actions: ActionName[];
  vms: VmSelector[];
}

/** Parses an access file; throws AccessFileError listing every line that is wrong. */
export function parseAccessFile(text: string, where = 'the access file'): AccessRule[] {
  const rules: AccessRule[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const cols = line.split(/\s+/);
    if (cols.length !== 3) {
      errors.push(`line ${i + 1}: expected three columns (WHO ACTIONS VMS), found ${cols.length}: ${JSON.stringify(line)}`);
      return;
    }
    const [who, actions, vms] = cols as [string, string, string];
    const w = whoSchema.safeParse(who);
    const a = actionsSchema.safeParse(actions);
    const v = vmsSchema.safeParse(vms);
    const bad = [w, a, v].flatMap((r) => (r.success ? [] : r.error.issues.map((x) => x.message)));
    if (bad.length || !w.success || !a.success || !v.success) {
      errors.push(...[...new Set(bad)].map((m) => `line ${i + 1}: ${m}`));
      return;
    }
    rules.push({ line: i + 1, text: line, who: w.data, actions: [...new Set(a.data)], vms: v.data });
  });
  if (errors.length) throw new AccessFileError(`${where} is invalid, so vm refuses everyone but root:\n  ${errors.join('\n  ')}`);
  return rules;
}

export interface Caller {
  user: string;
  groups: readonly string[];
  /** root acting for itself: no rule needed. */
  root: boolean;
}

export interface VmFacts {
  name: string;
  tags: readonly string[];
}

function namesCaller(who: readonly Who[], c: Caller): boolean {
  return who.some((w) => ('user' in w ? w.user === c.user : c.groups.includes(w.group)));
}

function selects(sel: readonly VmSelector[], vm: VmFacts): boolean {
  return sel.some((s) => ('tag' in s ? vm.tags.includes(s.tag) : s.re.test(vm.name)));
}

/** The rule that lets CALLER run ACTION on VM, or undefined (root always may: returns null). */
export function permittingRule(rules: readonly AccessRule[], c: Caller, action: ActionName, vm: VmFacts): AccessRule | null | undefined {
  if (c.root) return null;
  return rules.find((r) => r.actions.includes(action) && namesCaller(r.who, c) && selects(r.vms, vm));
}

export function mayDo(rules: readonly AccessRule[], c: Caller, action: ActionName, vm: VmFacts): boolean {
  return permittingRule(rules, c, action, vm) !== undefined;
}
