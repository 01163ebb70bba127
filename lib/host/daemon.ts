// A long-running corral process that an OCF agent starts and watches (ocf:corral:Balancer runs
// `corral balance run`): its PID in a pid file, recognised by its command line so that a PID the
// system reused for something else is never taken for it, and stopped with TERM, then KILL.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { argvOf, isAlive, pidFromFile } from './procs.js';
import { startDetached } from './remote.js';

/** The daemon's PID when it runs: the pid file's PID, alive, with MARK among its arguments in order. */
export function daemonPid(pidFile: string, mark: readonly string[]): number | undefined {
  const pid = pidFromFile(pidFile);
  if (pid === undefined || !isAlive(pid)) return undefined;
  const argv = argvOf(pid) ?? [];
  const at = argv.findIndex((_a, i) => mark.every((m, j) => argv[i + j] === m));
  return at >= 0 ? pid : undefined;
}

/** Starts ARGV detached, its output appended to LOGFILE, and writes its PID to PIDFILE. */
export async function startDaemon(argv: readonly string[], logFile: string, pidFile: string): Promise<number> {
  const pid = await startDetached(argv, logFile, 1500);
  mkdirSync(dirname(pidFile), { recursive: true, mode: 0o755 });
  writeFileSync(pidFile, `${pid}\n`, { mode: 0o644 });
  return pid;
}

/** Stops the daemon of PIDFILE: TERM, and KILL when it is still there after GRACEMS. True when it is gone. */
export async function stopDaemon(pidFile: string, mark: readonly string[], graceMs: number): Promise<boolean> {
  const pid = daemonPid(pidFile, mark);
  if (pid !== undefined) {
    process.kill(pid, 'SIGTERM');
    for (const end = Date.now() + graceMs; isAlive(pid) && Date.now() < end; ) await sleep(100);
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const end = Date.now() + 2000; isAlive(pid) && Date.now() < end; ) await sleep(50);
    if (isAlive(pid)) return false;
  }
  rmSync(pidFile, { force: true });
  return true;
}
