// Finding this resource's domain on this node without its configuration (broken, missing, or not
// a readable file): stop and monitor still have to answer for it (safety rules 1 and 2).
import { DomainDoc } from '../domain/doc.js';
import { knownIdentity, type Ctx } from './context.js';
import { ownerOf } from './prepare.js';
import type { Identity } from '../host/agent-port.js';

/**
 * The domain whose owner metadata (added by start, see prepare.ts) names this resource, or
 * undefined when libvirt listed every domain it has and none is this resource's. Throws, with a
 * sentence saying why, when that cannot be told: libvirt does not answer, or the resource has no
 * name to look for (OCF_RESOURCE_INSTANCE unset: ctx.resource is then only a guess).
 */
async function findByOwner(ctx: Ctx): Promise<Identity | undefined> {
  if (!ctx.env.OCF_RESOURCE_INSTANCE) throw new Error('OCF_RESOURCE_INSTANCE is not set, so no domain can be recognised as this resource\'s');
  let names: string[];
  try {
    names = await ctx.host.listNames(ctx.conn);
  } catch (e) {
    throw new Error(`libvirt cannot list its domains: ${(e as Error).message}`);
  }
  for (const name of names) {
    let xml: string;
    try {
      xml = await ctx.host.dumpxml(ctx.conn, name);
    } catch (e) {
      // A domain that went away between the list and the dump is not ours to worry about; any
      // other failure leaves us without proof.
      if ((await ctx.host.domstate(ctx.conn, name)).kind === 'absent') continue;
      throw new Error(`libvirt cannot show domain ${name}: ${(e as Error).message}`);
    }
    if (ownerOf(DomainDoc.parse(xml)) === ctx.resource) return { name };
  }
  return undefined;
}

/**
 * This resource's domain here: from the configuration, or what start recorded, or the owner
 * metadata. undefined only on libvirt's word that there is none; throws when that cannot be told.
 */
export async function locate(ctx: Ctx): Promise<Identity | undefined> {
  return knownIdentity(ctx) ?? (await findByOwner(ctx));
}
