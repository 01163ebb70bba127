// The host side of the startup signal: the guest writes "ready TOKEN" on its startup_signal virtio
// port (repeatedly, since qemu drops what it writes while no one listens); we answer "ack TOKEN".
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection, type Socket } from 'node:net';
import { DomainDoc, child } from '../domain/doc.js';
import { dumpxml, type Virsh } from '../host/virsh.js';
import { fail } from '../ocf/exit.js';
import { observe } from './observe.js';
import type { Identity } from './procs.js';

export const SIGNAL_CHANNEL = 'startup_signal';

/** The host path of the running domain's startup_signal socket (libvirt generates it when unset). */
async function signalSocketPath(c: Virsh, name: string): Promise<string | undefined> {
  const live = DomainDoc.parse(await dumpxml(c, name));
  const source = live.virtioChannel(SIGNAL_CHANNEL);
  return source ? (child(source, 'source')?.getAttribute('path') ?? undefined) : undefined;
}

type Attempt = { kind: 'acked'; token: string } | { kind: 'closed' } | { kind: 'refused'; why: string } | { kind: 'timeout' };

function attempt(path: string, untilMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    let buffer = '';
    let settled = false;
    const sock: Socket = createConnection(path);
    const finish = (a: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (a.kind === 'acked') sock.end();
      else sock.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), Math.max(0, untilMs - Date.now()));
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        const m = /^ready\s+(\S{1,128})$/.exec(line);
        if (m) {
          const token = m[1]!;
          sock.write(`ack ${token}\n`, () => finish({ kind: 'acked', token }));
          return;
        }
      }
      if (buffer.length > 4096) buffer = buffer.slice(-1024);
    });
    sock.on('error', (e) => finish({ kind: 'refused', why: e.message }));
    sock.on('close', () => finish({ kind: 'closed' }));
  });
}

/**
 * Waits until the guest signals readiness, at most until DEADLINE (epoch ms). Throws an OcfError
 * when the time runs out or the domain stops existing meanwhile (e.g. a stop destroyed it).
 */
export async function awaitStartupSignal(c: Virsh, id: Identity, deadline: number, log: (m: string) => void): Promise<string> {
  let path: string | undefined;
  while (Date.now() < deadline) {
    path ??= await signalSocketPath(c, id.name).catch(() => undefined);
    if (path) {
      // Re-check the domain every few seconds while waiting on the socket.
      const a = await attempt(path, Math.min(deadline, Date.now() + 3000));
      if (a.kind === 'acked') return a.token;
    } else await sleep(200);
    const o = await observe(c, id);
    if (o.kind !== 'running') throw fail.generic(`domain ${id.name} stopped before its guest sent the startup signal (${'why' in o ? o.why : o.kind})`);
    await sleep(100);
  }
  log(`no startup signal from ${id.name} on ${path ?? '(no socket)'}`);
  throw fail.generic(`the guest of ${id.name} did not send the startup signal before the start timeout`);
}
