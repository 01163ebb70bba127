// domadd's and fixup_domxml's check of a VM's RBD images against Ceph, at the input's edge: every
// image the VM writes to must exist, and no other client may have it open (`rbd status` shows a
// watcher: another VM's QEMU, a kernel mapping, an rbd-nbd) unless that client is this VM's own
// running copy (domadd --replace of a running VM: its QEMU on the node where Pacemaker runs it).
// Disks marked <shareable/> or <readonly/>, CD-ROMs and floppies may be open elsewhere. Ceph is
// asked as the disk's own client (<auth username>, its keyring in /etc/ceph) through the monitors
// the disk names (else the node's ceph.conf), with a bound; a Ceph that does not answer is exit 3,
// a machine without rbd (ceph-common) a warning (nothing here can check).
import { lookup } from 'node:dns/promises';
import { UsageError } from './errors.js';
import { CorralError } from '../errors.js';
import { rbdDisks } from '../domain/rbd.js';
import type { DomainDoc } from '../domain/doc.js';
import { rbdImageState } from './target.js';

class CephUnansweredError extends CorralError {
  readonly kind = 'unreachable';
  override name = 'CephUnansweredError';
}

/** The addresses NODES resolve to here (the cluster's node names), for telling a VM's own QEMU among an image's watchers. */
async function addressesOf(nodes: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const n of nodes) {
    for (const a of await lookup(n, { all: true }).catch(() => [])) out.add(a.address);
  }
  return out;
}

/**
 * Refuses (UsageError, exit 2) DOC's RBD images that do not exist or that another client has open;
 * RUNNINGON says where this VM runs now (its own QEMU's watch is allowed there; asked only when an
 * image has a watcher). Returns warnings for what could not be checked; throws exit 3 when Ceph
 * does not answer.
 */
export async function checkRbdImages(doc: DomainDoc, runningOn: () => Promise<readonly string[]>): Promise<string[]> {
  const disks = rbdDisks(doc).filter((d) => !d.shared);
  if (!disks.length) return [];
  const warnings: string[] = [];
  const problems: string[] = [];
  let own: Set<string> | undefined;
  let running: readonly string[] = [];
  for (const d of disks) {
    const s = await rbdImageState(d.name, { ...(d.username ? { client: d.username } : {}), monitors: d.monitors });
    if (s.kind === 'no-tool') {
      warnings.push(`${d.target}: RBD image ${d.name} not checked: rbd (ceph-common) is not installed here`);
    } else if (s.kind === 'unknown') {
      throw new CephUnansweredError(`cannot ask Ceph about ${doc.name}'s RBD image ${d.name} (${d.target}): ${s.message}`);
    } else if (s.kind === 'absent') {
      problems.push(`${d.target}: the RBD image ${d.name} does not exist (rbd create or rbd import it first, or correct the name)`);
    } else if (s.watchers.length) {
      if (!own) {
        running = await runningOn();
        own = await addressesOf(running);
      }
      const others = s.watchers.filter((w) => !own?.has(w));
      if (others.length) {
        problems.push(
          `${d.target}: the RBD image ${d.name} is open by another client (rbd status: watcher${others.length > 1 ? 's' : ''} at ${others.join(', ')})${running.length ? `, not ${doc.name}'s own QEMU on ${running.join(', ')}` : ''}: two writers destroy it; stop that VM or unmap it first`,
        );
      }
    }
  }
  if (problems.length) throw new UsageError(`${doc.name}: refused, nothing changed:\n  ${problems.join('\n  ')}`);
  return warnings;
}
