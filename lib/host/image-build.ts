// The programs mk_debian_installer runs to write a disk: losetup, partx, sfdisk, wipefs, mkfs,
// mount/umount, debootstrap, chroot (apt-get, grub-install, update-grub, systemctl), tar, openssl.
// Argument arrays only, no shell. Every call takes the run's cancel signal: an interrupted run
// ends the program and everything it started (lib/host/exec.ts), then cleans up.
import { access, readFile, readdir, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, runOk, type RunOptions } from './exec.js';

export interface Ctl {
  cancel: AbortSignal;
}

const QUICK = 60_000;
const LONG = 1_800_000;

const opts = (ctl: Ctl, extra: RunOptions = {}): RunOptions => ({ timeoutMs: QUICK, cancel: ctl.cancel, ...extra });

/** Attaches FILE_OR_DEVICE to a free loop device with partition scanning; returns /dev/loopN. */
export async function attachLoop(ctl: Ctl, path: string): Promise<string> {
  const r = await runOk('losetup', ['--find', '--show', '--partscan', path], opts(ctl));
  const dev = r.stdout.trim();
  if (!/^\/dev\/loop\d+$/.test(dev)) throw new Error(`losetup printed ${JSON.stringify(dev)}, not a loop device`);
  return dev;
}

export async function detachLoop(dev: string): Promise<void> {
  await runOk('losetup', ['--detach', dev], { timeoutMs: QUICK });
}

/** The kernel's view of LOOP's partitions brought up to date; waits until /dev/LOOPpN exist. */
export async function loopPartitions(ctl: Ctl, loop: string, count: number): Promise<string[]> {
  // Without udev (containers, lab nodes), partition scanning can leave the nodes missing: partx adds them.
  await run('partx', ['--update', loop], opts(ctl));
  const parts = Array.from({ length: count }, (_, i) => `${loop}p${i + 1}`);
  for (let i = 0; i < 50; i++) {
    const there = await Promise.all(parts.map((p) => stat(p).then((s) => s.isBlockDevice(), () => false)));
    if (there.every(Boolean)) return parts;
    if (i === 10) await run('partx', ['--add', loop], opts(ctl));
    await sleep(100);
  }
  throw new Error(`the partitions of ${loop} did not appear (${parts.join(', ')})`);
}

export async function wipeSignatures(ctl: Ctl, dev: string): Promise<void> {
  await runOk('wipefs', ['--all', '--quiet', dev], opts(ctl));
}

export async function writePartitionTable(ctl: Ctl, dev: string, script: string): Promise<void> {
  await runOk('sfdisk', ['--quiet', '--wipe', 'always', dev], opts(ctl, { input: script }));
}

export async function mkfsExt4(ctl: Ctl, dev: string, uuid: string, label: string): Promise<void> {
  await runOk('mkfs.ext4', ['-q', '-F', '-U', uuid, '-L', label, dev], opts(ctl, { timeoutMs: 300_000 }));
}

/** vfat with volume id VOLID (8 hex digits), shown by blkid as XXXX-XXXX. */
export async function mkfsVfat(ctl: Ctl, dev: string, volid: string, label: string): Promise<void> {
  await runOk('mkfs.vfat', ['-F', '32', '-i', volid, '-n', label, dev], opts(ctl));
}

export async function mount(ctl: Ctl, args: readonly string[]): Promise<void> {
  await runOk('mount', args, opts(ctl));
}

/** Unmounts TARGET; when it stays busy, detaches it lazily (cleanup must not leave it mounted). */
export async function umount(target: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const r = await run('umount', [target], { timeoutMs: QUICK });
    if (r.exitCode === 0 || /not mounted|no mount point/.test(r.stderr)) return;
    await sleep(200);
  }
  await runOk('umount', ['--lazy', target], { timeoutMs: QUICK });
}

export interface DebootstrapOptions {
  suite: string;
  target: string;
  mirror: string;
  include: readonly string[];
  cacheDir: string;
}

/** debootstrap --variant=minbase, its downloaded packages kept in CACHEDIR. */
export async function debootstrap(ctl: Ctl, o: DebootstrapOptions): Promise<void> {
  await runOk(
    'debootstrap',
    ['--variant=minbase', `--include=${o.include.join(',')}`, `--cache-dir=${o.cacheDir}`, '--arch=amd64', o.suite, o.target, o.mirror],
    opts(ctl, { timeoutMs: LONG }),
  );
}

