// mk_debian_installer's installer mode (--di DIR): a disk whose first boot runs the Debian
// installer from its own boot partition, with corral's preseed (and the startup signal's files)
// in a cpio archive beside it.
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cpioNewc } from '../../image/cpio.js';
import { DI_DIR, DI_FILES, installerGrubCfg, preseed } from '../../image/text.js';
import { startupSignalFiles } from '../../host/guest-files.js';
import { copyIntoFat, hashPassword, mkfsExt4, type Ctl } from '../../host/image-build.js';
import { mountAt, type Cleanup } from './cleanup.js';
import { mkfsVfatRandom, postInstall, type Inputs, type MkOptions, type ModeResult, type Partitions, type Say } from './common.js';
import { installGrubOn } from './grub.js';

/** Installer mode: the Debian installer, its preseed and GRUB on one boot partition; the first boot installs. */
export async function installerMode(o: MkOptions, inputs: Inputs, ctl: Ctl, cleanup: Cleanup, say: Say, work: string, p: Partitions): Promise<ModeResult> {
  const { plan } = inputs;
  const di = inputs.diDir as { linux: string; initrd: string };
  const boot = p.boot as string;
  let bootUuid: string;
  let mnt: string;
  if (plan.boot === 'uefi') {
    // The ESP holds everything; it is filled from a staging directory with mtools (no vfat mount needed).
    bootUuid = await mkfsVfatRandom(ctl, boot, 'DEBINST');
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
