// Ceph's own client tools (ceph, rbd), with a runner so the call works on this host or inside a
// lab node, like lib/host/corosync.ts and lib/host/pacemaker/ do for theirs. A failure is one line:
// the tool's own error (its last line of prose), the command and its exit code — never the key.
import { run, type RunResult } from './exec.js';
import type { Via } from './pacemaker/tool.js';

/** Bound for one ceph or rbd call when the caller gives none (the tools wait for a monitor). */
const TIMEOUT_MS = 60_000;

/** Who talks to the cluster: a client name (`corral` for client.corral; default admin). */
export interface CephClient {
  id?: string;
}

function runTool(via: Via | undefined, file: string, args: readonly string[], input?: string): Promise<RunResult> {
  const timeoutMs = via?.timeoutMs ?? TIMEOUT_MS;
  return via?.runner ? via.runner(file, args, { timeoutMs, input }) : run(file, args, { timeoutMs, input });
}

/** Arguments every call gets: the client, and a bound on the wait for a monitor (the tools' own). */
function clientArgs(client: CephClient, timeoutMs: number): string[] {
  return [...(client.id ? ['--id', client.id] : []), '--connect-timeout', String(Math.max(1, Math.floor(timeoutMs / 1000) - 2))];
}

class CephCommandError extends Error {
  constructor(
    readonly result: RunResult,
    readonly what: string,
  ) {
    const lines = `${result.stderr}\n${result.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
    const cause = result.timedOut ? `no answer within the bound` : (lines[lines.length - 1] ?? `exit ${result.exitCode}`);
    const tool = result.command.split(' ')[0];
    super(`${what} failed: ${cause.length > 240 ? `${cause.slice(0, 237)}...` : cause} (${tool} exited ${result.exitCode})`);
  }
}

/** `ceph ARGS` (admin, or CLIENT) where VIA says; its stdout, or CephCommandError. */
export async function ceph(args: readonly string[], opts: { via?: Via; client?: CephClient; input?: string } = {}): Promise<string> {
  const timeoutMs = opts.via?.timeoutMs ?? TIMEOUT_MS;
  const r = await runTool(opts.via, 'ceph', [...clientArgs(opts.client ?? {}, timeoutMs), ...args], opts.input);
  if (r.exitCode !== 0) throw new CephCommandError(r, `ceph ${args.slice(0, 3).join(' ')}`);
  return r.stdout;
}

/** `rbd ARGS` (admin, or CLIENT) where VIA says: the whole result, for callers that expect refusals. */
export async function rbd(args: readonly string[], opts: { via?: Via; client?: CephClient } = {}): Promise<RunResult> {
  // rbd has no --connect-timeout: the runner's bound is the only one.
  return runTool(opts.via, 'rbd', [...(opts.client?.id ? ['--id', opts.client.id] : []), ...args]);
}

/** What `ceph status` says, in the few words a user checks. */
export interface CephStatus {
  fsid: string;
  /** HEALTH_OK, HEALTH_WARN or HEALTH_ERR. */
  health: string;
  /** Each health check that is raised: its code and summary ("MON_DISK_LOW: mons n1 are low …"). */
  checks: string[];
  /** Monitors in quorum (names) and all monitors the monmap has. */
  quorum: string[];
  monitors: number;
  osds: { total: number; up: number; in: number };
  /** An active manager (Ceph reports no placement groups without one), and its standbys. */
  mgr: { active: boolean; standbys: number };
  /** Placement groups: how many, and how many active+clean. */
  pgs: { total: number; activeClean: number; states: Record<string, number> };
}

interface StatusJson {
  fsid?: string;
  health?: { status?: string; checks?: Record<string, { summary?: { message?: string } }> };
  quorum_names?: string[];
  monmap?: { num_mons?: number; mons?: unknown[] };
  osdmap?: { num_osds?: number; num_up_osds?: number; num_in_osds?: number; osdmap?: { num_osds?: number; num_up_osds?: number; num_in_osds?: number } };
  mgrmap?: { available?: boolean; num_standbys?: number };
  pgmap?: { num_pgs?: number; pgs_by_state?: { state_name: string; count: number }[] };
}

/** `ceph status -f json` read into CephStatus (Ceph 16's shape; 15's nested osdmap too). */
export async function cephStatus(opts: { via?: Via; client?: CephClient } = {}): Promise<CephStatus> {
  const j = JSON.parse(await ceph(['status', '--format', 'json'], opts)) as StatusJson;
  const osd = j.osdmap?.osdmap ?? j.osdmap ?? {};
  const states: Record<string, number> = {};
  for (const s of j.pgmap?.pgs_by_state ?? []) states[s.state_name] = s.count;
  return {
    fsid: j.fsid ?? '',
    health: j.health?.status ?? 'unknown',
    checks: Object.entries(j.health?.checks ?? {}).map(([code, c]) => `${code}: ${c.summary?.message ?? ''}`),
    quorum: j.quorum_names ?? [],
    monitors: j.monmap?.num_mons ?? j.monmap?.mons?.length ?? 0,
    osds: { total: osd.num_osds ?? 0, up: osd.num_up_osds ?? 0, in: osd.num_in_osds ?? 0 },
    mgr: { active: j.mgrmap?.available === true, standbys: j.mgrmap?.num_standbys ?? 0 },
    pgs: { total: j.pgmap?.num_pgs ?? 0, activeClean: states['active+clean'] ?? 0, states },
  };
}

/** What Ceph says about one RBD image: it does not exist, it exists (and which clients have it open), or no answer. */
export type RbdImageState =
  | { kind: 'absent' }
  | { kind: 'present'; watchers: string[] }
  | { kind: 'unknown'; message: string }
  | { kind: 'no-tool' };

/**
 * `rbd status --format json NAME` as CLIENT (its keyring from /etc/ceph; default admin), asking
 * MONITORS when given (else ceph.conf's): the watchers' addresses without port and nonce (each a
 * client that has the image open: a QEMU, a kernel mapping), or absent when Ceph says there is no
 * such image; no-tool when rbd (ceph-common) is not installed here.
 */
export async function rbdImageState(name: string, opts: { client?: string; monitors?: readonly string[]; timeoutMs?: number } = {}): Promise<RbdImageState> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const args = [
    ...(opts.client ? ['--id', opts.client] : []),
    ...(opts.monitors?.length ? ['-m', opts.monitors.join(',')] : []),
    // rbd has no --connect-timeout: Ceph's own bound on finding a monitor, below the runner's.
    '--client-mount-timeout', String(Math.max(1, Math.floor(timeoutMs / 1000) - 2)),
    'status', '--format', 'json', name,
  ];
  const r = await run('rbd', args, { timeoutMs });
  if (r.failedToStart) return { kind: 'no-tool' };
  if (r.exitCode === 0) {
    try {
      const j = JSON.parse(r.stdout) as { watchers?: { address?: string }[] };
      return { kind: 'present', watchers: (j.watchers ?? []).map((w) => watcherHost(w.address ?? '')) };
    } catch {
      return { kind: 'unknown', message: `rbd status ${name}: unreadable answer` };
    }
  }
  if (/\(2\) No such file or directory/.test(r.stderr)) return { kind: 'absent' };
  return { kind: 'unknown', message: new CephCommandError(r, `rbd status ${name}`).message };
}

/** A watcher's address as Ceph prints it (10.0.0.1:0/3522, v1:10.0.0.1:0/3522, [::1]:0/12) without port and nonce. */
function watcherHost(address: string): string {
  const a = address.replace(/^v\d:/, '');
  const v6 = /^\[([^\]]+)\]/.exec(a);
  return v6 ? (v6[1] as string) : (a.split(':')[0] as string);
}

/** Who talks to Ceph for an rbd call from corral's commands: the user (default admin) and the monitors (default ceph.conf's). */
export interface RbdAccess {
  client?: string;
  monitors?: readonly string[];
}

function accessArgs(a: RbdAccess): string[] {
  return [...(a.client ? ['--id', a.client] : []), ...(a.monitors?.length ? ['-m', a.monitors.join(',')] : [])];
}

/**
 * `rbd import FILE NAME`: a new image NAME with FILE's bytes (runs of zeros are skipped: a sparse
 * file costs what it holds). Resolves when Ceph has it; throws with rbd's own words otherwise
 * (exists: the image was there already, and is not touched).
 */
export async function rbdImport(file: string, name: string, a: RbdAccess, opts: { timeoutMs: number; cancel?: AbortSignal }): Promise<void> {
  const r = await run('rbd', [...accessArgs(a), '--no-progress', 'import', file, name], { timeoutMs: opts.timeoutMs, ...(opts.cancel ? { cancel: opts.cancel } : {}) });
  if (r.exitCode !== 0) {
    const e = new CephCommandError(r, `rbd import ${name}`);
    throw Object.assign(e, { exists: /\(17\) File exists/.test(r.stderr) });
  }
}

/** `rbd rm NAME` (a half-made image); never throws, says what went wrong. */
export async function rbdRemove(name: string, a: RbdAccess): Promise<string | undefined> {
  const r = await run('rbd', [...accessArgs(a), '--no-progress', 'rm', name], { timeoutMs: 120_000 });
  return r.exitCode === 0 ? undefined : new CephCommandError(r, `rbd rm ${name}`).message;
}

/**
 * Who holds NAME's locks (`rbd lock ls --format json`): for an image with exclusive-lock, the
 * client that writes to it now (its lock id starts with "auto"); none before the first write.
 * Each: the client (client.4176) and its host. Throws with rbd's words.
 */
export async function rbdLockHolders(name: string, a: RbdAccess, timeoutMs = 30_000): Promise<{ client: string; host: string; exclusive: boolean }[]> {
  const r = await run('rbd', [...accessArgs(a), '--client-mount-timeout', String(Math.max(1, Math.floor(timeoutMs / 1000) - 2)), 'lock', 'ls', '--format', 'json', name], { timeoutMs });
  if (r.exitCode !== 0) throw new CephCommandError(r, `rbd lock ls ${name}`);
  return lockHoldersFrom(r.stdout);
}

/** `rbd lock ls --format json`'s answer read (a list in Ceph 16; an object by lock id in older ones). */
export function lockHoldersFrom(json: string): { client: string; host: string; exclusive: boolean }[] {
  const j = JSON.parse(json || '[]') as { id?: string; locker?: string; address?: string }[] | Record<string, { locker?: string; address?: string }>;
  const list = Array.isArray(j) ? j : Object.entries(j).map(([id, v]) => ({ id, ...v }));
  return list.map((l) => ({ client: l.locker ?? '?', host: watcherHost(l.address ?? ''), exclusive: (l.id ?? '').startsWith('auto ') }));
}
