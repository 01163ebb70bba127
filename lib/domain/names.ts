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
