// Processes as the kernel shows them in /proc: the one place corral reads it. The agent asks which
// qemu runs a domain (isQemuFor, namesDomain: how libvirt names a domain on qemu's command line,
// pure), the lab which processes live in a node's pid namespace (lib/host/ns-procs.ts) and which
// qemu runs where (lib/lab/watch.ts); all of them through these readers. Synchronous and node:fs only: the agent's steady-state monitor is built on this file,
// and a read of /proc never waits for a disk. Each reader answers undefined for a process that is
// gone (or ends while it is read).
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import type { Identity } from './agent-port.js';

/** Every process ID in this pid namespace (the numeric entries of /proc). */
export function procPids(): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) if (/^\d+$/.test(entry)) out.push(Number(entry));
  return out;
}

function read(pid: number | 'self', file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return undefined;
  }
}

/** The command line of PID (its arguments, empty ones left out), or undefined when it is gone. */
export function argvOf(pid: number): string[] | undefined {
  const raw = read(pid, 'cmdline');
  return raw ? raw.split('\0').filter((s) => s !== '') : undefined;
}

/** The program name the kernel keeps for PID (/proc/PID/comm, at most 15 characters). */
export function commOf(pid: number): string | undefined {
  return read(pid, 'comm')?.trimEnd();
}

export interface ProcStatus {
  /** Name: as in comm. */
  name: string;
  /** One letter: R, S, D, Z (zombie), T … */
  state: string;
  /** The PID in each pid namespace the process is in, outermost first (NSpid). */
  nsPids: number[];
}

/** /proc/PID/status, the fields corral reads. */
export function statusOf(pid: number): ProcStatus | undefined {
  const s = read(pid, 'status');
  if (s === undefined) return undefined;
  const field = (k: string) => new RegExp(`^${k}:\\s+(.*)$`, 'm').exec(s)?.[1]?.trim() ?? '';
  return {
    name: field('Name'),
    state: field('State').slice(0, 1),
    nsPids: field('NSpid').split(/\s+/).filter((x) => x !== '').map(Number),
  };
}

/** True while PID exists and is not a zombie. */
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

/** When PID started, in clock ticks after boot (/proc/PID/stat field 22). */
export function startTicksOf(pid: number): number | undefined {
  const s = read(pid, 'stat');
  if (s === undefined) return undefined;
  const t = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
  return Number.isFinite(t) ? t : undefined;
}

/** Seconds since boot (/proc/uptime). */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]);
}

/** The pid namespace PID is in, as the kernel names it ("pid:[4026531836]"). */
export function pidNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** The inode of PID's network namespace: compare with a named namespace's to prove membership. */
export function netNamespaceInodeOf(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return undefined;
  }
}

/** The children of PID (/proc/PID/task/PID/children). */
export function childrenOf(pid: number): number[] {
  return (read(pid, `task/${pid}/children`) ?? '').trim().split(/\s+/).filter((s) => s !== '').map(Number);
}

/** The PID written in a pid file, or undefined when there is none (or no PID in it). */
export function pidFromFile(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, 'latin1').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** The domain name in libvirt's qemu argument "-name guest=NAME,debug-threads=on" (commas in names doubled). */
export function domainNameOf(args: readonly string[]): string | undefined {
  const n = args.indexOf('-name');
  const nameArg = n >= 0 ? args[n + 1] : undefined;
  if (nameArg === undefined) return undefined;
  const first = nameArg.replace(/,,/g, '\u0000').split(',')[0]!.replace(/\u0000/g, ',');
  return first.startsWith('guest=') ? first.slice(6) : first;
}

/** True when ARGS carries libvirt's "-name guest=NAME,…" (and "-uuid UUID", when ID has one). */
export function namesDomain(args: readonly string[], id: Identity): boolean {
  if (domainNameOf(args) !== id.name) return false;
  if (id.uuid) {
    const u = args.indexOf('-uuid');
    if (u >= 0 && args[u + 1]?.toLowerCase() !== id.uuid.toLowerCase()) return false;
  }
  return true;
}

/** True when ARGS is the command line of a qemu process that libvirt started for ID. */
export function isQemuFor(args: readonly string[], id: Identity): boolean {
  const exe = args[0] ?? '';
  return /qemu/.test(exe.slice(exe.lastIndexOf('/') + 1)) && namesDomain(args, id);
}
