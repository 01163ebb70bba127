// libvirt's daemons on a machine without systemd (the lab host, CI): is libvirtd answering, and
// starting virtlogd and libvirtd if not. Acts in the caller's namespaces (the root namespace for
// the integration tests; the lab's nodes start their own daemons). Daemons are found and reported
// by their pid files, never by name.
import { chmod, chown, readFile, stat } from 'node:fs/promises';
import { run, runOk } from './exec.js';

export const DEFAULT_URI = 'qemu:///system';
const VIRTLOGD_PIDFILE = '/run/virtlogd.pid';
const LIBVIRTD_PIDFILE = '/run/libvirtd.pid';

/** True when libvirtd answers on URI (`virsh version`) within TIMEOUTMS. */
export async function libvirtAlive(uri: string = DEFAULT_URI, timeoutMs = 10_000): Promise<boolean> {
  const r = await run('virsh', ['-c', uri, 'version'], { timeoutMs });
  return r.exitCode === 0;
}

/** The PID in PIDFILE when that process is alive and is COMM, else undefined. */
export async function daemonPid(pidfile: string, comm: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(pidfile, 'utf8')).trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const actual = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    return actual === comm ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface LibvirtDaemons {
  virtlogdPid: number;
  libvirtdPid: number;
  /** The daemons this call started (empty when both were running). */
  started: ('virtlogd' | 'libvirtd')[];
}

/**
 * Makes sure virtlogd and libvirtd run (as daemons, `-d`), starting whichever does not, and waits
 * until libvirtd answers on qemu:///system. virtlogd comes first: libvirtd needs it for a domain
 * whose console goes to a log file. Throws when libvirtd does not answer within TIMEOUTMS.
 */
export async function startLibvirtDaemons(timeoutMs = 60_000): Promise<LibvirtDaemons> {
  await fixKvmDevice();
  const started: LibvirtDaemons['started'] = [];
  let virtlogdPid = await daemonPid(VIRTLOGD_PIDFILE, 'virtlogd');
  if (virtlogdPid === undefined) {
    await runOk('virtlogd', ['-d'], { timeoutMs: 30_000 });
    started.push('virtlogd');
    virtlogdPid = await waitForPid(VIRTLOGD_PIDFILE, 'virtlogd', 10_000);
  }
  let libvirtdPid = await daemonPid(LIBVIRTD_PIDFILE, 'libvirtd');
  if (libvirtdPid === undefined && !(await libvirtAlive())) {
    await runOk('libvirtd', ['-d'], { timeoutMs: 30_000 });
    started.push('libvirtd');
  }
  const deadline = Date.now() + timeoutMs;
  while (!(await libvirtAlive(DEFAULT_URI, Math.max(1000, deadline - Date.now())))) {
    if (Date.now() >= deadline) throw new Error(`libvirtd does not answer on ${DEFAULT_URI} after ${timeoutMs} ms`);
    await sleep(250);
  }
  libvirtdPid ??= await waitForPid(LIBVIRTD_PIDFILE, 'libvirtd', 10_000);
  return { virtlogdPid, libvirtdPid, started };
}

async function waitForPid(pidfile: string, comm: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = await daemonPid(pidfile, comm);
    if (pid !== undefined) return pid;
    if (Date.now() >= deadline) throw new Error(`${comm} wrote no live pid to ${pidfile} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Gives /dev/kvm the owner and mode that udev gives it on Debian (root:kvm 0660) when it has
 * neither, as on a machine without udev. Returns true when it changed something.
 *
 * Why: with /dev/kvm at root:root 0600, libvirt 9.0's qemu capability probe (run by libvirtd)
 * reports KVM enabled, while its cache validity check (access() as libvirt-qemu) finds KVM
 * unusable, so libvirtd throws the cache away and probes qemu again (about 4 s, minutes under
 * load) on every lookup: every domain start, every domcapabilities. Measured: 4 s per
 * `virsh domcapabilities` before, 0.02 s after. Domain type `qemu` (TCG) does not use KVM either
 * way.
 */
export async function fixKvmDevice(device = '/dev/kvm'): Promise<boolean> {
  let st;
  try {
    st = await stat(device);
  } catch {
    return false;
  }
  const kvmGid = await groupId('kvm');
  if (kvmGid === undefined) return false;
  if (st.gid === kvmGid && (st.mode & 0o060) === 0o060) return false;
  try {
    await chown(device, st.uid, kvmGid);
    await chmod(device, (st.mode & 0o7777) | 0o060);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EPERM') return false; // not root: leave it
    throw e;
  }
  return true;
}

async function groupId(name: string): Promise<number | undefined> {
  for (const line of (await readFile('/etc/group', 'utf8')).split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined) return Number(gid);
  }
  return undefined;
}
