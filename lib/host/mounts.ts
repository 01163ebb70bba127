// Mounts of a lab node (inside its mount namespace, through nsenter) and the little the lab does in
// the root mount namespace: find what is mounted under its state directory after a crash, and
// copy a tree.
import { readFile } from 'node:fs/promises';
import { QUICK } from './netns.js';
import { nsRunOk } from './nsenter.js';
import { run, runOk } from './exec.js';

// Mounts inside a node's mount namespace

/** Bind-mounts host path SOURCE (as seen in the node before any hiding mount) onto TARGET. */
export async function nsBindMount(initPid: number, source: string, target: string): Promise<void> {
  await nsRunOk(initPid, 'mount', ['--bind', source, target], { timeoutMs: QUICK });
}

/**
 * Mounts a read-only overlay of LOWERDIRS (first one wins) onto TARGET inside the node: how the
 * lab adds files to a system directory of the node (/usr/sbin, the OCF agents) without touching
 * the host's copy. LOWERDIRS may include TARGET itself, which then shows through.
 */
/**
 * Mounts a writable overlay onto TARGET inside the node: LOWER (usually TARGET itself) shows
 * through, and every change lands in UPPER (WORK: overlayfs's scratch directory, on the same file
 * system). How a lab node gets its own /usr without touching the host's.
 */
export async function nsMountOverlayRw(initPid: number, lower: string, upper: string, work: string, target: string): Promise<void> {
  for (const d of [lower, upper, work]) if (/[,:\\]/.test(d)) throw new Error(`overlay directory ${d} contains , : or \\`);
  await nsRunOk(initPid, 'mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, target], { timeoutMs: QUICK });
}

export async function nsMountOverlay(initPid: number, lowerdirs: readonly string[], target: string): Promise<void> {
  for (const d of lowerdirs) if (/[,:\\]/.test(d)) throw new Error(`overlay lower directory ${d} contains , : or \\`);
  await nsRunOk(initPid, 'mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdirs.join(':')}`, target], { timeoutMs: QUICK });
}

export async function nsMountTmpfs(initPid: number, target: string, options: string): Promise<void> {
  await nsRunOk(initPid, 'mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target], { timeoutMs: QUICK });
}

/** Detaches the mount at TARGET and everything below it (lazy), inside the node. */
export async function nsUnmountTree(initPid: number, target: string): Promise<void> {
  await nsRunOk(initPid, 'umount', ['--lazy', target], { timeoutMs: QUICK });
}

export async function nsMkdir(initPid: number, path: string, mode: string, owner?: string): Promise<void> {
  await nsRunOk(initPid, 'mkdir', ['-p', '-m', mode, path], { timeoutMs: QUICK });
  if (owner !== undefined) await nsRunOk(initPid, 'chown', [owner, path], { timeoutMs: QUICK });
}

export async function nsSetHostname(initPid: number, name: string): Promise<void> {
  await nsRunOk(initPid, 'hostname', [name], { timeoutMs: QUICK });
}

/** Mount points as seen inside the node (from its PID 1's mountinfo), in mount order. */
export async function nsMountpoints(initPid: number): Promise<string[]> {
  return parseMountinfo(await readFile(`/proc/${initPid}/mountinfo`, 'utf8'));
}

/** Mount points of the caller's (root) mount namespace at or below PATH. */
export async function rootMountsUnder(path: string): Promise<string[]> {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8')).filter((m) => m === path || m.startsWith(prefix));
}

/** Lazily unmounts MOUNTPOINT in the caller's mount namespace (cleanup after a crash only). */
export async function umountRootLazy(mountpoint: string): Promise<void> {
  await run('umount', ['--lazy', mountpoint], { timeoutMs: QUICK });
}

function parseMountinfo(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => unescapeMount(l.split(' ')[4] ?? ''));
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

// Files

/** `cp -a SRC/. DST/`: copies a tree keeping owners, modes and timestamps. */
export async function copyTree(src: string, dst: string): Promise<void> {
  await runOk('mkdir', ['-p', dst], { timeoutMs: QUICK });
  await runOk('cp', ['-a', '--', `${src}/.`, `${dst}/`], { timeoutMs: 60_000 });
}
