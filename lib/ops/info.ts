// status, where and log: what Pacemaker and libvirt say about a VM, and its history.
import { constraintWord } from '../cluster/constraints.js';
import { formatMemory } from '../cluster/format.js';
import { operationHistory } from '../cluster/status.js';
import type { VmView } from '../cluster/view.js';
import * as virsh from '../host/virsh.js';
import { lookup } from 'node:dns/promises';
import { domainFromConfig } from '../cib/config.js';
import { rbdDisks } from '../domain/rbd.js';
import { rbdImageState, rbdLockHolders } from '../host/ceph.js';
import { virshOn, type Context } from './context.js';

/** What `vm NAME status` reports: the cluster's view with constraints in words, plus libvirt's. */
export type VmStatus = Omit<VmView, 'state' | 'constraints'> & {
  state: string;
  constraints: string[];
  /** libvirt's state of the domain on each node Pacemaker places it (or an error). */
  libvirt: Record<string, string>;
  /** Each RBD disk (only for a VM that has one): who has the image open and who holds its lock. */
  rbd?: RbdStatus[];
};

/** What Ceph says about one RBD disk of a VM; a host is named by its node where it is a cluster node's address. */
interface RbdStatus {
  disk: string;
  image: string;
  /** The clients that have it open (rbd status's watchers): QEMU where the VM runs, or anything else. */
  openBy: string[];
  /** The client holding the exclusive lock (the one that writes now; none before a first write), or null. */
  lockHolder: string | null;
  /** Why Ceph could not be asked. */
  error?: string;
}

/** Node names by address (the cluster's nodes as this machine resolves them). */
async function nodesByAddress(nodes: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(nodes.map(async (n) => (await lookup(n, { all: true }).catch(() => [])).forEach((a) => out.set(a.address, n))));
  return out;
}

/** The RBD disks of VM, as Ceph sees them now (asked as each disk's own user, through its monitors). */
async function rbdStatus(ctx: Context, vm: VmView): Promise<RbdStatus[] | undefined> {
  const config = ctx.snapshot.cib.resource(vm.resource)?.params.config;
  let disks;
  try {
    disks = config ? rbdDisks(domainFromConfig(config)) : [];
  } catch {
    return undefined;
  }
  if (!disks.length) return undefined;
  const byAddress = await nodesByAddress(ctx.snapshot.view.hosts.map((h) => h.name));
  const named = (host: string) => (byAddress.has(host) ? `${byAddress.get(host)} (${host})` : host);
  return Promise.all(
    disks.map(async (d): Promise<RbdStatus> => {
      const access = { ...(d.username ? { client: d.username } : {}), monitors: d.monitors };
      const base = { disk: d.target, image: d.name, openBy: [] as string[], lockHolder: null };
      const s = await rbdImageState(d.name, { ...access, timeoutMs: 15_000 });
      if (s.kind === 'no-tool') return { ...base, error: 'rbd (ceph-common) is not installed here' };
      if (s.kind === 'unknown') return { ...base, error: s.message };
      if (s.kind === 'absent') return { ...base, error: 'no such image' };
      try {
        const lock = (await rbdLockHolders(d.name, access, 15_000)).find((l) => l.exclusive);
        return { ...base, openBy: s.watchers.map(named), lockHolder: lock ? `${named(lock.host)} ${lock.client}` : null };
      } catch (e) {
        return { ...base, openBy: s.watchers.map(named), error: (e as Error).message };
      }
    }),
  );
}

export async function status(ctx: Context, vm: VmView): Promise<VmStatus> {
  const libvirt: Record<string, string> = {};
  const rbd = rbdStatus(ctx, vm);
  await Promise.all(
    vm.nodes.map(async (n) => {
      try {
        const l = await virsh.domstate(virshOn(ctx, n, 15_000), vm.name);
        libvirt[n] = l.kind === 'present' ? l.state : l.kind === 'absent' ? 'not defined' : `unknown (${l.message})`;
      } catch (e) {
        libvirt[n] = `unknown (${(e as Error).message})`;
      }
    }),
  );
  return {
    name: vm.name,
    resource: vm.resource,
    state: vm.state,
    node: vm.node,
    nodes: vm.nodes,
    migratingTo: vm.migratingTo,
    targetRole: vm.targetRole,
    managed: vm.managed,
    vcpus: vm.vcpus,
    memoryMiB: vm.memoryMiB,
    priority: vm.priority,
    tags: vm.tags,
    constraints: vm.constraints.map(constraintWord),
    failCounts: vm.failCounts,
    lastFailure: vm.lastFailure,
    libvirt,
    ...(await rbd.then((x) => (x ? { rbd: x } : {}))),
  };
}