export async function debootstrapKnows(suite: string): Promise<boolean> {
  return access(`/usr/share/debootstrap/scripts/${suite}`).then(() => true, () => false);
}

const CHROOT_ENV = {
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
  LANG: 'C.UTF-8',
  LC_ALL: 'C.UTF-8',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
};

/** Runs FILE ARGS inside the system at ROOT (chroot), non-interactively. */
export async function inChroot(ctl: Ctl, root: string, file: string, args: readonly string[], o: { input?: string; timeoutMs?: number } = {}): Promise<void> {
  await runOk('chroot', [root, file, ...args], opts(ctl, { env: CHROOT_ENV, timeoutMs: o.timeoutMs ?? LONG, ...(o.input !== undefined ? { input: o.input } : {}) }));
}

/** Runs a hook (the --post-install script) with ENV, bounded. */
export async function runHook(ctl: Ctl, file: string, env: Record<string, string>): Promise<void> {
  await runOk(file, [], opts(ctl, { env, timeoutMs: LONG, cwd: '/' }));
}

/** tar of ROOT (owners, modes, ACLs, xattrs kept) into FILE. */
export async function tarCreate(ctl: Ctl, root: string, file: string, exclude: readonly string[]): Promise<void> {
  await runOk(
    'tar',
    ['--create', '--file', file, '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--one-file-system', ...exclude.map((e) => `--exclude=${e}`), '-C', root, '.'],
    opts(ctl, { timeoutMs: LONG }),
  );
}

export async function tarExtract(ctl: Ctl, file: string, root: string): Promise<void> {
  await runOk('tar', ['--extract', '--file', file, '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--preserve-permissions', '-C', root], opts(ctl, { timeoutMs: LONG }));
}

/** crypt(3) SHA-512 hash of PASSWORD (openssl passwd -6; the password goes on stdin). */
export async function hashPassword(ctl: Ctl, password: string): Promise<string> {
  const r = await runOk('openssl', ['passwd', '-6', '-stdin'], opts(ctl, { input: `${password}\n` }));
  return r.stdout.trim();
}

/** The host's apt sources (sources.list and sources.list.d/*), as texts. */
export async function hostAptSources(): Promise<string[]> {
  const texts: string[] = [];
  const main = await readFile('/etc/apt/sources.list', 'utf8').catch(() => undefined);
  if (main) texts.push(main);
  const d = '/etc/apt/sources.list.d';
  for (const f of (await readdir(d).catch(() => [] as string[])).sort()) {
    if (f.endsWith('.list') || f.endsWith('.sources')) texts.push(await readFile(`${d}/${f}`, 'utf8').catch(() => ''));
  }
  return texts;
}

/** Mount points at or below DIR in our mount namespace, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return text
    .split('\n')
    .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(prefix))
    .reverse();
}

export interface GrubInstall {
  target: 'i386-pc' | 'x86_64-efi';
  /** The system whose GRUB is used (its /usr/lib/grub, grub-mkimage run in it); none: this host's. */
  chrootRoot?: string;
  /** Host path of the directory that becomes /boot/grub's parent (…/boot). */
  bootDir: string;
  /** GRUB's first words (lib/image/text.ts grubEarlyConfig). */
  earlyConfig: string;
  modules: readonly string[];
  /** i386-pc: the whole disk, whose first sectors get boot.img and the core image. */
  device?: string;
  /** x86_64-efi: host path of the EFI executable to write (…/EFI/BOOT/BOOTX64.EFI). */
  efiFile?: string;
  /** i386-pc: boot.img patched into the disk's MBR (lib/image/text.ts mbrWithBootCode). */
  patchMbr?: (mbr: Uint8Array, bootImg: Uint8Array) => Uint8Array;
  /** The most bytes the core image may take (the gap before the first partition). */
  maxCoreBytes?: number;
}

/**
 * Installs GRUB the way grub-install does, without its device probing (which finds no BIOS drive
 * for a loop device's partitions): the modules into BOOTDIR/grub/TARGET, a core image made by
 * grub-mkimage with the early configuration built in, and then either boot.img + the core image in
 * the disk's first sectors (BIOS) or the core image as the EFI executable (UEFI, removable path).
 */
