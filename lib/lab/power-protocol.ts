// The lab's power controller protocol: what a lab node's fence agent (agents/fence_corral_lab.ts)
// and corral's lab commands say to the host-side power daemon (lib/lab/power.ts), like a PDU or
// a BMC on a management network. One request per connection on a unix socket under the lab's
// state directory (reachable by path from inside every node): a JSON line in, a JSON line out.
//
//   {"op":"off","node":"n2"}      hard power-off (every process of the node SIGKILLed)
//   {"op":"on","node":"n2"}       power on: the node's namespaces come up; it then boots
//                                  (libvirt, Corosync, Pacemaker) in the background
//   {"op":"reboot","node":"n2"}   off, then on
//   {"op":"restart","node":"n2"}  a clean reboot, as `systemctl reboot` does one: Pacemaker and
//                                  Corosync are stopped in order (the node leaves the cluster
//                                  cleanly, so nobody fences it), then off and on
//   {"op":"crash","node":"n2"}    like off, but logged as a crash (not asked for by fencing)
//   {"op":"status","node":"n2"}   {"ok":true,"state":"on"|"off"}
//   {"op":"list"}                 {"ok":true,"nodes":["n1","n2",…]}
//
// Kept free of the lab's heavier modules: the fence agent bundles only this.
import { CorralError } from '../errors.js';
import { connect } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { LAB_NAME_RE } from './names.js';

export const powerRequest = z.discriminatedUnion('op', [
  z.object({ op: z.enum(['on', 'off', 'reboot', 'restart', 'crash', 'status']), node: z.string().regex(LAB_NAME_RE, 'not a lab node name'), by: z.string().max(200).optional() }),
  z.object({ op: z.literal('list'), by: z.string().max(200).optional() }),
]);
export type PowerRequest = z.infer<typeof powerRequest>;

const powerReply = z.union([
  z.object({ ok: z.literal(true), state: z.enum(['on', 'off']).optional(), nodes: z.array(z.string()).optional() }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type PowerReply = z.infer<typeof powerReply>;

/** The power controller's socket in the lab's state directory LABDIR. */
export function powerSocketPath(labDir: string): string {
  return path.join(labDir, 'power.sock');
}

export class PowerError extends CorralError {
  readonly kind = 'failed';
  override name = 'PowerError';
}

/**
 * Sends one request to the power controller at SOCKET and returns its answer; throws PowerError
 * when the controller is unreachable, answers nonsense or refuses, and after TIMEOUTMS.
 */
export function powerCall(socket: string, req: PowerRequest, timeoutMs = 60_000): Promise<PowerReply & { ok: true }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let settled = false;
    const finish = (e: Error | undefined, v?: PowerReply & { ok: true }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      if (e) reject(e);
      else resolve(v!);
    };
    const conn = connect(socket);
    const timer = setTimeout(() => finish(new PowerError(`the power controller did not answer ${req.op} within ${timeoutMs} ms`)), timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 1 << 20) finish(new PowerError('the power controller sent an oversized answer'));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.slice(0, nl));
      } catch {
        finish(new PowerError('the power controller answered something that is not JSON'));
        return;
      }
      const r = powerReply.safeParse(parsed);
      if (!r.success) finish(new PowerError('the power controller answered something unexpected'));
      else if (!r.data.ok) finish(new PowerError(r.data.error));
      else finish(undefined, r.data);
    });
    conn.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `no power controller listens on ${socket}` : e.message;
      finish(new PowerError(why));
    });
    conn.on('close', () => finish(new PowerError('the power controller closed the connection without an answer')));
  });
}
