// How lib/host/pacemaker/ runs Pacemaker's tools: every function there takes an optional Via, so
// the same call works on this host (the default: our environment passes through untouched, so
// CIB_file and CIB_shadow reach every tool) or inside a lab node (lib/lab/boot.ts nodeVia() gives
// a runner that runs the tool there), and reports a failure as one line (failureCause).
import { HostCommandError, run, type RunResult } from '../exec.js';

/** Bound for one Pacemaker tool when the caller gives none. */
export const TIMEOUT_MS = 120_000;

/** Runs a Pacemaker tool: FILE ARGS with a timeout; never throws for a non-zero exit. */
export type PcmkRunner = (file: string, args: readonly string[], opts: { timeoutMs: number; input?: string }) => Promise<RunResult>;

export interface Via {
  /** Where the tool runs (default: this host). */
  runner?: PcmkRunner;
  timeoutMs?: number;
}

/** Runs FILE ARGS where VIA says (default: here), bounded by VIA's timeout (default TIMEOUT_MS). */
export function tool(via: Via | undefined, file: string, args: readonly string[], input?: string): Promise<RunResult> {
  const timeoutMs = via?.timeoutMs ?? TIMEOUT_MS;
  return via?.runner ? via.runner(file, args, { timeoutMs, input }) : run(file, args, { timeoutMs, input });
}

/** The error for a tool that failed while doing WHAT ("reading the CIB failed: …"). */
export function failure(what: string, r: RunResult): Error {
  if (r.failedToStart) return new HostCommandError(r);
  if (r.timedOut) return new Error(`${what} failed: ${r.command.split(' ')[0]} did not answer within ${Math.round(TIMEOUT_MS / 1000)} s`);
  return new Error(`${what} failed: ${failureCause(r)}`);
}

/**
 * The one line that says why a Pacemaker tool failed: its "Call failed:" or "error:" line when it
 * printed one, else its last line of prose. Never XML (cibadmin prints the whole rejected CIB on a
 * schema error) and never more than one line.
 */
function failureCause(r: Pick<RunResult, 'command' | 'exitCode' | 'stdout' | 'stderr'>): string {
  const lines = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('<') && !/^-V may provide more details/.test(l) && !/^Init failed/.test(l));
  const told = lines.find((l) => /^Call failed:/i.test(l)) ?? lines.find((l) => /(^|: )error:/i.test(l)) ?? lines[lines.length - 1];
  const cause = told?.replace(/^Call failed:\s*/i, '').replace(/^[\w-]+(\[\d+\])?: (error: )?/i, '');
  const tool = r.command.split(' ')[0];
  const text = cause ? `${cause} (${tool} exited ${r.exitCode})` : `${tool} exited ${r.exitCode}`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
