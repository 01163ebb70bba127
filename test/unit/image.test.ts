// mk_debian_installer's pure parts: the plan from the command line (every refusal one line naming
// the flag), the files it writes into the new system, the installer's preseed and GRUB menu, and
// the cpio archive that carries the preseed next to the installer's initrd.
import { describe, expect, it } from 'vitest';
import { cpioNewc } from '../../lib/image/cpio.js';
import { checkDiskSize, checkPassword, checkSshKeys, makePlan, mirrorFromApt, PlanError } from '../../lib/image/plan.js';
import { aptSources, fstab, grubDefaults, grubEarlyConfig, hostsFile, installerGrubCfg, mbrWithBootCode, networkdConfig, partitionTable, preseed, systemGrubCfg } from '../../lib/image/text.js';

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PlanError);
    return (e as Error).message;
  }
  throw new Error('not refused');
};

describe('the plan', () => {
  it('defaults: bookworm, deb.debian.org, BIOS, DHCP, host name debian', () => {
    expect(makePlan({})).toEqual({
      mode: 'debootstrap',
      suite: 'bookworm',
      mirror: 'http://deb.debian.org/debian',
      hostname: 'debian',
      boot: 'bios',
      network: { kind: 'dhcp', dns: [] },
      packages: [],
    });
  });

  it('static network, UEFI, packages, size, installer mode', () => {
    const p = makePlan({ di: '/x', ip: '192.0.2.10/24', gateway: '192.0.2.1', dns: '192.0.2.53,192.0.2.54', uefi: true, packages: 'vim, curl,vim', size: '4g', hostname: 'Gum.Example.org' });
    expect(p.mode).toBe('installer');
    expect(p.network).toEqual({ kind: 'static', address: '192.0.2.10', prefix: 24, gateway: '192.0.2.1', dns: ['192.0.2.53', '192.0.2.54'] });
    expect(p.boot).toBe('uefi');
    expect(p.packages).toEqual(['vim', 'curl']);
    expect(p.sizeMiB).toBe(4096);
    expect(p.hostname).toBe('gum.example.org');
  });

  it('refuses each bad flag with a line naming it and what is allowed', () => {
    const msg = refusal(() =>
      makePlan({ suite: 'jessie', hostname: 'a_b', ip: '10.0.0.300/24', gateway: 'x', dns: 'dns.example', packages: 'Vim', size: '1g', mirror: 'ftp://x' }),
    );
    const lines = msg.split('\n');
    expect(lines).toEqual([
      '--suite "jessie": the suite is one of bullseye, bookworm, trixie, sid',
      '--mirror "ftp://x": a mirror is an http:// or https:// URL, e.g. http://deb.debian.org/debian',
      '--hostname "a_b": a host name is letters, digits and inner hyphens, 1 to 63 of them, optionally followed by .domain (e.g. gum or gum.example.org)',
      '--dns "dns.example": name servers are IPv4 addresses separated by commas, e.g. 10.0.0.53,10.0.0.54',
      '--ip "10.0.0.300/24": the address is IPv4 with its prefix length, e.g. 192.0.2.10/24',
      '--gateway "x": the gateway is an IPv4 address, e.g. 192.0.2.1',
      '--packages "Vim": Debian package names (lower case, digits, + - .) separated by commas, e.g. vim,curl',
      '--size "1g": the disk must hold at least 2 GiB, e.g. --size 4g',
    ]);
    expect(refusal(() => makePlan({ gateway: '192.0.2.1' }))).toBe('--gateway needs --ip (without --ip the network is configured by DHCP)');
    expect(refusal(() => makePlan({ size: 'lots' }))).toMatch(/^--size "lots": a size is a number with a unit/);
    expect(refusal(() => makePlan({ hostname: '123' }))).toMatch(/^--hostname "123"/);
  });

  it('a disk below 2 GiB is refused, 2 GiB is enough', () => {
    expect(refusal(() => checkDiskSize('/dev/vm/x', 1024 ** 3))).toBe('/dev/vm/x holds 1024 MiB; the disk must hold at least 2 GiB');
    expect(() => checkDiskSize('/dev/vm/x', 2 * 1024 ** 3)).not.toThrow();
  });

  it('SSH keys: public keys only (a private key file is refused), comments kept out', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBfX7c1w2 root@host';
    expect(checkSshKeys('k.pub', `# mine\n${key}\n\n`)).toBe(`${key}\n`);
    expect(refusal(() => checkSshKeys('k', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n'))).toMatch(/^--ssh-key "k": not an SSH public key file/);
    expect(refusal(() => checkSshKeys('k', '\n# nothing\n'))).toBe('--ssh-key "k": the file holds no key');
  });

  it('root password: the first line, not empty', () => {
    expect(checkPassword('pw', 's3cret pass\nignored\n')).toBe('s3cret pass');
    expect(refusal(() => checkPassword('pw', '\n'))).toMatch(/^--root-password-file "pw"/);
  });

  it("the mirror of the host's apt sources: one-line and deb822, never the security archive", () => {
    expect(mirrorFromApt(['deb http://security.debian.org/debian-security bookworm-security main\ndeb [arch=amd64] http://ftp.de.debian.org/debian/ bookworm main\n'])).toBe(
      'http://ftp.de.debian.org/debian',
    );
    expect(mirrorFromApt(['Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: https://mirror.example/debian\n'])).toBe('https://mirror.example/debian');
    expect(mirrorFromApt(['deb-src http://x.example/debian bookworm main\n'])).toBeUndefined();
  });
});

describe('the files of the new system', () => {
  it('partition tables: msdos bootable for BIOS, GPT with an ESP for UEFI', () => {
    expect(partitionTable('bios')).toBe('label: dos\n\nstart=2048, type=83, bootable\n');
    expect(partitionTable('uefi')).toBe('label: gpt\n\nstart=2048, size=256MiB, type=U, name="EFI system"\ntype=L, name="root"\n');
    expect(partitionTable('bios', 'installer')).toBe('label: dos\n\nstart=2048, size=512MiB, type=83, bootable\n');
  });

  it('fstab mounts the root (and the ESP) by UUID', () => {
    expect(fstab('1111-r', 'ABCD-0123')).toContain('UUID=1111-r  /  ext4  errors=remount-ro  0  1\nUUID=ABCD-0123  /boot/efi  vfat  umask=0077  0  1\n');
    expect(fstab('1111-r')).not.toContain('/boot/efi');
  });

  it('hosts names the machine on 127.0.1.1', () => {
    expect(hostsFile('gum')).toContain('127.0.1.1\tgum\n');
    expect(hostsFile('gum.example.org')).toContain('127.0.1.1\tgum.example.org gum\n');
  });

  it('network: DHCP or the static address, name servers', () => {
    expect(networkdConfig({ kind: 'dhcp', dns: [] })).toContain('[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n');
    expect(networkdConfig({ kind: 'static', address: '192.0.2.10', prefix: 24, gateway: '192.0.2.1', dns: ['192.0.2.53'] })).toContain(
      '[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\n',
    );
  });

  it('apt sources: the suite, its updates and security (none for sid)', () => {
    expect(aptSources('bookworm', 'http://m/debian')).toBe(
      'deb http://m/debian bookworm main\ndeb http://m/debian bookworm-updates main\ndeb http://security.debian.org/debian-security bookworm-security main\n',
    );
    expect(aptSources('sid', 'http://m/debian')).toBe('deb http://m/debian sid main\n');
  });

  it("GRUB's defaults put GRUB and the kernel on the serial console ttyS0", () => {
    const g = grubDefaults();
    expect(g).toContain('GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8"');
    expect(g).toContain('GRUB_TERMINAL="console serial"');
    expect(g).toContain('GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200');
  });
});

describe('GRUB', () => {
  it('the core image finds its file system by UUID, whatever number the firmware gives the disk', () => {
    expect(grubEarlyConfig('ABCD-0123')).toBe('search.fs_uuid ABCD-0123 root\nset prefix=($root)/boot/grub\n');
  });

  it("the first menu boots the system's kernel by UUID on the serial console", () => {
    const cfg = systemGrubCfg({ rootUuid: 'r-uuid', kernel: 'vmlinuz-6.1.0-28-amd64', initrd: 'initrd.img-6.1.0-28-amd64', boot: 'bios' });
    expect(cfg).toContain('\tlinux /boot/vmlinuz-6.1.0-28-amd64 root=UUID=r-uuid ro console=tty0 console=ttyS0,115200n8\n\tinitrd /boot/initrd.img-6.1.0-28-amd64\n');
    expect(cfg).toContain('serial --unit=0 --speed=115200');
    expect(cfg).toContain('terminal_output console serial');
    expect(cfg).toContain('search --no-floppy --fs-uuid --set=root r-uuid');
  });

  it("boot code goes in front of the partition table, which stays as it was; the floppy check is skipped", () => {
    const boot = new Uint8Array(512).fill(0xb0);
    boot[510] = 0x55;
    boot[511] = 0xaa;
    const mbr = new Uint8Array(512).fill(0x11);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const out = mbrWithBootCode(mbr, boot);
    expect([...out.subarray(0, 0x66)].every((b) => b === 0xb0)).toBe(true);
    expect([out[0x66], out[0x67]]).toEqual([0x90, 0x90]);
    expect([...out.subarray(0x68, 440)].every((b) => b === 0xb0)).toBe(true);
    expect([...out.subarray(440, 510)].every((b) => b === 0x11)).toBe(true); // disk signature and partition table
    expect([out[510], out[511]]).toEqual([0x55, 0xaa]);
    expect(() => mbrWithBootCode(new Uint8Array(512), boot)).toThrow(/no MBR partition table/);
    expect(() => mbrWithBootCode(mbr, new Uint8Array(100))).toThrow(/not a 512-byte boot sector/);
  });
});

describe('installer mode', () => {
  const plan = makePlan({ di: '/di', hostname: 'gum.example.org', ip: '192.0.2.10/24', gateway: '192.0.2.1', dns: '192.0.2.53', packages: 'vim', mirror: 'https://mirror.example/debian' });

  it('the preseed answers every question from the same options', () => {
    const text = preseed(plan, { sshKeys: true, rootPasswordHash: '$6$salt$hash' });
    const line = (q: string) => text.split('\n').find((l) => l.split(' ')[1] === q);
    expect(line('netcfg/get_hostname')).toBe('d-i netcfg/get_hostname string gum');
    expect(line('netcfg/get_domain')).toBe('d-i netcfg/get_domain string example.org');
    expect(line('netcfg/get_ipaddress')).toBe('d-i netcfg/get_ipaddress string 192.0.2.10');
    expect(line('netcfg/get_netmask')).toBe('d-i netcfg/get_netmask string 255.255.255.0');
    expect(line('netcfg/get_gateway')).toBe('d-i netcfg/get_gateway string 192.0.2.1');
    expect(line('netcfg/get_nameservers')).toBe('d-i netcfg/get_nameservers string 192.0.2.53');
    expect(line('mirror/protocol')).toBe('d-i mirror/protocol string https');
    expect(line('mirror/https/hostname')).toBe('d-i mirror/https/hostname string mirror.example');
    expect(line('mirror/https/directory')).toBe('d-i mirror/https/directory string /debian');
    expect(line('mirror/suite')).toBe('d-i mirror/suite string bookworm');
    expect(line('passwd/root-password-crypted')).toBe('d-i passwd/root-password-crypted password $6$salt$hash');
    expect(line('pkgsel/include')).toBe('d-i pkgsel/include string openssh-server vim');
    expect(line('grub-installer/bootdev')).toBe('d-i grub-installer/bootdev string /dev/vda');
    expect(line('debian-installer/add-kernel-opts')).toBe('d-i debian-installer/add-kernel-opts string console=tty0 console=ttyS0,115200n8');
    const late = line('preseed/late_command') ?? '';
    expect(late).toContain('in-target systemctl enable corral-startup-signal.service');
    expect(late).toContain('cp /corral/authorized_keys /target/root/.ssh/authorized_keys');
    // Every line is a preseed line: owner question type value.
    for (const l of text.split('\n').filter((x) => x && !x.startsWith('#'))) expect(l).toMatch(/^(d-i|tasksel|popularity-contest) \S+ (string|boolean|select|multiselect|password|note)( |$)/);
  });

  it('DHCP and no password: no static answers, root locked, no key copied', () => {
    const text = preseed(makePlan({ di: '/di' }), { sshKeys: false });
    expect(text).not.toContain('netcfg/get_ipaddress');
    expect(text).toContain('d-i passwd/root-password-crypted password !\n');
    expect(text).not.toContain('authorized_keys');
  });

  it("GRUB's menu boots the installer with the preseed archive as a second initrd, on the serial console", () => {
    const cfg = installerGrubCfg('bios');
    expect(cfg).toContain('insmod part_msdos');
    expect(cfg).toContain('serial --unit=0 --speed=115200');
    expect(cfg).toContain('\tlinux /boot/di/linux auto=true priority=critical console=tty0 console=ttyS0,115200n8 ---');
    expect(cfg).toContain('\tinitrd /boot/di/initrd.gz /boot/di/preseed.cpio\n');
    expect(installerGrubCfg('uefi')).toContain('insmod part_gpt');
  });
});

describe('cpio (newc)', () => {
  /** Reads a newc archive back: path → [mode, data]. */
  function readNewc(bytes: Uint8Array): Map<string, [number, string]> {
    const text = new TextDecoder('latin1').decode(bytes);
    const out = new Map<string, [number, string]>();
    let off = 0;
    for (;;) {
      expect(text.slice(off, off + 6)).toBe('070701');
      const field = (i: number) => Number.parseInt(text.slice(off + 6 + i * 8, off + 14 + i * 8), 16);
      const mode = field(1);
      const size = field(6);
      const nameSize = field(11);
      const name = text.slice(off + 110, off + 110 + nameSize - 1);
      let p = off + 110 + nameSize;
      p += (4 - (p % 4)) % 4;
      const data = text.slice(p, p + size);
      p += size;
      p += (4 - (p % 4)) % 4;
      if (name === 'TRAILER!!!') {
        expect(p).toBe(bytes.length);
        return out;
      }
      out.set(name, [mode, data]);
      off = p;
    }
  }

  it('holds files and directories with their modes, 4-byte aligned, ends with the trailer', () => {
    const a = readNewc(cpioNewc([{ path: 'preseed.cfg', data: 'd-i x string y\n' }, { path: 'corral' }, { path: '/corral/s', data: 'abc', mode: 0o755 }]));
    expect([...a.keys()]).toEqual(['preseed.cfg', 'corral', 'corral/s']);
    expect(a.get('preseed.cfg')).toEqual([0o100644, 'd-i x string y\n']);
    expect(a.get('corral')?.[0]).toBe(0o040755);
    expect(a.get('corral/s')).toEqual([0o100755, 'abc']);
  });

  it('refuses a path that climbs out', () => {
    expect(() => cpioNewc([{ path: '../etc/x', data: '' }])).toThrow(/bad path/);
  });
});
