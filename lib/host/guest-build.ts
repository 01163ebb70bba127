// The programs that build guest images from Debian packages: apt-cache, apt-get download,
// dpkg-deb, cpio and gzip. Only this module runs them (the lab's test guest in lib/lab/
// test-guest.ts is assembled from these steps); every call passes an argument array, no shell.
import { CorralError } from '../errors.js';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { HostCommandError, run, runOk } from './exec.js';

class GuestBuildError extends CorralError {
  readonly kind = 'failed';
  override name = 'GuestBuildError';
}

const APT_TIMEOUT_MS = 300_000;

/**
 * The package name that metapackage META depends on in its candidate version, e.g.
 * linux-image-cloud-amd64 → linux-image-6.1.0-56-cloud-amd64. PATTERN must match the whole name.
 * Runs `apt-get update` once and retries when apt knows no candidate (fresh machine, no lists).
 */
export async function resolveMetapackage(meta: string, pattern: RegExp): Promise<string> {
  const attempt = async (): Promise<string | undefined> => {
    const r = await run('apt-cache', ['depends', '--no-recommends', '--no-suggests', meta], { timeoutMs: 60_000 });
    if (r.exitCode !== 0) return undefined;
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*Depends:\s*(\S+)\s*$/.exec(line);
      if (m?.[1] && pattern.test(m[1])) return m[1];
    }
    return undefined;
  };
  let name = await attempt();
  if (name === undefined) {
    await runOk('apt-get', ['update'], { timeoutMs: APT_TIMEOUT_MS });
    name = await attempt();
  }
  if (name === undefined) {
    throw new GuestBuildError(`apt offers no package matching ${pattern} as a dependency of ${meta}`);
  }
  return name;
}

/**
 * Downloads the .deb files of PACKAGES (names, optionally name=version) into DIR with
 * `apt-get download`; returns their paths, in the order of PACKAGES.
 */
export async function downloadDebs(packages: readonly string[], dir: string): Promise<string[]> {
  // Sandbox user root: the _apt user could not write into a private build directory.
  await runOk('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', ...packages], {
    cwd: dir,
    timeoutMs: APT_TIMEOUT_MS,
  });
  const files = (await readdir(dir)).filter((f) => f.endsWith('.deb'));
  return packages.map((p) => {
    const name = p.split('=')[0]!;
    const found = files.find((f) => f.startsWith(`${name}_`));
    if (!found) throw new GuestBuildError(`apt-get download left no .deb for ${name} in ${dir}`);
    return join(dir, found);
  });
}

/** A control field of a .deb file (Package, Version, …). */
export async function debField(deb: string, field: string): Promise<string> {
  const r = await runOk('dpkg-deb', ['--field', deb, field], { timeoutMs: 30_000 });
  return r.stdout.trim();
}

/** Unpacks the files of DEB into DIR (`dpkg-deb -x`). */
export async function extractDeb(deb: string, dir: string): Promise<void> {
  await runOk('dpkg-deb', ['-x', deb, dir], { timeoutMs: 120_000 });
}

/**
 * Packs the tree ROOT into a gzip-compressed newc cpio archive OUT (an initramfs). Entries are
 * owned by root whoever builds, in sorted order; devices and special files are not expected.
 */
export async function packInitramfs(root: string, out: string): Promise<void> {
  if (!out.endsWith('.gz')) throw new GuestBuildError(`initramfs name must end in .gz: ${out}`);
  const entries = await listTree(root);
  const cpioFile = out.slice(0, -'.gz'.length);
  try {
    await runOk('cpio', ['--create', '--format=newc', '--reproducible', '--owner=0:0', '--quiet', `--file=${cpioFile}`], {
      cwd: root,
      input: entries.join('\n') + '\n',
      timeoutMs: 120_000,
    });
    await runOk('gzip', ['-9', '-n', '-f', cpioFile], { timeoutMs: 120_000 });
  } catch (e) {
    if (e instanceof HostCommandError) throw new GuestBuildError(`packing ${root} into ${out}: ${e.message}`);
    throw e;
  }
}

/** Relative paths of everything under ROOT, each directory before its contents. */
async function listTree(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  const dirents = await readdir(join(root, rel), { withFileTypes: true });
  dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of dirents) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    out.push(p);
    if (d.isDirectory()) out.push(...(await listTree(root, p)));
  }
  return out;
}
