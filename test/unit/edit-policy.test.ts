// What `vm NAME edit` lets a caller who is not root change: each class the audit found refused
// with a line naming the element, each allowed class passing, and nothing refused for root's sake
// here (checkEdited asks only for callers who are not root).
import { describe, expect, it } from 'vitest';
import { DomainDoc } from '../../lib/domain/doc.js';
import { editRefusals } from '../../lib/domain/edit-policy.js';

const BASE =
  '<domain type="kvm"><name>web1</name><uuid>b428a3dc-3b6b-47ae-939b-3f53a4b2238b</uuid>' +
  '<title>web one</title><description>the web server</description>' +
  '<metadata><app:info xmlns:app="urn:x"><owner>web team</owner></app:info></metadata>' +
  '<memory unit="MiB">128</memory><currentMemory unit="MiB">128</currentMemory><vcpu>1</vcpu>' +
  '<os><type arch="x86_64">hvm</type><boot dev="hd"/></os>' +
  '<features><acpi/></features><clock offset="utc"><timer name="rtc" tickpolicy="catchup"/></clock>' +
  '<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>' +
  '<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>' +
  '<disk type="block" device="disk"><driver name="qemu" type="raw"/><source dev="/dev/vm/web1"/><target dev="vda" bus="virtio"/></disk>' +
  '<interface type="bridge"><mac address="52:54:00:12:34:56"/><source bridge="br0"/><model type="e1000"/></interface>' +
  '<serial type="pty"><target port="0"/><log file="/var/log/corral/console/web1.log" append="on"/></serial>' +
  '<console type="pty"><target type="serial" port="0"/></console>' +
  '<channel type="unix"><target type="virtio" name="startup_signal"/></channel>' +
  '</devices></domain>';

/** The refusals for BASE edited by replacing FROM with TO (which must occur in BASE). */
function refusals(from: string | RegExp, to: string, base = BASE): string[] {
  const edited = base.replace(from, to);
  if (edited === base) throw new Error(`the test's edit ${String(from)} does not apply`);
  return editRefusals(DomainDoc.parse(base).root, DomainDoc.parse(edited).root);
}

describe('vm edit by a caller who is not root: refused, one line naming the element', () => {
  it.each<[string, string | RegExp, string, string[]]>([
    ['a block disk on /dev/sda added', '</disk>', '</disk><disk type="block" device="disk"><source dev="/dev/sda"/><target dev="vdb" bus="virtio"/></disk>', ['devices/disk[2]: added']],
    ['a disk source changed', 'dev="/dev/vm/web1"', 'dev="/dev/sda"', ['devices/disk/source: changed (dev)']],
    ['a disk removed', /<disk .*?<\/disk>/, '', ['devices/disk: removed']],
    ['the serial console log pointed elsewhere', 'file="/var/log/corral/console/web1.log"', 'file="/etc/shadow"', ['devices/serial/log: changed (file)']],
    ['the serial console log removed', '<log file="/var/log/corral/console/web1.log" append="on"/>', '', ['devices/serial/log: removed']],
    ['a log on the console', '<target type="serial" port="0"/></console>', '<target type="serial" port="0"/><log file="/root/x"/></console>', ['devices/console/log: added']],
    ['a channel source path', '<channel type="unix">', '<channel type="unix"><source mode="bind" path="/run/x.sock"/>', ['devices/channel/source: added']],
    ['a serial turned into a file', '<serial type="pty">', '<serial type="file">', ['devices/serial: changed (type)']],
    ['a parallel port writing a file', '</devices>', '<parallel type="file"><source path="/etc/cron.d/x"/></parallel></devices>', ['devices/parallel: added']],
    [
      'a qemu:commandline',
      '</devices></domain>',
      '</devices><qemu:commandline xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0"><qemu:arg value="-x"/></qemu:commandline></domain>',
      ['qemu:commandline: added'],
    ],
    ['a qemu:override', '</devices></domain>', '</devices><qemu:override xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0"/></domain>', ['qemu:override: added']],
    ['a hostdev', '</devices>', '<hostdev mode="subsystem" type="pci"><source><address domain="0" bus="1" slot="0" function="0"/></source></hostdev></devices>', ['devices/hostdev: added']],
    ['a filesystem passthrough', '</devices>', '<filesystem type="mount"><source dir="/"/><target dir="root"/></filesystem></devices>', ['devices/filesystem: added']],
    ['the emulator', '/usr/bin/qemu-system-x86_64', '/tmp/evil', ['devices/emulator: changed (its text)']],
    ['a kernel', '</os>', '<kernel>/root/vmlinuz</kernel></os>', ['os/kernel: added']],
    ['an initrd', '</os>', '<initrd>/etc/shadow</initrd></os>', ['os/initrd: added']],
    ['a loader', '</os>', '<loader readonly="yes" type="pflash">/tmp/OVMF.fd</loader></os>', ['os/loader: added']],
    ['an nvram', '</os>', '<nvram>/etc/passwd</nvram></os>', ['os/nvram: added']],
    ['a kernel command line', '</os>', '<cmdline>init=/bin/sh</cmdline></os>', ['os/cmdline: added']],
    ['a seclabel', '</devices></domain>', '</devices><seclabel type="none"/></domain>', ['seclabel: added']],
    ['an interface script', '<source bridge="br0"/>', '<source bridge="br0"/><script path="/tmp/x.sh"/>', ['devices/interface/script: added']],
    ['an interface source', 'bridge="br0"', 'bridge="br-admin"', ['devices/interface/source: changed (bridge)']],
    ['a MAC address', '52:54:00:12:34:56', '52:54:00:12:34:57', ['devices/interface/mac: changed (address)']],
    ['a graphics socket', '</devices>', '<graphics type="vnc" socket="/root/vnc.sock"/></devices>', ['devices/graphics: added']],
    ['memoryBacking', '<vcpu>', '<memoryBacking><hugepages/></memoryBacking><vcpu>', ['memoryBacking: added']],
    ['vCPUs pinned to host CPUs', '<vcpu>1</vcpu>', '<vcpu cpuset="0-1">1</vcpu>', ['vcpu: changed (cpuset)']],
    ['the CPU mode', '<vcpu>1</vcpu>', '<vcpu>1</vcpu><cpu mode="host-passthrough"/>', ['cpu: added']],
    ['the uuid', 'b428a3dc', 'c428a3dc', ['uuid: changed (its text)']],
    ['the domain type', '<domain type="kvm">', '<domain type="qemu">', ['domain: changed (type)']],
    ['corral\'s own metadata', '</metadata>', '<corral:resource xmlns:corral="urn:corral:transientdomain:1">vm-db1</corral:resource></metadata>', ['metadata/corral:resource: added']],
    ['a crash dump written on the host', '<on_crash>destroy</on_crash>', '<on_crash>coredump-restart</on_crash>', ['on_crash: changed (its text)']],
  ])('%s', (_what, from, to, lines) => {
    expect(refusals(from, to)).toEqual(lines);
  });

  it('names each element once, however many of its attributes changed', () => {
    expect(refusals('<source dev="/dev/vm/web1"/>', '<source dev="/dev/sda" startupPolicy="optional"/>')).toEqual(['devices/disk/source: changed (dev, startupPolicy)']);
  });

  it('refuses corral\'s metadata being removed (with the metadata element)', () => {
    const withOwn = BASE.replace('</metadata>', '<c:x xmlns:c="urn:corral:y:1"/></metadata>');
    expect(refusals(/<metadata>.*<\/metadata>/, '', withOwn)).toEqual(['metadata: removed']);
  });
});

