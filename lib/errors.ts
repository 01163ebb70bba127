// corral's one error type. Every error corral throws on purpose is a CorralError with a kind; the
// kind alone decides the exit code: lib/cli/errors.ts maps it for the commands (cliExitCode), and
// lib/ocf/exit.ts for the resource agent (ocfExitCode). Pure: importable from every layer.

/**
 * What went wrong, as far as the caller's exit code cares:
 * - refused: the input (command line, file, configuration) is wrong; nothing was done;
 * - bad-args: an OCF action was called with arguments it cannot use (OCF_ERR_ARGS);
 * - not-installed: a program corral needs is missing here (OCF_ERR_INSTALLED);
 * - unreachable: the cluster (or a service) did not answer;
 * - failed: it was tried and did not work;
 * - unanswered: a check (N+1, what the balancer would do) could not be answered: Pacemaker or the
 *   cluster could not say. Its own exit code (3), so that monitoring tells "don't know" from "no".
 */
export type ErrorKind = 'refused' | 'bad-args' | 'not-installed' | 'unreachable' | 'failed' | 'unanswered';

/** The base of corral's errors: a message and a kind. Subclasses keep their names for messages and instanceof. */
export abstract class CorralError extends Error {
  abstract readonly kind: ErrorKind;
}

/** The kind of anything thrown: a CorralError's own, 'failed' for everything else. */
export function kindOf(e: unknown): ErrorKind {
  return e instanceof CorralError ? e.kind : 'failed';
}

/**
 * E with CONTEXT appended to its message, rethrown as the same error: its class and kind (and so
 * the exit code) stay what they were. Anything thrown that is not an Error becomes one (failed).
 */
export function withContext(e: unknown, context: string): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  err.message += context;
  return err;
}

/**
 * E with PREFIX put before its message ("FILE: " or "--size \"x\": "), rethrown as the same error:
 * like withContext, its class and kind (and so the exit code) stay what they were.
 */
export function withPrefix(e: unknown, prefix: string): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  err.message = `${prefix}${err.message}`;
  return err;
}
