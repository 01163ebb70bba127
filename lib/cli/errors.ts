// How every corral command reports failure: one line per problem on stderr, each starting with the
// command's name ("create_domxml: --mem \"8x\": …"), nothing on stdout, and an exit code that tells
// "you asked wrongly" (2, like a usage error) from "it did not work" (1), and, for a check (N+1,
// what the balancer would do), "could not answer" (3) from its "no" (1).
import { Command, type CommanderError, type Option } from 'commander';
import type { z } from 'zod';
import { printable } from '../cluster/format.js';
import { corralVersion } from './version.js';
import { installZodMessages } from './zod-messages.js';
import { CorralError, kindOf, type ErrorKind } from '../errors.js';

const EXIT_FAILURE = 1;
/** Bad command line or bad input values: nothing was done. */
const EXIT_USAGE = 2;
/** A check could not answer (Pacemaker or the cluster could not say): not a "no". */
const EXIT_UNANSWERED = 3;

/** The exit code of a command that ends with an error of KIND: 2 for input it refused, 3 for a check that could not answer, else 1. */
export function cliExitCode(kind: ErrorKind): typeof EXIT_USAGE | typeof EXIT_FAILURE | typeof EXIT_UNANSWERED {
  switch (kind) {
    case 'refused':
    case 'bad-args':
      return EXIT_USAGE;
    case 'unanswered':
      return EXIT_UNANSWERED;
    default:
      return EXIT_FAILURE;
  }
}

/** A check's question could not be answered (exit 3): the cluster could not be read, Pacemaker could not say. */
class CheckUnanswered extends CorralError {
  readonly kind = 'unanswered';
  override name = 'CheckUnanswered';
}

/**
 * The action of a command that doubles as a check (corral capacity, corral balance status): the
 * action itself sets exit code 1 for "no"; input it refuses stays exit 2; anything else that ends
 * it — the cluster not read, Pacemaker not answering, a failure of its own — is exit 3, "could not
 * answer", so that monitoring never takes "don't know" for "no".
 */
export function checkAction<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (e) {
      const kind = kindOf(e);
      if (isZodError(e) || kind === 'refused' || kind === 'bad-args' || kind === 'unanswered') throw e;
      throw new CheckUnanswered(e instanceof Error ? e.message : String(e));
    }
  };
}

/** The exit codes of a check, for its --help: YES and NO say what 0 and 1 mean for it. */
export function checkExitCodes(yes: string, no: string): string {
  return `Exit codes (for monitoring): 0 ${yes}; 1 ${no}; 2 bad input, nothing asked; 3 could not answer
(Pacemaker could not say, or the cluster could not be read: the reason is on stderr).`;
}

/** Marks the end of a check that could not answer (exit 3) without ending it: what it could answer is still printed. */
export function setUnanswered(): void {
  process.exitCode = cliExitCode('unanswered');
}

/** Thrown for input the user must fix; runCli() turns it into exit code 2. */
export class UsageError extends CorralError {
  readonly kind = 'refused';
  override name = 'UsageError';
}

/** Writes MESSAGE to stderr, every line prefixed with "COMMAND: ". */
function printError(command: string, message: string): void {
  const lines = message.replace(/\s+$/, '').split('\n');
  process.stderr.write(lines.map((l) => `${command}: ${printable(l)}\n`).join(''));
}

/** Prints MESSAGE (see printError) and exits with CODE. */
function exitWithError(command: string, message: string, code: number = EXIT_FAILURE): never {
  printError(command, message);
  process.exit(code);
}

/** Prints MESSAGE and exits 2: the input was invalid, nothing was done. */
function exitUsage(command: string, message: string): never {
  return exitWithError(command, message, EXIT_USAGE);
}

/**
 * One line per zod issue, "LABEL: message", where LABEL names what the user typed (e.g. the flag
 * and its value) for the issue's path; without a label function the path is shown dotted.
 */
