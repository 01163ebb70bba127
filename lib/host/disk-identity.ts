// What a disk path is on this node, for "one disk under two names is one disk" (DESIGN, safety
// rule 8; lib/domain/disk-key.ts compares): a block device by its major:minor (so /dev/vm/gum,
// /dev/mapper/vm-gum, /dev/dm-3 and any other node of that device are one), anything else by the
// device and inode of the file (so a hard link, a symbolic link and a path through a bind mount are
// one). A path this node cannot see (it does not exist here, or cannot be read) has no identity
// here: the caller falls back to the canonical text key.
//
// Synchronous on purpose: the CIB plans that use it (lib/cib/vm.ts) are synchronous and pure, and
// take this as a port. A stat is cheap; every path is asked once.
import { statSync } from 'node:fs';
import type { NodeDiskId, NodeDiskIds } from '../domain/disk-key.js';
import { devnumOf } from './disk.js';

function identity(path: string): NodeDiskId | undefined {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
  if (st.isBlockDevice()) {
    const dn = devnumOf(Number(st.rdev));
    return { id: `block:${dn}`, what: `block device ${dn}` };
  }
  return { id: `inode:${st.dev}:${st.ino}`, what: `one file: device ${devnumOf(Number(st.dev))}, inode ${st.ino}` };
}

/** A lookup of paths on this node; each path is asked once. */
export function nodeDiskIds(): NodeDiskIds {
  const seen = new Map<string, NodeDiskId | undefined>();
  return (path: string) => {
    if (!seen.has(path)) seen.set(path, identity(path));
    return seen.get(path);
  };
}
