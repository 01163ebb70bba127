// The one place that runs virsh (and flock(1), which only ever wraps a virsh create).
// Every call is bounded in time and classifies libvirt's answer, because the safety rules hinge
// on telling "libvirt says the domain does not exist" from "libvirt did not answer".
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DomainLookup, JobProgress, MigrateOptions, RemoveOutcome } from './agent-port.js';
import { run, type RunResult } from './exec.js';

export type { DomainLookup, MigrateOptions };

const ABSENT = /Domain not found|no domain with matching/i;
// virsh (libvirt 9) says only this for a failed lookup, whatever the cause: not evidence alone.
const LOOKUP_FAILED = /failed to get domain/i;
const UNREACHABLE =
  /failed to connect to the hypervisor|Failed to connect socket|Cannot recv data|End of file while reading data|Connection reset|unable to connect to server|Cannot write data|Broken pipe|no connection driver available|operation timed out/i;

function message(r: RunResult): string {
  const text = (r.stderr || r.stdout).replace(/^error: /gm, '').trim();
  return r.timedOut ? `virsh timed out (${r.command})` : text.split('\n').filter(Boolean).join('; ') || `virsh exited ${r.exitCode}`;
}

function classify(r: RunResult): DomainLookup | undefined {
  if (r.exitCode === 0) return undefined;
  if (r.failedToStart) return { kind: 'error', message: `cannot run virsh: ${r.stderr}` };
  const text = `${r.stderr}\n${r.stdout}`;
  if (r.timedOut || UNREACHABLE.test(text)) return { kind: 'unreachable', message: message(r) };
  if (ABSENT.test(text)) return { kind: 'absent' };
  return { kind: 'error', message: message(r) };
}

/** What a failed virsh call says about the domain (absent, unreachable, other), or undefined on success. */
export function lookupOf(r: RunResult): DomainLookup | undefined {
  return classify(r);
}

export class VirshError extends Error {
  override name = 'VirshError';
  constructor(
    message: string,
    readonly unreachable: boolean,
  ) {
    super(message);
  }
}

export interface Virsh {
  uri: string;
  /** Milliseconds any single call may take at most. */
  timeoutMs: number;
}

function virsh(c: Virsh, args: string[], timeoutMs = c.timeoutMs, detached = false): Promise<RunResult> {
  return run('virsh', ['-q', '-c', c.uri, ...args], { timeoutMs: Math.max(500, timeoutMs), detached });
}

async function ok(c: Virsh, args: string[], timeoutMs?: number): Promise<string> {
  const r = await virsh(c, args, timeoutMs);
  if (r.exitCode !== 0) {
    const l = classify(r);
    throw new VirshError(l && 'message' in l ? l.message : message(r), l?.kind === 'unreachable');
  }
  return r.stdout;
}

export async function domstate(c: Virsh, name: string): Promise<DomainLookup> {
  const r = await virsh(c, ['domstate', name]);
  const l = classify(r);
  if (l?.kind !== 'error' || !LOOKUP_FAILED.test(r.stderr)) return l ?? { kind: 'present', state: r.stdout.trim() };
  // "failed to get domain": libvirt answered only if it can also list its domains without it.
  const list = await virsh(c, ['list', '--all', '--name']);
  if (list.exitCode !== 0) return classify(list) ?? { kind: 'error', message: message(list) };
  const names = list.stdout.split('\n').map((x) => x.trim());
  return names.includes(name) ? { kind: 'error', message: `libvirt lists ${name} but cannot look it up: ${message(r)}` } : { kind: 'absent' };
}

export async function dumpxml(c: Virsh, name: string): Promise<string> {
  return ok(c, ['dumpxml', name]);
}

/** Names of all domains libvirt knows (running or not). */
export async function listNames(c: Virsh): Promise<string[]> {
  return (await ok(c, ['list', '--all', '--name'])).split('\n').map((s) => s.trim()).filter(Boolean);
}

/** Which hypervisor a question is about: a domain's type, emulator, arch and machine. */
export interface Platform {
  virttype?: string;
  emulator?: string;
  arch?: string;
  machine?: string;
}

