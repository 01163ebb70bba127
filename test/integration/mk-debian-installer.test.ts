// mk_debian_installer as a user runs it, checked the way a user would: by mounting what it wrote.
// debootstrap mode (from the cached root file system; the first run on a machine makes the cache):
// a kernel, GRUB in the disk's first sectors with a menu on ttyS0, the host name, the network, the
// startup-signal unit enabled, root's key, extra packages, the post-install hook, and an identity of
// its own (SSH host keys, machine-id). Installer mode: the installer, GRUB's menu and the preseed in
// the archive the installer reads. Refusals change nothing; an interrupted run leaves no mount, no
// loop device and no image behind. Needs root, debootstrap, grub-pc-bin, grub-efi-amd64-bin, network
// access to the Debian mirror for the first run.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, lstat, mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyCib } from '../support/empty-cib.js';
import { ensureDebianInstaller, leftoverMounts, leftoverWorkDirs, loopsOf, mkdi, ROOT, withMounted, type Run } from '../support/debian-installer.js';
import { fingerprint } from '../support/fingerprint.js';

const exec = promisify(execFile);
let dir: string;
let key: string;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMkdiTestKeyOnlyForMkDebianInstallerTests mkdi@test';

const refused = (r: Run) => {
  expect(r.code, r.stderr + r.stdout).toBe(2);
  expect(r.stdout).toBe('');
  return r.stderr.trim();
};


async function sparseFile(file: string, bytes: number): Promise<void> {
  await writeFile(file, '');
  await exec('truncate', ['-s', String(bytes), file]);
}

