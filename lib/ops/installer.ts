// mk_debian_installer's work: from an empty disk (a block device or an image file) to a Debian
// system that boots on the serial console and tells corral when it is up (debootstrap mode), or
// to a disk whose first boot installs Debian by itself (installer mode, --di DIR).
//
// Ganeti's phases: check everything first (the plan, the files, the disk: free, empty unless
// --force, big enough, not a VM's disk in the cluster) and change nothing until all passed; then
// act, every mount and loop device registered for cleanup, which runs on success, on failure and
// on SIGINT/SIGTERM (the running program and its children are ended first).
import { existsSync } from 'node:fs';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, copyFile, lstat, mkdir, mkdtemp, open, readdir, readFile, rename, rm, rmdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CorralError } from '../errors.js';
import { cpioNewc } from '../image/cpio.js';
import { checkDiskSize, checkPassword, checkSshKeys, makePlan, mirrorFromApt, type ImagePlan, type PlanInput } from '../image/plan.js';
import {
  aptSources,
  DI_DIR,
  DI_FILES,
  EMBED_BYTES,
  fstab,
  GRUB_CORE_MODULES,
  grubDefaults,
  grubEarlyConfig,
  hostsFile,
  installerGrubCfg,
  mbrWithBootCode,
  networkdConfig,
  partitionTable,
  preseed,
  systemGrubCfg,
} from '../image/text.js';
import { takeSnapshot } from '../cluster/snapshot.js';
import { diskKeyPath, sameDisk } from '../domain/disk-key.js';
import { identityOf } from '../domain/fixup.js';
import { domainFromConfig } from '../cib/config.js';
import { corralVms } from '../cib/model.js';
import { CibUnreachableError } from '../host/pacemaker/cib.js';
import { diskSignatures, diskUsers, DiskKindError, inspectDisk, type DiskInfo } from '../host/disk.js';
import { nodeDiskIds } from '../host/disk-identity.js';
import { HostCommandCancelled } from '../host/exec.js';
import { startupSignalFiles } from '../host/guest-files.js';
import {
  attachLoop,
  copyIntoFat,
  debootstrap,
  debootstrapKnows,
  detachLoop,
  hashPassword,
  hostAptSources,
  inChroot,
  installGrub,
  loopPartitions,
  mkfsExt4,
  missingPrograms,
  mkfsVfat,
  mount,
  mountsUnder,
  newestKernel,
  runHook,
  tarCreate,
  tarExtract,
  umount,
  wipeSignatures,
  writePartitionTable,
  type Ctl,
} from '../host/image-build.js';

/** Where downloads and the prepared root file systems are kept between runs. */
export const CACHE_DIR = '/var/cache/corral/mk_debian_installer';
/** A cached root file system older than this is made afresh (security updates). */
const CACHE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** What every debootstrapped system gets besides minbase; the kernel, GRUB and sshd come through apt. */
const DEBOOTSTRAP_INCLUDE = ['systemd-sysv', 'udev', 'kmod', 'e2fsprogs', 'iproute2', 'iputils-ping', 'netbase', 'dbus', 'ca-certificates'];
const BASE_PACKAGES = { bios: ['linux-image-amd64', 'grub-pc'], uefi: ['linux-image-amd64', 'grub-efi-amd64'] };
const COMMON_PACKAGES = ['openssh-server', 'systemd-resolved', 'less', 'procps'];

export interface MkOptions extends PlanInput {
  disk: string;
  force?: boolean;
  sshKey?: string;
  rootPasswordFile?: string;
  postInstall?: string;
  refreshCache?: boolean;
}

export interface MkResult {
  disk: string;
  mode: ImagePlan['mode'];
  /** The root file system came from the cache (no debootstrap). */
  cached: boolean;
  debootstrapSeconds?: number;
  seconds: number;
}

class Refused extends CorralError {
  readonly kind = 'refused';
}

