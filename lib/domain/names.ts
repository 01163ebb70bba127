// What a VM name and a cluster node name may be, one rule each for every tool. A VM name must be a
// safe libvirt domain name, a safe file name (console logs, sockets), and yield a valid Pacemaker
// id (`vm-NAME`, an XML NCName); a node name is a host name (it goes into URIs and commands).
import { z } from 'zod';

export const VM_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const vmName = z
  .string()
  .regex(
    VM_NAME_RE,
    'a VM name is 1-63 characters: letters, digits, ".", "_" and "-", starting with a letter or digit',
  )
  .refine((n) => !n.includes('..'), 'a VM name may not contain ".."');

/** A Pacemaker node name as corral accepts it: a host name. */
export const NODE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

export const nodeName = z
  .string()
  .regex(NODE_NAME_RE, 'a node name is a host name: letters, digits, ".", "_" and "-", starting with a letter or digit');

/** The Pacemaker resource id of a VM. */
export function resourceId(name: string): string {
  return `vm-${name}`;
}

/** The VM name of a resource id made by resourceId(), or undefined. */
export function vmNameOfResource(id: string): string | undefined {
  return id.startsWith('vm-') ? id.slice(3) : undefined;
}

/** An XML ID as Pacemaker's schema takes it (an NCName), in ASCII. */
const XML_ID_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** FNV-1a (32 bits) of TEXT's UTF-8 bytes, as 8 hex digits: short, stable, no import. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * The one way corral makes a CIB id from names (VM, node, tag, attribute): PARTS joined by "-".
 * When that is already a valid XML ID it is the id, unchanged (every id corral wrote before stays
 * the same). Otherwise (a node named "-S", "n3;touch x", one with a bidi override …) every
 * character outside letters, digits, "_", "." and "-" becomes "_", an id that would start with a
 * digit, "-" or "." gets "_" in front, and "-" and a hash of the original text are appended: two
 * names that come out the same ("n3;x" and "n3 x") still get different ids, and an id never
 * depends on anything but its parts.
 */
export function xmlId(...parts: readonly string[]): string {
  const text = parts.join('-');
  if (XML_ID_RE.test(text)) return text;
  const safe = text.replace(/[^A-Za-z0-9_.-]/gu, '_');
  return `${/^[A-Za-z_]/.test(safe) ? '' : '_'}${safe}-${shortHash(text)}`;
}
