// Running one operator hook (lib/ops/hooks.ts decides which, and what a failure means): the file
// itself, no arguments, no shell, its environment given, in its own process group, bounded in
// time. On timeout the whole group gets SIGTERM, then SIGKILL 2 s later (exec.ts's cancel), so a
// hook that started a child of its own does not outlive its bound either.
import { run } from './exec.js';

export interface HookRunResult {
  /** 0 on success; the exit code, 128+N for a signal, 124 for a timeout. */
  exitCode: number;
  timedOut: boolean;
  /** The file could not be started at all (not executable, a bad interpreter line). */
  failedToStart: boolean;
  /** The first non-empty line of its standard output, else of its standard error ('' when silent). */
  firstLine: string;
}

const firstLineOf = (text: string): string =>
  text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '') ?? '';

/** Runs FILE with ENV added to ours (CORRAL_* variables), killing it and its children after TIMEOUTMS. */
export async function runHookFile(file: string, env: Record<string, string>, timeoutMs: number): Promise<HookRunResult> {
  const bound = new AbortController();
  const timer = setTimeout(() => bound.abort(), timeoutMs);
  try {
    const r = await run(file, [], { env, cancel: bound.signal, cwd: '/' });
    const timedOut = bound.signal.aborted || r.timedOut;
    return {
      exitCode: timedOut ? 124 : r.exitCode,
      timedOut,
      failedToStart: r.failedToStart,
      firstLine: firstLineOf(r.stdout) || firstLineOf(r.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}
