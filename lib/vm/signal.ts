// The startup signal: the guest writes "ready TOKEN" on its startup_signal virtio port, the host
// answers "ack TOKEN" (one attempt: the port's startupSignal). Here: where the socket is, and how
// long to keep trying.
import { DomainDoc, child } from '../domain/doc.js';
import { fail } from '../ocf/exit.js';
import type { Ctx } from './context.js';
import type { Identity } from '../host/agent-port.js';
import { observe } from './observe.js';

export const SIGNAL_CHANNEL = 'startup_signal';

/** The host path of the running domain's startup_signal socket (libvirt generates it when unset). */
async function signalSocketPath(ctx: Ctx, name: string): Promise<string | undefined> {
  const live = DomainDoc.parse(await ctx.host.dumpxml(ctx.conn, name));
  const source = live.virtioChannel(SIGNAL_CHANNEL);
  return source ? (child(source, 'source')?.getAttribute('path') ?? undefined) : undefined;
}

/**
 * Waits until the guest signals readiness, at most until the action's deadline. Throws an OcfError
 * when the time runs out or the domain stops existing meanwhile (e.g. a stop destroyed it).
 */
export async function awaitStartupSignal(ctx: Ctx, id: Identity): Promise<string> {
  const { host, deadline } = ctx;
  let path: string | undefined;
  while (host.now() < deadline) {
    path ??= await signalSocketPath(ctx, id.name).catch(() => undefined);
    if (path) {
      // Re-check the domain every few seconds while waiting on the socket.
      const a = await host.startupSignal(path, Math.min(deadline, host.now() + 3000));
      if (a.kind === 'acked') return a.token;
    } else await host.sleep(200);
    const o = await observe(ctx, id);
    if (o.kind !== 'running') throw fail.generic(`domain ${id.name} stopped before its guest sent the startup signal (${'why' in o ? o.why : o.kind})`);
    await host.sleep(100);
  }
  host.log('warn', `no startup signal from ${id.name} on ${path ?? '(no socket)'}`);
  throw fail.generic(`the guest of ${id.name} did not send the startup signal before the start timeout`);
}
