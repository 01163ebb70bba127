// A disk mk_debian_installer is asked to write (a block device or an image file): what it is, how
// big, whether it holds anything (a partition table or a file-system signature: wipefs), and who
// uses it: mounted (its device or a partition of it in /proc/self/mountinfo), attached to a loop
// device, held open by a process (/proc/PID/fd), held by the kernel (device-mapper, md: holders,
// an exclusive open that fails).
import { constants } from 'node:fs';
import { open, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { run } from './exec.js';

export interface DiskInfo {
  /** The path as given. */
  path: string;
  kind: 'file' | 'block';
  sizeBytes: number;
  /** A block device's major:minor. */
  devnum?: string;
  /** A file's device and inode. */
  dev?: number;
  ino?: number;
}

/** A device number as major:minor (Linux's encoding). */
export function devnumOf(rdev: number): string {
  return `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00)}`;
}

/** DISK as it is now, or undefined when there is nothing at that path. Throws for other kinds. */
export async function inspectDisk(path: string): Promise<DiskInfo | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (st.isFile()) return { path, kind: 'file', sizeBytes: st.size, dev: st.dev, ino: st.ino };
  if (st.isBlockDevice()) {
    const devnum = devnumOf(st.rdev);
    const size = Number((await readFile(`/sys/dev/block/${devnum}/size`, 'utf8')).trim()) * 512;
    return { path, kind: 'block', sizeBytes: size, devnum };
  }
  throw new DiskKindError(path);
}

export class DiskKindError extends Error {
  constructor(path: string) {
    super(`${path} is neither a block device nor a regular file`);
  }
}

/** The signatures on DISK (partition tables, file systems, RAID, LVM …), as wipefs lists them. */
export async function diskSignatures(path: string): Promise<string[]> {
  const r = await run('wipefs', ['--no-act', '--json', path], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new Error(`wipefs ${path}: ${r.stderr.trim()}`);
  if (r.stdout.trim() === '') return [];
  const j = JSON.parse(r.stdout) as { signatures?: { type?: string; offset?: string }[] };
  return (j.signatures ?? []).map((s) => `${s.type ?? '?'} at ${s.offset ?? '?'}`);
}

/** major:minor of the partitions of a block device (from sysfs). */
async function partitionDevnums(devnum: string): Promise<string[]> {
  const base = `/sys/dev/block/${devnum}`;
  const out: string[] = [];
  for (const e of await readdir(base).catch(() => [] as string[])) {
    const dev = await readFile(`${base}/${e}/dev`, 'utf8').catch(() => undefined);
    const isPart = await stat(`${base}/${e}/partition`).then(() => true, () => false);
    if (dev && isPart) out.push(dev.trim());
  }
  return out;
}

/** Loop devices whose backing file is FILE (dev/ino), as /dev/loopN. */
async function loopsBackedBy(file: { dev?: number; ino?: number }): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir('/sys/block').catch(() => [] as string[])) {
    if (!e.startsWith('loop')) continue;
    const backing = (await readFile(`/sys/block/${e}/loop/backing_file`, 'utf8').catch(() => '')).trim();
    if (!backing) continue;
    const st = await stat(backing.replace(/ \(deleted\)$/, '')).catch(() => undefined);
    if (st && st.dev === file.dev && st.ino === file.ino) out.push(`/dev/${e}`);
  }
  return out;
}

/** Everything that uses DISK now, one phrase each ("mounted on /mnt", "held open by 1234 (qemu)"); empty: free. */
export async function diskUsers(d: DiskInfo): Promise<string[]> {
  const users: string[] = [];
  const devnums = new Set<string>();
  if (d.kind === 'block' && d.devnum) {
    devnums.add(d.devnum);
    for (const p of await partitionDevnums(d.devnum)) devnums.add(p);
    for (const dn of devnums) {
      const holders = await readdir(`/sys/dev/block/${dn}/holders`).catch(() => [] as string[]);
      for (const h of holders) users.push(`held by the kernel's /dev/${h} (device-mapper, RAID or a loop device)`);
    }
  } else {
    for (const loop of await loopsBackedBy(d)) {
      users.push(`attached to ${loop}`);
      const st = await stat(loop).catch(() => undefined);
      if (st) {
        const dn = devnumOf(st.rdev);
        devnums.add(dn);
        for (const p of await partitionDevnums(dn)) devnums.add(p);
      }
    }
  }
  // Mounted, here or in another mount namespace we can see through a process (lab nodes, containers).
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  for (const line of mounts.split('\n')) {
    const f = line.split(' ');
    if (f[2] && devnums.has(f[2])) users.push(`mounted on ${f[4]}`);
  }
  // Open in a process.
  for (const pidName of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pidName) || Number(pidName) === process.pid) continue;
    const fdDir = `/proc/${pidName}/fd`;
    const fds = await readdir(fdDir).catch(() => [] as string[]);
    for (const fd of fds) {
      const st = await stat(`${fdDir}/${fd}`).catch(() => undefined);
      if (!st) continue;
      const hit =
        (d.kind === 'file' && st.isFile() && st.dev === d.dev && st.ino === d.ino) ||
        (st.isBlockDevice() && devnums.has(devnumOf(st.rdev)));
      if (hit) {
        const comm = (await readFile(`/proc/${pidName}/comm`, 'utf8').catch(() => '?')).trim();
        const target = await readlink(`${fdDir}/${fd}`).catch(() => d.path);
        users.push(`held open by process ${pidName} (${comm}) as ${target}`);
        break;
      }
    }
  }
  // The kernel's own claim on a block device (mounted elsewhere, swap, a holder): O_EXCL fails with EBUSY.
  if (d.kind === 'block' && users.length === 0) {
    try {
      const h = await open(d.path, constants.O_RDONLY | constants.O_EXCL);
      await h.close();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EBUSY') users.push('busy (the kernel refuses an exclusive open: mounted, swap or in use by a driver)');
    }
  }
  return [...new Set(users)];
}
