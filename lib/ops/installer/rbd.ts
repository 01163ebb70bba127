// mk_debian_installer rbd:POOL/IMAGE: the image is built as a sparse file in a private directory
// under /var/tmp (both modes, exactly as for a file), then imported into Ceph with `rbd import`,
// which skips runs of zeros, so only what the system wrote crosses the network; the file goes
// afterwards, whatever happened. Chosen over writing through QEMU's RBD driver (qemu-nbd and a
// kernel NBD device, which this kind of host may lack) or a kernel mapping (rbd map, the same):
// nothing but the rbd CLI touches Ceph. Ceph is reached as corral.conf's ceph_client (else admin)
// through ceph_monitors (else ceph.conf). The image must not exist yet: checked before the build,
// and an import that finds one there leaves it alone; a failed or interrupted import removes the
// half-made image.
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { CorralError } from '../../errors.js';
import { rbdImageState, rbdImport, rbdRemove, type RbdAccess } from '../../host/ceph.js';
import type { MkOptions, MkResult, Say } from './common.js';

class Refused extends CorralError {
  readonly kind = 'refused';
}
class NotInstalled extends CorralError {
  readonly kind = 'not-installed';
}
class CephUnanswered extends CorralError {
  readonly kind = 'unreachable';
}
class ImportFailed extends CorralError {
  readonly kind = 'failed';
}

const PREFIX = 'rbd:';
const NAME = /^([A-Za-z0-9_][A-Za-z0-9_.-]*)\/([A-Za-z0-9_][A-Za-z0-9_.-]*)$/;

/** POOL/IMAGE when DISK is rbd:POOL/IMAGE; undefined for any other disk. Refuses a malformed one. */
export function rbdTarget(disk: string): string | undefined {
  if (!disk.startsWith(PREFIX)) return undefined;
  const name = disk.slice(PREFIX.length);
  if (!NAME.test(name)) throw new Refused(`DISK ${JSON.stringify(disk)}: an RBD image is rbd:POOL/IMAGE (letters, digits, _ . -)`);
  return name;
}

/** Builds O's system for the RBD image NAME with BUILD (the file run) and imports it. */
export async function mkOnRbd(o: MkOptions, name: string, access: RbdAccess, say: Say, build: (o: MkOptions, say: Say) => Promise<MkResult>): Promise<MkResult> {
  const started = Date.now();
  if (o.size === undefined) throw new Refused(`--size: rbd:${name} is made new; give its size, e.g. --size 8g`);
  const state = await rbdImageState(name, access);
  if (state.kind === 'no-tool') throw new NotInstalled('missing on this host: rbd (apt-get install ceph-common)');
  if (state.kind === 'unknown') throw new CephUnanswered(`cannot ask Ceph about ${name}: ${state.message}`);
  if (state.kind === 'present') throw new Refused(`rbd:${name} exists already${state.watchers.length ? ` and is open (${state.watchers.join(', ')})` : ''}; mk_debian_installer makes a new image (rbd rm it first, or choose another name)`);

  const dir = await mkdtemp('/var/tmp/mk_debian_installer-rbd.');
  try {
    const file = path.join(dir, 'image.raw');
    say(`building rbd:${name} in ${file} first`);
    const r = await build({ ...o, disk: file }, say);
    say(`importing ${file} into rbd:${name}${access.client ? ` as client.${access.client}` : ''}`);
    const t = Date.now();
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
    try {
      await rbdImport(file, name, access, { timeoutMs: 3_600_000, cancel: controller.signal });
    } catch (e) {
      if ((e as { exists?: boolean }).exists) throw new Refused(`rbd:${name} was made by someone else meanwhile; it is left alone (${(e as Error).message})`);
      const left = await rbdRemove(name, access);
      throw new ImportFailed(`${controller.signal.aborted ? 'interrupted' : (e as Error).message}; ${left ? `the half-made image could not be removed: ${left}` : `no rbd:${name} left behind`}`);
    } finally {
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, onSignal);
    }
    say(`imported into rbd:${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    return { ...r, disk: `rbd:${name}`, seconds: (Date.now() - started) / 1000 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
