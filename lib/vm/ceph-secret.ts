// A domain on Ceph RBD with <auth>: the libvirt secret of each Ceph client it names must exist on
// the node before QEMU opens the image there, at a start and at an incoming migration (whose QEMU
// the target's libvirt starts during migrate_to, before migrate_from runs). Each node makes its own
// from its own key file (/etc/ceph/ceph.client.NAME.keyring, through the host port; the key is
// never an argument, never in the CIB):
// - at every probe (Pacemaker probes the resource on every node when it is added and when a node
//   joins, so every possible target is prepared; a failure there is logged, not fatal);
// - at every start (the key given again, so a changed key file counts; no key file here is
//   OCF_ERR_INSTALLED: Pacemaker does not try this node again);
// - migrate_to makes sure the target has it (made there from this node's key file, over the
//   libvirt connection the migration itself uses, only if that node's probe did not).
// Loaded only for such a domain (start.ts, migrate.ts and agent.ts check with lib/domain/rbd.ts).
import { fail } from '../ocf/exit.js';
import type { CephAuth } from '../domain/rbd.js';
import type { Conn } from '../host/agent-port.js';
import type { Ctx } from './context.js';

const who = (a: CephAuth) => `client.${a.username} (libvirt secret ${a.secretUuid})`;

/** Before a start here: every secret, made or given its key again from this node's key files. */
export async function secretsForStart(ctx: Ctx, name: string, auths: readonly CephAuth[]): Promise<void> {
  for (const a of auths) {
    const r = await ctx.host.cephSecret(ctx.conn, a, true);
    if (r.kind === 'made') ctx.host.log('info', `made the libvirt secret of ${who(a)} from this node's key file`);
    else if (r.kind === 'no-key') throw fail.installed(`${name}'s RBD disks need ${who(a)}: ${r.message}`);
    else if (r.kind === 'failed') throw fail.generic(`cannot make the libvirt secret of ${who(a)}: ${r.message}`);
  }
}

/** At a probe: what is missing is made (this node may be a start's or a migration's target); problems are logged only. */
export async function secretsForProbe(ctx: Ctx, auths: readonly CephAuth[]): Promise<void> {
  const conn = { uri: ctx.conn.uri, timeoutMs: Math.min(5000, Math.max(500, ctx.remaining() / 4)) };
  for (const a of auths) {
    const r = await ctx.host.cephSecret(conn, a, false);
    if (r.kind === 'made') ctx.host.log('info', `made the libvirt secret of ${who(a)} from this node's key file`);
    else if (r.kind === 'no-key' || r.kind === 'failed') ctx.host.log('warn', `this node cannot run the VM's RBD disks: no libvirt secret of ${who(a)}: ${r.message}`);
  }
}

/** migrate_to, before the move: the target's libvirt has every secret (its probe normally made them). */
export async function secretsOnTarget(ctx: Ctx, target: Conn, targetNode: string, auths: readonly CephAuth[]): Promise<void> {
  for (const a of auths) {
    const r = await ctx.host.cephSecret(target, a, false);
    if (r.kind === 'made') ctx.host.log('warn', `${targetNode} had no libvirt secret of ${who(a)}: made it there from this node's key file`);
    else if (r.kind === 'no-key' || r.kind === 'failed') throw fail.generic(`${targetNode} has no libvirt secret of ${who(a)} and none could be made: ${r.message}; not migrated`);
  }
}
