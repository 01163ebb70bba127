// The disks of a domain that live on one node (TransientDomain's storage=local): its file disks
// that the guest writes to. These are what a start checks for on its node and what a migration
// copies (virsh migrate --copy-storage-all --migrate-disks TARGETS). Pure: text in, data out.
import { posix } from 'node:path';
import { child, type DomainDoc } from './doc.js';

export interface LocalDisk {
  /** The guest's device name (vda), what --migrate-disks names. */
  target: string;
  /** The image file on the node. */
  file: string;
  /** Its format (raw, qcow2), as the <driver type> says; raw when unsaid. */
  format: string;
}

/**
 * DOC's disks that must move with it: file disks the guest writes to (not CD-ROMs or floppies,
 * not <readonly/> or <shareable/>). Disks of other types (block devices, network) are returned in
 * OTHERS by their target, so that a caller can refuse what it cannot copy.
 */
export function localDisks(doc: DomainDoc): { disks: LocalDisk[]; others: string[] } {
  const disks: LocalDisk[] = [];
  const others: string[] = [];
  for (const d of doc.devicesOf('disk')) {
    const device = d.getAttribute('device') ?? 'disk';
    if (device === 'cdrom' || device === 'floppy') continue;
    if (child(d, 'readonly') || child(d, 'shareable')) continue;
    const target = child(d, 'target')?.getAttribute('dev') ?? '';
    const type = d.getAttribute('type') ?? 'file';
    const file = child(d, 'source')?.getAttribute('file')?.trim();
    if (type !== 'file' || !file) {
      others.push(target || type);
      continue;
    }
    disks.push({ target, file: posix.normalize(file), format: child(d, 'driver')?.getAttribute('type') ?? 'raw' });
  }
  return { disks, others };
}
