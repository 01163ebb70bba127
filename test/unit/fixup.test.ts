import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { serialize } from '../../lib/xml/dom.js';
import { DomainDoc } from '../../lib/domain/doc.js';
import {
  FixupError,
  clashes,
  consoleLogPath,
  fixupDomain,
  identityOf,
  normalizeMac,
  normalizeUuid,
  randomMac,
  unstableReasons,
} from '../../lib/domain/fixup.js';

const FRESH = readFileSync(new URL('../fixtures/domains/gum-fresh.xml', import.meta.url), 'utf8');

function dom(devices = '', head = '<name>gum</name>'): DomainDoc {
  return DomainDoc.parse(`<domain type="kvm">${head}<memory>1048576</memory><vcpu>1</vcpu><devices>${devices}</devices></domain>`);
}

const fixed = { newUuid: () => '11111111-2222-4333-8444-555555555555', newMac: () => '52:54:00:01:02:03' };
const out = (d: DomainDoc) => serialize(d.root.ownerDocument, { indent: '  ' });

describe('fixupDomain', () => {
  it('gives a domain without <uuid> a fixed one, right after <name>', () => {
    const d = dom();
    expect(fixupDomain(d, fixed)).toContain('set the uuid to 11111111-2222-4333-8444-555555555555');
    expect(d.uuid).toBe('11111111-2222-4333-8444-555555555555');
    expect(out(d)).toMatch(/<name>gum<\/name>\s*<uuid>11111111-/);
  });

  it('replaces an "auto" or empty uuid and keeps a real one', () => {
    for (const u of ['auto', '', ' AUTO ']) {
      const d = dom('', `<name>gum</name><uuid>${u}</uuid>`);
      fixupDomain(d, fixed);
      expect(d.uuid).toBe('11111111-2222-4333-8444-555555555555');
    }
    const d = dom('', '<name>gum</name><uuid>AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE</uuid>');
    fixupDomain(d, fixed);
    expect(d.uuid).toBe('AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE');
  });

  it('gives every interface without a MAC address one and keeps the existing ones', () => {
    const d = dom('<interface type="bridge"><source bridge="br0"/></interface>' +
      '<interface type="bridge"><mac address="52:54:00:AA:BB:CC"/><source bridge="br1"/></interface>' +
      '<interface type="network"><mac address="auto"/><source network="default"/></interface>');
    let n = 0;
    const changes = fixupDomain(d, { ...fixed, newMac: () => `52:54:00:00:00:1${n++}` });
    expect(changes.filter((c) => c.includes('MAC'))).toEqual([
      'interface 1: set the MAC address to 52:54:00:00:00:10',
      'interface 3: set the MAC address to 52:54:00:00:00:11',
    ]);
    expect(identityOf(d).macs).toEqual(['52:54:00:00:00:10', '52:54:00:aa:bb:cc', '52:54:00:00:00:11']);
    // the <mac> comes first in its interface, like libvirt writes it
    expect(out(d)).toMatch(/<interface type="bridge">\s*<mac address="52:54:00:00:00:10"\/>\s*<source bridge="br0"\/>/);
  });

  it('never hands out a MAC address that is taken (in the domain or by other VMs)', () => {
    const d = dom('<interface type="bridge"/><interface type="bridge"><mac address="52:54:00:00:00:02"/></interface>');
    const offers = ['52:54:00:00:00:01', '52:54:00:00:00:02', '52:54:00:00:00:03'];
    fixupDomain(d, { ...fixed, newMac: () => offers.shift() ?? '', takenMacs: ['52:54:00:00:00:01'] });
    expect(identityOf(d).macs[0]).toBe('52:54:00:00:00:03');
  });

  it('makes the serial console log to /var/log/corral/console/NAME.log and keeps a log that is there', () => {
    const d = dom('<serial type="pty"><target port="0"/></serial>');
    fixupDomain(d, fixed);
    expect(out(d)).toContain(`<serial type="pty">\n      <target port="0"/>\n      <log file="${consoleLogPath('gum')}" append="on"/>`);
    const kept = dom('<serial type="pty"><log file="/elsewhere.log"/></serial>');
    expect(fixupDomain(kept, fixed).some((c) => c.includes('log'))).toBe(false);
    expect(out(kept)).toContain('<log file="/elsewhere.log"/>');
  });

  it('adds a pty serial console with its log to a domain that has none', () => {
    const d = dom();
    expect(fixupDomain(d, fixed)).toContain('added a serial console (pty)');
    expect(out(d)).toContain('<serial type="pty">\n      <log file="/var/log/corral/console/gum.log" append="on"/>');
  });

  it('leaves the startup_signal channel as it is (libvirt makes its socket path)', () => {
    const channel = '<channel type="unix"><target type="virtio" name="startup_signal"/></channel>';
    const d = dom(channel);
    fixupDomain(d, fixed);
    expect(serialize(d.root)).toContain(channel);
  });

  it('is idempotent: a fixed-up document does not change, byte for byte', () => {
    const once = DomainDoc.parse(FRESH);
    expect(fixupDomain(once).length).toBeGreaterThan(0);
    const text = out(once);
    const twice = DomainDoc.parse(text);
    expect(fixupDomain(twice)).toEqual([]);
    expect(out(twice)).toBe(text);
    expect(unstableReasons(twice)).toEqual([]);
  });

  it('keeps what it does not touch: comments, metadata, text with its whitespace', () => {
    const d = DomainDoc.parse('<domain><name>gum</name><!-- keep me --><description>  two\n lines </description>' +
      '<metadata><x:a xmlns:x="urn:x">t</x:a></metadata><devices/></domain>');
    fixupDomain(d, fixed);
    const text = out(d);
    expect(text).toContain('<!-- keep me -->');
    expect(text).toContain('<description>  two\n lines </description>');
    expect(text).toContain('<x:a xmlns:x="urn:x">t</x:a>');
  });

  it.each([
    ['gum;rm -rf /', 'is not usable'],
    ['a/b', 'is not usable'],
    ['$(reboot)', 'is not usable'],
    ['-x', 'is not usable'],
    ['a..b', 'is not usable'],
  ])('refuses the domain name %j', (name, message) => {
    expect(() => fixupDomain(dom('', `<name>${name}</name>`))).toThrow(message);
  });

  it('refuses a malformed uuid, a malformed or multicast MAC, and a MAC used twice', () => {
    expect(() => fixupDomain(dom('', '<name>gum</name><uuid>1234</uuid>'))).toThrow(/is not a uuid/);
    expect(() => fixupDomain(dom('<interface type="bridge"><mac address="52:54:00:zz:00:01"/></interface>'))).toThrow(FixupError);
    expect(() => fixupDomain(dom('<interface type="bridge"><mac address="01:00:5e:00:00:01"/></interface>'))).toThrow(/unicast/);
    expect(() =>
      fixupDomain(dom('<interface type="bridge"><mac address="52:54:00:00:00:01"/></interface>' +
        '<interface type="bridge"><mac address="52:54:00:00:00:01"/></interface>')),
    ).toThrow(/interfaces 1 and 2 share the MAC address 52:54:00:00:00:01/);
  });
});

