// monitor (and probes): the full check behind the fast path, asking libvirt. "Not running" only on
// evidence (safety rule 1).
//
// With a configuration that is broken, missing or not a readable file, the domain is found as a
// stop finds it (locate.ts: what start recorded, else the owner metadata libvirt holds):
// - it runs: success, with a warning (the domain is healthy; a later start or migration will
//   refuse the configuration);
// - libvirt proves no domain of this resource is here: a probe answers "not running", as
//   resource-agents' agents do, so a node where the configuration cannot be read does not fail
//   its probes; a recurring monitor answers OCF_ERR_CONFIGURED, since nothing could start the
//   domain again;
// - no proof either way (libvirt does not answer, the resource has no name): an error.
import { fail, OCF, type OcfCode } from '../ocf/exit.js';
import type { Ctx } from './context.js';
import { locate } from './locate.js';
import { observe } from './observe.js';
import type { Identity } from '../host/agent-port.js';

/** No domain of this resource is here (EVIDENCE says how we know) and the configuration is unusable. */
function goneWithoutConfig(ctx: Ctx, evidence: string): OcfCode {
  const why = ctx.configError ?? 'invalid domain XML';
  if (!ctx.probe) throw fail.configured(why);
  ctx.host.log('info', `${why}; probe: ${evidence}, so ${ctx.resource} is not running here`);
  return OCF.NOT_RUNNING;
}

export async function monitor(ctx: Ctx): Promise<OcfCode> {
  let id: Identity | undefined;
  try {
    id = await locate(ctx);
  } catch (e) {
    throw fail.generic(`${ctx.configError ?? 'invalid domain XML'}; cannot tell whether a domain of ${ctx.resource} runs here: ${(e as Error).message}`);
  }
  if (!id) return goneWithoutConfig(ctx, `libvirt has no domain whose metadata names ${ctx.resource}`);
  const o = await observe(ctx, id);
  switch (o.kind) {
    case 'running':
      if (!o.viaLibvirt) ctx.host.log('warn', `${id.name} runs but libvirt is unreachable: ${o.state}`);
      if (!ctx.doc) ctx.host.log('warn', `${id.name} runs, but its configuration is unusable: ${ctx.configError}`);
      return OCF.SUCCESS;
    case 'stopped':
      return ctx.doc ? OCF.NOT_RUNNING : goneWithoutConfig(ctx, `domain ${id.name} is not here (${o.why})`);
    case 'crashed':
      throw fail.generic(`domain ${id.name} has crashed`);
    default:
      throw fail.generic(o.why);
  }
}