export function zodIssueLines(error: z.ZodError, label?: (path: readonly PropertyKey[]) => string): string[] {
  const lines = error.issues.map((issue) => {
    const where = label ? label(issue.path) : issue.path.map(String).join('.');
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  return [...new Set(lines)];
}

// ---------------------------------------------------------------------------------------------
// The command line

/**
 * corral's conventions for a commander program and every subcommand it creates:
 * - `--version` prints "COMMAND VERSION" (package.json's version, built in) and exits 0;
 * - commander's own errors (unknown option, missing value, missing argument, one argument too
 *   many) become one line "COMMAND: message" in corral's words, exit code 2;
 * - an option that takes one value refuses to be given twice (`--name a --name b`), and an
 *   option and its --no- form exclude each other; repeatable options (collected into a list)
 *   may repeat;
 * - an option's value may not look like an option (`--name --cpus 1` is refused instead of naming
 *   the VM "--cpus"); `--name=-x` says it is meant.
 * Help exits 0; help shown because a subcommand is missing exits 2.
 */
export function withCliConventions(program: Command, command: string = program.name()): Command {
  const state: ParseState = { command, current: program, args: [] };
  conventions(program, state);
  return program.version(`${command} ${corralVersion()}`, '-V, --version', 'print the version and exit');
}

interface ParseState {
  /** The program's name: the prefix of every message. */
  command: string;
  /** The (sub)command whose options were parsed last: the one commander's errors are about. */
  current: Command;
  /** The arguments it was given. */
  args: readonly string[];
}

function conventions(cmd: Command, state: ParseState): Command {
  cmd
    .configureOutput({ outputError: () => undefined }) // printed by the exit callback, in our words
    .exitOverride((err) => {
      if (err.exitCode === 0) process.exit(0);
      if (err.code !== 'commander.help' && err.code !== 'commander.helpDisplayed') {
        printError(state.command, commanderMessage(state, err));
      }
      process.exit(EXIT_USAGE);
    });
  // Subcommands (corral list, corral lab up) get the same conventions. commander copies the
  // output and exit settings onto them itself; parseOptions and createCommand are ours to set.
  cmd.createCommand = (name?: string) => conventions(new Command(name), state);
  const parseOptions = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args: string[]) => {
    state.current = cmd;
    state.args = args;
    const seen = scanOptions(cmd, args);
    const parsed = parseOptions(args);
    checkRepeats(cmd, seen);
    return parsed;
  };
  return cmd;
}

/** "--cpus <n>" → "--cpus N"; "-o, --output <file>" → "--output FILE". */
function flagUsage(flags: string): string {
  const long = /--[\w-]+/.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0] ?? flags;
  const value = (/<(.+)>/.exec(flags) ?? /\[(.+)\]/.exec(flags))?.[1];
  return value ? `${long} ${value.replace(/\.\.\.$/, '').toUpperCase()}` : long;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** commander's error message, in corral's words and on one line. */
function commanderMessage(state: ParseState, err: CommanderError): string {
  const cmd = state.current;
  const text = err.message.replace(/^error: /, '');
  const quoted = /'([^']*)'/.exec(text)?.[1] ?? '';
  const usage = `usage: ${commandPath(cmd)} ${cmd.usage()}`;
  switch (err.code) {
    case 'commander.excessArguments': {
      const extra = cmd.args.slice(cmd.registeredArguments.length);
      const what = extra.length === 1 ? 'argument' : 'arguments';
      return `unexpected ${what} ${extra.map((a) => JSON.stringify(a)).join(' ')} (${usage})`;
    }
    case 'commander.missingArgument':
      return `missing ${quoted.toUpperCase()} (${usage})`;
    case 'commander.optionMissingArgument': {
      // The option is the last argument: say it the way it was typed (-o or --output).
      const typed = state.args.at(-1) ?? '';
      const [long, value] = flagUsage(quoted).split(' ');
      const flag = typed.startsWith('-') && quoted.includes(typed) ? typed : long;
      return `${flag} needs a value: ${flag} ${value ?? 'VALUE'}`;
    }
    case 'commander.missingMandatoryOptionValue':
      return `${flagUsage(quoted)} is required`;
    case 'commander.unknownOption':
    case 'commander.unknownCommand':
      return text
        .replace(/'([^']*)'/, (_, q: string) => JSON.stringify(q))
        .replace(/\s*\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)');
    default:
      return text.replace(/\s*\n\s*/g, ' ');
  }
}

/** The option of CMD that FLAG ("--name", "-o") names. */
function findOption(cmd: Command, flag: string): Option | undefined {
  return cmd.options.find((o) => o.long === flag || o.short === flag);
}

/** commander's test for "maybe an option": a dash and something more. */
function maybeOption(arg: string): boolean {
  return arg.length > 1 && arg.startsWith('-');
}

/** Looks like an option rather than a value: --anything, or -X with a letter (not -10). */
function looksLikeOption(value: string): boolean {
  return value.startsWith('--') || /^-[A-Za-z]/.test(value);
}

