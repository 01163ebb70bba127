import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { zodIssueLines } from '../../lib/cli/errors.js';
import { cephMonitorFromText, diskFromText, domainXmlFromArgs, flagOfIssuePath, ovsNicFromText, withCephDefaults, type CreateDomxmlArgs } from '../../lib/domain/flags.js';
import { buildDomainXml } from '../../lib/domain/render.js';
import { diskTarget } from '../../lib/domain/spec.js';

// Parsed domain XML: attributes without prefix, values as text, device lists always arrays.
type X = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ['disk', 'interface', 'host', 'tag', 'channel', 'serial', 'console', 'graphics'].includes(name),
});
function parse(xml: string): X {
  return parser.parse(xml).domain as X;
}

const base = { name: 'gum', cpus: '2', mem: '1g' } satisfies CreateDomxmlArgs;
function dom(extra: Partial<CreateDomxmlArgs> = {}): X {
  return parse(domainXmlFromArgs({ ...base, ...extra }));
}
/** What create_domxml prints on stderr for ARGS (without its name), or [] when ARGS are fine. */
function problems(args: CreateDomxmlArgs): string[] {
  try {
    domainXmlFromArgs(args);
    return [];
  } catch (e) {
    if (!(e instanceof z.ZodError)) throw e;
    return zodIssueLines(e, (path) => flagOfIssuePath(path, args));
  }
}
const disk = (value: string) => ({ option: 'disk' as const, value });
const rbd = (value: string) => ({ option: 'rbd' as const, value });
const iface = (value: string) => ({ option: 'iface' as const, value });
const bridge = (value: string) => ({ option: 'bridge' as const, value });

describe("the original system's example", () => {
  // create_domxml --name gum --cpus 16 --mem 8g --ovs vh --iface 150 --disk /dev/vm/gum /dev/data/gum
  const d = dom({
    name: 'gum',
    cpus: '16',
    mem: '8g',
    ovs: 'vh',
    nics: [iface('150')],
    disks: [disk('/dev/vm/gum'), disk('/dev/data/gum')],
  });

  it('is a KVM domain named gum with 8 GiB and 16 vCPUs', () => {
    expect(d.type).toBe('kvm');
    expect(d.name).toBe('gum');
    expect(d.memory).toEqual({ '#text': '8192', unit: 'MiB' });
    expect(d.vcpu).toEqual({ '#text': '16', placement: 'static' });
  });

  it('has the two block devices as vda and vdb, raw, cache none, io native, in the order given', () => {
    expect(d.devices.disk).toEqual([
      {
        type: 'block',
        device: 'disk',
        driver: { name: 'qemu', type: 'raw', cache: 'none', io: 'native' },
        source: { dev: '/dev/vm/gum' },
        target: { dev: 'vda', bus: 'virtio' },
      },
      {
        type: 'block',
        device: 'disk',
        driver: { name: 'qemu', type: 'raw', cache: 'none', io: 'native' },
        source: { dev: '/dev/data/gum' },
        target: { dev: 'vdb', bus: 'virtio' },
      },
    ]);
  });

  it('has one virtio interface on Open vSwitch bridge vh with VLAN tag 150 and no MAC', () => {
    expect(d.devices.interface).toEqual([
      {
        type: 'bridge',
        source: { bridge: 'vh' },
        vlan: { tag: [{ id: '150' }] },
        virtualport: { type: 'openvswitch' },
        model: { type: 'virtio' },
      },
    ]);
  });

  it('has a serial console on a pty', () => {
    expect(d.devices.serial).toEqual([{ type: 'pty', target: { port: '0' } }]);
    expect(d.devices.console).toEqual([{ type: 'pty', target: { type: 'serial', port: '0' } }]);
  });

  it('declares the startup_signal channel without a socket path', () => {
    expect(d.devices.channel).toEqual([{ type: 'unix', target: { type: 'virtio', name: 'startup_signal' } }]);
  });

  it('gives a KVM guest the host-model CPU (libvirt checks a migration target can provide it), boots from the first disk, and leaves uuid to fixup_domxml', () => {
    expect(d.cpu).toEqual({ mode: 'host-model' });
    expect(d.os.boot).toEqual({ dev: 'hd' });
    expect(d.uuid).toBeUndefined();
  });

  it('offers VNC on localhost only, for `vm NAME vnc`, and ACPI for a clean shutdown', () => {
    // The listen attribute and the <listen> element share a key above: read them apart here.
    const raw = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(
      domainXmlFromArgs({ ...base, ovs: 'vh', nics: [iface('150')] }),
    );
    expect(raw.domain.devices.graphics).toEqual({
      '@type': 'vnc',
      '@autoport': 'yes',
      '@listen': '127.0.0.1',
      listen: { '@type': 'address', '@address': '127.0.0.1' },
    });
    expect(d.features).toEqual({ acpi: '', apic: '' });
  });
});

