// TransientDomain's actions: a map from OCF action to the code in lib/vm, with OCF exit codes,
// exit reasons and logging. Loaded only when the fast paths (fast-path.ts) could not answer.
// Everything it does on the node goes through the host port (lib/host/agent-port.ts): the real node by
// default, a simulated one in the scenario tests.
import { fail, OCF, OcfError, type OcfCode } from '../ocf/exit.js';
import { metadataXml } from '../ocf/params.js';
import { makeContext, requireConfig, type Ctx } from './context.js';
import type { AgentHost } from '../host/agent-port.js';
import { transientDomainSpec } from '../ocf/transient-domain.js';
import { cephAuths } from '../domain/rbd.js';

const USAGE = `usage: TransientDomain {start|stop|monitor|status|migrate_to|migrate_from|reload|meta-data|validate-all|usage}
A libvirt transient domain whose XML lives in the CIB (OCF_RESKEY_config). See meta-data.`;

async function validateAll(ctx: Ctx): Promise<OcfCode> {
  const { doc } = requireConfig(ctx);
  const ignored = (transientDomainSpec.ignored ?? []).filter((n) => ctx.env[`OCF_RESKEY_${n}`] !== undefined);
  if (ignored.length) ctx.host.log('warn', `ignoring VirtualDomain parameters that do not apply to transient domains: ${ignored.join(', ')}`);
  if (!(await ctx.host.virshInstalled())) throw fail.installed('virsh (libvirt-clients) is not installed');
  if (!doc.type) throw fail.configured(`domain ${doc.name} has no type attribute (kvm, qemu, …)`);
  return OCF.SUCCESS;
}

const ACTIONS: Record<string, (ctx: Ctx) => Promise<OcfCode>> = {
  start: async (ctx) => (await import('./start.js')).start(ctx),
  stop: async (ctx) => (await import('./stop.js')).stop(ctx),
  monitor: async (ctx) => (await import('./monitor.js')).monitor(ctx),
  status: async (ctx) => (await import('./monitor.js')).monitor(ctx),
  migrate_to: async (ctx) => (await import('./migrate.js')).migrateTo(ctx),
  migrate_from: async (ctx) => (await import('./migrate.js')).migrateFrom(ctx),
  // Every parameter but config (unique: a change restarts the domain) is read afresh by each action.
  reload: async (ctx) => (requireConfig(ctx), OCF.SUCCESS),
  'validate-all': validateAll,
};

/**
 * The console log directory must exist before libvirt starts a domain here, also when the domain
 * arrives by migration (migrate_to runs on the source). Every action but the fast monitor makes
 * sure of it, so the probes Pacemaker runs on every node prepare every possible target.
 */
function ensureConsoleLogDir(ctx: Ctx): void {
  if (!ctx.params) return;
  try {
    ctx.host.ensureDir(ctx.params.console_log_dir);
  } catch (e) {
    ctx.host.log('warn', `cannot create console_log_dir ${ctx.params.console_log_dir}: ${(e as Error).message}`);
  }
}

/**
 * A probe of a domain with RBD disks that have <auth> makes the Ceph clients' libvirt secrets this
 * node lacks (lib/vm/ceph-secret.ts): Pacemaker probes every node when the resource is added and
 * when a node joins, so every node that may start the domain or receive it by migration has them.
 */
async function probeCephSecrets(ctx: Ctx): Promise<void> {
  if (!ctx.probe || !ctx.doc) return;
  const auths = cephAuths(ctx.doc);
  if (auths.length) await (await import('./ceph-secret.js')).secretsForProbe(ctx, auths);
}

/** Runs ACTION on HOST (the real node unless given) and returns its OCF exit code. */
export async function runAction(action: string, env: NodeJS.ProcessEnv, host?: AgentHost): Promise<number> {
  // Pacemaker's timeout runs from the fork: the real agent counts its deadline from its own start,
  // not from here (loading this part took a few hundred ms on a busy node, which the margin for
  // cleaning up then lacked).
  const startedAt = host ? host.now() : Date.now() - process.uptime() * 1000;
  host ??= (await import('../host/agent-host.js')).realHost;
  if (action === 'meta-data') {
    host.print(metadataXml(transientDomainSpec));
    return OCF.SUCCESS;
  }
  if (action === 'usage' || action === 'help') {
    host.print(`${USAGE}\n`);
    return OCF.SUCCESS;
  }
  const fn = ACTIONS[action];
  if (!fn) {
    host.print(`${USAGE}\n`, 'stderr');
    return OCF.ERR_UNIMPLEMENTED;
  }
  let code: number;
  try {
    const ctx = makeContext(action, env, host, startedAt);
    ensureConsoleLogDir(ctx);
    await probeCephSecrets(ctx);
    code = await fn(ctx);
  } catch (e) {
    if (e instanceof OcfError) {
      host.exitReason(e.message);
      code = e.code;
    } else {
      host.exitReason(`${action} failed: ${(e as Error).message}`);
      code = OCF.ERR_GENERIC;
    }
  }
  await host.flush();
  return code;
}
