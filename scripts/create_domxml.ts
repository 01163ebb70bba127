// create_domxml: domain XML for a corral VM from a few flags. A thin shell over
// lib/domain/flags.ts, spec.ts and render.ts (which hold every rule); this file only maps flags and writes the result.
import { Command } from 'commander';
import { runCli, UsageError, withCliConventions, zodIssueLines } from '../lib/cli/errors.js';
import { checkOutputFile, writeOutputFile } from '../lib/cli/output.js';
import { domainXmlFromArgs, flagOfIssuePath, withCephDefaults, type CreateDomxmlArgs } from '../lib/domain/flags.js';
import { loadConfig } from '../lib/ops/config.js';
import { MAX_VCPUS } from '../lib/domain/spec.js';
import { validateDomainXml } from '../lib/cli/target.js';

const COMMAND = 'create_domxml';

const EXAMPLES = `
Sizes: 512m, 8g, 8GiB, 1.5t; k/m/g/t and KiB/MiB/GiB/TiB are binary, KB/MB/GB/TB decimal;
a plain number is MiB. Memory is 1 MiB to 16 TiB.

Disks are vda, vdb, … in the order given (--disk and --rbd together):
  /dev/…          block device, raw       *.qcow2   image file, qcow2
  other paths     image file, raw         raw:PATH or qcow2:PATH set the format
Interfaces are in the order given (--iface and --bridge together); the Nth --mac is the Nth's.
  --iface 150           Open vSwitch port on the --ovs bridge, VLAN 150 (access port)
  --iface vh:150        the same on bridge vh; --iface vh:150,151 is a trunk of two VLANs
  --iface vh:all        every VLAN (an OVS port without a tag): must be asked for
  --bridge br0          Linux bridge br0
Without --uuid and --mac, none is written: fixup_domxml makes them stable.

CPU model (--cpu-model): a KVM guest gets host-model by default: libvirt gives it the named model
closest to the CPU of the node it starts on (near-native speed), and refuses a live migration to a
node that cannot provide that CPU (the guest keeps running where it was). host-passthrough is the
exact host CPU: libvirt cannot check a migration's target, so between different CPUs the guest can
crash after moving; use it only where every node has the same CPU. On a cluster of mixed CPUs give
a named model every node provides (virsh hypervisor-cpu-baseline computes one); corral hosts warns
about every VM whose model a node it may run on cannot provide. A TCG guest (--virt-type qemu) gets
QEMU's default model, emulated alike on every node.

On a node whose corral.conf sets ceph_client and ceph_secret (and ceph_monitors), --rbd POOL/IMAGE
alone is enough; TransientDomain makes that libvirt secret on every node from the node's
/etc/ceph/ceph.client.USER.keyring.

Examples:
  create_domxml --name gum --cpus 16 --mem 8g --ovs vh --iface 150 --disk /dev/vm/gum /dev/data/gum > gum.xml
  create_domxml --name db --cpus 4 --mem 16g --rbd rbd/db-root --ceph-mon mon1 --ceph-mon mon2:6789 \\
      --ceph-user libvirt --ceph-secret UUID --iface vh:20 --numa auto -o db.xml
  create_domxml --name web --cpus 2 --mem 2g --firmware efi --bridge br0 --disk /dev/vm/web -o web.xml
  create_domxml --name t1 --cpus 1 --mem 256m --virt-type qemu --kernel /boot/vmlinuz \\
      --initrd /boot/initrd.img --cmdline 'console=ttyS0' --bridge br0`;