export async function installGrub(ctl: Ctl, g: GrubInstall): Promise<void> {
  const { copyFile, mkdir, open, readFile, readdir, writeFile, rm } = await import('node:fs/promises');
  const pathMod = await import('node:path');
  const root = g.chrootRoot ?? '';
  const lib = `${root}/usr/lib/grub/${g.target}`;
  const modDir = pathMod.join(g.bootDir, 'grub', g.target);
  await mkdir(modDir, { recursive: true });
  for (const f of await readdir(lib)) {
    if (/\.(mod|lst|img|o)$/.test(f) || f === 'modinfo.sh') await copyFile(pathMod.join(lib, f), pathMod.join(modDir, f));
  }
  const fontDir = `${root}/usr/share/grub`;
  await mkdir(pathMod.join(g.bootDir, 'grub/fonts'), { recursive: true });
  await copyFile(pathMod.join(fontDir, 'unicode.pf2'), pathMod.join(g.bootDir, 'grub/fonts/unicode.pf2')).catch(() => undefined);
  // grub-mkimage reads and writes paths as it sees them: inside the chroot, or on this host.
  const inside = (hostPath: string) => (g.chrootRoot ? `/${pathMod.relative(g.chrootRoot, hostPath)}` : hostPath);
  const early = pathMod.join(g.bootDir, 'grub', 'mk_debian_installer-early.cfg');
  await writeFile(early, g.earlyConfig);
  const out = g.target === 'i386-pc' ? pathMod.join(modDir, 'core.img') : (g.efiFile as string);
  await mkdir(pathMod.dirname(out), { recursive: true });
  const args = ['-d', `/usr/lib/grub/${g.target}`, '-O', g.target, '-c', inside(early), '-p', '/boot/grub', '-o', inside(out), ...g.modules];
  try {
    if (g.chrootRoot) await inChroot(ctl, g.chrootRoot, 'grub-mkimage', args, { timeoutMs: QUICK });
    else await runOk('grub-mkimage', args, opts(ctl));
  } finally {
    await rm(early, { force: true });
  }
  if (g.target !== 'i386-pc') return;
  const core = await readFile(out);
  if (core.length > (g.maxCoreBytes ?? 0)) throw new Error(`GRUB's core image (${core.length} bytes) does not fit before the first partition`);
  const bootImg = await readFile(pathMod.join(lib, 'boot.img'));
  const h = await open(g.device as string, 'r+');
  try {
    const mbr = Buffer.alloc(512);
    await h.read(mbr, 0, 512, 0);
    const patched = (g.patchMbr as NonNullable<GrubInstall['patchMbr']>)(mbr, bootImg);
    await h.write(core, 0, core.length, 512);
    await h.write(patched, 0, 512, 0);
    await h.sync();
  } finally {
    await h.close();
  }
}

/** The kernels in a system's /boot: [vmlinuz-VERSION, initrd.img-VERSION] of the newest that has both. */
export async function newestKernel(bootDir: string): Promise<{ kernel: string; initrd: string } | undefined> {
  const names = await readdir(bootDir).catch(() => [] as string[]);
  const versions = names
    .filter((n) => n.startsWith('vmlinuz-') && names.includes(`initrd.img-${n.slice(8)}`))
    .map((n) => n.slice(8))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const v = versions.at(-1);
  return v ? { kernel: `vmlinuz-${v}`, initrd: `initrd.img-${v}` } : undefined;
}

/**
 * Copies the contents of SRCDIR into the FAT file system on DEV with mtools, without mounting it
 * (so also where the kernel has no vfat, as in some containers). Existing files are replaced.
 */
export async function copyIntoFat(ctl: Ctl, dev: string, srcDir: string): Promise<void> {
  const env = { MTOOLS_SKIP_CHECK: '1' };
  for (const e of await readdir(srcDir)) {
    await runOk('mcopy', ['-s', '-o', '-Q', '-i', dev, `${srcDir}/${e}`, '::/'], opts(ctl, { env, timeoutMs: 300_000 }));
  }
}

/** The programs of NAMES that are not found on PATH (where they would be run from). */
export async function missingPrograms(names: readonly string[]): Promise<string[]> {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  const out: string[] = [];
  for (const n of names) {
    const found = await Promise.all(dirs.map((d) => access(`${d}/${n}`, 1).then(() => true, () => false)));
    if (!found.some(Boolean)) out.push(n);
  }
  return out;
}
