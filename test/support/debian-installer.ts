// What mk_debian_installer's tests share: the command as built, a Debian installer (netboot linux
// and initrd.gz of debian-installer-12-netboot-amd64, fetched once with apt-get download into
// /var/cache/corral/di/bookworm), and a look inside an image file (attached read-only, mounted,
// always detached again).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const ROOT = new URL('../..', import.meta.url).pathname;
export const MKDI = path.join(ROOT, 'dist/bin/mk_debian_installer');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs mk_debian_installer (as built) with ARGS. */
export function mkdi(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 1_200_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(MKDI, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

const DI_DIR = '/var/cache/corral/di/bookworm';

/** A directory with bookworm's netboot installer (linux, initrd.gz). */
export async function ensureDebianInstaller(): Promise<string> {
  const have = await Promise.all(['linux', 'initrd.gz'].map((f) => stat(path.join(DI_DIR, f)).then(() => true, () => false)));
  if (have.every(Boolean)) return DI_DIR;
  const tmp = await mkdtemp('/var/tmp/corral-di.');
  try {
    await exec('apt-get', ['download', 'debian-installer-12-netboot-amd64'], { cwd: tmp, timeout: 600_000 });
    const deb = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download debian-installer-12-netboot-amd64 gave no .deb');
    await exec('dpkg-deb', ['-x', path.join(tmp, deb), path.join(tmp, 'x')], { timeout: 300_000 });
    const src = path.join(tmp, 'x/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64');
    await mkdir(path.dirname(DI_DIR), { recursive: true });
    const staged = `${DI_DIR}.new`;
    await rm(staged, { recursive: true, force: true });
    await mkdir(staged);
    for (const f of ['linux', 'initrd.gz']) await rename(path.join(src, f), path.join(staged, f));
    await rm(DI_DIR, { recursive: true, force: true });
    await rename(staged, DI_DIR);
    return DI_DIR;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Runs FN with partition PART of IMAGE mounted read-only; the loop device is detached afterwards. */
export async function withMounted<T>(image: string, part: number, fn: (dir: string, loop: string) => Promise<T>): Promise<T> {
  const loop = (await exec('losetup', ['--find', '--show', '--partscan', '--read-only', image])).stdout.trim();
  const dir = await mkdtemp('/var/tmp/corral-mkdi-look.');
  try {
    await exec('partx', ['--update', loop]).catch(() => undefined);
    for (let i = 0; i < 50 && !(await stat(`${loop}p${part}`).then(() => true, () => false)); i++) {
      if (i === 10) await exec('partx', ['--add', loop]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
    await exec('mount', ['-o', 'ro', `${loop}p${part}`, dir]);
    try {
      return await fn(dir, loop);
    } finally {
      await exec('umount', [dir]);
    }
  } finally {
    await exec('losetup', ['--detach', loop]);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Loop devices attached to FILE (losetup -j). */
export async function loopsOf(file: string): Promise<string[]> {
  const r = await exec('losetup', ['--associated', file]);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.split(':')[0] as string);
}

/** Mount points under /run/mk_debian_installer.* (the command's work directories). */
export async function leftoverMounts(): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith('/run/mk_debian_installer.'));
}

/** Work directories the command left in /run. */
export async function leftoverWorkDirs(): Promise<string[]> {
  return (await readdir('/run')).filter((f) => f.startsWith('mk_debian_installer.'));
}
