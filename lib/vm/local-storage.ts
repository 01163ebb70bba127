// storage=local: the domain's file disks live on one node. A start elsewhere is refused (nothing
// would boot from a missing disk: Pacemaker must not try it there again), and migrate_to copies
// the disks live with the memory (libvirt's non-shared-disk migration, an NBD mirror over the
// migration connection), into files libvirt creates on the target through a storage pool for each
// disk's directory. A failed copy leaves the domain running here and removes the target's
// half-made files; a finished one removes the source's copy (unless keep_source_disks).
import { fail } from '../ocf/exit.js';
import { localDisks, type LocalDisk } from '../domain/local-disks.js';
import type { Conn, JobProgress } from '../host/agent-port.js';
import { requireConfig, type Ctx } from './context.js';
import { describe } from './observe.js';

/** The disks to copy when the domain is local, else undefined. Refuses disks it cannot copy. */
export function disksToCopy(ctx: Ctx): LocalDisk[] | undefined {
  const { params, doc, id } = requireConfig(ctx);
  if (params.storage !== 'local') return undefined;
  const { disks, others } = localDisks(doc);
  if (others.length) throw fail.configured(`storage=local copies file disks only; ${id.name}'s ${others.join(', ')} cannot be copied`);
  return disks;
}

/** A start of a local domain where its disk files are not: OCF_ERR_INSTALLED, so Pacemaker never tries this node again. */
export function requireLocalDisks(ctx: Ctx): void {
  const { params, doc, id } = requireConfig(ctx);
  if (params.storage !== 'local') return;
  const missing = localDisks(doc).disks.filter((d) => ctx.host.diskSize(d.file) === undefined);
  if (missing.length) {
    throw fail.installed(`${id.name} has local disks that are not on this node (${missing.map((d) => d.file).join(', ')}): it runs only where they are`);
  }
}

const dirOf = (file: string): string => file.slice(0, file.lastIndexOf('/')) || '/';

/**
 * Before the copy: the target's libvirt has an active pool for every disk directory (so that
 * libvirt creates the files, same size and format), and no stale file of an earlier copy in the way.
 */
export async function prepareTarget(ctx: Ctx, target: Conn, targetNode: string, disks: readonly LocalDisk[]): Promise<void> {
  const { host } = ctx;
  const { id } = requireConfig(ctx);
  for (const dir of [...new Set(disks.map((d) => dirOf(d.file)))]) {
    try {
      const pool = await host.ensureDirPool(target, dir);
      host.log('info', `storage pool ${pool} holds ${dir} on ${targetNode}`);
    } catch (e) {
      throw fail.generic(`cannot prepare ${targetNode} for ${id.name}'s disks in ${dir}: ${(e as Error).message}`);
    }
  }
  let checked = false;
  for (const d of disks) {
    // A file there is a copy an earlier move kept (keep_source_disks): the copy overwrites it,
    // but only a file of this VM's own size and format would do. Never while the domain runs there.
    if (!checked) {
      const there = await host.domstate(target, id.name);
      if (there.kind !== 'absent') throw fail.generic(`${id.name} on ${targetNode}: ${describe(there)}; no disk copied there`);
      checked = true;
    }
    const r = await host.removeVolume(target, d.file);
    if (r.kind === 'removed') host.log('warn', `removed an old copy of ${d.file} on ${targetNode} before copying`);
    else if (r.kind === 'failed') throw fail.generic(`cannot remove an old copy of ${d.file} on ${targetNode}: ${r.message}`);
  }
}

/** After a failed copy, with the domain still here and not there: the target's half-made files go. */
export async function cleanTarget(ctx: Ctx, target: Conn, targetNode: string, disks: readonly LocalDisk[]): Promise<void> {
  const { host } = ctx;
  const { id } = requireConfig(ctx);
  const there = await host.domstate(target, id.name);
  if (there.kind !== 'absent') {
    host.log('warn', `the copies of ${id.name}'s disks on ${targetNode} stay: ${targetNode} says ${describe(there)}`);
    return;
  }
  for (const d of disks) {
    const r = await host.removeVolume(target, d.file);
    if (r.kind === 'removed') host.log('info', `removed the half-made copy of ${d.file} on ${targetNode}`);
    else if (r.kind === 'failed') host.log('warn', `could not remove the half-made copy of ${d.file} on ${targetNode}: ${r.message}`);
  }
}

/** After the domain left for the target: the source's copy goes, unless keep_source_disks. */
/** The bytes of the disk files here (what a copy moves at most). */
export function bytesHere(ctx: Ctx, disks: readonly LocalDisk[]): number {
  return disks.reduce((sum, d) => sum + (ctx.host.diskSize(d.file) ?? 0), 0);
}

export function cleanSource(ctx: Ctx, disks: readonly LocalDisk[]): void {
  const { host } = ctx;
  const { params } = requireConfig(ctx);
  for (const d of disks) {
    if (params.keep_source_disks) {
      host.log('info', `kept the source copy ${d.file} (keep_source_disks)`);
      continue;
    }
    const r = host.removeDisk(d.file);
    if (r.kind === 'removed') host.log('info', `removed the source copy ${d.file}`);
    else if (r.kind === 'failed') host.log('warn', `could not remove the source copy ${d.file}: ${r.message}`);
  }
}

const MiB = 1024 * 1024;

/** Logs the copy's progress every PERIODMS: bytes copied of the disks and memory, and the rate. */
export class CopyProgress {
  private lastLogAt: number;
  private last?: JobProgress;
  private readonly startedAt: number;

  constructor(
    private readonly ctx: Ctx,
    private readonly periodMs = 5000,
  ) {
    this.startedAt = ctx.host.now();
    this.lastLogAt = this.startedAt;
  }

  async sample(conn: Conn, name: string): Promise<void> {
    const { host } = this.ctx;
    if (host.now() - this.lastLogAt < this.periodMs) return;
    this.lastLogAt = host.now();
    const p = await host.jobProgress(conn, name);
    if (!p) return;
    this.last = p;
    host.log('info', `copying ${name}: ${this.words(p)}`);
  }

  private words(p: JobProgress): string {
    const secs = (p.elapsedMs ?? this.ctx.host.now() - this.startedAt) / 1000;
    const disk = p.diskProcessed ?? 0;
    const mem = p.memoryProcessed ?? 0;
    const rate = secs > 0 ? (disk + mem) / MiB / secs : 0;
    const of = (n: number | undefined) => (n ? ` of ${(n / MiB).toFixed(0)}` : '');
    return `disks ${(disk / MiB).toFixed(0)}${of(p.diskTotal)} MiB, memory ${(mem / MiB).toFixed(0)}${of(p.memoryTotal)} MiB, ${rate.toFixed(1)} MiB/s`;
  }

  /** The line for the end of a copy that went through: the disks' size over the whole time. */
  summary(sourceBytes: number): string {
    const secs = (this.ctx.host.now() - this.startedAt) / 1000;
    const bytes = this.last?.diskTotal ?? sourceBytes;
    if (!bytes) return `in ${secs.toFixed(1)} s`;
    return `${(bytes / MiB).toFixed(0)} MiB of disks in ${secs.toFixed(1)} s (${secs > 0 ? (bytes / MiB / secs).toFixed(1) : '?'} MiB/s)`;
  }
}
