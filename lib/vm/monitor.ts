// monitor (and probes): the full check behind the fast path, asking libvirt. "Not running" only on
// evidence (safety rule 1); a broken configuration with nothing recorded is a configuration error.
import { fail, OCF, type OcfCode } from '../ocf/exit.js';
import { log } from '../ocf/log.js';
import { knownIdentity, type Ctx } from './context.js';
import { observe } from './observe.js';

export async function monitor(ctx: Ctx): Promise<OcfCode> {
  const id = knownIdentity(ctx);
  if (!id) throw fail.configured(`invalid domain XML: ${ctx.configError}`);
  const o = await observe(ctx.virsh, id);
  switch (o.kind) {
    case 'running':
      if (!o.viaLibvirt) log('warn', `${id.name} runs but libvirt is unreachable: ${o.state}`);
      if (!ctx.doc) log('warn', `${id.name} runs, but its configuration is invalid: ${ctx.configError}`);
      return OCF.SUCCESS;
    case 'stopped':
      if (!ctx.doc) throw fail.configured(`invalid domain XML: ${ctx.configError}`);
      return OCF.NOT_RUNNING;
    case 'crashed':
      throw fail.generic(`domain ${id.name} has crashed`);
    default:
      throw fail.generic(o.why);
  }
}
