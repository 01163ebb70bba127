// /dev/kvm as libvirt's QEMU needs it. Debian's udev rule makes it `root:kvm 0660`, and the user
// QEMU runs as (libvirt-qemu) is in group kvm. A host where nothing applied that rule has it as
// `crw------- root root`: libvirtd then finds its cached QEMU capabilities invalid on every domain
// start and probes QEMU again (40–70 s per `virsh create` measured here, against 0.4 s), and no
// guest can use KVM. The agent's start warns about it; the lab and .ci/run put it right.
import { chmodSync, chownSync, readFileSync, statSync } from 'node:fs';

const KVM_DEVICE = '/dev/kvm';

/** The gid of group NAME from /etc/group (GROUPFILE), if it exists. */
function groupId(name: string, groupFile: string): number | undefined {
  try {
    for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
    }
  } catch {
    // no group file: no such group
  }
  return undefined;
}

/** `crw-------` from a mode. */
function modeText(mode: number): string {
  const bits = 'rwxrwxrwx';
  let s = '';
  for (let i = 0; i < 9; i++) s += mode & (0o400 >> i) ? bits[i] : '-';
  return s;
}

/**
 * What keeps libvirt's QEMU from using DEVICE, in one line with the fix; undefined when there is
 * no such device (a host without KVM: TCG, nothing to say) or when QEMU can open it (group kvm,
 * or everyone, may read and write it).
 */
export function kvmDeviceProblem(device = KVM_DEVICE, groupFile = '/etc/group'): string | undefined {
  let st;
  try {
    st = statSync(device);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `cannot read ${device}: ${(e as Error).message}`;
  }
  if (!st.isCharacterDevice()) return undefined; // masked (the lab hides it behind an empty file)
  if ((st.mode & 0o006) === 0o006) return undefined;
  const kvm = groupId('kvm', groupFile);
  if (kvm !== undefined && st.gid === kvm && (st.mode & 0o060) === 0o060) return undefined;
  const group = st.gid === kvm ? 'kvm' : String(st.gid);
  return (
    `${device} is c${modeText(st.mode)} uid ${st.uid} gid ${group}: libvirt's QEMU (group kvm) cannot open it, ` +
    `so libvirtd probes QEMU again on every start (tens of seconds) and no guest gets KVM; ` +
    `make it root:kvm 0660 as Debian's udev rule does (chgrp kvm ${device}; chmod 0660 ${device})`
  );
}

/** Leaves DEVICE as Debian's udev rule would (root:kvm, 0660) when it exists and is not; says what it did. */
export function fixKvmDevice(device = KVM_DEVICE, groupFile = '/etc/group'): string | undefined {
  if (!kvmDeviceProblem(device, groupFile)) return undefined;
  const kvm = groupId('kvm', groupFile);
  if (kvm === undefined) throw new Error(`${device} needs group kvm, and this host has no group kvm (qemu-system-common or udev makes it)`);
  chownSync(device, 0, kvm);
  chmodSync(device, 0o660);
  return `${device} was not usable by libvirt's QEMU; made it root:kvm 0660 as Debian's udev rule does`;
}
