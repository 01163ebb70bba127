// The part of the agent's real host (lib/host/agent-port.ts) that needs only node:fs: which qemu
// processes run a domain (/proc), what libvirt keeps under /run/libvirt/qemu, the create lock
// (/proc/locks), signals, and what the agent remembers under /run. The agent's fast paths load this
// file and nothing else of lib/host: no program, no library, no XML.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { argvOf, isAlive, isQemuFor, namesDomain, procPids } from './procs.js';
import type { FastHost, Identity, ResourceState } from './agent-port.js';

/** libvirt's live state of the qemu domains it runs (NAME.xml, NAME.pid). */
const LIBVIRT_RUN = '/run/libvirt/qemu';

const STATE_DIR = process.env.CORRAL_STATE_DIR ?? '/run/corral/TransientDomain';

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}

const paths = {
  state: (resource: string) => `${STATE_DIR}/${safe(resource)}.json`,
  lock: (name: string) => `${STATE_DIR}/${safe(name)}.lock`,
  xml: (name: string) => `${STATE_DIR}/${safe(name)}.xml`,
};

function ensureStateDir(): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
}

/** True when some process holds a lock on FILE (conservatively: on any file with its inode). */
function lockHeld(file: string): boolean {
  let ino: number;
  try {
    ino = statSync(file).ino;
  } catch {
    return false; // no lock file: no create ever ran here since boot
  }
  const locks = readFileSync('/proc/locks', 'latin1');
  return locks.split('\n').some((l) => l.split(/\s+/).some((f) => f.endsWith(`:${ino}`)));
}

/** Writes the XML virsh create reads; returns its path. Readable by root only. */
export function writeCreateXml(name: string, xml: string): string {
  ensureStateDir();
  const file = paths.xml(name);
  writeFileSync(file, xml, { mode: 0o600 });
  return file;
}

/** The lock a create of NAME holds while it runs. */
export function lockFile(name: string): string {
  ensureStateDir();
  return paths.lock(name);
}

export function qemuProcesses(id: Identity): number[] {
  return procPids().filter((pid) => {
    const a = argvOf(pid);
    return a !== undefined && isQemuFor(a, id);
  });
}

export { isAlive };

export function kill(pid: number, signal: 'SIGTERM' | 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

export function readState(resource: string): ResourceState | undefined {
  try {
    const s = JSON.parse(readFileSync(paths.state(resource), 'utf8')) as ResourceState;
    return typeof s.name === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

export function writeState(s: ResourceState): void {
  ensureStateDir();
  const file = paths.state(s.resource);
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...s, since: new Date().toISOString() }));
  renameSync(`${file}.tmp`, file);
}

export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o750 });
}

export const fsHost: FastHost = {
  libvirtPid(id) {
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(`${LIBVIRT_RUN}/${id.name}.pid`, 'utf8'), 10);
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    const a = argvOf(pid);
    return a && isQemuFor(a, id) ? pid : undefined;
  },
  libvirtKeeps: (name) => existsSync(`${LIBVIRT_RUN}/${name}.xml`) || existsSync(`${LIBVIRT_RUN}/${name}.pid`),
  createInFlight: (name) => lockHeld(paths.lock(name)),
  anyProcessNaming: (name) =>
    procPids().some((pid) => {
      const a = argvOf(pid);
      return a !== undefined && namesDomain(a, { name });
    }),
  clearState: (resource) => rmSync(paths.state(resource), { force: true }),
  removeCreateXml: (name) => rmSync(paths.xml(name), { force: true }),
};