describe('flags', () => {
  it('--virt-type qemu makes a qemu (TCG) domain with the hypervisor default CPU model', () => {
    const d = dom({ virtType: 'qemu' });
    expect(d.type).toBe('qemu');
    expect(d.cpu).toBeUndefined();
  });

  it('--virt-type kvm is the default', () => {
    expect(dom().type).toBe('kvm');
  });

  it('--cpus and --mem set vcpu and memory (a plain number is MiB)', () => {
    const d = dom({ cpus: '3', mem: '1536' });
    expect(d.vcpu['#text']).toBe('3');
    expect(d.memory).toEqual({ '#text': '1536', unit: 'MiB' });
    expect(dom({ mem: '1.5g' }).memory['#text']).toBe('1536');
    expect(dom({ mem: '8GiB' }).memory['#text']).toBe('8192');
    expect(dom({ mem: '512m' }).memory['#text']).toBe('512');
  });

  it('--disk chooses block for /dev/…, qcow2 for *.qcow2 files, raw for other files', () => {
    const d = dom({ disks: [disk('/var/lib/corral/a.qcow2'), disk('/srv/b.img'), disk('/dev/vg/c')] });
    const shape = d.devices.disk.map((x: X) => [x.type, x.driver.type, x.source.file ?? x.source.dev, x.target.dev]);
    expect(shape).toEqual([
      ['file', 'qcow2', '/var/lib/corral/a.qcow2', 'vda'],
      ['file', 'raw', '/srv/b.img', 'vdb'],
      ['block', 'raw', '/dev/vg/c', 'vdc'],
    ]);
    expect(d.devices.disk.every((x: X) => x.driver.cache === 'none' && x.driver.io === 'native')).toBe(true);
  });

  it('--disk FORMAT:PATH sets the format explicitly', () => {
    const d = dom({ disks: [disk('qcow2:/dev/vg/thin'), disk('raw:/srv/x.qcow2')] });
    expect(d.devices.disk.map((x: X) => [x.type, x.driver.type])).toEqual([
      ['block', 'qcow2'],
      ['file', 'raw'],
    ]);
  });

  it('names disks past vdz like the kernel does (vdaa, vdab, …)', () => {
    expect([0, 25, 26, 27, 51, 52, 701, 702].map(diskTarget)).toEqual([
      'vda', 'vdz', 'vdaa', 'vdab', 'vdaz', 'vdba', 'vdzz', 'vdaaa',
    ]);
  });

  it('--rbd makes a Ceph network disk with monitors and auth, in order with --disk', () => {
    const d = dom({
      disks: [rbd('ssd/gum-root'), disk('/dev/vm/gum-data')],
      cephMon: ['mon1.example.org', 'mon2:3300', '[2001:db8::1]:6789'],
      cephUser: 'libvirt',
      cephSecret: '5c4a9f5e-1111-2222-3333-444455556666',
    });
    const [root, data] = d.devices.disk;
    expect(root).toEqual({
      type: 'network',
      device: 'disk',
      driver: { name: 'qemu', type: 'raw', cache: 'writeback' },
      auth: { username: 'libvirt', secret: { type: 'ceph', uuid: '5c4a9f5e-1111-2222-3333-444455556666' } },
      source: {
        protocol: 'rbd',
        name: 'ssd/gum-root',
        host: [{ name: 'mon1.example.org' }, { name: 'mon2', port: '3300' }, { name: '2001:db8::1', port: '6789' }],
      },
      target: { dev: 'vda', bus: 'virtio' },
    });
    expect(data.target.dev).toBe('vdb');
  });

  it('--rbd without monitors or auth leaves them to the host ceph.conf', () => {
    const [d] = dom({ disks: [rbd('rbd/x')] }).devices.disk;
    expect(d.source).toEqual({ protocol: 'rbd', name: 'rbd/x' });
    expect(d.auth).toBeUndefined();
  });

  it('--iface BRIDGE:VLAN names the Open vSwitch bridge itself; a tag list is a trunk; "all" is untagged', () => {
    const d = dom({ nics: [iface('vh:150'), iface('lab:20,30'), iface('core:all')] });
    const nics = d.devices.interface;
    expect(nics.map((n: X) => n.source.bridge)).toEqual(['vh', 'lab', 'core']);
    expect(nics[0].vlan).toEqual({ tag: [{ id: '150' }] });
    expect(nics[1].vlan).toEqual({ trunk: 'yes', tag: [{ id: '20' }, { id: '30' }] });
    expect(nics[2].vlan).toBeUndefined();
    expect(nics.every((n: X) => n.virtualport.type === 'openvswitch' && n.model.type === 'virtio')).toBe(true);
  });

  it('--ovs BRIDGE with --iface BRIDGE:VLAN naming the same bridge is one interface on it, not an unused --ovs', () => {
    const nics = dom({ ovs: 'vh', nics: [iface('vh:150')] }).devices.interface;
    expect(nics.map((n: X) => [n.source.bridge, n.vlan.tag[0].id])).toEqual([['vh', '150']]);
  });

  it('--bridge makes a virtio interface on a Linux bridge, in command-line order with --iface', () => {
    const d = dom({ ovs: 'vh', nics: [bridge('br0'), iface('150'), bridge('br1')] });
    const nics = d.devices.interface;
    expect(nics.map((n: X) => [n.source.bridge, n.virtualport?.type ?? 'linux'])).toEqual([
      ['br0', 'linux'],
      ['vh', 'openvswitch'],
      ['br1', 'linux'],
    ]);
    expect(nics[0]).toEqual({ type: 'bridge', source: { bridge: 'br0' }, model: { type: 'virtio' } });
  });

  it('--mac gives the interfaces their addresses in order, lower-cased', () => {
    const d = dom({ ovs: 'vh', nics: [iface('150'), iface('151')], mac: ['52:54:00:AA:BB:01'] });
    expect(d.devices.interface.map((n: X) => n.mac?.address)).toEqual(['52:54:00:aa:bb:01', undefined]);
  });

  it('--uuid sets the domain uuid', () => {
    expect(dom({ uuid: '5C4A9F5E-1111-2222-3333-444455556666' }).uuid).toBe('5c4a9f5e-1111-2222-3333-444455556666');
  });

  it('--no-startup-signal omits the startup_signal channel', () => {
    expect(dom({ startupSignal: false }).devices.channel).toBeUndefined();
  });

  it('--no-vnc omits the VNC display', () => {
    expect(dom({ vnc: false }).devices.graphics).toBeUndefined();
  });

  it('--numa auto lets numad place vCPUs and memory', () => {
    const d = dom({ numa: 'auto' });
    expect(d.vcpu.placement).toBe('auto');
    expect(d.numatune).toEqual({ memory: { mode: 'strict', placement: 'auto' } });
  });

  it('--numa-nodes binds memory strictly to a node set', () => {
    const d = dom({ numaNodes: '0-1' });
    expect(d.vcpu.placement).toBe('static');
    expect(d.numatune).toEqual({ memory: { mode: 'strict', nodeset: '0-1' } });
  });

  it('without NUMA flags there is no numatune', () => {
    expect(dom().numatune).toBeUndefined();
  });

  it.each([
    ['host-passthrough', { mode: 'host-passthrough' }],
    ['host-model', { mode: 'host-model' }],
    ['maximum', { mode: 'maximum' }],
    ['Skylake-Server-v4', { mode: 'custom', match: 'exact', model: { '#text': 'Skylake-Server-v4', fallback: 'forbid' } }],
  ])('--cpu-model %s', (model, cpu) => {
    expect(dom({ cpuModel: model }).cpu).toEqual(cpu);
  });

  it('--cpu-model default leaves the CPU to the hypervisor, also for kvm', () => {
    expect(dom({ cpuModel: 'default' }).cpu).toBeUndefined();
  });

  it('--machine sets the machine type', () => {
    expect(dom({ machine: 'pc-q35-7.2' }).os.type).toEqual({ '#text': 'hvm', machine: 'pc-q35-7.2' });
    expect(dom().os.type).toBe('hvm');
  });

  it('--firmware efi asks libvirt for UEFI firmware without Secure Boot, booting from the first disk', () => {
    // libvirt picks OVMF from the host's descriptors and makes the NVRAM on each node: no paths here
    const xml = domainXmlFromArgs({ ...base, firmware: 'efi', disks: [disk('/dev/vm/gum')] });
    expect(xml).not.toMatch(/<loader|<nvram/);
    expect(xml).toContain(
      '  <os firmware="efi">\n    <type>hvm</type>\n    <firmware>\n      <feature enabled="no" name="secure-boot"/>\n    </firmware>\n    <boot dev="hd"/>\n  </os>\n',
    );
  });

  it('--firmware efi keeps --machine and direct kernel boot', () => {
    const xml = domainXmlFromArgs({ ...base, firmware: 'efi', machine: 'q35', kernel: '/k', cmdline: 'console=ttyS0' });
    expect(xml).toContain('<os firmware="efi">');
    const d = parse(xml);
    expect(d.os.type).toEqual({ '#text': 'hvm', machine: 'q35' });
    expect(d.os.kernel).toBe('/k');
    expect(d.os.boot).toBeUndefined();
  });

  it('--firmware bios (the default) prints exactly what create_domxml printed before the flag', () => {
    const before = [
      '  <os>',
      '    <type>hvm</type>',
      '    <boot dev="hd"/>',
      '  </os>',
      '  <features>',
    ].join('\n');
    for (const args of [base, { ...base, firmware: 'bios' }]) {
      const xml = domainXmlFromArgs(args);
      expect(xml).toContain(before);
      expect(xml).not.toContain('firmware');
    }
    const full = { ...base, virtType: 'qemu', disks: [disk('/dev/vm/gum')], nics: [bridge('br0')], kernel: '/k', initrd: '/i', cmdline: 'x' };
    expect(domainXmlFromArgs({ ...full, firmware: 'bios' })).toBe(domainXmlFromArgs(full));
  });

  it('--kernel/--initrd/--cmdline boot a kernel directly instead of the disk', () => {
    const d = dom({ kernel: '/var/lib/corral/vmlinuz', initrd: '/var/lib/corral/initrd.img', cmdline: 'console=ttyS0 quiet x="a&b"' });
    expect(d.os.kernel).toBe('/var/lib/corral/vmlinuz');
    expect(d.os.initrd).toBe('/var/lib/corral/initrd.img');
    expect(d.os.cmdline).toBe('console=ttyS0 quiet x="a&b"');
    expect(d.os.boot).toBeUndefined();
  });

  it('writes XML special characters in values escaped, so they stay data', () => {
    const xml = domainXmlFromArgs({ ...base, kernel: '/k', cmdline: 'a<b>&"c\'' });
    expect(xml).toContain('<cmdline>a&lt;b&gt;&amp;"c\'</cmdline>');
    expect(parse(xml).os.cmdline).toBe('a<b>&"c\'');
  });

  it('prints pretty XML without a declaration, ending in a newline', () => {
    const xml = domainXmlFromArgs(base);
    expect(xml.startsWith('<domain type="kvm">\n  <name>gum</name>\n')).toBe(true);
    expect(xml.endsWith('</domain>\n')).toBe(true);
  });
});

