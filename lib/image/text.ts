// The text files mk_debian_installer writes into a new Debian system or hands to its tools: the
// partition table (sfdisk's input), fstab, hosts, the network, apt's sources, GRUB's defaults, and
// in installer mode the GRUB menu of the installer and its preseed. Pure: a plan in, text out.
import { DI_BOOT_MIB, ESP_MIB, type Boot, type ImagePlan, type Network, type Suite } from './plan.js';

/** The serial console every image uses: the first serial port, as corral's domains have it. */
const SERIAL_CONSOLE = 'console=tty0 console=ttyS0,115200n8';

/** sfdisk's input: msdos with one bootable Linux partition (BIOS); GPT with an ESP first (UEFI). */
export function partitionTable(boot: Boot, mode: ImagePlan['mode'] = 'debootstrap'): string {
  if (mode === 'installer') {
    // The installer repartitions the whole disk; until then, one small partition holds it.
    return boot === 'uefi'
      ? `label: gpt\n\nstart=2048, size=${DI_BOOT_MIB}MiB, type=U, name="EFI system"\n`
      : `label: dos\n\nstart=2048, size=${DI_BOOT_MIB}MiB, type=83, bootable\n`;
  }
  return boot === 'uefi'
    ? `label: gpt\n\nstart=2048, size=${ESP_MIB}MiB, type=U, name="EFI system"\ntype=L, name="root"\n`
    : 'label: dos\n\nstart=2048, type=83, bootable\n';
}

export function fstab(rootUuid: string, espUuid?: string): string {
  const lines = [
    '# /etc/fstab: static file system information (written by mk_debian_installer)',
    '# <file system>  <mount point>  <type>  <options>  <dump>  <pass>',
    `UUID=${rootUuid}  /  ext4  errors=remount-ro  0  1`,
  ];
  if (espUuid) lines.push(`UUID=${espUuid}  /boot/efi  vfat  umask=0077  0  1`);
  return `${lines.join('\n')}\n`;
}

export function hostsFile(hostname: string): string {
  const short = hostname.split('.')[0] as string;
  const names = hostname === short ? short : `${hostname} ${short}`;
  return `127.0.0.1\tlocalhost\n127.0.1.1\t${names}\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`;
}

/** systemd-networkd's configuration of every Ethernet interface: DHCP, or the static address. */
export function networkdConfig(net: Network): string {
  const lines = ['# written by mk_debian_installer', '[Match]', 'Name=en* eth*', '', '[Network]'];
  if (net.kind === 'dhcp') lines.push('DHCP=yes');
  else {
    lines.push(`Address=${net.address}/${net.prefix}`);
    if (net.gateway) lines.push(`Gateway=${net.gateway}`);
  }
  for (const d of net.dns) lines.push(`DNS=${d}`);
  return `${lines.join('\n')}\n`;
}

export function aptSources(suite: Suite, mirror: string): string {
  const lines = [`deb ${mirror} ${suite} main`];
  if (suite !== 'sid') {
    lines.push(`deb ${mirror} ${suite}-updates main`);
    lines.push(`deb http://security.debian.org/debian-security ${suite}-security main`);
  }
  return `${lines.join('\n')}\n`;
}

/** /etc/default/grub: a short menu, on the screen and the serial console, the kernel's console on both. */
export function grubDefaults(): string {
  return [
    '# written by mk_debian_installer; update-grub reads it',
    'GRUB_DEFAULT=0',
    'GRUB_TIMEOUT=1',
    'GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`',
    'GRUB_CMDLINE_LINUX_DEFAULT=""',
    `GRUB_CMDLINE_LINUX="${SERIAL_CONSOLE}"`,
    'GRUB_TERMINAL="console serial"',
    'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1"',
    'GRUB_DISABLE_OS_PROBER=true',
    '',
  ].join('\n');
}

/** Where installer mode puts the installer's files, on its boot partition. */
export const DI_DIR = '/boot/di';

