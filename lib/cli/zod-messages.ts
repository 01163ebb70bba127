// zod's own messages ("Too small: expected number to be >=0", "Invalid option: expected one of
// \"a\"|\"b\"") in corral's words, for every schema that does not say its own. Installed once
// per command by runCli(); the caller puts the flag and the value in front ("--param
// migration_speed=-1: must be at least 0").
import { z } from 'zod';

type Issue = Parameters<NonNullable<Parameters<typeof z.config>[0]>['customError'] & {}>[0];

const TYPES: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'yes or no',
  array: 'a list',
  object: 'a set of settings',
  date: 'a date',
};

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function bound(origin: string | undefined, n: unknown): string {
  if (origin === 'string') return `${show(n)} character${n === 1 ? '' : 's'}`;
  if (origin === 'array' || origin === 'set') return `${show(n)} item${n === 1 ? '' : 's'}`;
  if (origin === 'file') return `${show(n)} bytes`;
  return show(n);
}

/** A message for ISSUE as corral words it (never zod's text). */
function corralIssueMessage(issue: Issue): string {
  const i = issue as Issue & Record<string, unknown>;
  switch (issue.code) {
    case 'invalid_type':
      if (i.input === undefined) return 'missing';
      return `expected ${TYPES[String(i.expected)] ?? show(i.expected)}`;
    case 'too_small':
      return i.inclusive === false
        ? `must be more than ${bound(String(i.origin), i.minimum)}`
        : `must be at least ${bound(String(i.origin), i.minimum)}`;
    case 'too_big':
      return i.inclusive === false
        ? `must be less than ${bound(String(i.origin), i.maximum)}`
        : `must be at most ${bound(String(i.origin), i.maximum)}`;
    case 'invalid_format':
      return i.format === 'regex' ? 'has the wrong form' : `is not a valid ${String(i.format).replace(/_/g, ' ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${show(i.divisor)}`;
    case 'unrecognized_keys': {
      const keys = (i.keys as string[] | undefined) ?? [];
      return `unknown setting${keys.length === 1 ? '' : 's'} ${keys.join(', ')}`;
    }
    case 'invalid_value': {
      const values = ((i.values as unknown[] | undefined) ?? []).map(show);
      if (values.length === 1) return `must be ${values[0]}`;
      return `expected ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
    }
    case 'invalid_union':
      return 'is none of the accepted forms';
    case 'invalid_key':
      return 'has an invalid name';
    case 'invalid_element':
      return 'has an invalid item';
    default:
      return 'is not valid';
  }
}

let installed = false;

/** Makes corralIssueMessage() zod's message for every issue without a message of its own. */
export function installZodMessages(): void {
  if (installed) return;
  installed = true;
  z.config({ customError: (issue) => corralIssueMessage(issue) });
}
