// Debian packages: which of a list are missing (dpkg-query) and installing them (apt-get), for
// `corral lab up` on a fresh machine. Runs as root; never asks questions (noninteractive).
import { run, runOk } from './exec.js';

const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;

function check(names: readonly string[]): void {
  for (const n of names) if (!PACKAGE.test(n)) throw new Error(`not a Debian package name: ${JSON.stringify(n)}`);
}

/** The packages of NAMES that are not installed. */
export async function missingPackages(names: readonly string[]): Promise<string[]> {
  check(names);
  if (names.length === 0) return [];
  const r = await run('dpkg-query', ['-W', '-f', '${Package} ${db:Status-Status}\\n', ...names], { timeoutMs: 30_000 });
  if (r.failedToStart) throw new Error('dpkg-query is not available: corral lab needs Debian (or a derivative)');
  const installed = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1] === 'installed')
      .map((f) => f[0]!.split(':')[0]!),
  );
  return names.filter((n) => !installed.has(n));
}

/** `apt-get update` then `apt-get install --no-install-recommends NAMES` (bounded: 15 minutes). */
export async function installPackages(names: readonly string[]): Promise<void> {
  check(names);
  if (names.length === 0) return;
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await runOk('apt-get', ['update', '-q'], { env, timeoutMs: 300_000 });
  await runOk('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...names], { env, timeoutMs: 900_000 });
}
