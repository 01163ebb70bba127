// One disk under two names is one disk (DESIGN, safety rule 8). A disk key as identityOf lists it
// (`block:/dev/vm/gum`, `file:/srv/gum.img`, `rbd:pool/image`, `iscsi:iqn…/1`, …) names a disk by
// what is written; its canonical key names it by what the text alone can tell it is:
//
//   - a path (file, block device, directory): normalised (`//`, `/./`, `..`), whatever the disk's
//     type says (a `file` disk on /dev/vm/gum is the block device /dev/vm/gum);
//   - an LVM logical volume: `/dev/VG/LV`, `/dev/mapper/VG-LV` (device-mapper writes a `-` inside
//     VG or LV as `--`) and `/dev/disk/by-id/dm-name-VG-LV` are `lvm:VG/LV`;
//   - an RBD image: QEMU's `pool/image` (the pool `rbd` when none is written; `pool/namespace/image`)
//     and the kernel's `/dev/rbd/pool/image` are `rbd:pool/image`;
//   - an iSCSI LUN: `iqn…/LUN` (LUN 0 when none) and `/dev/disk/by-path/ip-…-iscsi-iqn…-lun-N` are
//     `iscsi:iqn…/N`;
//   - other network disks: protocol and name.
//
// What text cannot know (`/dev/dm-N`, `/dev/disk/by-id|by-uuid/…`, a symbolic link, a hard link, a
// bind mount) the node can: a NodeDiskIds lookup (lib/host/disk-identity.ts) gives a path's
// identity there (major:minor of a block device, device and inode of a file). Two disks are one
// when their canonical keys are equal, or when the node sees both paths as one thing.
import { posix } from 'node:path';

/** How the node that runs the check sees a path: its identity, and a phrase for people. */
export interface NodeDiskId {
  /** `block:MAJ:MIN` or `inode:DEV:INO`: equal means one disk. */
  id: string;
  /** e.g. `block device 7:0`, `one file: device 8:1, inode 1234` */
  what: string;
}

/** PATH's identity on this node, or undefined when the node cannot see it. */
export type NodeDiskIds = (path: string) => NodeDiskId | undefined;

/** Subdirectories of /dev that are not volume groups (/dev/X/Y is read as LVM's /dev/VG/LV otherwise). */
const NOT_VG = new Set([
  'block', 'bsg', 'bus', 'char', 'cpu', 'disk', 'dma_heap', 'dri', 'drbd', 'fd', 'hugepages', 'input', 'mapper', 'md',
  'mqueue', 'net', 'pts', 'rbd', 'shm', 'snd', 'vfio', 'virtio-ports', 'zvol', 'vhost-net', 'vhost-vsock', 'serial',
]);

/** LVM's characters for VG and LV names. */
const LVM_NAME = /^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/;

function lvmName(vg: string, lv: string): string | undefined {
  if (!LVM_NAME.test(vg) || !LVM_NAME.test(lv) || vg === '.' || vg === '..' || lv === '.' || lv === '..') return undefined;
  return `lvm:${vg}/${lv}`;
}

/**
 * The VG and LV of a device-mapper name (`vm-gum` → vm/gum, `my--vg-lv--1` → my-vg/lv-1), or
 * undefined when NAME is not VG-LV (no single `-`, or a layer after the LV such as `-real`).
 */
function dmNameToLv(name: string): { vg: string; lv: string } | undefined {
  const parts: string[] = [''];
  for (let i = 0; i < name.length; i++) {
    const c = name[i] as string;
    if (c === '-' && name[i + 1] === '-') {
      parts[parts.length - 1] += '-';
      i++;
    } else if (c === '-') {
      parts.push('');
    } else {
      parts[parts.length - 1] += c;
    }
  }
  if (parts.length !== 2) return undefined;
  const [vg, lv] = parts as [string, string];
  return vg && lv ? { vg, lv } : undefined;
}

/** The canonical key of an RBD name as QEMU and libvirt write it: pool/image, pool/namespace/image, or image (pool rbd). */
function rbdKey(name: string): string {
  const parts = name.split('/').filter((p) => p !== '');
  if (parts.length === 1) parts.unshift('rbd');
  return `rbd:${parts.join('/')}`;
}

