// start: `virsh create` from the configuration (transient, never define), then the startup signal.
import { mkdirSync } from 'node:fs';
import { createLocked, destroy, domcapabilities, describe } from '../host/virsh.js';
import { fail, OCF, type OcfCode } from '../ocf/exit.js';
import { log } from '../ocf/log.js';
import { requireConfig, type Ctx } from './context.js';
import { observe } from './observe.js';
import { prepareForCreate } from './prepare.js';
import { awaitStartupSignal, SIGNAL_CHANNEL } from './signal.js';
import { lockFile, writeCreateXml, writeState } from './state.js';
import type { Identity } from './procs.js';

async function destroyQuietly(ctx: Ctx, id: Identity): Promise<void> {
  const r = await destroy(ctx.virsh, id.name);
  if (r && r.kind !== 'absent') log('warn', `destroying ${id.name} after a failed start: ${describe(r)}`);
}

export async function start(ctx: Ctx): Promise<OcfCode> {
  const { params, doc, id } = requireConfig(ctx);
  const before = await observe(ctx.virsh, id);
  if (before.kind === 'running') {
    log('info', `domain ${id.name} is already running (${before.state})`);
    writeState({ resource: ctx.resource, ...id, phase: 'running' });
    return OCF.SUCCESS;
  }
  if (before.kind === 'crashed') {
    log('warn', `domain ${id.name} is crashed; destroying it before the start`);
    await destroyQuietly(ctx, id);
  } else if (before.kind === 'unknown') {
    throw fail.generic(`cannot tell whether ${id.name} runs: ${before.why}`);
  }

  const { xml, consoleLog } = prepareForCreate(doc, { consoleLogDir: params.console_log_dir, resource: ctx.resource });
  if (consoleLog) mkdirSync(consoleLog.slice(0, consoleLog.lastIndexOf('/')) || '/', { recursive: true, mode: 0o750 });
  writeState({ resource: ctx.resource, ...id, phase: 'starting' });

  // A fresh libvirtd probes the emulator for tens of seconds on first use. Let that happen in a
  // call without side effects, so a start that times out there leaves nothing behind.
  await domcapabilities(ctx.virsh, doc.platform, Math.max(1000, ctx.remaining())).catch((e: Error) =>
    log('warn', `virsh domcapabilities: ${e.message}`),
  );
  if (ctx.remaining() <= 0) throw fail.generic(`libvirt took the whole start timeout to probe the emulator; nothing was created`);

  const file = writeCreateXml(id.name, xml);
  const create = createLocked(ctx.virsh, file, lockFile(id.name));
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    create,
    new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, ctx.remaining())))),
  ]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    // The create runs on in its own session and keeps the lock: a stop waits for it, then removes it.
    throw fail.generic(`virsh create of ${id.name} did not finish before the start timeout`);
  }
  if (outcome.exitCode !== 0) {
    const after = await observe(ctx.virsh, id);
    if (after.kind === 'running') await destroyQuietly(ctx, id);
    const why = (outcome.stderr || outcome.stdout).replace(/^error: /gm, '').split('\n').filter(Boolean).join('; ');
    throw fail.generic(`virsh create of ${id.name} failed: ${why || `exit ${outcome.exitCode}`}`);
  }
  log('info', `created domain ${id.name}${consoleLog ? `, console log ${consoleLog}` : ''}`);

  if (params.startup_signal && doc.virtioChannel(SIGNAL_CHANNEL)) {
    try {
      const token = await awaitStartupSignal(ctx.virsh, id, ctx.deadline, (m) => log('warn', m));
      log('info', `guest of ${id.name} signalled ready (${token})`);
    } catch (e) {
      // Never leave a domain running behind a failed start (another node may be asked next).
      await destroyQuietly(ctx, id);
      throw e;
    }
  }
  writeState({ resource: ctx.resource, ...id, phase: 'running' });
  return OCF.SUCCESS;
}
