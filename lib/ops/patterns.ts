// Which VMs a `vm` argument means: a name (gum), a glob of names ('*web*', 'db[12]'), or a node
// glob and a name glob ('hv17/*sql*': the VMs running on nodes matching hv17). The alphabet is
// the VM names' own (letters, digits, ".", "_", "-") plus the glob characters * ? [ ] and one
// "/"; anything else (a space, ";", "$", a leading "-", "..") is refused before anything runs.
import { CorralError } from '../errors.js';
import { VM_NAME_RE } from '../domain/names.js';

const GLOB_RE = /^[A-Za-z0-9_.*?[\]!-]+$/;

export class PatternError extends CorralError {
  readonly kind = 'refused';
  override name = 'PatternError';
}

function checkGlob(g: string, what: string): string | undefined {
  if (g === '') return `the ${what} part is empty`;
  if (!GLOB_RE.test(g)) return `the ${what} part may only hold letters, digits, ".", "_", "-" and the glob characters * ? [ ]`;
  if (g.startsWith('-')) return `a ${what} cannot start with "-"`;
  if (g.includes('..')) return `a ${what} may not contain ".."`;
  let depth = 0;
  for (const c of g) {
    if (c === '[') depth++;
    if (c === ']') depth--;
    if (depth < 0 || depth > 1) return `unbalanced [ ] in ${JSON.stringify(g)}`;
  }
  if (depth !== 0) return `unbalanced [ ] in ${JSON.stringify(g)}`;
  if (/\[!?\]/.test(g)) return `an empty [ ] class in ${JSON.stringify(g)}`;
  if (/!/.test(g.replace(/\[!/g, '['))) return '"!" only negates a [ ] class';
  return undefined;
}

function isGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

/** A glob as an anchored regular expression: * any run, ? one character, [a-z] and [!a-z] classes. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export interface VmPattern {
  /** What the user typed. */
  text: string;
  /** Node glob (from "NODE/NAME"), if any. */
  node?: RegExp;
  name: RegExp;
  /** A plain name (no glob, no node part): exactly one VM is meant. */
  exact?: string;
}

/** Parses a `vm` argument; throws PatternError saying what is wrong. */
export function parseVmPattern(text: string): VmPattern {
  const shown = JSON.stringify(text);
  if (text.startsWith('-')) throw new PatternError(`${shown} is not a VM name: names do not start with "-" (options go after the action)`);
  const parts = text.split('/');
  if (parts.length > 2) throw new PatternError(`${shown} is not a VM name or pattern: at most one "/" (NODE/NAME)`);
  const [a, b] = parts as [string, string | undefined];
  const nameGlob = b ?? a;
  const nodeGlob = b === undefined ? undefined : a;
  for (const [g, what] of [
    [nodeGlob, 'node'],
    [nameGlob, 'VM name'],
  ] as const) {
    if (g === undefined) continue;
    const why = checkGlob(g, what);
    if (why) throw new PatternError(`${shown} is not a VM name or pattern: ${why}`);
  }
  if (nodeGlob === undefined && !isGlob(nameGlob)) {
    if (!VM_NAME_RE.test(nameGlob)) throw new PatternError(`${shown} is not a VM name: 1-63 letters, digits, ".", "_", "-", starting with a letter or digit`);
    return { text, name: globRegExp(nameGlob), exact: nameGlob };
  }
  return { text, name: globRegExp(nameGlob), ...(nodeGlob !== undefined ? { node: globRegExp(nodeGlob) } : {}) };
}

/** Whether VM (its name and where it runs) matches P. */
export function matches(p: VmPattern, vm: { name: string; nodes: readonly string[] }): boolean {
  if (!p.name.test(vm.name)) return false;
  if (!p.node) return true;
  return vm.nodes.some((n) => p.node?.test(n));
}