describe('buildDomainXml (structured options)', () => {
  it('accepts numbers and sizes and fills defaults', () => {
    const d = parse(buildDomainXml({ name: 'x', vcpus: 4, memoryMiB: 2048 }));
    expect(d.memory['#text']).toBe('2048');
    expect(d.devices.channel).toHaveLength(1);
    expect(d.devices.disk).toBeUndefined();
    expect(d.devices.interface).toBeUndefined();
    expect(parse(buildDomainXml({ name: 'x', vcpus: '4', memoryMiB: '2g' })).memory['#text']).toBe('2048');
  });

  it('rejects a spec that breaks a rule with a ZodError', () => {
    expect(() => buildDomainXml({ name: 'x', vcpus: 0, memoryMiB: 1 })).toThrow(z.ZodError);
  });
});

describe('text forms', () => {
  it.each([
    ['/dev/vm/gum', { type: 'block', path: '/dev/vm/gum', format: 'raw' }],
    ['/srv/a.QCOW2', { type: 'file', path: '/srv/a.QCOW2', format: 'qcow2' }],
    ['/srv/a.img', { type: 'file', path: '/srv/a.img', format: 'raw' }],
    ['qcow2:/dev/vg/x', { type: 'block', path: '/dev/vg/x', format: 'qcow2' }],
    ['raw:/srv/a.qcow2', { type: 'file', path: '/srv/a.qcow2', format: 'raw' }],
  ])('--disk %s', (text, expected) => {
    expect(diskFromText(text)).toEqual(expected);
  });

  it.each([
    ['150', 'vh', { type: 'ovs', bridge: 'vh', vlans: [150] }],
    ['lab:20', 'vh', { type: 'ovs', bridge: 'lab', vlans: [20] }],
    ['20,30', 'vh', { type: 'ovs', bridge: 'vh', vlans: [20, 30] }],
    ['all', 'vh', { type: 'ovs', bridge: 'vh', vlans: 'all' }],
  ])('--iface %s with --ovs %s', (text, ovs, expected) => {
    expect(ovsNicFromText(text, ovs)).toEqual(expected);
  });

  it.each([
    ['mon1', { host: 'mon1' }],
    ['mon1:6789', { host: 'mon1', port: 6789 }],
    ['10.0.0.1:3300', { host: '10.0.0.1', port: 3300 }],
    ['[::1]:6789', { host: '::1', port: 6789 }],
    ['[::1]', { host: '::1', port: undefined }],
    ['2001:db8::1', { host: '2001:db8::1' }],
  ])('--ceph-mon %s', (text, expected) => {
    expect(cephMonitorFromText(text)).toEqual(expected);
  });
});

