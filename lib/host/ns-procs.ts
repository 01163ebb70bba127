// The processes of a lab node, found only by namespace membership (the pid namespace of a node's
// PID 1, or `ip netns pids`), never by name across the machine; signalled and waited for.
import { setTimeout as sleep } from 'node:timers/promises';
import { netnsInode, netnsPids } from './netns.js';
import { argvOf, isAlive, netNamespaceInodeOf, pidNamespaceOf, procPids, statusOf } from './procs.js';

/** True when PID is alive, is PID 1 of its own pid namespace, runs tini, and lives in the network
 *  namespace with inode NETNSINODE: the proof that an nsenter -t PID goes into the right node. */
export async function isNsInit(pid: number, netnsInode: number): Promise<boolean> {
  const status = statusOf(pid);
  if (!status || status.state === 'Z' || status.name !== 'tini') return false;
  if (netNamespaceInodeOf(pid) !== netnsInode) return false;
  return status.nsPids.length >= 2 && status.nsPids[status.nsPids.length - 1] === 1;
}

export interface NsProcess {
  /** Host PID (root pid namespace). */
  pid: number;
  /** PID inside the node's pid namespace. */
  nsPid: number;
  comm: string;
  cmdline: string[];
}

/** Every live process in the pid namespace whose PID 1 has host PID INITPID (read from /proc). */
export async function pidNsProcesses(initPid: number): Promise<NsProcess[]> {
  const ns = pidNamespaceOf(initPid);
  if (ns === undefined) return [];
  const out: NsProcess[] = [];
  for (const pid of procPids()) {
    if (pidNamespaceOf(pid) !== ns) continue;
    const status = statusOf(pid);
    if (!status || status.state === 'Z') continue; // gone while we looked, or a zombie
    out.push({ pid, nsPid: status.nsPids[status.nsPids.length - 1] ?? pid, comm: status.name, cmdline: argvOf(pid) ?? [] });
  }
  return out;
}

/** Sends SIGNAL to each PID (lab processes found by namespace membership only); gone PIDs are fine. */
export function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}

/** Waits until none of PIDS is alive; false when TIMEOUTMS passed first. */
export async function waitPidsGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pids.some(isAlive)) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

/**
 * SIGKILLs every process in network namespace NETNS (PID 1 of a node first, which makes the
 * kernel kill its whole pid namespace) until `ip netns pids` is empty; throws after TIMEOUTMS.
 */
export async function killNetnsProcesses(netns: string, initPid: number | undefined, timeoutMs = 15_000): Promise<void> {
  const inode = await netnsInode(netns);
  if (inode === undefined) return;
  if (initPid !== undefined && (await isNsInit(initPid, inode))) signalPids([initPid], 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = [];
    for (const p of await netnsPids(netns)) if (isAlive(p)) pids.push(p);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes still in netns ${netns} after ${timeoutMs} ms: ${pids.join(' ')}`);
    signalPids(pids, 'SIGKILL');
    await sleep(100);
  }
}
