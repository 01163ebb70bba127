// What systemd says about this machine: used by corral-node.service's commands to tell a shutdown
// from a plain stop of the unit (a package upgrade or removal, `systemctl stop`).
import { run } from './exec.js';

/** `systemctl is-system-running`: "running", "degraded", "stopping", …; undefined without systemd. */
export async function systemState(): Promise<string | undefined> {
  const r = await run('systemctl', ['is-system-running'], { timeoutMs: 10_000 });
  const state = r.stdout.trim();
  return /^[a-z-]+$/.test(state) && state !== 'offline' ? state : undefined;
}
