// The host side of one startup-signal attempt: connect to the guest's startup_signal socket, wait
// for "ready TOKEN" (the guest repeats it, since qemu drops what it writes while no one listens) and
// answer "ack TOKEN". lib/vm/signal.ts decides how often to try and for how long.
import { createConnection, type Socket } from 'node:net';
import type { SignalAttempt } from './agent-port.js';

export function startupSignal(path: string, untilMs: number): Promise<SignalAttempt> {
  return new Promise((resolve) => {
    let buffer = '';
    let settled = false;
    const sock: Socket = createConnection(path);
    const finish = (a: SignalAttempt) => {
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
