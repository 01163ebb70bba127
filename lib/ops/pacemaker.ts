// start, stop, restart, migrate, clear and priority: requests to Pacemaker (target-role, move
// with a lifetime, clear, meta attributes), never behind its back, then (unless --no-wait) a
// wait with progress until the cluster has done it or has settled without doing it.
import type { VmView } from '../cluster/view.js';
import { hostClusterPort, type ResourceRequests } from '../host/pacemaker/cluster-port.js';
import { pacemakerMs } from '../cib/durations.js';
import { kids } from '../cib/model.js';
import type { Context } from './context.js';
import { clusterWatch, waitFor, type Goal, type WaitOutcome, type WaitTarget } from './wait.js';

export interface Outcome {
  vm: string;
  ok: boolean;
  message: string;
  node: string | null;
}

/** The timeouts of the VM's operations (start, stop, migrate_to, migrate_from), in seconds. */
function opTimeouts(ctx: Context, vm: VmView): Record<string, number> {
  const r = ctx.snapshot.cib.resource(vm.resource);
  const out: Record<string, number> = { start: 300, stop: 120, migrate_to: 120, migrate_from: 120 };
  for (const op of kids(kids(r?.node, 'operations')[0], 'op')) {
    const ms = pacemakerMs(op.attrs.timeout);
    if (op.attrs.name && ms !== undefined && op.attrs.name in out) out[op.attrs.name] = ms / 1000;
  }
  return out;
}

function bound(ctx: Context, vms: readonly VmView[], ops: readonly string[]): number {
  if (ctx.options.timeoutSeconds !== undefined) return ctx.options.timeoutSeconds * 1000;
  const per = vms.map((v) => {
    const t = opTimeouts(ctx, v);
    return ops.reduce((s, o) => s + (t[o] ?? 120), 0);
  });
  return (Math.max(0, ...per) + 30) * 1000;
}

async function wait(ctx: Context, targets: WaitTarget[], timeoutMs: number): Promise<WaitOutcome[]> {
  const cluster = clusterWatch(ctx.cluster ?? hostClusterPort());
  return waitFor(
    targets,
    { ...cluster, look: async () => (await cluster.look()).view, progress: (line) => ctx.io.out(`${line}\n`) },
    { timeoutMs },
  );
}

function requested(vms: readonly VmView[], what: (v: VmView) => string): Outcome[] {
  return vms.map((v) => ({ vm: v.name, ok: true, message: what(v), node: v.node }));
}

/** Where the requests go: the context's cluster (default this host's). */
function requests(ctx: Context): ResourceRequests {
  return (ctx.cluster ?? hostClusterPort()).resources;
}

async function setRole(ctx: Context, vms: readonly VmView[], role: 'Started' | 'Stopped'): Promise<void> {
  const rq = requests(ctx);
  for (const v of vms) {
    if (role === 'Started' && (Object.keys(v.failCounts).length || v.state === 'failed')) {
      // Old failures keep Pacemaker from trying where they happened: start means "try again".
      await rq.cleanup(v.resource);
    }
    await rq.setMeta(v.resource, 'target-role', role);
  }
}

/** Sets target-role ROLE on VMS and, unless --no-wait, waits until Pacemaker has done it. */
async function setRoleAndWait(ctx: Context, vms: readonly VmView[], role: 'Started' | 'Stopped'): Promise<Outcome[]> {
  await setRole(ctx, vms, role);
  const [op, kind] = role === 'Started' ? (['start', 'running'] as const) : (['stop', 'stopped'] as const);
  if (!ctx.options.wait) return requested(vms, () => `${op} requested (target-role ${role})`);
  return wait(
    ctx,
    vms.map((v) => ({ vm: v.name, resource: v.resource, goal: { kind } })),
    bound(ctx, vms, [op]),
  );
}

export function start(ctx: Context, vms: readonly VmView[]): Promise<Outcome[]> {
  return setRoleAndWait(ctx, vms, 'Started');
}