class Interrupted extends CorralError {
  readonly kind = 'failed';
}

type Say = (line: string) => void;

interface Inputs {
  plan: ImagePlan;
  disk: DiskInfo | undefined;
  sshKeys?: string;
  password?: string;
  diDir?: { linux: string; initrd: string };
}

async function readUserFile(flag: string, file: string): Promise<string> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Refused(`${flag} ${JSON.stringify(file)}: not a regular file`);
    if (st.size > 1024 * 1024) throw new Refused(`${flag} ${JSON.stringify(file)}: larger than 1 MiB`);
    return await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof CorralError) throw e;
    throw new Refused(`${flag} ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** The installer's kernel and initrd in DIR (or DIR/debian-installer/amd64, netboot's layout). */
async function findInstaller(dir: string): Promise<{ linux: string; initrd: string }> {
  for (const d of [dir, path.join(dir, 'debian-installer/amd64')]) {
    const linux = path.join(d, 'linux');
    const initrd = path.join(d, 'initrd.gz');
    const ok = await Promise.all([linux, initrd].map((f) => stat(f).then((s) => s.isFile(), () => false)));
    if (ok.every(Boolean)) return { linux, initrd };
  }
  throw new Refused(`--di ${JSON.stringify(dir)}: no Debian installer there (linux and initrd.gz, as in netboot's debian-installer/amd64/)`);
}

/** Where Pacemaker keeps the CIB on a node that has been in a cluster. */
const CLUSTER_CIB_FILE = '/var/lib/pacemaker/cib/cib.xml';

/**
 * The VMs in the cluster whose disk is DISK: those that run, and those that do not. A disk is
 * known by what it is, not by the path written (lib/domain/disk-key.ts): another name of one
 * logical volume, and where this node sees the VM's path, one block device or one file (a
 * symbolic link, a hard link, a bind mount) is DISK too. NOTES says, per VM, under which other
 * path it has DISK.
 */
async function clusterUsers(
  disk: DiskInfo,
): Promise<{ running: string[]; stopped: string[]; disabled: string[]; unreadable: string[]; notes: Map<string, string> } | undefined> {
  let snap;
  try {
    snap = await takeSnapshot();
  } catch (e) {
    if (e instanceof CibUnreachableError) return undefined;
    throw new Refused(`cannot check the cluster's VMs for ${disk.path} (${(e as Error).message})`);
  }
  // running: it runs; stopped: it does not run now but Pacemaker may start it at any moment (its
  // target-role is not Stopped); disabled: target-role Stopped; unreadable: its XML cannot be read,
  // so its disks are not known.
  const out = { running: [] as string[], stopped: [] as string[], disabled: [] as string[], unreadable: [] as string[], notes: new Map<string, string>() };
  const node = nodeDiskIds();
  const mine = `${disk.kind}:${path.resolve(disk.path)}`;
  for (const c of corralVms(snap.cib)) {
    const vm = snap.view.vms.find((v) => v.resource === c.resourceId);
    const config = c.config;
    if (!vm || config === undefined) continue;
    let disks: string[];
    try {
      disks = identityOf(domainFromConfig(config)).disks;
    } catch {
      out.unreadable.push(vm.name);
      continue;
    }
    for (const k of disks) {
      const why = sameDisk(mine, k, node);
      if (!why) continue;
      const p = diskKeyPath(k);
      if (p !== path.resolve(disk.path) && !out.notes.has(vm.name)) out.notes.set(vm.name, ` (as ${p ?? k}; ${why})`);
      const list = vm.state === 'disabled' ? out.disabled : vm.state === 'stopped' ? out.stopped : out.running;
      if (!list.includes(vm.name)) list.push(vm.name);
    }
  }
  return out;
}

/** The programs each mode runs on this host, and the Debian package of each. */
const PROGRAMS: Record<string, string> = {
  losetup: 'mount',
  partx: 'util-linux',
  sfdisk: 'fdisk',
  wipefs: 'util-linux',
  'mkfs.ext4': 'e2fsprogs',
  mount: 'mount',
  tar: 'tar',
  chroot: 'coreutils',
  openssl: 'openssl',
};
const BOOT_PROGRAMS: Record<string, Record<string, string>> = {
  bios: {},
  uefi: { 'mkfs.vfat': 'dosfstools', mcopy: 'mtools' },
};

class NotInstalled extends CorralError {
  readonly kind = 'not-installed';
}

/** Phase 1: everything checked, nothing changed. */
async function check(o: MkOptions): Promise<Inputs> {
  let mirror = o.mirror;
  if (mirror === undefined) {
    mirror = mirrorFromApt(await hostAptSources());
  }
  const plan = makePlan({ ...o, ...(mirror !== undefined ? { mirror } : {}) });
  const inputs: Inputs = { plan, disk: undefined };
  if (o.sshKey !== undefined) inputs.sshKeys = checkSshKeys(o.sshKey, await readUserFile('--ssh-key', o.sshKey));
  if (o.rootPasswordFile !== undefined) inputs.password = checkPassword(o.rootPasswordFile, await readUserFile('--root-password-file', o.rootPasswordFile));
  if (o.postInstall !== undefined) {
    const st = await stat(o.postInstall).catch(() => undefined);
    if (!st?.isFile()) throw new Refused(`--post-install ${JSON.stringify(o.postInstall)}: no such file`);
    if (!(await access(o.postInstall, constants.X_OK).then(() => true, () => false))) throw new Refused(`--post-install ${JSON.stringify(o.postInstall)}: not executable (chmod +x it)`);
  }
  const needed: Record<string, string> = {
    ...PROGRAMS,
    ...BOOT_PROGRAMS[plan.boot],
    ...(plan.mode === 'debootstrap' ? { debootstrap: 'debootstrap' } : { 'grub-mkimage': plan.boot === 'uefi' ? 'grub-efi-amd64-bin' : 'grub-pc-bin' }),
  };
  const missing = await missingPrograms(Object.keys(needed));
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => needed[m] as string))];
    throw new NotInstalled(`missing on this host: ${missing.join(', ')} (apt-get install ${pkgs.join(' ')})`);
  }
  if (plan.mode === 'installer') {
    inputs.diDir = await findInstaller(o.di as string);
    const lib = plan.boot === 'uefi' ? '/usr/lib/grub/x86_64-efi' : '/usr/lib/grub/i386-pc';
    if (!(await stat(lib).then((st) => st.isDirectory(), () => false))) {
      throw new NotInstalled(`missing on this host: ${lib} (apt-get install ${plan.boot === 'uefi' ? 'grub-efi-amd64-bin' : 'grub-pc-bin'})`);
    }
  } else if (!(await debootstrapKnows(plan.suite))) {
    throw new Refused(`--suite ${plan.suite}: this host's debootstrap does not know it (no /usr/share/debootstrap/scripts/${plan.suite}); install debootstrap or a newer one`);
  }

  let disk: DiskInfo | undefined;
  try {
    disk = await inspectDisk(o.disk);
  } catch (e) {
    if (e instanceof DiskKindError) throw new Refused(`DISK ${JSON.stringify(o.disk)}: ${e.message}`);
    throw e;
  }
  if (!disk) {
    if (plan.sizeMiB === undefined) throw new Refused(`DISK ${JSON.stringify(o.disk)} does not exist; give --size (e.g. --size 4g) to create an image file there`);
    const dir = path.dirname(path.resolve(o.disk));
    if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) throw new Refused(`DISK ${JSON.stringify(o.disk)}: the directory ${dir} does not exist`);
    if (o.disk.startsWith('/dev/')) throw new Refused(`DISK ${JSON.stringify(o.disk)}: there is no such device (an image file is not made under /dev)`);
  } else {
    if (disk.kind === 'block' && plan.sizeMiB !== undefined) throw new Refused(`--size: ${o.disk} is a block device; its size is its own (resize it with lvresize)`);
    const size = disk.kind === 'file' && plan.sizeMiB !== undefined ? Math.max(disk.sizeBytes, plan.sizeMiB * 1024 * 1024) : disk.sizeBytes;
    checkDiskSize(o.disk, size);
    const users = await diskUsers(disk);
    if (users.length) throw new Refused(`${o.disk} is in use: ${users.join('; ')}`);
    const sigs = await diskSignatures(disk.path);
    if (sigs.length && !o.force) throw new Refused(`${o.disk} is not empty (${sigs.join(', ')}); --force overwrites it`);
    const vms = await clusterUsers(disk);
    const who = (names: string[]) => names.map((n) => `${n}${vms?.notes.get(n) ?? ''}`).join(', ');
    if (vms?.running.length) throw new Refused(`${o.disk} is the disk of ${who(vms.running)}, which runs in the cluster`);
    if (vms?.stopped.length) throw new Refused(`${o.disk} is the disk of ${who(vms.stopped)}, which Pacemaker may start at any moment (stopped, not disabled): disable it first (vm ${vms.stopped[0]} stop), then --force overwrites it`);
    if (vms?.disabled.length && !o.force) throw new Refused(`${o.disk} is the disk of ${who(vms.disabled)} in the cluster (disabled); --force overwrites it`);
    if (vms?.unreadable.length && !o.force) throw new Refused(`the domain XML of ${vms.unreadable.join(', ')} in the cluster cannot be read, so it is not known whether ${o.disk} is its disk; --force goes on without knowing`);
    // A cluster node (Pacemaker keeps its CIB there) whose Pacemaker does not answer: a shared
    // volume may be the disk of a VM that runs on another node.
    if (vms === undefined && !o.force && existsSync(CLUSTER_CIB_FILE)) {
      throw new Refused(`this is a cluster node (${CLUSTER_CIB_FILE}), but the CIB cannot be read: it is not known whether ${o.disk} is the disk of a VM that runs elsewhere; start Pacemaker here, or --force goes on without knowing`);
    }
  }
  inputs.disk = disk;
  return inputs;
}

