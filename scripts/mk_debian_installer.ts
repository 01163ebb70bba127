// mk_debian_installer: from an empty disk (block device or image file) to a Debian VM that boots on
// the serial console and signals corral when it is up; or, with --di, a disk whose first boot
// installs Debian by itself. A thin shell over lib/ops/installer.ts.
import { Command } from 'commander';
import { runCli, withCliConventions } from '../lib/cli/errors.js';
import { mkDebianInstaller, CACHE_DIR } from '../lib/ops/installer.js';
import { loadConfig } from '../lib/ops/config.js';
import { SUITES, type PlanInput } from '../lib/image/plan.js';

const COMMAND = 'mk_debian_installer';

const DETAILS = `
debootstrap mode (the default) partitions DISK (msdos for BIOS; GPT with an EFI system partition
with --uefi), makes the file systems and installs a minimal Debian with a kernel, GRUB, a serial
console on ttyS0 (GRUB's and the kernel's), the host name, the network (systemd-networkd: DHCP, or
--ip/--gateway/--dns), root's SSH key or password, and corral's startup-signal unit, enabled: the
VM counts as started once multi-user.target's units have started. The prepared root file system is
cached in ${CACHE_DIR} (made afresh after 7 days, or with --refresh-cache), so a second image
of the same suite takes seconds instead of minutes.

installer mode (--di DIR: a Debian installer's netboot linux and initrd.gz) puts the installer, a
preseed made from the same options and GRUB on the disk: the VM's first boot installs Debian
unattended (the guest needs to reach the mirror).

Refused, changing nothing (exit 2): a disk that is mounted, attached to a loop device, held open by
a process or the disk of a VM in the cluster (when a CIB is reachable, or CIB_file); a disk with a
partition table or file system, unless --force; a disk smaller than 2 GiB; an unknown suite.
Interrupted (SIGINT, SIGTERM) or failed, it removes its mounts and loop devices (and an image file
it created) before it exits 1.

rbd:POOL/IMAGE (with --size) makes a new Ceph RBD image: the system is built in a sparse file
under /var/tmp, then imported with rbd import (runs of zeros skipped) as corral.conf's ceph_client
(else admin) through its ceph_monitors (else /etc/ceph/ceph.conf), and the file removed. An image
that exists already is refused; a failed or interrupted import removes the half-made image.

--post-install SCRIPT runs on this host after the system is written, with TARGET (the mounted root
file system, or installer mode's boot partition), BLOCKDEV (the loop device of the disk), DISK,
ROOT_DEV (ESP_DEV, BOOT_DEV), HOSTNAME and SUITE in its environment (as Ganeti's OS hooks).

Examples:
  lvcreate -n gum -L 30g vm && mk_debian_installer --hostname gum --ssh-key ~/.ssh/id_ed25519.pub /dev/vm/gum
  mk_debian_installer --size 4g --hostname gum --ip 192.0.2.10/24 --gateway 192.0.2.1 --dns 192.0.2.53 /var/lib/corral/gum.img
  mk_debian_installer --size 8g --hostname db rbd:corral-vms/db
  mk_debian_installer --di ./bookworm-netboot --hostname gum --root-password-file pw.txt /dev/vm/gum`;

/** The flags: the plan's own (PlanInput, checked in lib/image/plan.ts) and this command's. */
interface Opts extends PlanInput {
  sshKey?: string;
  rootPasswordFile?: string;
  postInstall?: string;
  force?: boolean;
  refreshCache?: boolean;
}

async function main(argv: readonly string[]): Promise<void> {
  const program = withCliConventions(new Command(COMMAND), COMMAND)
    .description('Install Debian on a disk or image file for a corral VM (debootstrap), or put a preseeded Debian installer on it (--di).')
    .argument('<disk>', 'block device (e.g. /dev/vm/gum), image file (created with --size), or rbd:POOL/IMAGE (a new Ceph RBD image, with --size)')
    .option('--di <dir>', "installer mode: DIR holds a Debian installer's linux and initrd.gz (netboot)")
    .option('--size <size>', 'size of the image file to create when DISK does not exist, e.g. 4g (a plain number is MiB)')
    .option('--suite <suite>', `Debian release: ${SUITES.join(', ')} (default: bookworm)`)
    .option('--mirror <url>', "Debian mirror (default: this host's apt sources, else http://deb.debian.org/debian)")
    .option('--hostname <name>', 'host name of the new system (default: debian)')
    .option('--uefi', 'boot with UEFI: GPT, an EFI system partition, GRUB for EFI (default: BIOS, msdos)')
    .option('--ip <address/prefix>', 'static IPv4 address, e.g. 192.0.2.10/24 (default: DHCP)')
    .option('--gateway <address>', 'default gateway (with --ip)')
    .option('--dns <servers>', 'name servers, comma-separated')
    .option('--ssh-key <file>', "public key file(s) for root's authorized_keys")
    .option('--root-password-file <file>', "root's password: the first line of FILE (never on the command line)")
    .option('--packages <list>', 'extra Debian packages, comma-separated')
    .option('--post-install <script>', 'program to run after the system is written (see below)')
    .option('--force', 'overwrite a disk that holds a partition table or file system')
    .option('--refresh-cache', 'make the cached root file system afresh (new packages from the mirror)')
    .addHelpText('after', DETAILS);
  program.parse(argv);
  const o = program.opts<Opts>();
  const disk = program.args[0] as string;
  const say = (line: string) => process.stdout.write(`${COMMAND}: ${line}\n`);
  // rbd:POOL/IMAGE: imported as corral.conf's ceph_client through its ceph_monitors (else admin, ceph.conf).
  const rbd = disk.startsWith('rbd:') ? (await loadConfig()).ceph : undefined;
  const r = await mkDebianInstaller({ ...o, disk, ...(rbd ? { rbd: { ...(rbd.client ? { client: rbd.client } : {}), monitors: rbd.monitors } } : {}) }, say);
  const parts = [`${r.seconds.toFixed(0)} s in all`];
  if (r.debootstrapSeconds !== undefined) parts.push(`debootstrap and packages ${r.debootstrapSeconds.toFixed(0)} s`);
  if (r.cached) parts.push('root file system from the cache');
  say(`done: ${r.disk} (${r.mode} mode; ${parts.join(', ')})`);
}

runCli(COMMAND, () => main(process.argv));