function platformArgs(o: Platform): string[] {
  const args: string[] = [];
  if (o.virttype) args.push('--virttype', o.virttype);
  if (o.emulator) args.push('--emulator', o.emulator);
  if (o.arch) args.push('--arch', o.arch);
  if (o.machine) args.push('--machine', o.machine);
  return args;
}

/** Makes libvirt probe (and cache) the emulator's capabilities, which can take tens of seconds. */
export async function domcapabilities(c: Virsh, o: Platform, timeoutMs: number): Promise<void> {
  await domcapabilitiesXml(c, o, timeoutMs);
}

/** `virsh domcapabilities` (XML): what this node's hypervisor offers a domain of platform O. */
export function domcapabilitiesXml(c: Virsh, o: Platform, timeoutMs = c.timeoutMs): Promise<string> {
  return ok(c, ['domcapabilities', ...platformArgs(o)], timeoutMs);
}

/**
 * `virsh hypervisor-cpu-compare --error` of CPU (a <cpu> element, a domain XML, or a
 * domcapabilities document: its host-model CPU) with the CPU this node's hypervisor can give a
 * domain of platform O. Resolves with virsh's result, never throws: exit 0 when the node can
 * provide it (identical or superset), otherwise libvirt's reason on stderr. virsh reads the CPU
 * from a file: a private temporary one (not /dev/stdin, which cannot be opened when our end of
 * its standard input is a socket, as execa's is).
 */
export async function hypervisorCpuCompare(c: Virsh, cpu: string, o: Platform, timeoutMs = c.timeoutMs): Promise<RunResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'corral-cpu-'));
  try {
    const file = path.join(dir, 'cpu.xml');
    await writeFile(file, cpu, { mode: 0o600 });
    return await virsh(c, ['hypervisor-cpu-compare', file, '--error', ...platformArgs(o)], timeoutMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `virsh create FILE` while holding LOCKFILE (flock). The program runs in its own session, so a
 * timeout that kills our process group cannot interrupt it: the lock stays held until libvirt has
 * answered, and a stop that takes the same lock sees any domain this create made.
 */
export function createLocked(c: Virsh, file: string, lockFile: string): Promise<RunResult> {
  return run('flock', ['-x', lockFile, 'virsh', '-q', '-c', c.uri, 'create', file], { detached: true });
}

/** Waits until no createLocked() holds LOCKFILE; false if that did not happen within timeoutMs. */
export async function waitUnlocked(lockFile: string, timeoutMs: number): Promise<boolean> {
  const seconds = Math.max(0, timeoutMs / 1000).toFixed(1);
  const r = await run('flock', ['-x', '-w', seconds, lockFile, 'true'], { timeoutMs: timeoutMs + 2000 });
  return r.exitCode === 0;
}

export async function shutdown(c: Virsh, name: string, mode: string | undefined): Promise<DomainLookup | undefined> {
  const r = await virsh(c, ['shutdown', name, ...(mode ? ['--mode', mode] : [])]);
  return classify(r);
}

export async function destroy(c: Virsh, name: string): Promise<DomainLookup | undefined> {
  const r = await virsh(c, ['destroy', name]);
  return classify(r);
}

/** Live migration; resolves with virsh's result (never throws), bounded by timeoutMs. */
export function migrate(c: Virsh, name: string, o: MigrateOptions, timeoutMs: number): Promise<RunResult> {
  const args = ['migrate', '--live', name, o.destUri];
  if (o.migrateUri) args.push('--migrateuri', o.migrateUri);
  if (o.bandwidthMiBs) args.push('--bandwidth', String(o.bandwidthMiBs));
  // Non-shared storage: libvirt mirrors the disks over NBD to files it creates on the target.
  if (o.copyDisks?.length) args.push('--copy-storage-all', '--migrate-disks', o.copyDisks.join(','));
  args.push(...(o.extra ?? []));
  return virsh(c, args, timeoutMs);
}

const JOB_FIELDS: Record<string, keyof JobProgress> = {
  disk_processed: 'diskProcessed',
  disk_total: 'diskTotal',
  memory_processed: 'memoryProcessed',
  memory_total: 'memoryTotal',
  time_elapsed: 'elapsedMs',
};

/** `virsh domjobinfo --rawstats`: how far NAME's running job is; undefined without one. */
export async function jobProgress(c: Virsh, name: string): Promise<JobProgress | undefined> {
  const r = await virsh(c, ['domjobinfo', name, '--rawstats']);
  if (r.exitCode !== 0) return undefined;
  const out: JobProgress = {};
  let any = false;
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*([a-z_]+)\s*[=:]\s*(\d+)\s*$/.exec(line);
    const key = m ? JOB_FIELDS[m[1] as string] : undefined;
    if (m && key) {
      out[key] = Number(m[2]);
      any = true;
    }
  }
  return any ? out : undefined;
}

/** A transient dir pool's name for DIR: corral-var-lib-libvirt-images. */
function poolNameFor(dir: string): string {
  return `corral${dir.replace(/[^A-Za-z0-9_.]+/g, '-').replace(/-+$/, '') || '-root'}`;
}

/**
 * An active storage pool for directory DIR at C: libvirt's own if one has DIR as its target
 * (started if inactive, refreshed), else a transient dir pool made now. Resolves with its name.
 */
export async function ensureDirPool(c: Virsh, dir: string): Promise<string> {
  let name = poolNameFor(dir);
  // --build makes the directory when the node has none yet.
  const made = await virsh(c, ['pool-create-as', name, 'dir', '--target', dir, '--build']);
  if (made.exitCode === 0) return name;
  const text = `${made.stderr}\n${made.stdout}`;
  // "Storage source conflict with pool: 'default'" / "pool 'NAME' already exists": it has one.
  const other = /conflict with pool:? '([^']+)'/i.exec(text)?.[1];
  if (other) name = other;
  else if (!/already exists/i.test(text)) throw new VirshError(`pool-create-as ${name} for ${dir}: ${message(made)}`, classify(made)?.kind === 'unreachable');
  const started = await virsh(c, ['pool-start', name]);
  if (started.exitCode !== 0 && !/already active/i.test(`${started.stderr}${started.stdout}`)) {
    throw new VirshError(`pool-start ${name} (for ${dir}): ${message(started)}`, classify(started)?.kind === 'unreachable');
  }
  // What is in the directory now (a stale file is then a volume libvirt knows).
  await virsh(c, ['pool-refresh', name]);
  return name;
}

