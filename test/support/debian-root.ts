// A stock Debian 12 root for testing the package the way an operator installs it: made once by
// `mmdebstrap --variant=apt bookworm` (about a minute) and cached as a tarball under
// /var/cache/corral/deb-test, unpacked afresh for each test file, used with chroot. The .deb files
// apt downloads are kept in the same cache (hard links), so a second run downloads nothing.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const CACHE = '/var/cache/corral/deb-test';
const TARBALL = join(CACHE, 'bookworm-apt.tar');
const ARCHIVES = join(CACHE, 'archives');

export interface DebianRoot {
  dir: string;
  /** Runs a shell command inside the root (chroot), with a bounded time; never throws. */
  sh(script: string, timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Keeps what apt downloaded, unmounts /proc and removes the root. */
  remove(): Promise<void>;
}

async function mountpointsUnder(dir: string): Promise<string[]> {
  const { stdout } = await exec('findmnt', ['-rn', '-o', 'TARGET']);
  return stdout.split('\n').filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** The cached tarball, made with mmdebstrap when missing; returns how long making it took (0: cached). */
export async function ensureTarball(): Promise<number> {
  if (existsSync(TARBALL)) return 0;
  await mkdir(CACHE, { recursive: true });
  const t0 = Date.now();
  const tmp = `${TARBALL}.${process.pid}.tmp`;
  await exec('mmdebstrap', ['--quiet', '--variant=apt', '--format=tar', 'bookworm', tmp], { timeout: 600_000, maxBuffer: 64 << 20 });
  await rename(tmp, TARBALL);
  return Date.now() - t0;
}

export async function debianRoot(): Promise<DebianRoot> {
  await ensureTarball();
  await mkdir(ARCHIVES, { recursive: true });
  const dir = await mkdtemp('/tmp/corral-debroot-');
  await exec('tar', ['-xf', TARBALL, '-C', dir], { timeout: 120_000 });
  await copyFile('/etc/resolv.conf', join(dir, 'etc/resolv.conf')).catch(() => undefined);
  const archives = join(dir, 'var/cache/apt/archives');
  await mkdir(archives, { recursive: true });
  for (const f of (await readdir(ARCHIVES)).filter((n) => n.endsWith('.deb'))) await link(join(ARCHIVES, f), join(archives, f)).catch(() => undefined);
  await exec('mount', ['-t', 'proc', 'proc', join(dir, 'proc')]);
  const sh = async (script: string, timeoutMs = 300_000) => {
    try {
      const r = await exec('chroot', [dir, '/bin/sh', '-c', script], {
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive', HOME: '/root' },
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? String(e) };
    }
  };
  const remove = async () => {
    for (const f of (await readdir(archives).catch(() => [] as string[])).filter((n) => n.endsWith('.deb') && !n.startsWith('corral_'))) {
      if (!existsSync(join(ARCHIVES, f))) await link(join(archives, f), join(ARCHIVES, f)).catch(() => undefined);
    }
    for (const m of (await mountpointsUnder(dir)).reverse()) await exec('umount', ['-l', m]).catch(() => undefined);
    const still = await mountpointsUnder(dir);
    if (still.length) throw new Error(`not removing ${dir}: still mounted: ${still.join(' ')}`);
    await rm(dir, { recursive: true, force: true });
  };
  return { dir, sh, remove };
}