describe('bad input is rejected with a message that names the flag and value', () => {
  it.each<[string, Partial<CreateDomxmlArgs>, string]>([
    ['a name with shell metacharacters', { name: 'x;rm -rf /' }, '--name "x;rm -rf /": a VM name is 1-63 characters'],
    ['a name that looks like an option', { name: '--x' }, '--name "--x": a VM name'],
    ['a name with a path', { name: '../etc' }, '--name "../etc": a VM name'],
    ['an empty name', { name: '' }, '--name "": a VM name'],
    ['zero vCPUs', { cpus: '0' }, '--cpus "0": the number of vCPUs is a whole number from 1 to 4096'],
    ['absurd vCPUs', { cpus: '100000' }, '--cpus "100000": the number of vCPUs is a whole number from 1 to 4096'],
    ['fractional vCPUs', { cpus: '1.5' }, '--cpus "1.5": the number of vCPUs is a whole number from 1 to 4096'],
    ['negative memory', { mem: '-1' }, '--mem "-1": "-1" is not a size'],
    ['zero memory', { mem: '0' }, '--mem "0": "0" is 0 MiB; it must be between 1 MiB and 16 TiB'],
    ['memory with a bad unit', { mem: '8x' }, '--mem "8x": "8x" is not a size'],
    ['memory in exponent notation', { mem: '1e400' }, '--mem "1e400": "1e400" is not a size'],
    ['absurd memory', { mem: '17t' }, '--mem "17t": "17t" is 17 TiB; it must be between 1 MiB and 16 TiB'],
    ['an unknown virt type', { virtType: 'xen' }, '--virt-type "xen": the virt type is kvm or qemu'],
    ['an unknown firmware', { firmware: 'uefi' }, '--firmware "uefi": the firmware is bios or efi'],
    ['firmware in upper case', { firmware: 'EFI' }, '--firmware "EFI": the firmware is bios or efi'],
    ['an interface without a bridge', { nics: [iface('150')] }, '--iface "150": which Open vSwitch bridge?'],
    ['an unused --ovs', { ovs: 'vh', nics: [bridge('br0')] }, '--ovs "vh": no --iface uses this bridge: add --iface VLAN'],
    ['an --ovs every --iface overrides', { ovs: 'vh', nics: [iface('br1:150')] }, '--ovs "vh": no --iface uses this bridge (--iface br1:150 names another): drop --ovs, or give --iface VLAN'],
    ['a bridge name without a VLAN', { nics: [iface('vh')] }, '--iface "vh": VLANs are a tag (150)'],
    ['a VLAN tag out of range', { ovs: 'vh', nics: [iface('4095')] }, '--iface "4095": a VLAN tag is between 1 and 4094'],
    ['VLAN tag 0', { nics: [iface('vh:0')] }, '--iface "vh:0": a VLAN tag is between 1 and 4094'],
    ['a VLAN twice in a trunk', { nics: [iface('vh:5,5')] }, '--iface "vh:5,5": a VLAN tag is listed twice'],
    ['a bridge name with metacharacters', { nics: [bridge('br0;reboot')] }, '--bridge "br0;reboot": a bridge name is'],
    ['a bridge name too long for Linux', { nics: [bridge('a23456789012345x')] }, '--bridge "a23456789012345x": a bridge name is 1-15'],
    ['more MACs than interfaces', { nics: [bridge('br0')], mac: ['52:54:00:00:00:01', '52:54:00:00:00:02'] }, '--mac: 2 MAC addresses for 1 interface: the Nth --mac is the Nth --iface/--bridge\'s'],
    ['a multicast MAC', { nics: [bridge('br0')], mac: ['01:00:5e:00:00:01'] }, '--mac "01:00:5e:00:00:01": a MAC address must be unicast'],
    ['a malformed MAC', { nics: [bridge('br0')], mac: ['52:54:00:00:01'] }, '--mac "52:54:00:00:01": a MAC address is six hex pairs'],
    ['a MAC twice', { nics: [bridge('br0'), bridge('br1')], mac: ['52:54:00:00:00:01', '52:54:00:00:00:01'] }, '--mac "52:54:00:00:00:01": MAC address 52:54:00:00:00:01 is given twice'],
    ['a relative disk path', { disks: [disk('vm/gum')] }, '--disk "vm/gum": must be an absolute path'],
    ['a disk path with ..', { disks: [disk('/dev/../etc/shadow')] }, '--disk "/dev/../etc/shadow": a path may not contain'],
    ['a disk path with a newline', { disks: [disk('/dev/vm/a\nb')] }, 'a path may not contain control characters'],
    ['the same disk twice', { disks: [disk('/dev/vm/a'), disk('/dev/vm/a')] }, '--disk "/dev/vm/a": the same disk as disk vda'],
    ['an unknown disk format', { disks: [disk('vmdk:/srv/a.vmdk')] }, '--disk "vmdk:/srv/a.vmdk": must be an absolute path'],
    ['an RBD name without a pool', { disks: [rbd('image')] }, '--rbd "image": an RBD disk is POOL/IMAGE'],
    ['an RBD name with metacharacters', { disks: [rbd('rbd/a:b')] }, '--rbd "rbd/a:b": a Ceph image name is'],
    ['Ceph settings without an RBD disk', { cephMon: ['mon1'] }, 'the --ceph-* options are for --rbd disks'],
    ['a Ceph user without a secret', { disks: [rbd('p/i')], cephUser: 'libvirt' }, '--ceph-secret: Ceph authentication needs both'],
    ['a Ceph user with client. prefix', { disks: [rbd('p/i')], cephUser: 'client.libvirt', cephSecret: '5c4a9f5e-1111-2222-3333-444455556666' }, 'without the "client." prefix'],
    ['a bad Ceph secret', { disks: [rbd('p/i')], cephUser: 'libvirt', cephSecret: 'key' }, '--ceph-secret "key": a UUID looks like'],
    ['a bad monitor port', { disks: [rbd('p/i')], cephMon: ['mon1:99999'] }, '--ceph-mon "mon1:99999": a port is 1-65535'],
    ['a bad monitor host', { disks: [rbd('p/i')], cephMon: ['mon 1'] }, '--ceph-mon "mon 1": a host is a host name'],
    ['--numa other than auto', { numa: 'yes' }, '--numa "yes": the only value is "auto"'],
    ['--numa with --numa-nodes', { numa: 'auto', numaNodes: '0' }, 'exclude each other'],
    ['a malformed node set', { numaNodes: '0-' }, '--numa-nodes "0-": a NUMA node set looks like'],
    ['a reversed node range', { numaNodes: '3-1' }, 'ranges low-high'],
    ['a node set that excludes everything', { numaNodes: '^1' }, 'must include a node'],
    ['host-passthrough on TCG', { virtType: 'qemu', cpuModel: 'host-passthrough' }, '--cpu-model "host-passthrough": host-passthrough needs KVM'],
    ['a CPU model with metacharacters', { cpuModel: 'x;y' }, '--cpu-model "x;y": a CPU model is'],
    ['a machine type with a space', { machine: 'pc q35' }, '--machine "pc q35": a machine type is'],
    ['--initrd without --kernel', { initrd: '/boot/initrd.img' }, '--initrd "/boot/initrd.img": needs --kernel'],
    ['--cmdline without --kernel', { cmdline: 'quiet' }, '--cmdline "quiet": needs --kernel'],
    ['a relative kernel path', { kernel: 'vmlinuz' }, '--kernel "vmlinuz": must be an absolute path'],
    ['a control character in the command line', { kernel: '/k', cmdline: 'a\u0007' }, 'may not contain control characters'],
    ['a malformed uuid', { uuid: 'nope' }, '--uuid "nope": a UUID looks like'],
  ])('rejects %s', (_what, extra, message) => {
    const lines = problems({ ...base, ...extra });
    expect(lines.some((l) => l.includes(message)), `got: ${lines.join(' | ')}`).toBe(true);
  });

  it('reports every bad value of one layer at once', () => {
    expect(problems({ name: '../x', cpus: '0', mem: '8x' })).toHaveLength(4);
  });

  it('accepts the edges of every range', () => {
    expect(problems({ name: 'a', cpus: '4096', mem: '16t', ovs: 'vh', nics: [iface('1'), iface('vh:4094')] })).toEqual([]);
    expect(problems({ ...base, mem: '1' })).toEqual([]);
  });
});

