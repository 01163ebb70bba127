// status, where and log: what Pacemaker and libvirt say about a VM, and its history.
import { constraintWord } from '../cluster/constraints.js';
import { formatMemory } from '../cluster/format.js';
import { operationHistory } from '../cluster/status.js';
import type { VmView } from '../cluster/view.js';
import * as virsh from '../host/virsh.js';
import { virshOn, type Context } from './context.js';

/** What `vm NAME status` reports: the cluster's view with constraints in words, plus libvirt's. */
export type VmStatus = Omit<VmView, 'state' | 'constraints'> & {
  state: string;
  constraints: string[];
  /** libvirt's state of the domain on each node Pacemaker places it (or an error). */
  libvirt: Record<string, string>;
};

export async function status(ctx: Context, vm: VmView): Promise<VmStatus> {
  const libvirt: Record<string, string> = {};
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
  };
}

export function formatStatus(s: VmStatus): string {
  const where = s.state === 'migrating' ? `migrating from ${s.node}${s.migratingTo ? ` to ${s.migratingTo}` : ''}` : s.nodes.length ? `${s.state} on ${s.nodes.join(' and ')}` : s.state;
  const lines = [`${s.name}: ${where}${s.managed ? '' : ' (unmanaged)'}`];
  lines.push(
    `  resource ${s.resource}, target-role ${s.targetRole ?? 'Started (default)'}, priority ${s.priority}, ${s.vcpus ?? '?'} vCPUs, ${formatMemory(s.memoryMiB)} memory`,
  );
  for (const [n, st] of Object.entries(s.libvirt)) lines.push(`  libvirt on ${n}: ${st}`);
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