/** `virsh vol-delete PATH` at C: removes a disk file through a pool that holds it. */
export async function removeVolume(c: Virsh, file: string): Promise<RemoveOutcome> {
  const r = await virsh(c, ['vol-delete', file]);
  if (r.exitCode === 0) return { kind: 'removed' };
  if (/Storage volume not found|no storage vol/i.test(`${r.stderr}${r.stdout}`)) return { kind: 'absent' };
  return { kind: 'failed', message: message(r) };
}

export async function setMaxDowntime(c: Virsh, name: string, ms: number): Promise<boolean> {
  const r = await virsh(c, ['migrate-setmaxdowntime', name, String(ms)]);
  return r.exitCode === 0;
}

export async function jobAbort(c: Virsh, name: string): Promise<void> {
  await virsh(c, ['domjobabort', name]);
}

// ---------------------------------------------------------------------------------------------
// Secrets (lib/host/ceph-secret.ts): the value never appears in an argument; it goes in a file.

/** `virsh secret-dumpxml UUID` at C: the secret's XML, or undefined when libvirt has no such secret. Throws VirshError otherwise. */
export async function secretXml(c: Virsh, uuid: string): Promise<string | undefined> {
  const r = await virsh(c, ['secret-dumpxml', uuid]);
  if (r.exitCode === 0) return r.stdout;
  if (/Secret not found|no secret with matching uuid/i.test(`${r.stderr}${r.stdout}`)) return undefined;
  const l = classify(r);
  throw new VirshError(`secret-dumpxml ${uuid}: ${l && 'message' in l ? l.message : message(r)}`, l?.kind === 'unreachable');
}

