// Step 1 of `vm PATTERN ACTION [ARG]`: everything the user typed, checked against the actions
// table (lib/ops/actions.ts) before anything else happens; bad input is refused (exit 2).
import { CorralError } from '../errors.js';
import { ACTIONS, type ActionName } from './actions.js';
import type { ActionOptions } from './context.js';
import { parseVmPattern, type VmPattern } from './patterns.js';

/** Bad input: nothing was done (exit 2). */
export class VmUsageError extends CorralError {
  readonly kind = 'refused';
  override name = 'VmUsageError';
}

export interface VmRequest {
  pattern: string;
  action: string;
  args: string[];
  options: ActionOptions;
}

export interface Parsed {
  pattern: VmPattern;
  action: ActionName;
  /** The action's argument, checked (sysrq KEY, priority N, migrate NODE). */
  arg?: string | number;
}

/** Throws VmUsageError (or PatternError) naming what is wrong: both refused input, exit 2. */
export function parseRequest(req: VmRequest): Parsed {
  const pattern: VmPattern = parseVmPattern(req.pattern);
  const spec = Object.hasOwn(ACTIONS, req.action) ? ACTIONS[req.action as ActionName] : undefined;
  if (!spec) throw new VmUsageError(`${JSON.stringify(req.action)} is not an action (actions: ${Object.keys(ACTIONS).join(', ')})`);
  const { name: action, arg } = spec;
  const args = req.args;
  if (args.length > (arg ? 1 : 0)) throw new VmUsageError(`${action} takes ${arg ? 'one argument' : 'no arguments'}, not ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  const out: Parsed = { pattern, action };
  if (arg && (args[0] !== undefined || !arg.optional)) {
    const c = arg.check(args[0] ?? '');
    if ('error' in c) throw new VmUsageError(c.error);
    out.arg = c.value;
  }
  if (req.options.log && action !== 'console') throw new VmUsageError('--log goes with console');
  if (req.options.lines !== undefined && !(Number.isInteger(req.options.lines) && req.options.lines > 0)) throw new VmUsageError('--lines takes a positive whole number');
  return out;
}
