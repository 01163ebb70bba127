// What the agent remembers on a node between actions, under /run (gone with a reboot, as are the
// domains): the identity of the domain a resource started, so a stop still finds it when the
// configuration is broken, the create lock, and the XML handed to virsh create.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Identity } from './procs.js';

const STATE_DIR = process.env.CORRAL_STATE_DIR ?? '/run/corral/TransientDomain';

export interface ResourceState extends Identity {
  resource: string;
  phase: 'starting' | 'running' | 'migrating';
  since: string;
}

function ensureDir(): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export const paths = {
  state: (resource: string) => `${STATE_DIR}/${safe(resource)}.json`,
  lock: (name: string) => `${STATE_DIR}/${safe(name)}.lock`,
  xml: (name: string) => `${STATE_DIR}/${safe(name)}.xml`,
};

export function readState(resource: string): ResourceState | undefined {
  try {
    const s = JSON.parse(readFileSync(paths.state(resource), 'utf8')) as ResourceState;
    return typeof s.name === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

export function writeState(s: Omit<ResourceState, 'since'>): void {
  ensureDir();
  const file = paths.state(s.resource);
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...s, since: new Date().toISOString() }));
  renameSync(`${file}.tmp`, file);
}

export function clearState(resource: string): void {
  rmSync(paths.state(resource), { force: true });
}

/** Writes the XML virsh create reads; returns its path. Readable by root only. */
export function writeCreateXml(name: string, xml: string): string {
  ensureDir();
  const file = paths.xml(name);
  writeFileSync(file, xml, { mode: 0o600 });
  return file;
}

export function lockFile(name: string): string {
  ensureDir();
  return paths.lock(name);
}
