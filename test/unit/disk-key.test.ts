// One disk under two names is one disk: what the text alone can tell (lib/domain/disk-key.ts), and
// what the duplicate check of domadd and fixup_domxml (clashes) makes of it. The node's side
// (device numbers, inodes) is proved on the real file system in test/integration/disk-identity.
// This kernel has no device-mapper, so a real /dev/mapper alias cannot be made in a test: the LVM
// names are proved here, by the text.
import { describe, expect, it } from 'vitest';
import { canonicalDiskKey, sameDisk, type NodeDiskIds } from '../../lib/domain/disk-key.js';
import { clashes, identityOf, type DomainIdentity } from '../../lib/domain/fixup.js';
import { DomainDoc } from '../../lib/domain/doc.js';

describe('canonicalDiskKey', () => {
  it.each([
    // LVM: /dev/VG/LV, /dev/mapper/VG-LV and udev's dm-name link are one logical volume
    ['block:/dev/vm/gum', 'lvm:vm/gum'],
    ['block:/dev/mapper/vm-gum', 'lvm:vm/gum'],
    ['file:/dev/mapper/vm-gum', 'lvm:vm/gum'],
    ['block:/dev/disk/by-id/dm-name-vm-gum', 'lvm:vm/gum'],
    // device-mapper writes a dash inside a VG or LV name as two
    ['block:/dev/mapper/my--vg-web--data', 'lvm:my-vg/web-data'],
    ['block:/dev/my-vg/web-data', 'lvm:my-vg/web-data'],
    ['block:/dev/mapper/vg--x-lv', 'lvm:vg-x/lv'],
    ['block:/dev/mapper/vg-lv--x', 'lvm:vg/lv-x'],
    // not VG-LV: no single dash, or a layer after the LV, or not a device-mapper name at all
    ['block:/dev/mapper/cryptroot', 'path:/dev/mapper/cryptroot'],
    ['block:/dev/mapper/only--dashes', 'path:/dev/mapper/only--dashes'],
    ['block:/dev/mapper/vg-lv-real', 'path:/dev/mapper/vg-lv-real'],
    ['block:/dev/dm-3', 'path:/dev/dm-3'],
    ['block:/dev/md/data', 'path:/dev/md/data'],
    ['block:/dev/disk/by-id/wwn-0x5000c500a1b2c3d4', 'path:/dev/disk/by-id/wwn-0x5000c500a1b2c3d4'],
    ['block:/dev/disk/by-uuid/0b1c-77aa', 'path:/dev/disk/by-uuid/0b1c-77aa'],
    ['block:/dev/sdb', 'path:/dev/sdb'],
    // paths: normalised, whatever the disk's type
    ['file:/srv//img/./x/../gum.img', 'path:/srv/img/gum.img'],
    ['block:/dev/vm/../vm//gum', 'lvm:vm/gum'],
    ['dir:/srv/share/', 'path:/srv/share'],
    ['file:/', 'path:/'],
    // RBD: the pool rbd when none; a namespace kept; the kernel's /dev/rbd links
    ['rbd:pool/gum', 'rbd:pool/gum'],
    ['rbd:gum', 'rbd:rbd/gum'],
    ['rbd:pool/tenant/gum', 'rbd:pool/tenant/gum'],
    ['block:/dev/rbd/pool/gum', 'rbd:pool/gum'],
    ['block:/dev/rbd/pool/tenant/gum', 'rbd:pool/tenant/gum'],
    // iSCSI: target and LUN (0 when none), the target in lower case; by-path links of a whole LUN
    ['iscsi:iqn.2003-01.org.example:Store/1', 'iscsi:iqn.2003-01.org.example:store/1'],
    ['iscsi:iqn.2003-01.org.example:store', 'iscsi:iqn.2003-01.org.example:store/0'],
    ['block:/dev/disk/by-path/ip-192.0.2.7:3260-iscsi-iqn.2003-01.org.example:store-lun-1', 'iscsi:iqn.2003-01.org.example:store/1'],
    ['block:/dev/disk/by-path/ip-192.0.2.7:3260-iscsi-iqn.2003-01.org.example:store-lun-1-part1', 'path:/dev/disk/by-path/ip-192.0.2.7:3260-iscsi-iqn.2003-01.org.example:store-lun-1-part1'],
    // other network disks: protocol and name; libvirt's pool volumes as they are
    ['nbd:exports//gum', 'nbd:exports/gum'],
    ['volume:vg/gum', 'volume:vg/gum'],
  ])('%s → %s', (key, canonical) => {
    expect(canonicalDiskKey(key)).toBe(canonical);
  });
});

