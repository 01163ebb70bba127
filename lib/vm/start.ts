// start: `virsh create` from the configuration (transient, never define), then the startup signal.
import { fail, OCF, type OcfCode } from '../ocf/exit.js';
import { requireConfig, type Ctx } from './context.js';
import type { CreateOutcome, Identity } from '../host/agent-port.js';
import { migrationUris } from './migrate.js';
import { describe, observe, STOPPED_STATES } from './observe.js';
import { prepareForCreate } from './prepare.js';
import { requireLocalDisks } from './local-storage.js';
import { cephAuths } from '../domain/rbd.js';
import { awaitStartupSignal, SIGNAL_CHANNEL } from './signal.js';

async function destroyQuietly(ctx: Ctx, id: Identity): Promise<void> {
  const r = await ctx.host.destroy(ctx.conn, id.name);
  if (r && r.kind !== 'absent') ctx.host.log('warn', `destroying ${id.name} after a failed start: ${describe(r)}`);
}

/** At most this many peers are asked at once. */
const PEER_QUERIES = 8;
/** How long a copy paused on a peer may take to go (an incoming migration whose source is gone: libvirt drops it once its keepalive gives up). */
const PAUSED_GRACE_MS = 40_000;

/**
 * The other cluster members whose libvirt has domain ID live (running, paused, crashed — not "shut
 * off", a persistent definition that runs nothing). Unreachable ones are logged and passed over.
 * All of it within a share of the time left, so that a refusal still has time to be reported.
 */
async function runsElsewhere(ctx: Ctx, id: Identity): Promise<string[]> {
  const { host } = ctx;
  const { params } = requireConfig(ctx);
  const until = host.now() + ctx.remaining() * 0.4;
  const left = () => until - host.now();
  const peers = await host.peers(ctx.env.OCF_RESKEY_CRM_meta_on_node, Math.min(10_000, Math.max(200, left() / 4)));
  const found = new Map<string, string>();
  const ask = async (peer: string) => {
    const uri = migrationUris(params, peer).destUri;
    // domstate may take two calls: each gets half of its share.
    const r = await host.domstate({ uri, timeoutMs: Math.min(5000, Math.max(200, left() / 4)) }, id.name);
    if (r.kind === 'present' && !STOPPED_STATES.has(r.state)) found.set(peer, r.state);
    else if (r.kind === 'present' || r.kind === 'absent') found.delete(peer);
    else host.log('warn', `could not ask ${peer} (${uri}) whether ${id.name} runs there: ${describe(r)}`);
  };
  const unasked: string[] = [];
  for (let i = 0; i < peers.length; i += PEER_QUERIES) {
    if (left() <= 0) {
      unasked.push(...peers.slice(i));
      break;
    }
    await Promise.all(peers.slice(i, i + PEER_QUERIES).map(ask));
  }
  if (unasked.length) host.log('warn', `no time left to ask ${unasked.join(', ')} whether ${id.name} runs there`);
  // A paused copy may be an incoming migration whose source was lost: it goes by itself.
  const graceUntil = Math.min(host.now() + PAUSED_GRACE_MS, until);
  while ([...found.values()].some((s) => s === 'paused') && host.now() < graceUntil) {
    await host.sleep(Math.min(1000, Math.max(0, graceUntil - host.now())));
    await Promise.all([...found].filter(([, s]) => s === 'paused').map(([peer]) => ask(peer)));
  }
  return [...found.keys()].sort();
}