/** GRUB's menu of installer mode: one entry that boots the installer with the preseed. */
export function installerGrubCfg(boot: Boot): string {
  const modules = boot === 'uefi' ? ['part_gpt', 'fat'] : ['part_msdos', 'ext2'];
  return [
    '# written by mk_debian_installer: the first boot installs Debian by itself (the preseed is in preseed.cpio)',
    ...modules.map((m) => `insmod ${m}`),
    'serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1',
    'terminal_input console serial',
    'terminal_output console serial',
    'set timeout=1',
    'set default=0',
    "menuentry 'Install Debian (automated, preseeded by mk_debian_installer)' {",
    `\tlinux ${DI_DIR}/linux auto=true priority=critical ${SERIAL_CONSOLE} --- ${SERIAL_CONSOLE}`,
    `\tinitrd ${DI_DIR}/initrd.gz ${DI_DIR}/preseed.cpio`,
    '}',
    '',
  ].join('\n');
}

export interface PreseedExtras {
  /** root's password hash (crypt(3), e.g. $6$…); none: root's password is locked. */
  rootPasswordHash?: string;
  /** Whether the initrd carries /corral/authorized_keys for root. */
  sshKeys: boolean;
}

/** Files installer mode adds to the installer's initrd (beside /preseed.cfg), copied in by late_command. */
export const DI_FILES = {
  keys: '/corral/authorized_keys',
  signal: '/corral/corral-startup-signal',
  unit: '/corral/corral-startup-signal.service',
} as const;

function mirrorParts(mirror: string): { protocol: string; host: string; directory: string } {
  const m = /^(https?):\/\/([^/]+)(\/.*)?$/.exec(mirror);
  return { protocol: m?.[1] ?? 'http', host: m?.[2] ?? 'deb.debian.org', directory: m?.[3] ?? '/' };
}

function netmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

/**
 * The debian-installer preseed that makes the first boot install Debian unattended on /dev/vda,
 * with the same choices as debootstrap mode: suite, mirror, host name, network, serial console,
 * root's SSH key or password, extra packages and corral's startup-signal unit enabled.
 */
export function preseed(plan: ImagePlan, extras: PreseedExtras): string {
  const [host, ...domain] = plan.hostname.split('.');
  const m = mirrorParts(plan.mirror);
  const net = plan.network;
  const lines: string[] = [
    '# debian-installer preseed written by mk_debian_installer',
    'd-i debian-installer/locale string en_US.UTF-8',
    'd-i keyboard-configuration/xkb-keymap select us',
    'd-i netcfg/choose_interface select auto',
    `d-i netcfg/get_hostname string ${host}`,
    `d-i netcfg/get_domain string ${domain.join('.')}`,
    `d-i netcfg/hostname string ${host}`,
    'd-i hw-detect/load_firmware boolean false',
  ];
  if (net.kind === 'static') {
    lines.push(
      'd-i netcfg/disable_autoconfig boolean true',
      `d-i netcfg/get_ipaddress string ${net.address}`,
      `d-i netcfg/get_netmask string ${netmask(net.prefix)}`,
      `d-i netcfg/get_gateway string ${net.gateway ?? ''}`,
      `d-i netcfg/get_nameservers string ${net.dns.join(' ')}`,
      'd-i netcfg/confirm_static boolean true',
    );
  } else if (net.dns.length) {
    lines.push(`d-i netcfg/get_nameservers string ${net.dns.join(' ')}`);
  }
  lines.push(
    'd-i mirror/country string manual',
    `d-i mirror/protocol string ${m.protocol}`,
    `d-i mirror/${m.protocol}/hostname string ${m.host}`,
    `d-i mirror/${m.protocol}/directory string ${m.directory}`,
    `d-i mirror/${m.protocol}/proxy string`,
    `d-i mirror/suite string ${plan.suite}`,
    'd-i passwd/make-user boolean false',
    'd-i passwd/root-login boolean true',
    `d-i passwd/root-password-crypted password ${extras.rootPasswordHash ?? '!'}`,
    'd-i clock-setup/utc boolean true',
    'd-i time/zone string Etc/UTC',
    'd-i clock-setup/ntp boolean false',
    'd-i partman-auto/disk string /dev/vda',
    'd-i partman-auto/method string regular',
    'd-i partman-auto/choose_recipe select atomic',
    'd-i partman-lvm/device_remove_lvm boolean true',
    'd-i partman-md/device_remove_md boolean true',
    'd-i partman-partitioning/confirm_write_new_label boolean true',
    'd-i partman/choose_partition select finish',
    'd-i partman/confirm boolean true',
    'd-i partman/confirm_nooverwrite boolean true',
  );
  if (plan.boot === 'uefi') lines.push('d-i partman-efi/non_efi_system boolean true', 'd-i grub-installer/force-efi-extra-removable boolean true');
  lines.push(
    'd-i apt-setup/services-select multiselect security, updates',
    'tasksel tasksel/first multiselect ssh-server',
    `d-i pkgsel/include string ${['openssh-server', ...plan.packages].join(' ')}`,
    'd-i pkgsel/upgrade select none',
    'popularity-contest popularity-contest/participate boolean false',
    'd-i grub-installer/only_debian boolean true',
    'd-i grub-installer/bootdev string /dev/vda',
    `d-i debian-installer/add-kernel-opts string ${SERIAL_CONSOLE}`,
  );
  const late = [
    'mkdir -p /target/usr/lib/corral /target/etc/systemd/system',
    `cp ${DI_FILES.signal} /target/usr/lib/corral/corral-startup-signal`,
    'chmod 755 /target/usr/lib/corral/corral-startup-signal',
    `cp ${DI_FILES.unit} /target/etc/systemd/system/corral-startup-signal.service`,
    'in-target systemctl enable corral-startup-signal.service',
  ];
  if (extras.sshKeys) {
    late.push('mkdir -p -m 700 /target/root/.ssh', `cp ${DI_FILES.keys} /target/root/.ssh/authorized_keys`, 'chmod 600 /target/root/.ssh/authorized_keys');
  }
  lines.push(`d-i preseed/late_command string ${late.join('; ')}`, 'd-i finish-install/reboot_in_progress note', '');
  return lines.join('\n');
}