async function main(argv: readonly string[]): Promise<void> {
  // --iface/--bridge and --disk/--rbd share one ordered list each: eth0 and vda are what came first.
  const nics: NonNullable<CreateDomxmlArgs['nics']> = [];
  const disks: NonNullable<CreateDomxmlArgs['disks']> = [];
  const collectNic = (option: 'iface' | 'bridge') => (value: string) => (nics.push({ option, value }), nics);
  const collectDisk = (option: 'disk' | 'rbd') => (value: string) => (disks.push({ option, value }), disks);
  const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

  const program = withCliConventions(new Command(COMMAND), COMMAND)
    .description('Write the libvirt domain XML of a corral VM (to stdout, or -o FILE).')
    .requiredOption('--name <name>', 'VM name (letters, digits, ".", "_", "-"; up to 63)')
    .requiredOption('--cpus <n>', `number of vCPUs (1-${MAX_VCPUS})`)
    .requiredOption('--mem <size>', 'memory, e.g. 512m, 8g, 8GiB (a plain number is MiB)')
    .option('--virt-type <type>', 'kvm, or qemu for TCG emulation (default: kvm)')
    .option(
      '--firmware <type>',
      'bios (SeaBIOS), or efi: UEFI (OVMF, no Secure Boot; the ovmf package on every node), e.g. for mk_debian_installer --uefi (default: bios)',
    )
    .option('--ovs <bridge>', 'Open vSwitch bridge for --iface VLAN')
    .option(
      '--iface <vlans...>',
      'interface on Open vSwitch: VLAN, BRIDGE:VLAN, VLAN,VLAN (trunk), all',
      collectNic('iface'),
    )
    .option('--bridge <bridge...>', 'interface on a Linux bridge', collectNic('bridge'))
    .option('--mac <mac...>', 'MAC address of the interfaces, in order (default: none, fixup_domxml)', collect)
    .option('--disk <path...>', 'disk: /dev/… (block), FILE, FILE.qcow2, raw:PATH, qcow2:PATH', collectDisk('disk'))
    .option('--rbd <pool/image...>', 'Ceph RBD disk', collectDisk('rbd'))
    .option('--ceph-mon <host[:port]...>', 'Ceph monitor (default: corral.conf\'s ceph_monitors, else the node\'s ceph.conf)', collect)
    .option('--ceph-user <user>', 'Ceph user for RBD disks, without "client." (default: corral.conf\'s ceph_client)')
    .option('--ceph-secret <uuid>', 'libvirt secret (type ceph) holding the Ceph user\'s key (default: corral.conf\'s ceph_secret)')
    .option('--numa <mode>', 'auto: NUMA placement by numad (vcpu placement auto, numatune strict auto)')
    .option('--numa-nodes <nodeset>', 'memory strictly from these host NUMA nodes, e.g. 0-1 or 0,2')
    .option(
      '--cpu-model <model>',
      "host-model (default for kvm), host-passthrough, maximum, a named model (e.g. Skylake-Server-v4), or default (QEMU's; default for qemu); see below",
    )
    .option('--machine <type>', 'machine type, e.g. q35 or pc-q35-7.2 (default: libvirt\'s)')
    .option('--kernel <path>', 'boot this kernel directly (instead of the first disk)')
    .option('--initrd <path>', 'initrd for --kernel')
    .option('--cmdline <text>', 'kernel command line for --kernel')
    .option('--uuid <uuid>', 'domain UUID (default: none, fixup_domxml)')
    .option('--no-startup-signal', 'omit the startup_signal channel (the VM counts as started when qemu runs)')
    .option('--no-vnc', 'omit the VNC display (127.0.0.1, port chosen by libvirt)')
    .option('--validate', 'also check the result with virt-xml-validate (needs libvirt-clients)')
    .option('-o, --output <file>', 'write to FILE instead of stdout (a regular file: atomically, keeping its owner and mode)')
    .addHelpText('after', EXAMPLES);

  program.parse(argv);
  const o = program.opts<Record<string, unknown>>();
  const given: CreateDomxmlArgs = {
    name: o.name as string,
    cpus: o.cpus as string,
    mem: o.mem as string,
    virtType: o.virtType as string | undefined,
    firmware: o.firmware as string | undefined,
    ovs: o.ovs as string | undefined,
    nics,
    disks,
    cephMon: (o.cephMon as string[] | undefined) ?? [],
    cephUser: o.cephUser as string | undefined,
    cephSecret: o.cephSecret as string | undefined,
    numa: o.numa as string | undefined,
    numaNodes: o.numaNodes as string | undefined,
    cpuModel: o.cpuModel as string | undefined,
    machine: o.machine as string | undefined,
    kernel: o.kernel as string | undefined,
    initrd: o.initrd as string | undefined,
    cmdline: o.cmdline as string | undefined,
    uuid: o.uuid as string | undefined,
    mac: (o.mac as string[] | undefined) ?? [],
    startupSignal: o.startupSignal as boolean,
    vnc: o.vnc as boolean,
  };
  // --rbd: what --ceph-mon, --ceph-user and --ceph-secret leave out comes from corral.conf
  // (ceph_monitors, ceph_client, ceph_secret); nothing else reads the file.
  const args = disks.some((d) => d.option === 'rbd') ? withCephDefaults(given, (await loadConfig()).ceph) : given;

  let xml: string;
  try {
    xml = domainXmlFromArgs(args);
  } catch (e) {
    if (e instanceof Error && e.name === 'ZodError') {
      throw new UsageError(zodIssueLines(e as never, (path) => flagOfIssuePath(path, args)).join('\n'));
    }
    throw e;
  }
  const output = o.output as string | undefined;
  const toFile = output !== undefined && output !== '-';
  if (toFile) await checkOutputFile(output, '-o');
  if (o.validate === true) {
    const v = await validateDomainXml(xml);
    if (!v.ok) throw new Error(`the generated XML does not validate (a bug in create_domxml): ${v.message}`);
  }
  if (toFile) await writeOutputFile(output, xml, '-o');
  else process.stdout.write(xml);
}

runCli(COMMAND, () => main(process.argv));