export function formatStatus(s: VmStatus): string {
  const where = s.state === 'migrating' ? `migrating from ${s.node}${s.migratingTo ? ` to ${s.migratingTo}` : ''}` : s.nodes.length ? `${s.state} on ${s.nodes.join(' and ')}` : s.state;
  const lines = [`${s.name}: ${where}${s.managed ? '' : ' (unmanaged)'}`];
  lines.push(
    `  resource ${s.resource}, target-role ${s.targetRole ?? 'Started (default)'}, priority ${s.priority}, ${s.vcpus ?? '?'} vCPUs, ${formatMemory(s.memoryMiB)} memory`,
  );
  for (const [n, st] of Object.entries(s.libvirt)) lines.push(`  libvirt on ${n}: ${st}`);
  for (const d of s.rbd ?? []) {
    const open = d.openBy.length ? `open by ${d.openBy.join(', ')}` : 'open by no client';
    const lock = d.lockHolder ? `exclusive lock held by ${d.lockHolder}` : 'no exclusive lock held (no write since it was opened)';
    lines.push(`  rbd ${d.disk} ${d.image}: ${d.error && !d.openBy.length ? `unknown (${d.error})` : `${open}; ${d.error ? `lock unknown (${d.error})` : lock}`}`);
  }
  if (s.tags.length) lines.push(`  tags: ${s.tags.join(' ')}`);
  if (s.constraints.length) lines.push(`  constraints: ${s.constraints.join(' ')}`);
  const fc = Object.entries(s.failCounts);
  if (fc.length) lines.push(`  fail counts: ${fc.map(([n, c]) => `${n}=${c === Number.POSITIVE_INFINITY ? 'INFINITY' : c}`).join(' ')}`);
  if (s.lastFailure) {
    const f = s.lastFailure;
    const at = f.at ? ` at ${new Date(f.at * 1000).toISOString()}` : '';
    lines.push(`  last failure: ${f.operation} on ${f.node}, rc ${f.rc}${f.reason ? ` (${f.reason})` : ''}${at}`);
  }
  return `${lines.join('\n')}\n`;
}

const RC: Record<number, string> = { 0: 'ok', 1: 'error', 2: 'invalid argument', 3: 'unimplemented', 4: 'insufficient privileges', 5: 'not installed', 6: 'not configured', 7: 'not running', 8: 'promoted', 9: 'failed promoted' };

/** The VM's history: Pacemaker's operation records (every node) and vm's audit log, by time. */
export async function history(ctx: Context, vm: VmView): Promise<string> {
  const limit = ctx.options.lines ?? 50;
  const rows: { at: number; text: string }[] = [];
  for (const op of operationHistory(ctx.snapshot.root, vm.resource)) {
    if (op.operation === 'monitor' && op.interval === 0 && op['rc-code'] === 7) continue; // "not here" probes
    const at = op['last-rc-change'] ?? 0;
    const every = op.interval ? ` every ${op.interval / 1000}s` : '';
    const state = op['op-status'] === -1 ? 'pending' : `rc ${op['rc-code']} (${RC[op['rc-code']] ?? '?'})${op['op-status'] ? `, status ${op['op-status']}` : ''}`;
    rows.push({ at, text: `pacemaker  ${op.node}: ${op.operation}${every} ${state}${op['exit-reason'] ? `: ${op['exit-reason']}` : ''}` });
  }
  for (const e of await ctx.audit.entriesFor(vm.name, limit)) {
    rows.push({
      at: Date.parse(e.at) / 1000,
      text: `vm         ${e.user}: ${e.action} ${e.result}${e.node ? ` on ${e.node}` : ''}${e.detail ? `: ${e.detail}` : ''}`,
    });
  }
  rows.sort((a, b) => a.at - b.at);
  const shown = rows.slice(-limit);
  if (!shown.length) return `${vm.name}: no history on record\n`;
  return shown.map((r) => `${r.at ? new Date(r.at * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : '(no time)           '}  ${r.text}\n`).join('');
}