/**
 * GRUB's embedded first words: find the file system with UUID and read the rest (modules,
 * grub.cfg) from its /boot/grub. By UUID, so the disk's number under the firmware does not matter.
 */
export function grubEarlyConfig(uuid: string): string {
  return `search.fs_uuid ${uuid} root\nset prefix=($root)/boot/grub\n`;
}

/** The modules built into GRUB's core image (the rest load from /boot/grub). */
export const GRUB_CORE_MODULES = {
  'i386-pc': ['biosdisk', 'part_msdos', 'part_gpt', 'ext2', 'fat', 'search_fs_uuid'],
  'x86_64-efi': ['part_gpt', 'part_msdos', 'ext2', 'fat', 'search_fs_uuid'],
} as const;

/**
 * The first GRUB menu of a debootstrapped system: its kernel on the serial console. The system's
 * own update-grub replaces it with the next kernel (from /etc/default/grub, same console).
 */
export function systemGrubCfg(o: { rootUuid: string; kernel: string; initrd: string; boot: Boot }): string {
  return [
    '# written by mk_debian_installer; the next update-grub (a new kernel) rewrites it from /etc/default/grub',
    ...(o.boot === 'uefi' ? ['insmod part_gpt'] : ['insmod part_msdos']),
    'insmod ext2',
    'serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1',
    'terminal_input console serial',
    'terminal_output console serial',
    'set timeout=1',
    'set default=0',
    `search --no-floppy --fs-uuid --set=root ${o.rootUuid}`,
    "menuentry 'Debian GNU/Linux' {",
    `\tsearch --no-floppy --fs-uuid --set=root ${o.rootUuid}`,
    `\tlinux /boot/${o.kernel} root=UUID=${o.rootUuid} ro ${SERIAL_CONSOLE}`,
    `\tinitrd /boot/${o.initrd}`,
    '}',
    '',
  ].join('\n');
}

/** The sectors before the first partition (2048): where GRUB's core image goes on a BIOS disk. */
export const EMBED_BYTES = 2047 * 512;

/**
 * The disk's first sector with GRUB's boot code (boot.img) in front of its partition table: boot.img's
 * first 440 bytes, the rest of MBR (disk signature, partition table, 0x55AA) kept. The boot code
 * reads the core image from sector 1 (boot.img's default), and the "is it a floppy" check is
 * skipped as grub-bios-setup does for hard disks.
 */
export function mbrWithBootCode(mbr: Uint8Array, bootImg: Uint8Array): Uint8Array {
  if (bootImg.length !== 512 || bootImg[510] !== 0x55 || bootImg[511] !== 0xaa) throw new Error('boot.img is not a 512-byte boot sector');
  if (mbr.length !== 512 || mbr[510] !== 0x55 || mbr[511] !== 0xaa) throw new Error('the disk has no MBR partition table signature');
  const out = new Uint8Array(mbr);
  out.set(bootImg.subarray(0, 440), 0);
  out[0x66] = 0x90;
  out[0x67] = 0x90;
  return out;
}
