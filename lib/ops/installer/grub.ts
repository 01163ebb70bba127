// GRUB on the new disk, for both modes: the boot code and core image in the disk's first sectors
// (BIOS), or EFI/BOOT/BOOTX64.EFI on the EFI system partition (UEFI).
import path from 'node:path';
import type { ImagePlan } from '../../image/plan.js';
import { EMBED_BYTES, GRUB_CORE_MODULES, grubEarlyConfig, mbrWithBootCode } from '../../image/text.js';
import { installGrub, type Ctl } from '../../host/image-build.js';

/** GRUB for BIOS (boot code and core image in the disk's first sectors) or UEFI (EFI/BOOT/BOOTX64.EFI on the ESP at EFIDIR). */
export async function installGrubOn(ctl: Ctl, o: { boot: ImagePlan['boot']; chrootRoot?: string; bootDir: string; uuid: string; device: string; efiDir: string }): Promise<void> {
  const common = { ...(o.chrootRoot ? { chrootRoot: o.chrootRoot } : {}), bootDir: o.bootDir, earlyConfig: grubEarlyConfig(o.uuid) };
  if (o.boot === 'uefi') {
    await installGrub(ctl, { ...common, target: 'x86_64-efi', modules: GRUB_CORE_MODULES['x86_64-efi'], efiFile: path.join(o.efiDir, 'EFI/BOOT/BOOTX64.EFI') });
  } else {
    await installGrub(ctl, { ...common, target: 'i386-pc', modules: GRUB_CORE_MODULES['i386-pc'], device: o.device, patchMbr: mbrWithBootCode, maxCoreBytes: EMBED_BYTES });
  }
}
