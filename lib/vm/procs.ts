// Evidence from the kernel rather than from libvirt: which qemu processes run a given domain.
// Only node:fs here — the agent's steady-state monitor is built on this file alone.
import { readFileSync, readdirSync } from 'node:fs';

export interface Identity {
  name: string;
  uuid?: string;
}

function argv(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    return raw ? raw.split('\0') : undefined;
  } catch {
    return undefined;
  }
}

/** The domain name in libvirt's "-name guest=NAME,debug-threads=on" (commas in names doubled). */
export function domainNameOf(args: readonly string[]): string | undefined {
  const n = args.indexOf('-name');
  const nameArg = n >= 0 ? args[n + 1] : undefined;
  if (nameArg === undefined) return undefined;
  const first = nameArg.replace(/,,/g, '\u0000').split(',')[0]!.replace(/\u0000/g, ',');
  return first.startsWith('guest=') ? first.slice(6) : first;
}

/** True when ARGS carries libvirt's "-name guest=NAME,…" (and "-uuid UUID", when ID has one). */
export function namesDomain(args: string[], id: Identity): boolean {
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
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const a = argv(Number(entry));
    if (a && namesDomain(a, { name })) return true;
  }
  return false;
}

/** PIDs of every qemu process on this node (in this pid namespace) that runs domain ID. */
export function qemuProcesses(id: Identity): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const a = argv(pid);
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
  const a = argv(pid);
  return a && isQemuFor(a, id) ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie is not running; /proc/PID/stat's third field says so.
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
