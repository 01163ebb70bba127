// stop: succeeds exactly when the domain is verifiably gone (safety rule 2), whatever state the
// configuration is in. Graceful shutdown first, destroy when the time left runs short.
import { fail, OCF, type OcfCode } from '../ocf/exit.js';
import type { Ctx } from './context.js';
import type { Identity } from '../host/agent-port.js';
import { locate } from './locate.js';
import { describe, observe } from './observe.js';

/** Kills qemu processes libvirt cannot (or no longer) account for: TERM, then KILL. */
async function killQemu(ctx: Ctx, pids: number[], graceMs: number): Promise<void> {
  const { host } = ctx;
  for (const p of pids) host.kill(p, 'SIGTERM');
  const until = host.now() + graceMs;
  while (host.now() < until && pids.some((p) => host.isAlive(p))) await host.sleep(100);
  for (const p of pids.filter((p) => host.isAlive(p))) host.kill(p, 'SIGKILL');
}

export async function stop(ctx: Ctx): Promise<OcfCode> {
  const { host } = ctx;
  // Safety rule 2 outranks the configuration check: with a config that is broken, missing or not
  // a readable file (start, migrate_*, reload and validate-all answer OCF_ERR_CONFIGURED at once;
  // monitor: see monitor.ts), the domain is the one start recorded, or the one whose owner
  // metadata names this resource. A stop still stops it, and succeeds only when it is gone.
  let id: Identity | undefined;
  try {
    id = await locate(ctx);
  } catch (e) {
    throw fail.generic(`${ctx.configError ?? 'no configuration'}; cannot tell whether a domain of ${ctx.resource} runs here: ${(e as Error).message}`);
  }
  if (!id) {
    host.log('warn', `${ctx.configError ?? 'no configuration'}; no domain of ${ctx.resource} exists here`);
    return OCF.SUCCESS;
  }
  // A create still in flight (its start was killed on timeout) holds this lock until libvirt answers.
  if (!(await host.waitCreateDone(id.name, ctx.remaining()))) {
    throw fail.generic(`a virsh create of ${id.name} is still in flight; cannot prove the domain gone`);
  }

  const force = ctx.params?.force_stop ?? false;
  const mode = ctx.params?.shutdown_mode;
  // Time kept back for destroy once a graceful shutdown has not worked.
  const reserve = Math.min(15_000, Math.max(3000, ctx.timeoutMs * 0.25));
  let lastShutdown: number | undefined;
  let destroyed = false;
  while (ctx.remaining() > 0) {
    const o = await observe(ctx, id);
    if (o.kind === 'stopped') {
      host.clearState(ctx.resource);
      host.removeCreateXml(id.name);
      host.log('info', `domain ${id.name} is stopped (${o.why})`);
      return OCF.SUCCESS;
    }
    if (o.kind === 'unknown' || (o.kind === 'running' && !o.viaLibvirt)) {
      // qemu runs but libvirt does not account for it: end it ourselves.
      const pids = host.qemuProcesses(id);
      host.log('warn', `killing qemu ${pids.join(', ')} of ${id.name}: ${'why' in o ? o.why : o.state}`);
      await killQemu(ctx, pids, Math.min(5000, Math.max(500, ctx.remaining() / 2)));
    } else if (force || o.kind === 'crashed' || ctx.remaining() < reserve || destroyed) {
      const r = await host.destroy(ctx.conn, id.name);
      destroyed = true;
      if (r && r.kind !== 'absent') host.log('warn', `virsh destroy ${id.name}: ${describe(r)}`);
    } else if (lastShutdown === undefined || host.now() - lastShutdown > 5000) {
      const r = await host.shutdown(ctx.conn, id.name, mode);
      lastShutdown = host.now();
      if (r && r.kind !== 'absent') host.log('warn', `virsh shutdown ${id.name}: ${describe(r)}`);
      else host.log('info', `asked the guest of ${id.name} to shut down`);
    }
    await host.sleep(250);
  }
  throw fail.generic(`domain ${id.name} is still present at the end of the stop timeout`);
}