describe('--rbd with corral.conf\'s Ceph defaults', () => {
  const base: CreateDomxmlArgs = { name: 'db', cpus: '1', mem: '1g', disks: [{ option: 'rbd', value: 'corral-vms/db' }] };
  const defaults = { monitors: ['10.0.0.1', 'mon2:6789'], client: 'corral', secret: '5b0e8f9a-2c1d-4e3f-8a7b-6c5d4e3f2a1b' };

  it('--rbd POOL/IMAGE alone gets the monitors, the user and the secret', () => {
    const xml = domainXmlFromArgs(withCephDefaults(base, defaults));
    expect(xml).toContain('<auth username="corral">');
    expect(xml).toContain('<secret type="ceph" uuid="5b0e8f9a-2c1d-4e3f-8a7b-6c5d4e3f2a1b"/>');
    expect(xml).toMatch(/<source protocol="rbd" name="corral-vms\/db">\s*<host name="10.0.0.1"\/>\s*<host name="mon2" port="6789"\/>/);
  });

  it('flags given win; one of --ceph-user/--ceph-secret alone stays an error; no --rbd, nothing taken', () => {
    const own = withCephDefaults({ ...base, cephMon: ['m9'], cephUser: 'other', cephSecret: '11111111-2222-3333-4444-555555555555' }, defaults);
    expect(own).toMatchObject({ cephMon: ['m9'], cephUser: 'other', cephSecret: '11111111-2222-3333-4444-555555555555' });
    expect(() => domainXmlFromArgs(withCephDefaults({ ...base, cephUser: 'other' }, defaults))).toThrow(/needs both --ceph-user and --ceph-secret/);
    const file = { ...base, disks: [{ option: 'disk' as const, value: '/dev/vm/db' }] };
    expect(withCephDefaults(file, defaults)).toBe(file);
    expect(domainXmlFromArgs(withCephDefaults(base, { monitors: [] }))).not.toContain('<auth');
  });
});
