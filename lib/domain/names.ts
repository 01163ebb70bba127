// What a VM name may be. One rule for every tool: it must be a safe libvirt domain name, a safe
// file name (console logs, sockets), and yield a valid Pacemaker id (`vm-NAME`, an XML NCName).
import { z } from 'zod';

export const VM_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const vmName = z
  .string()
  .regex(
    VM_NAME_RE,
    'a VM name is 1-63 characters: letters, digits, ".", "_" and "-", starting with a letter or digit',
  )
  .refine((n) => !n.includes('..'), 'a VM name may not contain ".."');

/** The Pacemaker resource id of a VM. */
export function resourceId(name: string): string {
  return `vm-${name}`;
}

/** The VM name of a resource id made by resourceId(), or undefined. */
export function vmNameOfResource(id: string): string | undefined {
  return id.startsWith('vm-') ? id.slice(3) : undefined;
}