export async function start(ctx: Ctx): Promise<OcfCode> {
  const { host } = ctx;
  const { params, doc, id } = requireConfig(ctx);
  const before = await observe(ctx, id);
  if (before.kind === 'running') {
    host.log('info', `domain ${id.name} is already running (${before.state})`);
    host.writeState({ resource: ctx.resource, ...id, phase: 'running' });
    return OCF.SUCCESS;
  }
  if (before.kind === 'crashed') {
    host.log('warn', `domain ${id.name} is crashed; destroying it before the start`);
    await destroyQuietly(ctx, id);
  } else if (before.kind === 'unknown') {
    throw fail.generic(`cannot tell whether ${id.name} runs: ${before.why}`);
  }
  // storage=local: never boot where the disks are not (OCF_ERR_INSTALLED keeps Pacemaker off this node).
  requireLocalDisks(ctx);
  // RBD disks with <auth>: the Ceph clients' libvirt secrets, from this node's key files.
  const auths = cephAuths(doc);
  if (auths.length) await (await import('./ceph-secret.js')).secretsForStart(ctx, id.name, auths);

  // A fresh libvirtd probes the emulator for tens of seconds on first use. Let that happen in a
  // call without side effects, so a start that times out there leaves nothing behind; it runs
  // while the other nodes are asked (each is a virsh or crm_node of a few hundred ms).
  const probed = host.domcapabilities(ctx.conn, doc.platform, Math.max(1000, ctx.remaining())).then(
    () => undefined,
    (e: Error) => host.log('warn', `virsh domcapabilities: ${e.message}`),
  );
  // One place across nodes: Pacemaker may have lost track of a copy on another node — seen with
  // Pacemaker 2.1.5 when a live migration's target went to standby while migrate_to ran and that
  // node held an older migrate_from of the same source and target: the scheduler then restarted
  // the VM on the source while the migrated copy ran on the target. Every other member's libvirt
  // is asked (as a migration would reach it); a copy found there stops this start, and Pacemaker
  // is asked to probe that node, so that it learns where the VM runs.
  const elsewhere = await runsElsewhere(ctx, id);
  if (elsewhere.length) {
    await Promise.all(elsewhere.map((n) => host.reprobe(ctx.resource, n, Math.min(15_000, Math.max(500, ctx.remaining() * 0.3)))));
    // Short: Pacemaker keeps the first 128 characters of a reason.
    throw fail.generic(`${id.name} runs on ${elsewhere.join(', ')} unknown to Pacemaker: no second copy started; probe of ${elsewhere.join(', ')} asked for`);
  }

  const { xml, consoleLog } = prepareForCreate(doc, { consoleLogDir: params.console_log_dir, resource: ctx.resource });
  if (consoleLog) host.ensureDir(consoleLog.slice(0, consoleLog.lastIndexOf('/')) || '/');
  host.writeState({ resource: ctx.resource, ...id, phase: 'starting' });

  const kvm = host.kvmProblem();
  if (kvm) host.log('warn', kvm);

  await probed;
  if (ctx.remaining() <= 0) throw fail.generic(`libvirt took the whole start timeout to probe the emulator; nothing was created`);

  const create = host.create(ctx.conn, id.name, xml);
  const timer = new AbortController();
  const outcome: CreateOutcome | 'timeout' = await Promise.race([create, host.sleep(ctx.remaining(), timer.signal).then(() => 'timeout' as const)]);
  timer.abort();
  if (outcome === 'timeout') {
    // The create runs on in its own session and keeps the lock: a stop waits for it, then removes it.
    throw fail.generic(`virsh create of ${id.name} did not finish before the start timeout`);
  }
  if (!outcome.ok) {
    const after = await observe(ctx, id);
    if (after.kind === 'running') await destroyQuietly(ctx, id);
    throw fail.generic(`virsh create of ${id.name} failed: ${outcome.message}`);
  }
  host.log('info', `created domain ${id.name}${consoleLog ? `, console log ${consoleLog}` : ''}`);

  if (params.startup_signal && doc.virtioChannel(SIGNAL_CHANNEL)) {
    try {
      const token = await awaitStartupSignal(ctx, id);
      host.log('info', `guest of ${id.name} signalled ready (${token})`);
    } catch (e) {
      // Never leave a domain running behind a failed start (another node may be asked next).
      await destroyQuietly(ctx, id);
      throw e;
    }
  }
  host.writeState({ resource: ctx.resource, ...id, phase: 'running' });
  return OCF.SUCCESS;
}