describe('unstableReasons', () => {
  it('lists what fixup_domxml would change, without changing the document', () => {
    const d = DomainDoc.parse(FRESH);
    const before = d.toXml();
    expect(unstableReasons(d)).toEqual([
      'set the uuid',
      'interface 1: set the MAC address',
      'the serial console logs to /var/log/corral/console/gum.log',
    ]);
    expect(d.toXml()).toBe(before);
  });
});

describe('clashes', () => {
  const me = { name: 'gum', uuid: '11111111-2222-4333-8444-555555555555', macs: ['52:54:00:00:00:01', '52:54:00:00:00:02'], disks: ['block:/dev/vm/gum', 'rbd:pool/gum-data'] };

  it('reports another VM with the same name, uuid or a shared MAC address', () => {
    expect(
      clashes(me, [
        { resourceId: 'vm-gum', name: 'gum', uuid: '99999999-2222-4333-8444-555555555555', macs: [], disks: [] },
        { resourceId: 'vm-elm', name: 'elm', uuid: me.uuid, macs: [], disks: [] },
        { resourceId: 'vm-oak', name: 'oak', uuid: undefined, macs: ['52:54:00:00:00:02'], disks: [] },
      ]),
    ).toEqual([
      'the name gum is taken by vm-gum (uuid 99999999-2222-4333-8444-555555555555)',
      'the uuid 11111111-2222-4333-8444-555555555555 is taken by vm-elm',
      'the MAC address 52:54:00:00:00:02 is taken by vm-oak',
    ]);
  });

  it('reports a disk another VM writes to, and a name another resource\'s domain uses', () => {
    expect(
      clashes(me, [
        { resourceId: 'vm-elm', name: 'elm', macs: [], disks: ['block:/dev/vm/gum'] },
        { resourceId: 'vm-oak', name: 'oak', macs: [], disks: ['rbd:pool/gum-data', 'block:/dev/vm/gum'] },
        { resourceId: 'vm-ash', name: 'ash', domainName: 'gum', macs: [], disks: [] },
      ]),
    ).toEqual([
      'the disk /dev/vm/gum is used by vm-elm (two VMs writing to one disk destroy it; mark a disk meant to be shared <shareable/>)',
      'the disks /dev/vm/gum, rbd pool/gum-data are used by vm-oak (two VMs writing to one disk destroy it; mark a disk meant to be shared <shareable/>)',
      'the name gum is taken by the domain inside vm-ash',
    ]);
  });

  it('lists the disks a VM writes to, whatever the spelling of the path, and not shareable, read-only or CD-ROM ones', () => {
    const d = DomainDoc.parse(`<domain type="kvm"><name>gum</name><devices>
      <disk type="block" device="disk"><source dev="/dev/vm//gum"/><target dev="vda"/></disk>
      <disk type="file" device="disk"><source file="/srv/img/../img/gum.qcow2"/><target dev="vdb"/></disk>
      <disk type="network" device="disk"><source protocol="rbd" name="rbd/gum-data"><host name="mon1"/></source><target dev="vdc"/></disk>
      <disk type="volume" device="disk"><source pool="vg" volume="gum-swap"/><target dev="vdd"/></disk>
      <disk type="block" device="disk"><source dev="/dev/vm/quorum"/><shareable/><target dev="vde"/></disk>
      <disk type="file" device="disk"><source file="/srv/base.img"/><readonly/><target dev="vdf"/></disk>
      <disk type="file" device="cdrom"><source file="/srv/debian.iso"/><target dev="sda"/></disk>
      <disk type="file" device="cdrom"><target dev="sdb"/></disk>
    </devices></domain>`);
    expect(identityOf(d).disks).toEqual(['block:/dev/vm/gum', 'file:/srv/img/gum.qcow2', 'rbd:rbd/gum-data', 'volume:vg/gum-swap']);
  });

  it('does not count the same VM (same name and uuid) as a clash', () => {
    expect(clashes(me, [{ resourceId: 'vm-gum', ...me }])).toEqual([]);
  });
});

describe('normalisation', () => {
  it('writes uuids in canonical lower case and accepts them without dashes', () => {
    expect(normalizeUuid('AAAAAAAABBBB4CCC8DDDEEEEEEEEEEEE')).toBe('aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee');
    expect(normalizeUuid('not-a-uuid')).toBeUndefined();
  });

  it('accepts unicast MAC addresses only, and makes random ones in 52:54:00', () => {
    expect(normalizeMac('52:54:00:AA:BB:CC')).toBe('52:54:00:aa:bb:cc');
    expect(normalizeMac('00:00:00:00:00:00')).toBeUndefined();
    expect(normalizeMac('ff:ff:ff:ff:ff:ff')).toBeUndefined();
    for (let i = 0; i < 20; i++) expect(normalizeMac(randomMac())).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});