export function stop(ctx: Context, vms: readonly VmView[]): Promise<Outcome[]> {
  return setRoleAndWait(ctx, vms, 'Stopped');
}

/** Stop (always waited for: the start must not overtake it), then start (waited for unless --no-wait). */
export async function restart(ctx: Context, vms: readonly VmView[]): Promise<Outcome[]> {
  await setRole(ctx, vms, 'Stopped');
  const stopped = await wait(
    ctx,
    vms.map((v) => ({ vm: v.name, resource: v.resource, goal: { kind: 'stopped' } })),
    bound(ctx, vms, ['stop']),
  );
  const down = vms.filter((v) => stopped.find((o) => o.vm === v.name)?.ok);
  const failed = stopped.filter((o) => !o.ok);
  if (!down.length) return failed;
  await setRole(ctx, down, 'Started');
  if (!ctx.options.wait) return [...failed, ...requested(down, () => 'stopped; start requested')];
  const started = await wait(
    ctx,
    down.map((v) => ({ vm: v.name, resource: v.resource, goal: { kind: 'running' } })),
    bound(ctx, down, ['start']),
  );
  return [...failed, ...started];
}

export async function migrate(ctx: Context, vms: readonly VmView[], node: string | undefined): Promise<Outcome[]> {
  if (node !== undefined) {
    const host = ctx.snapshot.view.hosts.find((h) => h.name === node);
    if (!host) throw new Error(`there is no node ${node} (nodes: ${ctx.snapshot.view.hosts.map((h) => h.name).join(', ')})`);
    if (!host.online || host.state !== 'online') throw new Error(`${node} is ${host.state}: it cannot take VMs now`);
  }
  const lifetime = ctx.options.lifetime === 'none' ? undefined : (ctx.options.lifetime ?? ctx.config.moveLifetime);
  const targets: WaitTarget[] = [];
  const outcomes: Outcome[] = [];
  for (const v of vms) {
    if (node !== undefined && v.node === node) {
      outcomes.push({ vm: v.name, ok: true, message: `already on ${node}`, node });
      continue;
    }
    // A new move replaces the earlier ones: left in place, the bans of earlier "away from here"
    // moves add up until no node is left for the VM.
    if (v.constraints.some((c) => c.kind === 'moved' || c.kind === 'banned')) await requests(ctx).clear(v.resource);
    await requests(ctx).move(v.resource, { ...(node !== undefined ? { node } : {}), ...(lifetime ? { lifetime } : {}) });
    const goal: Goal = node !== undefined ? { kind: 'running', on: node } : { kind: 'running', ...(v.node ? { notOn: v.node } : {}) };
    targets.push({ vm: v.name, resource: v.resource, goal });
  }
  const how = lifetime ? `for ${lifetime}` : 'until `vm NAME clear`';
  if (!targets.length) return outcomes;
  if (!ctx.options.wait) {
    return [...outcomes, ...targets.map((t) => ({ vm: t.vm, ok: true, message: `migration requested (constraint ${how})`, node: null }))];
  }
  const done = await wait(ctx, targets, bound(ctx, vms, ['migrate_to', 'migrate_from', 'stop']));
  return [...outcomes, ...done.map((o) => (o.ok ? { ...o, message: `${o.message} (the move constraint stays ${how})` } : o))];
}

export async function clear(ctx: Context, vms: readonly VmView[]): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const v of vms) {
    const had = v.constraints.filter((c) => c.kind === 'moved' || c.kind === 'banned').map((c) => c.id);
    await requests(ctx).clear(v.resource);
    out.push({ vm: v.name, ok: true, message: had.length ? `removed ${had.join(', ')}` : 'had no move or ban constraints', node: v.node });
  }
  return out;
}

export async function priority(ctx: Context, vms: readonly VmView[], value: number): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const v of vms) {
    await requests(ctx).setMeta(v.resource, 'priority', String(value));
    out.push({ vm: v.name, ok: true, message: `priority ${value} (was ${v.priority})`, node: v.node });
  }
  return out;
}