describe('vm edit by a caller who is not root: allowed', () => {
  it.each<[string, string | RegExp, string]>([
    ['memory and its unit', '<memory unit="MiB">128</memory><currentMemory unit="MiB">128</currentMemory>', '<memory unit="GiB">1</memory><currentMemory unit="GiB">1</currentMemory>'],
    ['currentMemory removed', '<currentMemory unit="MiB">128</currentMemory>', ''],
    ['maxMemory added', '<vcpu>', '<maxMemory unit="GiB" slots="4">4</maxMemory><vcpu>'],
    ['vCPUs, current and placement', '<vcpu>1</vcpu>', '<vcpu current="2" placement="static">4</vcpu>'],
    ['a CPU topology', '<vcpu>1</vcpu>', '<vcpu>4</vcpu><cpu><topology sockets="1" dies="1" cores="2" threads="2"/></cpu>'],
    ['the title', 'web one', 'web 1'],
    ['the description removed', '<description>the web server</description>', ''],
    ['metadata outside corral\'s', '<owner>web team</owner>', '<owner>ops</owner><ticket n="7"/>'],
    ['metadata added in another namespace', '</metadata>', '<b:x xmlns:b="urn:b"/></metadata>'],
    ['the NIC model', '<model type="e1000"/>', '<model type="virtio"/>'],
    ['the NIC model removed', '<model type="e1000"/>', ''],
    ['the clock and its timers', '<clock offset="utc"><timer name="rtc" tickpolicy="catchup"/></clock>', '<clock offset="localtime"><timer name="hpet" present="no"/><timer name="rtc" tickpolicy="delay"/></clock>'],
    ['feature flags', '<features><acpi/></features>', '<features><acpi/><apic/><hyperv><relaxed state="on"/></hyperv></features>'],
    ['lifecycle actions', '<on_reboot>restart</on_reboot><on_crash>destroy</on_crash>', '<on_reboot>destroy</on_reboot><on_crash>preserve</on_crash>'],
    ['the layout (indentation, a comment, another prefix)', '<devices>', '\n  <!-- hi -->\n  <devices>\n    '],
  ])('%s', (_what, from, to) => {
    expect(refusals(from, to)).toEqual([]);
  });
});
