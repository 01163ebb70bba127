// How every corral command reports failure: one line per problem on stderr, each starting with the
// command's name ("create_domxml: --mem \"8x\": …"), nothing on stdout, and an exit code that tells
// "you asked wrongly" (2, like a usage error) from "it did not work" (1).
import type { Command } from 'commander';
import type { z } from 'zod';

export const EXIT_FAILURE = 1;
/** Bad command line or bad input values: nothing was done. */
export const EXIT_USAGE = 2;

/** Thrown for input the user must fix; runCli() turns it into exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Writes MESSAGE to stderr, every line prefixed with "COMMAND: ". */
export function printError(command: string, message: string): void {
  const lines = message.replace(/\s+$/, '').split('\n');
  process.stderr.write(lines.map((l) => `${command}: ${l}\n`).join(''));
}

/** Prints MESSAGE (see printError) and exits with CODE. */
export function exitWithError(command: string, message: string, code: number = EXIT_FAILURE): never {
  printError(command, message);
  process.exit(code);
}

/** Prints MESSAGE and exits 2: the input was invalid, nothing was done. */
export function exitUsage(command: string, message: string): never {
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

/**
 * Commander's own errors (unknown option, missing value, missing required option, excess
 * arguments) in corral's form: "COMMAND: message" and exit code 2. Help and version exit 0.
 */
export function withCliConventions(program: Command, command: string = program.name()): Command {
  return program
    .configureOutput({
      outputError: (str, write) => write(`${command}: ${str.replace(/^error: /, '')}`),
    })
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    });
}

function isZodError(e: unknown): e is z.ZodError {
  return e instanceof Error && e.name === 'ZodError' && Array.isArray((e as z.ZodError).issues);
}

/**
 * Runs MAIN and maps what it throws to corral's exit conventions: UsageError and z.ZodError exit 2
 * with their message(s) (throw a UsageError built with zodIssueLines() for friendlier labels);
 * anything else exits 1 with its message. No top-level await, so it works in the CommonJS bundles.
 */
export function runCli(command: string, main: () => Promise<void> | void): void {
  const fail = (e: unknown): never => {
    if (isZodError(e)) return exitUsage(command, zodIssueLines(e).join('\n'));
    if (e instanceof UsageError) return exitUsage(command, e.message);
    return exitWithError(command, e instanceof Error ? e.message : String(e), EXIT_FAILURE);
  };
  try {
    Promise.resolve(main()).catch(fail);
  } catch (e) {
    fail(e);
  }
}