describe('sameDisk', () => {
  it('says why two keys are one disk, by the text', () => {
    expect(sameDisk('block:/dev/vm/gum', 'block:/dev/vm/gum')).toBe('the same path');
    expect(sameDisk('block:/dev/vm/gum', 'block:/dev/mapper/vm-gum')).toBe('one logical volume, vm/gum');
    expect(sameDisk('rbd:gum', 'block:/dev/rbd/rbd/gum')).toBe('one RBD image, rbd/gum');
    expect(sameDisk('file:/srv/gum.img', 'block:/srv/gum.img')).toBe('one path, /srv/gum.img');
  });

  it('tells different disks apart', () => {
    expect(sameDisk('block:/dev/vm/gum', 'block:/dev/vm/gum2')).toBeUndefined();
    expect(sameDisk('block:/dev/mapper/vm-gum', 'block:/dev/mapper/vm--gum')).toBeUndefined();
    expect(sameDisk('block:/dev/vm-a/gum', 'block:/dev/mapper/vm-a-gum')).toBeUndefined();
    expect(sameDisk('rbd:a/gum', 'rbd:b/gum')).toBeUndefined();
    expect(sameDisk('iscsi:iqn.x:t/1', 'iscsi:iqn.x:t/2')).toBeUndefined();
  });

  it('asks the node for what the text cannot know, and only for paths', () => {
    const asked: string[] = [];
    const node: NodeDiskIds = (p) => {
      asked.push(p);
      if (p === '/dev/dm-3' || p === '/dev/disk/by-uuid/77') return { id: 'block:253:3', what: 'block device 253:3' };
      if (p === '/srv/a.img') return { id: 'inode:1:2', what: 'one file: device 0:1, inode 2' };
      return undefined;
    };
    expect(sameDisk('block:/dev/dm-3', 'block:/dev/disk/by-uuid/77', node)).toBe('on this node, block device 253:3');
    expect(sameDisk('file:/srv/a.img', 'file:/srv/b.img', node)).toBeUndefined();
    expect(sameDisk('rbd:a/b', 'rbd:a/c', node)).toBeUndefined();
    expect(asked).toEqual(['/dev/dm-3', '/dev/disk/by-uuid/77', '/srv/a.img', '/srv/b.img']);
  });
});

describe('clashes: one disk under two names', () => {
  const vm = (name: string, disk: string): DomainIdentity =>
    identityOf(
      DomainDoc.parse(
        `<domain type="kvm"><name>${name}</name><devices><disk type="block" device="disk"><source dev="${disk}"/><target dev="vda"/></disk></devices></domain>`,
      ),
    );

  it('refuses the LV of another VM under its /dev/mapper name, naming both VMs and both paths', () => {
    expect(clashes(vm('gumB', '/dev/mapper/vm-gum'), [{ ...vm('gumA', '/dev/vm/gum'), resourceId: 'vm-gumA' }])).toEqual([
      'the disk /dev/mapper/vm-gum of gumB is /dev/vm/gum of vm-gumA, the same disk (one logical volume, vm/gum): ' +
        'two VMs writing to one disk destroy it; mark a disk meant to be shared <shareable/>',
    ]);
  });

  it('refuses a path the node sees as another VM\'s disk, and nothing when the node sees two things', () => {
    const node: NodeDiskIds = (p) => (p.startsWith('/srv/') ? { id: 'inode:1:2', what: 'one file: device 0:1, inode 2' } : undefined);
    const other = { ...vm('oak', '/srv/oak.img'), resourceId: 'vm-oak' };
    expect(clashes(vm('gum', '/srv/link-to-oak.img'), [other], node)).toEqual([
      'the disk /srv/link-to-oak.img of gum is /srv/oak.img of vm-oak, the same disk (on this node, one file: device 0:1, inode 2): ' +
        'two VMs writing to one disk destroy it; mark a disk meant to be shared <shareable/>',
    ]);
    expect(clashes(vm('gum', '/var/gum.img'), [other], node)).toEqual([]);
    expect(clashes(vm('gum', '/srv/link-to-oak.img'), [other])).toEqual([]);
  });
});
