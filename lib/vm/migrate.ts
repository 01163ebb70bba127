// migrate_to (on the source) and migrate_from (on the target). Either way the domain ends in
// exactly one place (safety rule 5): an unfinished migration is aborted before the timeout, and
// libvirt then keeps the domain on the source and discards the incoming copy.
import { fail, OCF, type OcfCode } from '../ocf/exit.js';
import type { TransientDomainParams } from '../ocf/transient-domain.js';
import { requireConfig, type Ctx } from './context.js';
import { describe } from './observe.js';
import { cephAuths } from '../domain/rbd.js';
import { bytesHere, cleanSource, cleanTarget, CopyProgress, disksToCopy, prepareTarget } from './local-storage.js';

/** node2 + "-mig" → node2-mig; node2.example.org → node2-mig.example.org. */
export function withSuffix(node: string, suffix: string | undefined): string {
  if (!suffix) return node;
  const dot = node.indexOf('.');
  return dot < 0 ? `${node}${suffix}` : `${node.slice(0, dot)}${suffix}${node.slice(dot)}`;
}

export function migrationUris(p: TransientDomainParams, target: string): { destUri: string; migrateUri?: string } {
  const host = withSuffix(target, p.migration_network_suffix);
  const m = /^([a-z0-9]+)(?:\+[a-z0-9]+)?:\/\/[^/]*(\/.*)?$/.exec(p.hypervisor);
  const driver = m?.[1] ?? 'qemu';
  const path = m?.[2] ?? '/system';
  const user = p.migration_user ? `${p.migration_user}@` : '';
  const destUri = `${driver}+${p.migration_transport}://${user}${host}${path}`;
  let migrateUri: string | undefined;
  if (p.migrateuri) migrateUri = p.migrateuri.replace(/%n/g, target);
  else if (p.migrateport) migrateUri = `tcp://${host}:${p.migrateport}`;
  else if (p.migration_network_suffix) migrateUri = `tcp://${host}`;
  return { destUri, migrateUri };
}

const NODE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export async function migrateTo(ctx: Ctx): Promise<OcfCode> {
  const { host } = ctx;
  const { params, doc, id } = requireConfig(ctx);
  const target = ctx.env.OCF_RESKEY_CRM_meta_migrate_target;
  if (!target || !NODE.test(target)) throw fail.args(`migrate_to needs a valid migrate_target (got "${target ?? ''}")`);
  // No look before the leap: virsh migrate itself says when the domain does not run here, and
  // every agent start-up and virsh call adds to the time the move takes.
  const { destUri, migrateUri } = migrationUris(params, target);
  // storage=local: the disks go along (lib/vm/local-storage.ts).
  const disks = disksToCopy(ctx);
  const copy = disks?.length ? disks : undefined;
  const targetConn = (): { uri: string; timeoutMs: number } => ({ uri: destUri, timeoutMs: Math.min(20_000, Math.max(500, ctx.remaining() / 4)) });
  host.log(
    'info',
    `migrating ${id.name} to ${target} (${destUri}${migrateUri ? `, data ${migrateUri}` : ''})${copy ? ` with a copy of its local disks ${copy.map((d) => `${d.target} ${d.file}`).join(', ')}` : ''}`,
  );
  // RBD disks with <auth>: the target's QEMU opens them as the migration begins.
  const auths = cephAuths(doc);
  if (auths.length) await (await import('./ceph-secret.js')).secretsOnTarget(ctx, targetConn(), target, auths);
  if (copy) await prepareTarget(ctx, targetConn(), target, copy);
  host.writeState({ resource: ctx.resource, ...id, phase: 'migrating' });
  // Abort early enough that libvirt can roll back before our own timeout.
  const abortAt = ctx.deadline - Math.min(10_000, ctx.timeoutMs * 0.15);
  const job = host.migrate(
    ctx.conn,
    id.name,
    {
      destUri,
      migrateUri,
      bandwidthMiBs: params.migration_speed || undefined,
      extra: params.migrate_options?.trim().split(/\s+/),
      ...(copy ? { copyDisks: copy.map((d) => d.target) } : {}),
    },
    Math.max(1000, ctx.remaining()),
  );
  const progress = copy ? new CopyProgress(ctx) : undefined;
  let finished = false;
  void job.finally(() => (finished = true));
  let downtimeSet = params.migration_downtime === 0;
  let aborted = false;
  while (!finished) {
    if (!downtimeSet) downtimeSet = await host.setMaxDowntime(ctx.conn, id.name, params.migration_downtime);
    if (!aborted && host.now() >= abortAt) {
      host.log('warn', `migration of ${id.name} is taking too long; aborting it`);
      await host.jobAbort(ctx.conn, id.name);
      aborted = true;
    }
    if (progress && !finished) await progress.sample(ctx.conn, id.name);
    await Promise.race([job, host.sleep(250)]);
  }
  const r = await job;
  const after = await host.domstate(ctx.conn, id.name);
  if (!r.ok && after.kind === 'absent' && r.notFound) {
    host.clearState(ctx.resource);
    throw fail.generic(`cannot migrate ${id.name}: it does not run here`);
  }
  if (r.ok && after.kind === 'absent') {
    host.clearState(ctx.resource);
    host.log('info', `migrated ${id.name} to ${target}${progress && copy ? `, copied ${progress.summary(bytesHere(ctx, copy))}` : ''}`);
    if (copy) cleanSource(ctx, copy);
    return OCF.SUCCESS;
  }
  const why = r.ok ? 'libvirt reported success' : r.message;
  if (after.kind === 'present') {
    host.writeState({ resource: ctx.resource, ...id, phase: 'running' });
    if (copy) await cleanTarget(ctx, targetConn(), target, copy);
    throw fail.generic(`migration of ${id.name} to ${target} failed (${aborted ? 'aborted at the timeout' : why}); it still runs here`);
  }
  throw fail.generic(`migration of ${id.name} to ${target} ended unclear (${why}); here: ${describe(after)}`);
}

export async function migrateFrom(ctx: Ctx): Promise<OcfCode> {
  const { host } = ctx;
  const { id } = requireConfig(ctx);
  // Pacemaker calls migrate_from only after migrate_to returned, so the incoming job is over and
  // the domain is here; allow libvirt a moment to finish, but never wait long for a domain that
  // is simply absent.
  const absentUntil = host.now() + Math.min(5000, ctx.timeoutMs / 4);
  let last = 'not checked';
  while (ctx.remaining() > 0) {
    const l = await host.domstate(ctx.conn, id.name);
    if (l.kind === 'present' && l.state !== 'shut off' && l.state !== 'crashed') {
      host.writeState({ resource: ctx.resource, ...id, phase: 'running' });
      host.log('info', `domain ${id.name} arrived (${l.state})`);
      return OCF.SUCCESS;
    }
    last = describe(l);
    if (l.kind !== 'present' && host.now() > absentUntil) break;
    await host.sleep(250);
  }
  throw fail.generic(`domain ${id.name} did not arrive here (${last})`);
}
