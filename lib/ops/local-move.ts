// vm NAME migrate NODE for a VM on local disks (domadd --local): the move is a change of its
// constraint vm-NAME-local to NODE. Pacemaker, bound by it, moves the VM live (allow-migrate):
// the agent's migrate_to copies the disks to NODE as it goes (lib/vm/local-storage.ts), so the
// constraint already names the target while the copy runs. It is the drain's own step
// (copyLocalDisks): while it waits, the command shows the copy's progress (virsh domjobinfo on the
// source); a move that did not arrive puts the constraint back on the source, which still holds
// the disks, without Pacemaker restarting the VM (on-fail=block on migrate_to meanwhile).
import { localDisksOn, type VmView } from '../cluster/view.js';
import { changeCib } from '../cib/change.js';
import { planMoveLocal } from '../cib/vm.js';
import { hostClusterPort } from '../host/pacemaker/cluster-port.js';
import { jobProgress } from '../host/virsh.js';
import { virshOn, type Context } from './context.js';
import { copyLocalDisks, DEFAULT_PARALLEL } from './maintenance.js';
import type { Outcome } from './pacemaker.js';


const MiB = 1024 * 1024;

/** Prints the copy's progress from the source's libvirt every few seconds until STOP fires. */
async function showCopy(ctx: Context, v: VmView, source: string, stop: AbortSignal): Promise<void> {
  const conn = virshOn(ctx, source, 5000);
  const t0 = Date.now();
  while (!stop.aborted) {
    await new Promise((r) => setTimeout(r, 5000));
    if (stop.aborted) return;
    const p = await jobProgress(conn, v.name).catch(() => undefined);
    if (!p?.diskTotal) continue;
    const secs = (p.elapsedMs ?? Date.now() - t0) / 1000;
    const done = (p.diskProcessed ?? 0) + (p.memoryProcessed ?? 0);
    ctx.io.out(`${v.name}: copying to its new node: disks ${((p.diskProcessed ?? 0) / MiB).toFixed(0)} of ${(p.diskTotal / MiB).toFixed(0)} MiB, ${secs > 0 ? (done / MiB / secs).toFixed(1) : '?'} MiB/s\n`);
  }
}

/**
 * Moves each local VM of VMS to NODE live with a copy of its disks: the drain's own step
 * (copyLocalDisks in lib/ops/maintenance.ts: the constraint rewritten with on-fail=block on
 * migrate_to, and a copy that does not arrive put back on its source without a restart), through
 * the cluster port. --no-wait only asks (the constraint names NODE), without that way back.
 */
export async function migrateLocal(ctx: Context, vms: readonly VmView[], node: string | undefined): Promise<Outcome[]> {
  const port = ctx.cluster ?? hostClusterPort();
  const out: Outcome[] = [];
  for (const v of vms) {
    const from = localDisksOn(v) as string;
    if (node === undefined) {
      out.push({ vm: v.name, ok: false, message: `its disks are local to ${from}: name the node to copy them to (vm ${v.name} migrate NODE)`, node: v.node });
      continue;
    }
    if (v.node === node || (from === node && v.state !== 'running')) {
      out.push({ vm: v.name, ok: true, message: v.node === node ? `already on ${node}` : `its disks are on ${node} already`, node: v.node });
      continue;
    }
    const host = ctx.snapshot.view.hosts.find((h) => h.name === node);
    if (!host) throw new Error(`there is no node ${node} (nodes: ${ctx.snapshot.view.hosts.map((h) => h.name).join(', ')})`);
    if (!host.online || host.state !== 'online') throw new Error(`${node} is ${host.state}: it cannot take VMs now`);
    if (v.state !== 'running' || !v.node) {
      out.push({ vm: v.name, ok: false, message: `not running (${v.state}): a VM on local disks moves only live, with its disks`, node: v.node });
      continue;
    }
    const source = v.node;
    if (!ctx.options.wait) {
      // A ban or an older failure on the target would keep Pacemaker from going there.
      if (v.constraints.some((c) => c.kind === 'moved' || c.kind === 'banned')) await port.resources.clear(v.resource);
      if (v.failCounts[node]) await port.resources.cleanup(v.resource);
      await changeCib(port.cib, (cd, cib) => planMoveLocal(cd, cib, v.name, node));
      out.push({ vm: v.name, ok: true, message: `move to ${node} requested (its disks are copied; constraint ${v.resource}-local names ${node})`, node: source });
      continue;
    }
    const stop = new AbortController();
    const shown = showCopy(ctx, v, source, stop.signal);
    const timeoutMs = ctx.options.timeoutSeconds !== undefined ? ctx.options.timeoutSeconds * 1000 : 900_000;
    let r;
    try {
      r = await copyLocalDisks([{ vm: v.name, from: source, to: node, live: true }], ctx.snapshot, port, { progress: (line) => ctx.io.out(`${line}\n`), timeoutMs }, DEFAULT_PARALLEL);
    } finally {
      stop.abort();
      await shown;
    }
    const moved = r.left.find((l) => l.vm === v.name);
    if (r.ok && moved) out.push({ vm: v.name, ok: true, message: `running on ${node} (${moved.seconds.toFixed(1)} s); its disks moved with it (constraint ${v.resource}-local names ${node})`, node });
    else out.push({ vm: v.name, ok: false, message: [...r.failures, ...r.problems].join('; ') || `the move to ${node} did not complete`, node: moved ? node : source });
  }
  return out;
}
