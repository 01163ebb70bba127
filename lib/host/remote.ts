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
 * exit: a reboot of the node this runs on, which ends us too. Resolves once it has started.
 */
export async function startDetached(argv: readonly string[]): Promise<void> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty command');
  const { execa } = await import('execa');
  const p = execa(file, args, { detached: true, stdio: 'ignore', cleanup: false, reject: false });
  p.unref();
  await new Promise<void>((resolve, reject) => {
    p.once('spawn', () => resolve());
    p.once('error', reject);
  });
}