interface Occurrence {
  option: Option;
  value: string | undefined;
}

/**
 * Goes through ARGS the way commander's parseOptions does and returns every occurrence of CMD's
 * own options. Refuses (UsageError) a value that looks like an option for an option that takes
 * one, unless given as --opt=VALUE or -oVALUE.
 */
function scanOptions(cmd: Command, args: readonly string[]): Occurrence[] {
  const seen: Occurrence[] = [];
  let variadic: Option | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') break;
    if (variadic && (!maybeOption(arg) || /^-\d/.test(arg))) continue; // one more value of it
    variadic = undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const withValue = eq > 0 ? findOption(cmd, arg.slice(0, eq)) : undefined;
    if (withValue && (withValue.required || withValue.optional)) {
      seen.push({ option: withValue, value: arg.slice(eq + 1) });
      continue;
    }
    const option = findOption(cmd, arg);
    if (option) {
      let value: string | undefined;
      const next = args[i + 1];
      if (option.required && next !== undefined) {
        if (looksLikeOption(next)) {
          throw new UsageError(
            `${arg} needs a value, not the option ${JSON.stringify(next)} ` +
              `(write ${option.long ?? arg}=VALUE for a value that starts with "-")`,
          );
        }
        value = next;
        i++;
      } else if (option.optional && next !== undefined && (!maybeOption(next) || /^-\d/.test(next))) {
        value = next;
        i++;
      }
      seen.push({ option, value });
      if (option.variadic) variadic = option;
      continue;
    }
    if (arg.length > 2 && arg[0] === '-' && arg[1] !== '-') {
      const short = findOption(cmd, arg.slice(0, 2));
      if (short?.required) {
        seen.push({ option: short, value: arg.slice(2) });
        continue;
      }
    }
    if (!arg.startsWith('-')) {
      // An operand: where commander stops looking for this command's options, so do we.
      if ((cmd as unknown as { _passThroughOptions?: boolean })._passThroughOptions) break;
      if (cmd.commands.some((c) => c.name() === arg || c.aliases().includes(arg))) break;
    }
  }
  return seen;
}

/**
 * After commander has taken the values: an option that takes one value, given twice, is refused
 * (commander would keep the last silently); so is an option together with its --no- form.
 * Options that collect their values into a list (repeatable, variadic) may repeat.
 */
function checkRepeats(cmd: Command, seen: readonly Occurrence[]): void {
  const byAttribute = new Map<string, Occurrence[]>();
  for (const o of seen) {
    const key = o.option.attributeName();
    byAttribute.set(key, [...(byAttribute.get(key) ?? []), o]);
  }
  for (const [key, list] of byAttribute) {
    const valued = list.filter((o) => !o.option.negate && (o.option.required || o.option.optional));
    const negated = list.filter((o) => o.option.negate);
    if (valued.length > 0 && negated.length > 0) {
      throw new UsageError(`${valued[0]!.option.long} and ${negated[0]!.option.long} exclude each other: give one of them`);
    }
    if (valued.length > 1 && !Array.isArray(cmd.getOptionValue(key))) {
      const values = valued.map((o) => JSON.stringify(o.value ?? '')).join(', ');
      throw new UsageError(`${valued[0]!.option.long} is given ${valued.length === 2 ? 'twice' : `${valued.length} times`} (${values}): it takes one value`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Running a command

function isZodError(e: unknown): e is z.ZodError {
  return e instanceof Error && e.name === 'ZodError' && Array.isArray((e as z.ZodError).issues);
}

/**
 * Runs MAIN and maps what it throws to corral's exit conventions: z.ZodError exits 2 with its
 * messages (throw a UsageError built with zodIssueLines() for friendlier labels); anything else
 * exits with cliExitCode() of its kind (a refused CorralError such as UsageError 2, else 1) and
 * its message. No top-level await, so it works in the CommonJS bundles.
 */
export function runCli(command: string, main: () => Promise<void> | void): void {
  installZodMessages();
  // `domadd … | head`: the reader went away; what is left to say has no one to read it.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const fail = (e: unknown): never => {
    if (isZodError(e)) return exitUsage(command, zodIssueLines(e).join('\n'));
    return exitWithError(command, e instanceof Error ? e.message : String(e), cliExitCode(kindOf(e)));
  };
  try {
    Promise.resolve(main()).catch(fail);
  } catch (e) {
    fail(e);
  }
}
