// A command's side of a cluster operation (lib/ops/operation.ts): its words on stdout and stderr
// (text for people with control and bidi characters escaped; JSON exact), the operator's hooks and
// the audit trail of this machine, and the exit code. A command's action is then: flags → the
// Operation → runCliOperation.
import { printable, printableLines } from '../cluster/format.js';
import { loadOperationSupport } from '../ops/hooks.js';
import { runOperation, type Operation, type OperationIo, type Outcome, type RunOptions } from '../ops/operation.js';

/** corral's words: stdout for people and JSON, "corral: …" on stderr. */
const cliIo: OperationIo = {
  out: (s) => process.stdout.write(printableLines(s)),
  json: (v) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`),
  err: (s) => process.stderr.write(`corral: ${printable(s)}\n`),
};

/** The flags every operation's command shares. */
export interface OperationFlags {
  dryRun: boolean;
  force?: boolean;
  json?: boolean;
}

type Support = Awaited<ReturnType<typeof loadOperationSupport>>;

/**
 * Runs the operation MAKE builds (given this machine's hooks, audit trail and settings) through
 * the runner; sets the exit code (0 or 1; errors are thrown with their kind). The work's result
 * when it ran.
 */
export async function runCliOperation<P, R extends Outcome>(make: (support: Support) => Operation<P, R>, flags: OperationFlags, more: Pick<RunOptions, 'snapshot'> = {}): Promise<R | undefined> {
  const support = await loadOperationSupport(cliIo.err);
  const { code, result } = await runOperation(make(support), {
    dryRun: flags.dryRun,
    force: flags.force === true,
    json: flags.json === true,
    io: cliIo,
    hooks: support.hooks,
    audit: support.audit,
    ...(more.snapshot ? { snapshot: more.snapshot } : {}),
  });
  if (code !== 0) process.exitCode = code;
  return result;
}
