// What the authoring commands (domadd, domdel, fixup_domxml, nodecap, create_domxml) read from
// where they run: the CIB they target (the live cluster, or CIB_file), where Pacemaker runs a
// resource, the disks this node sees, libvirt's schema, what Ceph says about an RBD image. The
// commands reach lib/host only through here and lib/cli/cib-change.ts (docs/ARCHITECTURE.md:
// scripts import lib/cli, lib/ops and the pure models), so each of these is read the same way by
// every command.
import { Cib } from '../cib/model.js';
import { CibUnreachableError, cibTarget, queryCib } from '../host/pacemaker/cib.js';
import { locateResource } from '../host/pacemaker/resources.js';

export { cibTarget };
export { nodeDiskIds } from '../host/disk-identity.js';
export { validateDomainXml } from '../host/virt-xml-validate.js';
export { rbdImageState } from '../host/ceph.js';

/** The CIB the command works on, read once. */
export async function readCib(): Promise<Cib> {
  return Cib.parse(await queryCib());
}

/** The CIB the command works on, or undefined when no cluster is reachable (and no CIB_file is given). */
export async function readCibIfReachable(): Promise<Cib | undefined> {
  try {
    return await readCib();
  } catch (e) {
    if (e instanceof CibUnreachableError) return undefined;
    throw e;
  }
}

/** The nodes where Pacemaker says resource ID runs; none when it cannot say (the plan then does). */
export function runningNodes(id: string): Promise<string[]> {
  return locateResource(id).catch(() => [] as string[]);
}
