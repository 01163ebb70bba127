// vm NAME migrate NODE for a VM on local disks (domadd --local): the move is a change of its
// constraint vm-NAME-local to NODE. Pacemaker, bound by it, moves the VM live (allow-migrate):
// the agent's migrate_to copies the disks to NODE as it goes (lib/vm/local-storage.ts), so the
// constraint already names the target while the copy runs. While it waits, the command shows the
// copy's progress (virsh domjobinfo on the source). A move that did not arrive puts the
// constraint back on the source, which still holds the disks.
import type { VmView } from '../cluster/view.js';
import { changeCib } from '../cib/change.js';
import { planMoveLocal } from '../cib/vm.js';
import { hostCibPort } from '../host/pacemaker/cib.js';
import { hostClusterPort } from '../host/pacemaker/cluster-port.js';
import { cleanupResource, clearResource } from '../host/pacemaker/resources.js';
import { jobProgress } from '../host/virsh.js';
import { virshOn, type Context } from './context.js';
import type { Outcome } from './pacemaker.js';
import { clusterWatch, waitFor } from './wait.js';

/** The node that holds VM's disks (its vm-NAME-local constraint), or undefined for shared storage. */
export function localDisksOn(v: VmView): string | undefined {
  return v.constraints.find((c) => c.kind === 'local')?.nodes?.[0];
}

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

async function moveTo(name: string, node: string): Promise<void> {
  await changeCib(hostCibPort(), (cd, cib) => planMoveLocal(cd, cib, name, node));
}

/** Moves each local VM of VMS to NODE by rewriting its constraint; waits unless --no-wait. */
export async function migrateLocal(ctx: Context, vms: readonly VmView[], node: string | undefined): Promise<Outcome[]> {
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
    // A ban or an older failure on the target would keep Pacemaker from going there.
    if (v.constraints.some((c) => c.kind === 'moved' || c.kind === 'banned')) await clearResource(v.resource);
    if (v.failCounts[node]) await cleanupResource(v.resource);
    await moveTo(v.name, node);
    if (!ctx.options.wait) {
      out.push({ vm: v.name, ok: true, message: `move to ${node} requested (its disks are copied; constraint ${v.resource}-local names ${node})`, node: source });
      continue;
    }
    const cluster = clusterWatch(ctx.cluster ?? hostClusterPort());
    // The scheduler needs a moment to take up the new constraint: until it has (the VM migrating,
    // or Pacemaker busy), "settled on the source" would be read too early.
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const look = (await cluster.look()).view.byResource.get(v.resource);
      if (look?.node !== source || look.state !== 'running' || !(await cluster.settled())) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const stop = new AbortController();
    const shown = showCopy(ctx, v, source, stop.signal);
    const timeoutMs = ctx.options.timeoutSeconds !== undefined ? ctx.options.timeoutSeconds * 1000 : 900_000;
    let done;
    try {
      [done] = await waitFor(
        [{ vm: v.name, resource: v.resource, goal: { kind: 'running', on: node } }],
        { ...cluster, look: async () => (await cluster.look()).view, progress: (line) => ctx.io.out(`${line}\n`) },
        { timeoutMs },
      );
    } finally {
      stop.abort();
      await shown;
    }
    if (done?.ok) {
      out.push({ ...done, message: `${done.message}; its disks moved with it (constraint ${v.resource}-local names ${node})` });
      continue;
    }
    // The disks are still on the source (the agent removes the source copy only after the move).
    await moveTo(v.name, source);
    out.push({ vm: v.name, ok: false, message: `the move to ${node} did not complete (${done?.message ?? 'no answer'}); its constraint names ${source} again, where its disks are`, node: source });
  }
  return out;
}