/** The canonical key of an iSCSI target and LUN (`iqn…/1`; LUN 0 when none). IQNs are case-insensitive. */
function iscsiKey(name: string): string {
  const m = /^(.*?)\/+(\d+)\/*$/.exec(name);
  const target = (m ? (m[1] as string) : name.replace(/\/+$/, '')).toLowerCase();
  const lun = m ? Number(m[2]) : 0;
  return `iscsi:${target}/${lun}`;
}

/** The canonical key of a path (see the top of this file). */
function pathKey(raw: string): string {
  const p = posix.normalize(raw).replace(/(.)\/+$/, '$1');
  const seg = p.split('/').slice(1);
  if (seg[0] === 'dev') {
    // /dev/mapper/VG-LV
    if (seg.length === 3 && seg[1] === 'mapper') {
      const lv = dmNameToLv(seg[2] as string);
      const k = lv && lvmName(lv.vg, lv.lv);
      if (k) return k;
    }
    // /dev/disk/by-id/dm-name-VG-LV (udev's link to the same device-mapper device)
    if (seg.length === 4 && seg[1] === 'disk' && seg[2] === 'by-id' && (seg[3] as string).startsWith('dm-name-')) {
      const lv = dmNameToLv((seg[3] as string).slice('dm-name-'.length));
      const k = lv && lvmName(lv.vg, lv.lv);
      if (k) return k;
    }
    // /dev/disk/by-path/ip-HOST:PORT-iscsi-IQN-lun-N (a whole LUN; a partition -partK is not)
    if (seg.length === 4 && seg[1] === 'disk' && seg[2] === 'by-path') {
      const m = /^ip-.+?-iscsi-(.+)-lun-(\d+)$/.exec(seg[3] as string);
      if (m) return iscsiKey(`${m[1]}/${m[2]}`);
    }
    // /dev/rbd/POOL/IMAGE, /dev/rbd/POOL/NAMESPACE/IMAGE (the kernel's RBD, udev's links)
    if ((seg.length === 4 || seg.length === 5) && seg[1] === 'rbd') return rbdKey(seg.slice(2).join('/'));
    // /dev/VG/LV
    if (seg.length === 3 && !NOT_VG.has(seg[1] as string)) {
      const k = lvmName(seg[1] as string, seg[2] as string);
      if (k) return k;
    }
  }
  return `path:${p}`;
}

/**
 * The canonical key of a disk key (see the top of this file): equal canonical keys are one disk,
 * however they are written.
 */
export function canonicalDiskKey(key: string): string {
  const i = key.indexOf(':');
  const kind = i < 0 ? key : key.slice(0, i);
  const what = i < 0 ? '' : key.slice(i + 1);
  switch (kind) {
    case 'file':
    case 'block':
    case 'dir':
      return pathKey(what);
    case 'rbd':
      return rbdKey(what);
    case 'iscsi':
      return iscsiKey(what);
    case 'volume':
      return key;
    default:
      // other network protocols: the name, its slashes normalised
      return `${kind}:${posix.normalize(`/${what}`).slice(1)}`;
  }
}

/** The path of a file, block or directory disk key; undefined for the others. */
export function diskKeyPath(key: string): string | undefined {
  const m = /^(file|block|dir):(.+)$/.exec(key);
  return m ? (m[2] as string) : undefined;
}

/** A canonical key for people: `logical volume vm/gum`, `RBD image pool/image`. */
function canonicalLabel(canonical: string): string {
  const i = canonical.indexOf(':');
  const kind = canonical.slice(0, i);
  const what = canonical.slice(i + 1);
  switch (kind) {
    case 'lvm':
      return `one logical volume, ${what}`;
    case 'rbd':
      return `one RBD image, ${what}`;
    case 'iscsi':
      return `one iSCSI LUN, ${what}`;
    case 'path':
      return `one path, ${what}`;
    default:
      return `one ${kind} disk, ${what}`;
  }
}

/**
 * Why disk keys A and B are one disk (`one logical volume, vm/gum`, `on this node, block device
 * 7:0`), or undefined when neither their text nor NODE says so. A and B equal: `the same path`.
 */
export function sameDisk(a: string, b: string, node?: NodeDiskIds): string | undefined {
  if (a === b) return 'the same path';
  const ca = canonicalDiskKey(a);
  if (ca === canonicalDiskKey(b)) return canonicalLabel(ca);
  if (!node) return undefined;
  const pa = diskKeyPath(a);
  const pb = diskKeyPath(b);
  if (pa === undefined || pb === undefined) return undefined;
  const ia = node(pa);
  const ib = node(pb);
  return ia && ib && ia.id === ib.id ? `on this node, ${ia.what}` : undefined;
}
