// mk_debian_installer's debootstrap mode: a Debian root file system (debootstrap and apt, kept
// in a cache for a week, nothing of one machine's identity in it), this image's own settings
// (identity, network, root's access, the startup signal), GRUB on the serial console.
import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImagePlan } from '../../image/plan.js';
import { aptSources, fstab, grubDefaults, hostsFile, networkdConfig, systemGrubCfg } from '../../image/text.js';
import { startupSignalFiles } from '../../host/guest-files.js';
import { copyIntoFat, debootstrap, hashPassword, inChroot, mkfsExt4, newestKernel, tarCreate, tarExtract, umount, type Ctl } from '../../host/image-build.js';
import { chrootGuards, mountAt, mountChrootFs, type Cleanup } from './cleanup.js';
import { CACHE_DIR, mkfsVfatRandom, postInstall, type Inputs, type MkOptions, type ModeResult, type Partitions, type Say } from './common.js';
import { installGrubOn } from './grub.js';

/** A cached root file system older than this is made afresh (security updates). */
const CACHE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** What every debootstrapped system gets besides minbase; the kernel, GRUB and sshd come through apt. */
const DEBOOTSTRAP_INCLUDE = ['systemd-sysv', 'udev', 'kmod', 'e2fsprogs', 'iproute2', 'iputils-ping', 'netbase', 'dbus', 'ca-certificates'];
const BASE_PACKAGES = { bios: ['linux-image-amd64', 'grub-pc'], uefi: ['linux-image-amd64', 'grub-efi-amd64'] };
const COMMON_PACKAGES = ['openssh-server', 'systemd-resolved', 'less', 'procps'];

