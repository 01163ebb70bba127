// The one place that runs a command on another node for corral's operator commands: the
// configured node command (ssh by default, see lib/ops/config.ts) followed by a fixed command.
// lib/ops/config.ts builds and checks the argv; this only runs it, bounded.
import { run, type RunResult } from './exec.js';

export async function runOnNode(argv: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty node command');
  return run(file, args, { timeoutMs });
}

/**
 * Starts ARGV on its own (its own session, nothing of ours attached) and lets it run on after we
 * exit: a reboot of the node this runs on, which ends us too. Its output goes to LOGFILE. Resolves
 * once it has run for SETTLEMS without failing; rejects with its exit code and last output line
 * when it ends with a failure before that (a reboot command that cannot even start its work).
 * Returns its PID.
 */
export async function startDetached(argv: readonly string[], logFile: string, settleMs = 3000): Promise<number> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const { mkdir, open, readFile } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(logFile), { recursive: true });
  const log = await open(logFile, 'a', 0o640);
  const start = (await log.stat()).size;
  // node:child_process rather than execa: the program must outlive us, writing to a file of ours.
  const { spawn } = await import('node:child_process');
  const p = spawn(file, args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
  p.unref();
  const ended = await new Promise<{ code: number | null; error?: string } | undefined>((resolve) => {
    // This timer (not the child, which is unref'd) keeps us alive while we watch it start.
    setTimeout(() => resolve(undefined), settleMs);
    p.once('error', (e) => resolve({ code: null, error: e.message }));
    p.once('exit', (code) => resolve({ code }));
  });
  await log.close();
  // 255: ssh lost the connection (the node went down under it), what a reboot over ssh often ends with.
  if (ended && ended.code !== 0 && ended.code !== 255) {
    const text = ended.error ?? (await readFile(logFile, 'utf8').catch(() => '')).slice(start).trim().split('\n').pop() ?? '';
    throw new Error(`${file} ${ended.code === null ? 'could not run' : `exited ${ended.code}`}${text ? `: ${text}` : ''} (see ${logFile})`);
  }
  return p.pid ?? 0;
}
