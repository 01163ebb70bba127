// Running the built TransientDomain agent inside a lab node the way pacemaker-execd does:
// OCF_* environment, one action, exit code and stderr back.
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../../lib/host/exec.js';
import { nodeVirsh } from '../../lib/lab/libvirt.js';
import { nodeExec, nodePath, nodeProcesses } from '../../lib/lab/node.js';
import type { LabNode } from '../../lib/lab/state.js';
import { domainNameOf } from '../../lib/host/procs.js';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const AGENT = path.join(ROOT, 'dist/agents/TransientDomain');
/** Files the nodes can read (their /var/cache/corral is the host's). */
export const SHARED_DIR = '/var/cache/corral/it';

export interface AgentRun {
  code: number;
  stderr: string;
  stdout: string;
  ms: number;
  reason?: string;
}

export function agentEnv(resource: string, config: string, timeoutMs: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OCF_ROOT: '/usr/lib/ocf',
    OCF_RESOURCE_INSTANCE: resource,
    OCF_RESOURCE_TYPE: 'TransientDomain',
    OCF_RESKEY_config: config,
    OCF_RESKEY_CRM_meta_timeout: String(timeoutMs),
    OCF_RESKEY_migration_transport: 'tcp',
    ...extra,
  };
}

export function toRun(r: RunResult, ms: number): AgentRun {
  const reason = /^ocf-exit-reason:(.*)$/m.exec(r.stderr)?.[1];
  return { code: r.exitCode, stderr: r.stderr, stdout: r.stdout, ms, ...(reason ? { reason } : {}) };
}

export async function agent(node: LabNode, action: string, env: Record<string, string>): Promise<AgentRun> {
  const t = Date.now();
  const timeout = Number(env.OCF_RESKEY_CRM_meta_timeout ?? 20000);
  const r = await nodeExec(node, AGENT, [action], { env, timeoutMs: timeout + 30_000 });
  return toRun(r, Date.now() - t);
}

/** libvirt's view: the domain's state, or undefined when libvirt lists no such domain. */
export async function domState(node: LabNode, name: string): Promise<string | undefined> {
  const list = await nodeVirsh(node, ['list', '--all', '--name']);
  if (list.exitCode !== 0) throw new Error(`virsh list on ${node.name}: ${list.stderr}`);
  if (!list.stdout.split('\n').map((x) => x.trim()).includes(name)) return undefined;
  const r = await nodeVirsh(node, ['domstate', name]);
  if (r.exitCode !== 0) throw new Error(`virsh domstate ${name} on ${node.name}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The qemu processes running domain NAME on NODE (the kernel's view, not libvirt's). */
export async function qemuPids(node: LabNode, name: string): Promise<number[]> {
  return (await nodeProcesses(node))
    .filter((p) => p.comm.startsWith('qemu-system') && domainNameOf(p.cmdline) === name)
    .map((p) => p.pid);
}

export async function consoleLog(node: LabNode, name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(await nodePath(node, `/var/log/corral/console/${name}.log`), 'utf8').catch(() => '');
}

export async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function sharedFile(name: string, content: string, mode = 0o644): Promise<string> {
  await mkdir(SHARED_DIR, { recursive: true, mode: 0o755 });
  const file = path.join(SHARED_DIR, name);
  await writeFile(file, content, { mode });
  return file;
}

export const uuid = () => randomUUID();

/** Kills the process group of every process in NODE whose command line contains all of WORDS. */
export async function killGroupsOf(node: LabNode, words: string[]): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const victims = (await nodeProcesses(node)).filter((p) => words.every((w) => p.cmdline.some((a) => a.includes(w))));
  const groups = new Set<number>();
  for (const v of victims) {
    const stat = await readFile(`/proc/${v.pid}/stat`, 'latin1').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgid = Number(fields[2]);
    if (pgid > 1) groups.add(pgid);
  }
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return groups.size;
}