beforeAll(async () => {
  await exec('test', ['-x', path.join(ROOT, 'dist/bin/mk_debian_installer')]).catch(() => {
    throw new Error('run npm run build first');
  });
  dir = await mkdtemp('/var/tmp/corral-mkdi-it.');
  key = path.join(dir, 'id.pub');
  await writeFile(key, `${KEY}\n`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('debootstrap mode', () => {
  let image: string;
  let first: Run;

  beforeAll(async () => {
    image = path.join(dir, 'gum.img');
    const hook = path.join(dir, 'hook.sh');
    await writeFile(hook, '#!/bin/sh\nset -e\nprintf "TARGET=%s\\nBLOCKDEV=%s\\nROOT_DEV=%s\\nHOSTNAME=%s\\n" "$TARGET" "$BLOCKDEV" "$ROOT_DEV" "$HOSTNAME" > "$TARGET/etc/mkdi-hook"\n');
    await chmod(hook, 0o755);
    first = await mkdi([
      '--size', '4g', '--hostname', 'gum.example.org', '--ssh-key', key,
      '--ip', '192.0.2.10/24', '--gateway', '192.0.2.1', '--dns', '192.0.2.53',
      '--packages', 'tree', '--post-install', hook, image,
    ]);
    process.stdout.write(first.stdout);
    expect(first.code, first.stderr).toBe(0);
  }, 1_500_000);

  it('leaves no mount, loop device or work directory behind', async () => {
    expect(await loopsOf(image)).toEqual([]);
    expect(await leftoverMounts()).toEqual([]);
    expect(await leftoverWorkDirs()).toEqual([]);
  });

  it('BIOS: an msdos partition table, GRUB boot code in the first sector, the core image before the partition', async () => {
    const head = Buffer.alloc(2048 * 512);
    const h = await import('node:fs/promises').then((f) => f.open(image, 'r'));
    await h.read(head, 0, head.length, 0);
    await h.close();
    expect(head.subarray(0, 440).includes(Buffer.from('GRUB'))).toBe(true);
    expect(head[510]).toBe(0x55);
    expect(head[511]).toBe(0xaa);
    expect(head[0x1be]).toBe(0x80); // partition 1 is active (bootable)
    expect(head.subarray(512, 1024).some((b) => b !== 0)).toBe(true); // the core image in sector 1
    const { stdout } = await exec('sfdisk', ['--dump', image]);
    expect(stdout).toMatch(/label: dos/);
    expect(stdout).toMatch(/start=\s*2048,.*type=83, bootable/);
  });

  it('holds a kernel, GRUB with a menu on ttyS0 that boots it by UUID, and fstab with the same UUID', async () => {
    await withMounted(image, 1, async (root, loop) => {
      const uuid = (await exec('blkid', ['-s', 'UUID', '-o', 'value', `${loop}p1`])).stdout.trim();
      const cfg = await readFile(path.join(root, 'boot/grub/grub.cfg'), 'utf8');
      const kernel = /linux \/boot\/(vmlinuz-\S+) root=UUID=(\S+) ro console=tty0 console=ttyS0,115200n8/.exec(cfg);
      expect(kernel, cfg).not.toBeNull();
      expect(kernel?.[2]).toBe(uuid);
      expect(cfg).toContain('serial --unit=0 --speed=115200');
      expect(cfg).toContain('terminal_output console serial');
      expect((await stat(path.join(root, 'boot', kernel?.[1] as string))).size).toBeGreaterThan(1_000_000);
      expect((await stat(path.join(root, 'boot', (kernel?.[1] as string).replace('vmlinuz', 'initrd.img')))).size).toBeGreaterThan(1_000_000);
      expect((await stat(path.join(root, 'boot/grub/i386-pc/normal.mod'))).isFile()).toBe(true);
      expect(await readFile(path.join(root, 'etc/fstab'), 'utf8')).toContain(`UUID=${uuid}  /  ext4`);
      expect(await readFile(path.join(root, 'etc/default/grub'), 'utf8')).toContain('GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8"');
    });
  });

  it("has the host name, the static network, root's key, the extra package and the hook's mark", async () => {
    await withMounted(image, 1, async (root, loop) => {
      expect(await readFile(path.join(root, 'etc/hostname'), 'utf8')).toBe('gum\n');
      expect(await readFile(path.join(root, 'etc/hosts'), 'utf8')).toContain('127.0.1.1\tgum.example.org gum');
      const net = await readFile(path.join(root, 'etc/systemd/network/10-corral.network'), 'utf8');
      expect(net).toContain('Address=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\n');
      expect(await readlink(path.join(root, 'etc/systemd/system/multi-user.target.wants/systemd-networkd.service'))).toMatch(/systemd-networkd\.service$/);
      const keys = path.join(root, 'root/.ssh/authorized_keys');
      expect(await readFile(keys, 'utf8')).toBe(`${KEY}\n`);
      expect((await stat(keys)).mode & 0o777).toBe(0o600);
      expect((await stat(path.join(root, 'usr/sbin/sshd'))).isFile()).toBe(true);
      expect((await stat(path.join(root, 'usr/bin/tree'))).isFile()).toBe(true);
      expect(await readFile(path.join(root, 'etc/mkdi-hook'), 'utf8')).toMatch(/^TARGET=\/run\/mk_debian_installer\.\S+\nBLOCKDEV=\/dev\/loop\d+\nROOT_DEV=\/dev\/loop\d+p1\nHOSTNAME=gum\.example\.org\n$/);
      // no service policy, no host resolv.conf left from the build
      await expect(stat(path.join(root, 'usr/sbin/policy-rc.d'))).rejects.toThrow();
      expect((await lstat(path.join(root, 'etc/resolv.conf'))).isSymbolicLink()).toBe(true);
      expect(loop).toMatch(/^\/dev\/loop\d+$/);
    });
  });

  it("corral's startup-signal unit is installed and enabled, ordered after multi-user.target", async () => {
    await withMounted(image, 1, async (root) => {
      const script = path.join(root, 'usr/lib/corral/corral-startup-signal');
      expect(await readFile(script, 'utf8')).toBe(await readFile(path.join(ROOT, 'systemd/corral-startup-signal'), 'utf8'));
      expect((await stat(script)).mode & 0o777).toBe(0o755);
      const unit = await readFile(path.join(root, 'etc/systemd/system/corral-startup-signal.service'), 'utf8');
      expect(unit).toMatch(/^After=multi-user\.target/m);
      expect(await readlink(path.join(root, 'etc/systemd/system/multi-user.target.wants/corral-startup-signal.service'))).toBe('/etc/systemd/system/corral-startup-signal.service');
    });
  });

  it('a second image comes from the cache in seconds, with an identity of its own (SSH host keys, machine-id)', async () => {
    const second = path.join(dir, 'elm.img');
    const t = Date.now();
    const r = await mkdi(['--size', '3g', '--hostname', 'elm', second]);
    const seconds = (Date.now() - t) / 1000;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('root file system from the cache');
    process.stdout.write(`mk_debian_installer: first image ${/(\d+) s in all/.exec(first.stdout)?.[1]} s, second from the cache ${seconds.toFixed(1)} s\n`);
    const hostKey = (img: string) => withMounted(img, 1, async (root) => [await readFile(path.join(root, 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8'), await readFile(path.join(root, 'etc/machine-id'), 'utf8'), await readFile(path.join(root, 'etc/hostname'), 'utf8')]);
    const [a, b] = [await hostKey(image), await hostKey(second)];
    expect(a[0]).toMatch(/^ssh-ed25519 /);
    expect(b[0]).toMatch(/^ssh-ed25519 /);
    expect(a[0]).not.toBe(b[0]);
    expect([a[1], b[1]]).toEqual(['', '']); // systemd makes one at first boot
    expect(b[2]).toBe('elm\n');
    await withMounted(second, 1, async (root) => {
      await expect(stat(path.join(root, 'root/.ssh/authorized_keys'))).rejects.toThrow(); // no key asked for
      await expect(stat(path.join(root, 'usr/bin/tree'))).rejects.toThrow(); // nor the package
    });
    await rm(second);
  }, 600_000);
});

describe('debootstrap mode, UEFI', () => {
  it('GPT, the ESP with EFI/BOOT/BOOTX64.EFI (read with mtools), fstab mounting it by its volume id, GRUB for EFI on ttyS0', async () => {
    const image = path.join(dir, 'uefi.img');
    const r = await mkdi(['--uefi', '--size', '4g', '--hostname', 'ash', image]);
    expect(r.code, r.stderr).toBe(0);
    const table = (await exec('sfdisk', ['--dump', image])).stdout;
    expect(table).toMatch(/label: gpt/);
    expect(table).toMatch(/start=\s*2048, size=\s*524288, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B/);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const efi = (await exec('mtype', ['-i', `${image}@@1M`, '::/EFI/BOOT/BOOTX64.EFI'], { env, encoding: 'latin1', maxBuffer: 64 << 20 })).stdout;
    expect(efi.slice(0, 2)).toBe('MZ');
    const espId = (await exec('blkid', ['-p', '-o', 'value', '-s', 'UUID', '-O', String(1024 * 1024), image])).stdout.trim();
    expect(espId).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
    await withMounted(image, 2, async (root, loop) => {
      const uuid = (await exec('blkid', ['-s', 'UUID', '-o', 'value', `${loop}p2`])).stdout.trim();
      expect(await readFile(path.join(root, 'etc/fstab'), 'utf8')).toContain(`UUID=${uuid}  /  ext4  errors=remount-ro  0  1\nUUID=${espId}  /boot/efi  vfat  umask=0077  0  1\n`);
      const cfg = await readFile(path.join(root, 'boot/grub/grub.cfg'), 'utf8');
      expect(cfg).toContain('insmod part_gpt');
      expect(cfg).toMatch(new RegExp(`linux /boot/vmlinuz-\\S+ root=UUID=${uuid} ro console=tty0 console=ttyS0,115200n8`));
      expect((await stat(path.join(root, 'boot/grub/x86_64-efi/normal.mod'))).isFile()).toBe(true);
      expect((await stat(path.join(root, 'usr/lib/grub/x86_64-efi'))).isDirectory()).toBe(true); // grub-efi-amd64, for the system's own updates
    });
    expect(await loopsOf(image)).toEqual([]);
    await rm(image);
  }, 1_500_000);
});

describe('installer mode', () => {
  let di: string;
  beforeAll(async () => {
    di = await ensureDebianInstaller();
  }, 900_000);

  it('BIOS: the installer, its GRUB menu on ttyS0 and the preseed made from the options', async () => {
    const image = path.join(dir, 'di.img');
    const pw = path.join(dir, 'pw');
    await writeFile(pw, 'correct horse\n');
    const r = await mkdi(['--di', di, '--size', '3g', '--hostname', 'ash', '--ssh-key', key, '--root-password-file', pw, '--packages', 'vim', image]);
    expect(r.code, r.stderr).toBe(0);
    expect(await loopsOf(image)).toEqual([]);
    await withMounted(image, 1, async (root) => {
      for (const f of ['linux', 'initrd.gz']) {
        expect(createHash('sha256').update(await readFile(path.join(root, 'boot/di', f))).digest('hex')).toBe(createHash('sha256').update(await readFile(path.join(di, f))).digest('hex'));
      }
      const cfg = await readFile(path.join(root, 'boot/grub/grub.cfg'), 'utf8');
      expect(cfg).toContain('linux /boot/di/linux auto=true priority=critical console=tty0 console=ttyS0,115200n8');
      expect(cfg).toContain('initrd /boot/di/initrd.gz /boot/di/preseed.cpio');
      expect(cfg).toContain('terminal_output console serial');
      expect((await stat(path.join(root, 'boot/grub/i386-pc/normal.mod'))).isFile()).toBe(true);
      // The preseed as the installer reads it: /preseed.cfg in the second initrd.
      const { stdout: listing } = await exec('sh', ['-c', `cpio -it < ${path.join(root, 'boot/di/preseed.cpio')}`]);
      expect(listing.split('\n').filter(Boolean).sort()).toEqual(['corral', 'corral/authorized_keys', 'corral/corral-startup-signal', 'corral/corral-startup-signal.service', 'preseed.cfg']);
      const { stdout: preseed } = await exec('sh', ['-c', `cd ${dir} && cpio -i --to-stdout preseed.cfg < ${path.join(root, 'boot/di/preseed.cpio')}`]);
      expect(preseed).toContain('d-i netcfg/get_hostname string ash\n');
      expect(preseed).toContain('d-i pkgsel/include string openssh-server vim\n');
      expect(preseed).toContain('d-i grub-installer/bootdev string /dev/vda\n');
      expect(preseed).toMatch(/^d-i passwd\/root-password-crypted password \$6\$\S+$/m);
      expect(preseed).not.toContain('correct horse');
      expect(preseed).toContain('in-target systemctl enable corral-startup-signal.service');
    });
    const head = Buffer.alloc(512);
    const h = await import('node:fs/promises').then((f) => f.open(image, 'r'));
    await h.read(head, 0, 512, 0);
    await h.close();
    expect(head.subarray(0, 440).includes(Buffer.from('GRUB'))).toBe(true);
    await rm(image);
  });

  it('UEFI: GPT, the EFI system partition with EFI/BOOT/BOOTX64.EFI and the installer (read with mtools: no vfat needed)', async () => {
    const image = path.join(dir, 'di-uefi.img');
    const r = await mkdi(['--di', di, '--uefi', '--size', '3g', image]);
    expect(r.code, r.stderr).toBe(0);
    expect((await exec('sfdisk', ['--dump', image])).stdout).toMatch(/label: gpt[\s\S]*start=\s*2048,.*type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B/);
    const esp = `${image}@@1M`; // the first partition, at sector 2048
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const efi = (await exec('mtype', ['-i', esp, '::/EFI/BOOT/BOOTX64.EFI'], { env, encoding: 'latin1', maxBuffer: 64 << 20 })).stdout;
    expect(efi.slice(0, 2)).toBe('MZ');
    expect((await exec('mtype', ['-i', esp, '::/boot/grub/grub.cfg'], { env })).stdout).toContain('insmod part_gpt');
    const listing = (await exec('mdir', ['-b', '-i', esp, '::/boot/di/', '::/boot/grub/x86_64-efi/'], { env })).stdout;
    for (const f of ['linux', 'initrd.gz', 'preseed.cpio', 'normal.mod']) expect(listing).toMatch(new RegExp(`/${f.replace('.', '\\.')}\\s*$`, 'm'));
    expect(await loopsOf(image)).toEqual([]);
    expect(await leftoverWorkDirs()).toEqual([]);
    await rm(image);
  });
});

describe('refusals change nothing', () => {
  it('bad flags and an unknown suite: exit 2, one line each, no file made', async () => {
    const image = path.join(dir, 'never.img');
    expect(refused(await mkdi(['--suite', 'jessie', '--size', '4g', image]))).toBe('mk_debian_installer: --suite "jessie": the suite is one of bullseye, bookworm, trixie, sid');
    expect(refused(await mkdi(['--size', '1g', image]))).toBe('mk_debian_installer: --size "1g": the disk must hold at least 2 GiB, e.g. --size 4g');
    expect(refused(await mkdi([image]))).toBe(`mk_debian_installer: DISK "${image}" does not exist; give --size (e.g. --size 4g) to create an image file there`);
    expect(refused(await mkdi(['--gateway', '10.0.0.1', '--size', '4g', image]))).toBe('mk_debian_installer: --gateway needs --ip (without --ip the network is configured by DHCP)');
    expect(refused(await mkdi(['--ssh-key', path.join(dir, 'nokey'), '--size', '4g', image]))).toBe(`mk_debian_installer: --ssh-key "${path.join(dir, 'nokey')}": no such file`);
    expect(refused(await mkdi(['--di', dir, '--size', '4g', image]))).toMatch(/^mk_debian_installer: --di "[^"]+": no Debian installer there/);
    expect(refused(await mkdi(['--root-password', 'x', '--size', '4g', image]))).toMatch(/^mk_debian_installer: unknown option "--root-password"/);
    await expect(stat(image)).rejects.toThrow();
  });

  it('a program missing on this host: exit 1 before anything is done, naming it and its package', async () => {
    const image = path.join(dir, 'never.img');
    const r = await mkdi(['--size', '4g', image], { PATH: '/usr/bin:/bin' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    // /usr/sbin is not on that PATH: losetup, sfdisk, mkfs.ext4, debootstrap … are not found there.
    expect(r.stderr).toMatch(/^mk_debian_installer: missing on this host: [^\n]*\bsfdisk\b[^\n]*\bdebootstrap \(apt-get install [^\n]*\bfdisk\b[^\n]*\bdebootstrap\)\n$/);
    await expect(stat(image)).rejects.toThrow();
  });

  it('a disk too small, a disk with a partition table (without --force): the file as it was', async () => {
    const small = path.join(dir, 'small.img');
    await sparseFile(small, 1024 ** 3);
    const before = await fingerprint(small);
    expect(refused(await mkdi([small]))).toBe(`mk_debian_installer: ${small} holds 1024 MiB; the disk must hold at least 2 GiB`);
    expect(await fingerprint(small)).toBe(before);

    const used = path.join(dir, 'used.img');
    await sparseFile(used, 3 * 1024 ** 3);
    await exec('sh', ['-c', `printf 'label: dos\\n,,L\\n' | sfdisk -q ${used}`]);
    const usedBefore = await fingerprint(used);
    expect(refused(await mkdi([used]))).toMatch(new RegExp(`^mk_debian_installer: ${used} is not empty \\(dos at 0x1fe\\); --force overwrites it$`));
    expect(await fingerprint(used)).toBe(usedBefore);
    await rm(small);
    await rm(used);
  });

  it('a disk in use: attached to a loop device, mounted, held open by a process', async () => {
    const disk = path.join(dir, 'busy.img');
    await sparseFile(disk, 3 * 1024 ** 3);
    await exec('mkfs.ext4', ['-q', '-F', disk]);
    const before = await fingerprint(disk);
    const mnt = await mkdtemp('/var/tmp/corral-mkdi-busy.');
    await exec('mount', ['-o', 'loop,ro', disk, mnt]); // read-only: the mount itself writes nothing
    try {
      const msg = refused(await mkdi(['--force', disk]));
      expect(msg).toMatch(new RegExp(`^mk_debian_installer: ${disk} is in use: attached to /dev/loop\\d+; mounted on ${mnt}`));
    } finally {
      await exec('umount', [mnt]);
      await rm(mnt, { recursive: true });
    }
    // umount of a mount -o loop detaches the loop device by itself (autoclear)
    expect(await loopsOf(disk)).toEqual([]);
    const fd = openSync(disk, 'r');
    const holder = spawn('sleep', ['600'], { stdio: [fd, 'ignore', 'ignore'] });
    closeSync(fd);
    try {
      const msg = refused(await mkdi(['--force', disk]));
      expect(msg).toBe(`mk_debian_installer: ${disk} is in use: held open by process ${holder.pid} (sleep) as ${disk}`);
    } finally {
      holder.kill();
    }
    expect(await fingerprint(disk)).toBe(before);
    await rm(disk);
  });

  it('the disk of a VM in the cluster (CIB_file): refused while it runs or may be started, even with --force; while disabled, unless --force', async () => {
    const disk = path.join(dir, 'vmdisk.img');
    await sparseFile(disk, 3 * 1024 ** 3);
    const cib = path.join(dir, 'cib.xml');
    await writeFile(cib, emptyCib(['n1']));
    const xml = path.join(dir, 'oak.xml');
    await exec(path.join(ROOT, 'dist/bin/create_domxml'), ['--name', 'oak', '--cpus', '1', '--mem', '512m', '--disk', disk, '-o', xml]);
    await exec(path.join(ROOT, 'dist/bin/domadd'), [xml], { env: { ...process.env, CIB_file: cib } });
    const before = await fingerprint(disk);
    // added, not running, but Pacemaker may start it any moment: refused even with --force
    expect(refused(await mkdi(['--force', disk], { CIB_file: cib }))).toBe(
      `mk_debian_installer: ${disk} is the disk of oak, which Pacemaker may start at any moment (stopped, not disabled): disable it first (vm oak stop), then --force overwrites it`,
    );
    // disabled (target-role Stopped, what vm oak stop sets): refused unless --force
    await exec('crm_resource', ['--resource', 'vm-oak', '--meta', '--set-parameter', 'target-role', '--parameter-value', 'Stopped'], { env: { ...process.env, CIB_file: cib } });
    expect(refused(await mkdi([disk], { CIB_file: cib }))).toBe(`mk_debian_installer: ${disk} is the disk of oak in the cluster (disabled); --force overwrites it`);
    await exec('crm_resource', ['--resource', 'vm-oak', '--meta', '--delete-parameter', 'target-role'], { env: { ...process.env, CIB_file: cib } });
    // a VM whose domain XML cannot be read: its disks are not known, so not without --force
    const broken = path.join(dir, 'broken-cib.xml');
    await writeFile(broken, await readFile(cib, 'utf8'));
    await exec('crm_resource', ['--resource', 'vm-oak', '--set-parameter', 'config', '--parameter-value', '<domain'], { env: { ...process.env, CIB_file: broken } });
    const other = path.join(dir, 'other.img');
    await sparseFile(other, 3 * 1024 ** 3);
    expect(refused(await mkdi([other], { CIB_file: broken }))).toBe(
      `mk_debian_installer: the domain XML of oak in the cluster cannot be read, so it is not known whether ${other} is its disk; --force goes on without knowing`,
    );
    await rm(other);
    // The same CIB with oak started on n1, as the status section records it.
    const running = (await readFile(cib, 'utf8')).replace(
      /<status\s*\/>|<status>\s*<\/status>/,
      '<status><node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1"><lrm_resources>' +
        '<lrm_resource id="vm-oak" class="ocf" provider="corral" type="TransientDomain"><lrm_rsc_op id="vm-oak_last_0" operation_key="vm-oak_start_0" ' +
        'operation="start" crm_feature_set="3.16.1" transition-key="1:1:0:00000000-0000-0000-0000-000000000000" ' +
        'transition-magic="0:0;1:1:0:00000000-0000-0000-0000-000000000000" on_node="n1" call-id="1" rc-code="0" op-status="0" interval="0" ' +
        'last-rc-change="1795241868" exec-time="1000" queue-time="0"/></lrm_resource></lrm_resources></lrm></node_state></status>',
    );
    expect(running).toContain('vm-oak_last_0');
    await writeFile(cib, running);
    expect(refused(await mkdi(['--force', disk], { CIB_file: cib }))).toBe(`mk_debian_installer: ${disk} is the disk of oak, which runs in the cluster`);
    expect(await fingerprint(disk)).toBe(before);
    await rm(disk);
  });
});

describe('cleanup', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} midway: the run ends, no mount, no loop device, no work directory, and the image it made is gone`, async () => {
      const image = path.join(dir, `killed-${sig}.img`);
      const child = spawn(path.join(ROOT, 'dist/bin/mk_debian_installer'), ['--size', '4g', '--hostname', 'killed', image], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Midway: once its root file system is mounted and being filled.
      for (let i = 0; i < 600 && (await leftoverMounts()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await leftoverMounts()).not.toEqual([]);
      await new Promise((r) => setTimeout(r, 1500));
      child.kill(sig);
      const code = await exited;
      expect(code, out + err).toBe(1);
      expect(err).toMatch(new RegExp(`interrupted by ${sig}; ${image} removed again; mounts and loop devices removed`));
      expect(await leftoverMounts()).toEqual([]);
      expect(await leftoverWorkDirs()).toEqual([]);
      await expect(stat(image)).rejects.toThrow();
      const { stdout } = await exec('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE']);
      expect(stdout).not.toContain(image);
    }, 300_000);
  }
});