async function cacheKey(plan: ImagePlan): Promise<string> {
  const key = JSON.stringify({ v: 1, suite: plan.suite, mirror: plan.mirror, boot: plan.boot, include: DEBOOTSTRAP_INCLUDE, packages: [...BASE_PACKAGES[plan.boot], ...COMMON_PACKAGES] });
  return `${plan.suite}-${plan.boot}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

async function aptInstall(ctl: Ctl, cleanup: Cleanup, root: string, packages: readonly string[]): Promise<void> {
  const archives = path.join(CACHE_DIR, 'archives');
  await mkdir(path.join(archives, 'partial'), { recursive: true });
  const target = path.join(root, 'var/cache/apt/archives');
  await mountAt(ctl, cleanup, ['--bind', archives], target);
  try {
    await inChroot(ctl, root, 'apt-get', ['update', '-q']);
    await inChroot(ctl, root, 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages]);
  } finally {
    await umount(target);
    cleanup.drop(`mount ${target}`);
  }
}

/** Debootstrap mode: a root file system (from the cache or debootstrap), configured, with GRUB. */
export async function debootstrapMode(o: MkOptions, inputs: Inputs, ctl: Ctl, cleanup: Cleanup, say: Say, work: string, p: Partitions): Promise<ModeResult> {
  const { plan } = inputs;
  const rootUuid = randomUUID();
  await mkfsExt4(ctl, p.root as string, rootUuid, 'root');
  let espUuid: string | undefined;
  if (p.esp) espUuid = await mkfsVfatRandom(ctl, p.esp, 'EFI');
  const root = path.join(work, 'root');
  await mountAt(ctl, cleanup, [p.root as string], root);

  const key = await cacheKey(plan);
  const tarball = path.join(CACHE_DIR, 'roots', `${key}.tar`);
  const fresh = await stat(tarball).then((s) => Date.now() - s.mtimeMs < CACHE_MAX_AGE_MS, () => false);
  let cached = false;
  let debootstrapSeconds: number | undefined;
  if (fresh && !o.refreshCache) {
    const t = Date.now();
    await tarExtract(ctl, tarball, root);
    cached = true;
    say(`root file system from the cache ${tarball} (${((Date.now() - t) / 1000).toFixed(1)} s; --refresh-cache makes it afresh)`);
  } else {
    const t = Date.now();
    await mkdir(path.join(CACHE_DIR, 'debs'), { recursive: true });
    say(`debootstrap ${plan.suite} from ${plan.mirror} …`);
    await debootstrap(ctl, { suite: plan.suite, target: root, mirror: plan.mirror, include: DEBOOTSTRAP_INCLUDE, cacheDir: path.join(CACHE_DIR, 'debs') });
    const unmountFs = await mountChrootFs(ctl, cleanup, root);
    const unguard = await chrootGuards(root);
    await writeFile(path.join(root, 'etc/apt/sources.list'), aptSources(plan.suite, plan.mirror));
    await inChroot(ctl, root, 'debconf-set-selections', [], {
      input: [
        'grub-pc grub-pc/install_devices multiselect',
        'grub-pc grub-pc/install_devices_empty boolean true',
        'grub-efi-amd64 grub2/update_nvram boolean false',
        'grub-efi-amd64 grub2/force_efi_extra_removable boolean true',
        '',
      ].join('\n'),
    });
    say(`installing the kernel, GRUB and ${COMMON_PACKAGES.join(', ')} …`);
    await aptInstall(ctl, cleanup, root, [...BASE_PACKAGES[plan.boot], ...COMMON_PACKAGES]);
    await unguard();
    // Nothing of this machine's identity goes into the cache: every image gets its own.
    await scrubIdentity(root);
    await unmountFs();
    debootstrapSeconds = (Date.now() - t) / 1000;
    say(`debootstrap and packages: ${debootstrapSeconds.toFixed(0)} s`);
    await mkdir(path.dirname(tarball), { recursive: true });
    const tmp = `${tarball}.${process.pid}.tmp`;
    try {
      await tarCreate(ctl, root, tmp, ['./boot/efi/*']);
      await rename(tmp, tarball);
      say(`cached the root file system in ${tarball}`);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  const unmountFs = await mountChrootFs(ctl, cleanup, root);
  const unguard = await chrootGuards(root);
  await configure(ctl, root, inputs, rootUuid, espUuid);
  if (plan.packages.length) {
    say(`installing ${plan.packages.join(', ')} …`);
    await aptInstall(ctl, cleanup, root, plan.packages);
  }
  say(`installing GRUB (${plan.boot === 'uefi' ? 'UEFI, removable path EFI/BOOT/BOOTX64.EFI' : `BIOS, in the first sectors of ${o.disk}`}), serial console ttyS0`);
  const kernel = await newestKernel(path.join(root, 'boot'));
  if (!kernel) throw new Error(`no kernel with its initrd in ${path.join(root, 'boot')}`);
  await mkdir(path.join(root, 'boot/grub'), { recursive: true });
  await writeFile(path.join(root, 'boot/grub/grub.cfg'), systemGrubCfg({ rootUuid, ...kernel, boot: plan.boot }));
  await installGrubOn(ctl, { boot: plan.boot, chrootRoot: root, bootDir: path.join(root, 'boot'), uuid: rootUuid, device: p.loop, efiDir: path.join(root, 'boot/efi') });
  if (p.esp) {
    // The ESP is written with mtools, never mounted here (a host kernel without vfat can still make it).
    const efiDir = path.join(root, 'boot/efi');
    await copyIntoFat(ctl, p.esp, efiDir);
    await rm(path.join(efiDir, 'EFI'), { recursive: true, force: true });
  }
  // The VM's own GRUB updates (a new grub-pc) go to its first disk.
  if (plan.boot === 'bios') await inChroot(ctl, root, 'debconf-set-selections', [], { input: 'grub-pc grub-pc/install_devices multiselect /dev/vda\n' });
  await unguard();
  // systemd-resolved's stub resolver is the system's (its package sets the link; keep it when the host's copy replaced it).
  if (await stat(path.join(root, 'lib/systemd/systemd-resolved')).then(() => true, () => false)) {
    await rm(path.join(root, 'etc/resolv.conf'), { force: true });
    await symlink('../run/systemd/resolve/stub-resolv.conf', path.join(root, 'etc/resolv.conf'));
  }
  await unmountFs();
  if (o.postInstall) await postInstall(ctl, o, inputs, root, p);
  return { cached, ...(debootstrapSeconds !== undefined ? { debootstrapSeconds } : {}) };
}

async function scrubIdentity(root: string): Promise<void> {
  await writeFile(path.join(root, 'etc/machine-id'), '');
  await rm(path.join(root, 'var/lib/dbus/machine-id'), { force: true });
  for (const t of ['rsa', 'ecdsa', 'ed25519', 'dsa']) {
    for (const f of [`ssh_host_${t}_key`, `ssh_host_${t}_key.pub`]) await rm(path.join(root, 'etc/ssh', f), { force: true });
  }
}

async function systemctlEnable(ctl: Ctl, root: string, units: readonly string[]): Promise<void> {
  await inChroot(ctl, root, 'systemctl', ['enable', '--quiet', ...units]);
}

/** This image's own settings: identity, network, root's access, the startup signal, GRUB's defaults. */
async function configure(ctl: Ctl, root: string, inputs: Inputs, rootUuid: string, espUuid: string | undefined): Promise<void> {
  const { plan } = inputs;
  const etc = (f: string) => path.join(root, 'etc', f);
  await scrubIdentity(root);
  await inChroot(ctl, root, 'ssh-keygen', ['-A']);
  await writeFile(etc('hostname'), `${plan.hostname.split('.')[0]}\n`);
  await writeFile(etc('hosts'), hostsFile(plan.hostname));
  await writeFile(etc('fstab'), fstab(rootUuid, espUuid));
  await writeFile(etc('apt/sources.list'), aptSources(plan.suite, plan.mirror));
  await mkdir(etc('systemd/network'), { recursive: true });
  await writeFile(etc('systemd/network/10-corral.network'), networkdConfig(plan.network));
  await writeFile(etc('default/grub'), grubDefaults());
  const units = ['systemd-networkd.service'];
  if (await stat(path.join(root, 'lib/systemd/systemd-resolved')).then(() => true, () => false)) units.push('systemd-resolved.service');
  // root's access
  if (inputs.sshKeys) {
    await mkdir(path.join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
    await chmod(path.join(root, 'root/.ssh'), 0o700);
    await writeFile(path.join(root, 'root/.ssh/authorized_keys'), inputs.sshKeys, { mode: 0o600 });
  }
  if (inputs.password !== undefined) {
    const hash = await hashPassword(ctl, inputs.password);
    await inChroot(ctl, root, 'chpasswd', ['--encrypted'], { input: `root:${hash}\n` });
  }
  // corral's startup signal: "ready" once multi-user.target's units have started
  const guest = await startupSignalFiles();
  await mkdir(path.join(root, 'usr/lib/corral'), { recursive: true });
  await writeFile(path.join(root, 'usr/lib/corral/corral-startup-signal'), guest.script, { mode: 0o755 });
  await chmod(path.join(root, 'usr/lib/corral/corral-startup-signal'), 0o755);
  await writeFile(etc('systemd/system/corral-startup-signal.service'), guest.unit, { mode: 0o644 });
  units.push('corral-startup-signal.service');
  await systemctlEnable(ctl, root, units);
}
