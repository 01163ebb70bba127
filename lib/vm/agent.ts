// TransientDomain's actions: a map from OCF action to the code in lib/vm, with OCF exit codes,
// exit reasons and logging. Loaded only when the fast monitor could not answer.
import { mkdirSync } from 'node:fs';
import { fail, OCF, OcfError, type OcfCode } from '../ocf/exit.js';
import { exitReason, flushLogs, log } from '../ocf/log.js';
import { metadataXml } from '../ocf/params.js';
import { makeContext, requireConfig, type Ctx } from './context.js';
import { transientDomainSpec } from '../ocf/transient-domain.js';

const USAGE = `usage: TransientDomain {start|stop|monitor|status|migrate_to|migrate_from|reload|meta-data|validate-all|usage}
A libvirt transient domain whose XML lives in the CIB (OCF_RESKEY_config). See meta-data.`;

async function validateAll(ctx: Ctx): Promise<OcfCode> {
  const { doc } = requireConfig(ctx);
  const ignored = (transientDomainSpec.ignored ?? []).filter((n) => ctx.env[`OCF_RESKEY_${n}`] !== undefined);
  if (ignored.length) log('warn', `ignoring VirtualDomain parameters that do not apply to transient domains: ${ignored.join(', ')}`);
  const { run } = await import('../host/exec.js');
  const v = await run('virsh', ['--version'], { timeoutMs: 5000 });
  if (v.failedToStart || v.exitCode !== 0) {
    throw fail.installed('virsh (libvirt-clients) is not installed');
  }
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
    mkdirSync(ctx.params.console_log_dir, { recursive: true, mode: 0o750 });
  } catch (e) {
    log('warn', `cannot create console_log_dir ${ctx.params.console_log_dir}: ${(e as Error).message}`);
  }
}

export async function runAction(action: string, env: NodeJS.ProcessEnv): Promise<number> {
  if (action === 'meta-data') {
    process.stdout.write(metadataXml(transientDomainSpec));
    return OCF.SUCCESS;
  }
  if (action === 'usage' || action === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return OCF.SUCCESS;
  }
  const fn = ACTIONS[action];
  if (!fn) {
    process.stderr.write(`${USAGE}\n`);
    return OCF.ERR_UNIMPLEMENTED;
  }
  let code: number;
  try {
    const ctx = makeContext(action, env);
    ensureConsoleLogDir(ctx);
    code = await fn(ctx);
  } catch (e) {
    if (e instanceof OcfError) {
      exitReason(e.message);
      code = e.code;
    } else {
      exitReason(`${action} failed: ${(e as Error).message}`);
      code = OCF.ERR_GENERIC;
    }
  }
  await flushLogs();
  return code;
}
