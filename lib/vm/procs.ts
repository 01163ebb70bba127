// Evidence from the kernel rather than from libvirt: which qemu processes run a given domain.
// Only node:fs here and in lib/host/procs.ts (the /proc readers): the agent's steady-state monitor
// is built on these two files alone.
import { readFileSync } from 'node:fs';
import { argvOf, domainNameOf, procPids } from '../host/procs.js';

export interface Identity {
  name: string;
  uuid?: string;
}

/** True when ARGS carries libvirt's "-name guest=NAME,…" (and "-uuid UUID", when ID has one). */
function namesDomain(args: string[], id: Identity): boolean {
  if (domainNameOf(args) !== id.name) return false;
  if (id.uuid) {
    const u = args.indexOf('-uuid');
    if (u >= 0 && args[u + 1]?.toLowerCase() !== id.uuid.toLowerCase()) return false;
  }
  return true;
}

/** True when ARGS is the command line of a qemu process that libvirt started for ID. */
export function isQemuFor(args: string[], id: Identity): boolean {
  const exe = args[0] ?? '';
  return /qemu/.test(exe.slice(exe.lastIndexOf('/') + 1)) && namesDomain(args, id);
}

/** True when any process on this node, whatever its program, names domain NAME the way libvirt does. */
export function anyProcessNaming(name: string): boolean {
  for (const pid of procPids()) {
    const a = argvOf(pid);
    if (a && namesDomain(a, { name })) return true;
  }
  return false;
}

/** PIDs of every qemu process on this node (in this pid namespace) that runs domain ID. */
export function qemuProcesses(id: Identity): number[] {
  const out: number[] = [];
  for (const pid of procPids()) {
    const a = argvOf(pid);
    if (a && isQemuFor(a, id)) out.push(pid);
  }
  return out;
}

/** The qemu process libvirt recorded in its pid file for ID, if that process is alive and really it. */
export function pidfileProcess(id: Identity, runDir = '/run/libvirt/qemu'): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(`${runDir}/${id.name}.pid`, 'utf8'), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  const a = argvOf(pid);
  return a && isQemuFor(a, id) ? pid : undefined;
}