/** The cleanup of one run: undo steps, last registered first. */
class Cleanup {
  private steps: { what: string; undo: () => Promise<void> }[] = [];
  add(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }
  /** Runs every step, newest first; returns what failed. */
  async run(): Promise<string[]> {
    const problems: string[] = [];
    while (this.steps.length) {
      const s = this.steps.pop()!;
      try {
        await s.undo();
      } catch (e) {
        problems.push(`${s.what}: ${(e as Error).message}`);
      }
    }
    return problems;
  }
  /** Forgets a step (it was undone by the normal course of work). */
  drop(what: string): void {
    this.steps = this.steps.filter((s) => s.what !== what);
  }
}

const hex = (n: number) => randomBytes(n).toString('hex');

/** Removes DIR and the empty directories below it (mount points); a file there is an error, never deleted. */
async function removeEmptyDirs(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) throw new Error(`${path.join(dir, e.name)} is left (not a directory)`);
    await removeEmptyDirs(path.join(dir, e.name));
  }
  await rmdir(dir);
}

/** Runs the work under a cleanup that also runs on SIGINT/SIGTERM. */
export async function mkDebianInstaller(o: MkOptions, say: Say): Promise<MkResult> {
  const started = Date.now();
  const inputs = await check(o);
  say(`${inputs.plan.mode} mode: Debian ${inputs.plan.suite} from ${inputs.plan.mirror}${o.mirror === undefined ? " (this host's apt sources)" : ''}, host name ${inputs.plan.hostname}`);
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!signalled) say(`${sig}: stopping, then removing mounts and loop devices`);
    signalled = sig;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const cleanup = new Cleanup();
  const ctl: Ctl = { cancel: controller.signal };
  let createdFile = false;
  let done = false;
  try {
    const r = await act(o, inputs, ctl, cleanup, say, () => {
      createdFile = true;
    });
    done = true;
    const problems = await cleanup.run();
    if (problems.length) throw new Error(`${o.disk} is written, but cleaning up failed: ${problems.join('; ')}`);
    return { ...r, disk: o.disk, mode: inputs.plan.mode, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    if (done) throw e;
    const problems = await cleanup.run();
    if (createdFile) await rm(o.disk, { force: true }).catch(() => undefined);
    const left = createdFile ? `${o.disk} removed again` : `${o.disk} is left partly written`;
    const tail = problems.length ? `; cleanup problems: ${problems.join('; ')}` : '; mounts and loop devices removed';
    if (signalled || e instanceof HostCommandCancelled || controller.signal.aborted) throw new Interrupted(`interrupted by ${signalled ?? 'a signal'}; ${left}${tail}`);
    throw new (class extends CorralError {
      readonly kind = e instanceof CorralError ? e.kind : ('failed' as const);
    })(`${(e as Error).message}; ${left}${tail}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

interface Partitions {
  loop: string;
  root?: string;
  esp?: string;
  /** installer mode: the one boot partition */
  boot?: string;
}

async function act(o: MkOptions, inputs: Inputs, ctl: Ctl, cleanup: Cleanup, say: Say, created: () => void): Promise<Omit<MkResult, 'disk' | 'mode' | 'seconds'>> {
  const { plan } = inputs;
  // The disk: an image file is created (sparse) or sized.
  if (!inputs.disk) {
    const h = await open(o.disk, 'wx', 0o600);
    created();
    await h.truncate((plan.sizeMiB as number) * 1024 * 1024);
    await h.close();
    say(`created ${o.disk} (${plan.sizeMiB} MiB, sparse)`);
  } else if (inputs.disk.kind === 'file' && plan.sizeMiB !== undefined && inputs.disk.sizeBytes < plan.sizeMiB * 1024 * 1024) {
    const h = await open(o.disk, 'r+');
    await h.truncate(plan.sizeMiB * 1024 * 1024);
    await h.close();
    say(`grew ${o.disk} to ${plan.sizeMiB} MiB`);
  }
  const work = await mkdtemp('/run/mk_debian_installer.');
  cleanup.add('work directory', async () => {
    // Never walk into a file system still mounted there (an unmount that failed): its empty
    // directories are not ours to remove.
    const left = await mountsUnder(work);
    if (left.length) throw new Error(`${work} is left: ${left.join(', ')} still mounted`);
    await removeEmptyDirs(work);
  });
  const loop = await attachLoop(ctl, o.disk);
  cleanup.add('loop device', () => detachLoop(loop));
  // A safety net under everything: whatever is still mounted below the work directory.
  cleanup.add('mounts', async () => {
    for (const m of await mountsUnder(work)) await umount(m);
  });
  say(`attached ${o.disk} to ${loop}`);
  await wipeSignatures(ctl, loop);
  await writePartitionTable(ctl, loop, partitionTable(plan.boot, plan.mode));
  say(`partitioned ${o.disk}: ${plan.boot === 'uefi' ? 'GPT with an EFI system partition' : 'msdos (BIOS)'}`);
  if (plan.mode === 'installer') {
    const [boot] = await loopPartitions(ctl, loop, 1);
    return installerMode(o, inputs, ctl, cleanup, say, work, { loop, boot: boot as string });
  }
  const parts = await loopPartitions(ctl, loop, plan.boot === 'uefi' ? 2 : 1);
  const p: Partitions = plan.boot === 'uefi' ? { loop, esp: parts[0] as string, root: parts[1] as string } : { loop, root: parts[0] as string };
  return debootstrapMode(o, inputs, ctl, cleanup, say, work, p);
}

async function mountAt(ctl: Ctl, cleanup: Cleanup, args: readonly string[], target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  await mount(ctl, [...args, target]);
  cleanup.add(`mount ${target}`, () => umount(target));
}

/** /proc, /sys, /dev and /dev/pts in the new system, for programs run in it. */
async function mountChrootFs(ctl: Ctl, cleanup: Cleanup, root: string): Promise<() => Promise<void>> {
  const targets: string[] = [];
  const add = async (args: string[], t: string) => {
    await mountAt(ctl, cleanup, args, path.join(root, t));
    targets.push(path.join(root, t));
  };
  await add(['-t', 'proc', 'proc'], 'proc');
  await add(['-t', 'sysfs', 'sysfs'], 'sys');
  await add(['--bind', '/dev'], 'dev');
  await add(['--bind', '/dev/pts'], 'dev/pts');
  return async () => {
    for (const t of targets.reverse()) {
      await umount(t);
      cleanup.drop(`mount ${t}`);
    }
  };
}

/**
 * While programs run inside ROOT: no service starts (policy-rc.d) and names resolve through the
 * host's resolv.conf. Returns the undo.
 */
async function chrootGuards(root: string): Promise<() => Promise<void>> {
  const policy = path.join(root, 'usr/sbin/policy-rc.d');
  await writeFile(policy, '#!/bin/sh\n# mk_debian_installer: no service starts while the system is being built\nexit 101\n', { mode: 0o755 });
  const resolv = path.join(root, 'etc/resolv.conf');
  const saved = `${resolv}.mk_debian_installer`;
  const st = await lstat(resolv).catch(() => undefined);
  if (st) await rename(resolv, saved);
  await copyFile('/etc/resolv.conf', resolv).catch(() => writeFile(resolv, ''));
  return async () => {
    await rm(policy, { force: true });
    await rm(resolv, { force: true });
    if (st) await rename(saved, resolv);
  };
}

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

async function debootstrapMode(o: MkOptions, inputs: Inputs, ctl: Ctl, cleanup: Cleanup, say: Say, work: string, p: Partitions): Promise<Omit<MkResult, 'disk' | 'mode' | 'seconds'>> {
  const { plan } = inputs;
  const rootUuid = randomUUID();
  await mkfsExt4(ctl, p.root as string, rootUuid, 'root');
  let espUuid: string | undefined;
  if (p.esp) {
    const volid = hex(4).toUpperCase();
    await mkfsVfat(ctl, p.esp, volid, 'EFI');
    espUuid = `${volid.slice(0, 4)}-${volid.slice(4)}`;
  }
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

async function postInstall(ctl: Ctl, o: MkOptions, inputs: Inputs, target: string, p: Partitions): Promise<void> {
  const env: Record<string, string> = {
    TARGET: target,
    BLOCKDEV: p.loop,
    DISK: path.resolve(o.disk),
    DISK_COUNT: '1',
    DISK_0_PATH: path.resolve(o.disk),
    HOSTNAME: inputs.plan.hostname,
    SUITE: inputs.plan.suite,
    MK_DEBIAN_INSTALLER_MODE: inputs.plan.mode,
  };
  if (p.root) env.ROOT_DEV = p.root;
  if (p.esp) env.ESP_DEV = p.esp;
  if (p.boot) env.BOOT_DEV = p.boot;
  await runHook(ctl, path.resolve(o.postInstall as string), env);
}

async function installerMode(o: MkOptions, inputs: Inputs, ctl: Ctl, cleanup: Cleanup, say: Say, work: string, p: Partitions): Promise<Omit<MkResult, 'disk' | 'mode' | 'seconds'>> {
  const { plan } = inputs;
  const di = inputs.diDir as { linux: string; initrd: string };
  const boot = p.boot as string;
  let bootUuid: string;
  let mnt: string;
  if (plan.boot === 'uefi') {
    // The ESP holds everything; it is filled from a staging directory with mtools (no vfat mount needed).
    const volid = hex(4).toUpperCase();
    await mkfsVfat(ctl, boot, volid, 'DEBINST');
    bootUuid = `${volid.slice(0, 4)}-${volid.slice(4)}`;
    mnt = path.join(work, 'esp');
    await mkdir(mnt);
    cleanup.add('staging', () => rm(mnt, { recursive: true, force: true }));
  } else {
    bootUuid = randomUUID();
    await mkfsExt4(ctl, boot, bootUuid, 'debinst');
    mnt = path.join(work, 'boot');
    await mountAt(ctl, cleanup, [boot], mnt);
  }
  const diDir = path.join(mnt, DI_DIR);
  await mkdir(diDir, { recursive: true });
  await copyFile(di.linux, path.join(diDir, 'linux'));
  await copyFile(di.initrd, path.join(diDir, 'initrd.gz'));
  const rootPasswordHash = inputs.password !== undefined ? await hashPassword(ctl, inputs.password) : undefined;
  const text = preseed(plan, { sshKeys: inputs.sshKeys !== undefined, ...(rootPasswordHash ? { rootPasswordHash } : {}) });
  const guest = await startupSignalFiles();
  const entries = [
    { path: 'preseed.cfg', data: text },
    { path: 'corral' },
    { path: DI_FILES.signal.slice(1), data: guest.script, mode: 0o755 },
    { path: DI_FILES.unit.slice(1), data: guest.unit },
    ...(inputs.sshKeys ? [{ path: DI_FILES.keys.slice(1), data: inputs.sshKeys, mode: 0o600 }] : []),
  ];
  await writeFile(path.join(diDir, 'preseed.cpio'), cpioNewc(entries));
  // The same preseed, readable, beside it (the installer reads the one in preseed.cpio).
  await writeFile(path.join(diDir, 'preseed.cfg'), text, { mode: 0o600 });
  say(`installer: ${di.linux}, ${di.initrd} and the preseed in ${DI_DIR} on ${o.disk}`);
  await installGrubOn(ctl, { boot: plan.boot, bootDir: path.join(mnt, 'boot'), uuid: bootUuid, device: p.loop, efiDir: mnt });
  await writeFile(path.join(mnt, 'boot/grub/grub.cfg'), installerGrubCfg(plan.boot));
  say(`GRUB (${plan.boot === 'uefi' ? 'UEFI' : 'BIOS'}) boots the installer on the serial console; the first boot installs ${plan.suite} from ${plan.mirror}`);
  if (o.postInstall) await postInstall(ctl, o, inputs, mnt, p);
  if (plan.boot === 'uefi') await copyIntoFat(ctl, boot, mnt);
  return { cached: false };
}

/** GRUB for BIOS (boot code and core image in the disk's first sectors) or UEFI (EFI/BOOT/BOOTX64.EFI on the ESP at EFIDIR). */
async function installGrubOn(ctl: Ctl, o: { boot: ImagePlan['boot']; chrootRoot?: string; bootDir: string; uuid: string; device: string; efiDir: string }): Promise<void> {
  const common = { ...(o.chrootRoot ? { chrootRoot: o.chrootRoot } : {}), bootDir: o.bootDir, earlyConfig: grubEarlyConfig(o.uuid) };
  if (o.boot === 'uefi') {
    await installGrub(ctl, { ...common, target: 'x86_64-efi', modules: GRUB_CORE_MODULES['x86_64-efi'], efiFile: path.join(o.efiDir, 'EFI/BOOT/BOOTX64.EFI') });
  } else {
    await installGrub(ctl, { ...common, target: 'i386-pc', modules: GRUB_CORE_MODULES['i386-pc'], device: o.device, patchMbr: mbrWithBootCode, maxCoreBytes: EMBED_BYTES });
  }
}