/** `virsh secret-define FILE` at C (FILE: the secret's XML, no value in it). Throws VirshError. */
export async function secretDefine(c: Virsh, file: string): Promise<void> {
  await ok(c, ['secret-define', file]);
}

/** `virsh secret-set-value UUID --file FILE --plain` at C: the value is FILE's bytes as they are. Throws VirshError. */
export async function secretSetValueFromFile(c: Virsh, uuid: string, file: string): Promise<void> {
  await ok(c, ['secret-set-value', uuid, '--file', file, '--plain']);
}

/** `virsh secret-undefine UUID` at C; never throws (a cleanup). */
export async function secretUndefine(c: Virsh, uuid: string): Promise<void> {
  await virsh(c, ['secret-undefine', uuid]);
}

/** libvirt's client is installed and runs. */
export async function installed(): Promise<boolean> {
  const v = await run('virsh', ['--version'], { timeoutMs: 5000 });
  return !v.failedToStart && v.exitCode === 0;
}

/** What virsh said on failure, without its "error: " prefixes, on one line; or its exit code. */
export function failureText(r: RunResult): string {
  return (r.stderr || r.stdout).replace(/^error: /gm, '').split('\n').filter(Boolean).join('; ') || `exit ${r.exitCode}`;
}

// ---------------------------------------------------------------------------------------------
// The operator's commands (vm, corral hosts/stats): one VM or one node, usually through a remote
// URI (qemu+ssh://NODE/system). Output is returned as libvirt printed it; lib/cluster/libvirt.ts
// reads it.

/** Resolves when libvirt did it; throws VirshError (unreachable or not) otherwise. */
async function act(c: Virsh, args: string[]): Promise<void> {
  await ok(c, args);
}

/** `virsh reset`: a hard reset, like the reset button. */
export function reset(c: Virsh, name: string): Promise<void> {
  return act(c, ['reset', name]);
}

/** `virsh send-key NAME KEY…` (Linux key names such as KEY_LEFTCTRL), pressed together. */
export function sendKey(c: Virsh, name: string, keys: readonly string[]): Promise<void> {
  return act(c, ['send-key', name, '--codeset', 'linux', ...keys]);
}

/** `virsh vncdisplay NAME`: ":0", "127.0.0.1:0", or "" without VNC. */
export async function vncdisplay(c: Virsh, name: string): Promise<string> {
  return (await ok(c, ['vncdisplay', name])).trim();
}

/** `virsh domstats --raw` of the running domains (all stat groups corral shows), as printed. */
export function domstats(c: Virsh): Promise<string> {
  return ok(c, ['domstats', '--raw', '--list-active', '--state', '--cpu-total', '--balloon', '--vcpu', '--interface', '--block']);
}

/** `virsh nodecpustats`: the node's CPU time counters (ns), as printed. */
export function nodecpustats(c: Virsh): Promise<string> {
  return ok(c, ['nodecpustats']);
}

/** `virsh nodememstats`: the node's memory (KiB), as printed. */
export function nodememstats(c: Virsh): Promise<string> {
  return ok(c, ['nodememstats']);
}

/** `virsh nodeinfo`, as printed. */
export function nodeinfo(c: Virsh): Promise<string> {
  return ok(c, ['nodeinfo']);
}

/** `virsh version --daemon`, as printed. */
export function version(c: Virsh): Promise<string> {
  return ok(c, ['version', '--daemon']);
}

/** `virsh capabilities` (XML). */
export function capabilities(c: Virsh): Promise<string> {
  return ok(c, ['capabilities']);
}

/**
 * `virsh console NAME` on our terminal until the user leaves it (Ctrl+]); resolves with virsh's
 * exit code. FORCE takes the console over from another session.
 */
export async function consoleAttached(c: Virsh, name: string, opts: { force?: boolean } = {}): Promise<number> {
  const { runAttached } = await import('./exec.js');
  return runAttached('virsh', ['-c', c.uri, 'console', ...(opts.force ? ['--force'] : []), name]);
}
