// The one place that runs a command on another node for corral's operator commands: the
// configured node command (ssh by default, see lib/ops/config.ts) followed by a fixed command.
// lib/ops/config.ts builds and checks the argv; this only runs it, bounded.
import { run, type RunResult } from './exec.js';

export async function runOnNode(argv: readonly string[], timeoutMs = 20_000): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty node command');
  return run(file, args, { timeoutMs });
}
