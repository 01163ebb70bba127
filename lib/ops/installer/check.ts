// mk_debian_installer's first phase: everything checked, nothing changed. The plan, the user's
// files, the programs this host needs, and the disk: free, empty unless --force, big enough, not
// a VM's disk in the cluster (known by what it is, not by the path written).
import { existsSync } from 'node:fs';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CorralError } from '../../errors.js';
import { checkDiskSize, checkPassword, checkSshKeys, makePlan, mirrorFromApt } from '../../image/plan.js';
import { takeSnapshot } from '../../cluster/snapshot.js';
import { diskKeyPath, sameDisk } from '../../domain/disk-key.js';
import { identityOf } from '../../domain/fixup.js';
import { domainFromConfig } from '../../cib/config.js';
import { corralVms } from '../../cib/model.js';
import { CibUnreachableError } from '../../host/pacemaker/cib.js';
import { diskSignatures, diskUsers, DiskKindError, inspectDisk, type DiskInfo } from '../../host/disk.js';
import { nodeDiskIds } from '../../host/disk-identity.js';
import { debootstrapKnows, hostAptSources, missingPrograms } from '../../host/image-build.js';
import type { Inputs, MkOptions } from './common.js';

class Refused extends CorralError {
  readonly kind = 'refused';
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
export async function check(o: MkOptions): Promise<Inputs> {
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
