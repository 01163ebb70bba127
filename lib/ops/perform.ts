// Step 6 of `vm PATTERN ACTION`: what each action does to the VMs chosen, one entry per action of
// lib/ops/actions.ts. Actions that change something are logged as started before they happen, and
// each VM's result after; read-only ones are logged once, with their result. A VM an action needs
// running (actions.ts: needsRunning) and Pacemaker does not see running is a failure, reported
// before the action acts on the others.
// An action that is not read-only runs the operator's hooks vm-ACTION-pre.d before it (a veto:
// each VM logged as refused, exit 1, nothing done) and vm-ACTION-post.d after (lib/ops/hooks.ts);
// read-only actions (status, where, vnc, log) run none.
import type { VmView } from '../cluster/view.js';
import { renderTable } from '../cluster/format.js';
import type { ActionName } from './actions.js';
import { ACTIONS } from './actions.js';
import type { AuditResult } from './audit.js';
import type { Context } from './context.js';
import { editSession, EditError } from './edit.js';
import { configuredHooks, HookVeto, type HookContext } from './hooks.js';
import * as guest from './guest.js';
import * as info from './info.js';
import * as pcmk from './pacemaker.js';
import { migrateLocal } from './local-move.js';
import { localDisksOn } from '../cluster/view.js';
import type { Parsed } from './request.js';

/** How an action tells what happened: to the audit log, to the user, and in the exit code. */
interface Reporter {
  /** An audit log line for VM. */
  log(vm: string, result: AuditResult, node?: string | null, detail?: string): Promise<void>;
  /** VM's outcome: logged, and said (a failure on stderr, which makes the exit code 1). */
  report(vm: string, ok: boolean, message: string, node?: string | null): Promise<void>;
  /** The exit code is at least CODE (1: failed; 2: refused input). */
  fail(code?: number): void;
}

type Handler = (ctx: Context, p: Parsed, vms: VmView[], r: Reporter) => Promise<void>;

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n').join(' / ');
}

/** An action on each VM's guest through libvirt on its node, all VMs at once. */
function onEachGuest(act: (ctx: Context, v: VmView, p: Parsed) => Promise<string>, done: (node: string, p: Parsed) => string): Handler {
  return async (ctx, p, vms, r) => {
    await Promise.all(
      vms.map(async (v) => {
        try {
          const node = await act(ctx, v, p);
          await r.report(v.name, true, done(node, p), node);
        } catch (e) {
          await r.report(v.name, false, oneLine(e), v.node);
        }
      }),
    );
  };
}

/** A request to Pacemaker for all VMs at once, then each VM's outcome. */
function throughPacemaker(act: (ctx: Context, vms: VmView[], p: Parsed) => Promise<pcmk.Outcome[]>): Handler {
  return async (ctx, p, vms, r) => {
    let outcomes: pcmk.Outcome[];
    try {
      outcomes = await act(ctx, vms, p);
    } catch (e) {
      for (const v of vms) await r.report(v.name, false, oneLine(e), v.node);
      return;
    }
    for (const o of outcomes) await r.report(o.vm, o.ok, o.message, o.node);
  };
}

const HANDLERS: Record<ActionName, Handler> = {
  reset: onEachGuest((ctx, v) => guest.reset(ctx, v), (node) => `reset on ${node}`),
  ctrlaltdel: onEachGuest((ctx, v) => guest.ctrlAltDel(ctx, v), (node) => `Ctrl+Alt+Del sent on ${node}`),
  sysrq: onEachGuest((ctx, v, p) => guest.sysrq(ctx, v, p.arg as string), (node, p) => `Alt+SysRq+${p.arg} sent on ${node}`),

  async console(ctx, _p, vms, r) {
    const v = vms[0] as VmView;
    try {
      if (ctx.options.log) {
        const node = await guest.printConsoleLog(ctx, v);
        await r.log(v.name, 'ok', node, 'console log');
      } else {
        const a = await guest.attachConsole(ctx, v);
        await r.log(v.name, a.code === 0 ? 'ok' : 'failed', a.node, a.code === 0 ? 'console detached' : `virsh console exited ${a.code}`);
        if (a.code !== 0) r.fail();
      }
    } catch (e) {
      await r.report(v.name, false, oneLine(e), v.node);
    }
  },

  start: throughPacemaker((ctx, vms) => pcmk.start(ctx, vms)),
  stop: throughPacemaker((ctx, vms) => pcmk.stop(ctx, vms)),
  restart: throughPacemaker((ctx, vms) => pcmk.restart(ctx, vms)),
  // A VM on local disks moves by a change of its vm-NAME-local constraint (lib/ops/local-move.ts).
  migrate: throughPacemaker(async (ctx, vms, p) => {
    const local = vms.filter((v) => localDisksOn(v) !== undefined);
    const shared = vms.filter((v) => localDisksOn(v) === undefined);
    return [...(shared.length ? await pcmk.migrate(ctx, shared, p.arg as string | undefined) : []), ...(local.length ? await migrateLocal(ctx, local, p.arg as string | undefined) : [])];
  }),
  clear: throughPacemaker((ctx, vms) => pcmk.clear(ctx, vms)),
  priority: throughPacemaker((ctx, vms, p) => pcmk.priority(ctx, vms, p.arg as number)),

  async edit(ctx, _p, vms, r) {
    const v = vms[0] as VmView;
    try {
      await r.report(v.name, true, await editSession(ctx, v), v.node);
    } catch (e) {
      await r.report(v.name, false, oneLine(e), v.node);
      if (e instanceof EditError) r.fail(2);
    }
  },

  async where(ctx, p, vms, r) {
    if (p.pattern.exact) {
      const v = vms[0] as VmView;
      if (v.node) ctx.io.out(`${v.node}\n`);
      else {
        ctx.io.err(`vm: ${v.name} is not running (${v.state})\n`);
        r.fail();
      }
    } else {
      ctx.io.out(renderTable([{ header: 'VM', value: (v: VmView) => v.name }, { header: 'NODE', value: (v: VmView) => v.node ?? '-' }, { header: 'STATE', value: (v: VmView) => v.state }], vms));
    }
    for (const v of vms) await r.log(v.name, 'ok', v.node);
  },

  async status(ctx, p, vms, r) {
    const all = await Promise.all(vms.map((v) => info.status(ctx, v)));
    if (ctx.options.json) ctx.io.out(`${JSON.stringify(p.pattern.exact ? all[0] : all, null, 2)}\n`);
    else ctx.io.out(all.map(info.formatStatus).join(''));
    for (const v of vms) await r.log(v.name, 'ok', v.node);
  },

  async log(ctx, _p, vms, r) {
    const v = vms[0] as VmView;
    ctx.io.out(await info.history(ctx, v));
    await r.log(v.name, 'ok', v.node);
  },

  async vnc(ctx, _p, vms, r) {
    for (const v of vms) {
      try {
        const x = await guest.vnc(ctx, v);
        if (ctx.options.json) ctx.io.out(`${JSON.stringify(x)}\n`);
        else ctx.io.out(`${x.vm}: VNC display :${x.display} on ${x.node} (port ${x.port}, listening on ${x.listen})\n  tunnel: ${x.tunnel}\n  then point a VNC viewer at localhost:${x.port}\n`);
        await r.log(v.name, 'ok', x.node);
      } catch (e) {
        ctx.io.err(`vm: ${v.name}: ${oneLine(e)}\n`);
        await r.log(v.name, 'failed', v.node, oneLine(e));
        r.fail();
      }
    }
  },
};

/** Carries out P's action on VMS; resolves with the exit code (0 done, 1 failed, 2 refused input). */
export async function perform(ctx: Context, p: Parsed, vms: VmView[]): Promise<number> {
  const { io, audit, caller } = ctx;
  const spec = ACTIONS[p.action];
  let code = 0;
  const what = p.action + (p.arg !== undefined ? ` ${p.arg}` : '');
  const r: Reporter = {
    log: (vm, result, node, detail) => audit.write({ user: caller.user, action: what, vm, result, ...(node ? { node } : {}), ...(detail ? { detail } : {}) }),
    async report(vm, ok, message, node) {
      if (!ok) code = Math.max(code, 1);
      await r.log(vm, ok ? 'ok' : 'failed', node, ok ? undefined : message);
      (ok ? io.out : io.err)(`${ok ? '' : 'vm: '}${vm}: ${message}\n`);
    },
    fail(c = 1) {
      code = Math.max(code, c);
    },
  };
  // The operator's hooks (a context without settings, as in unit tests, has none).
  const hooks = !spec.readOnly && ctx.config ? configuredHooks(ctx.config, caller.user, (l) => io.err(`vm: ${l}\n`), audit) : undefined;
  const point = `vm-${p.action}`;
  const hookCtx: HookContext = { vms: vms.map((v) => v.name), nodes: [...new Set(vms.flatMap((v) => v.nodes))], env: p.arg !== undefined ? { CORRAL_ARG: String(p.arg) } : {} };
  try {
    await hooks?.pre(point, hookCtx);
  } catch (e) {
    if (!(e instanceof HookVeto)) throw e;
    for (const v of vms) await r.log(v.name, 'refused', v.node, e.message);
    io.err(`vm: ${e.message}\n`);
    return 1;
  }
  if (!spec.readOnly) for (const v of vms) await r.log(v.name, 'started', v.node);
  let acting = vms;
  if (spec.needsRunning) {
    for (const v of vms.filter((x) => x.state !== 'running')) await r.report(v.name, false, `not running (${v.state}); ${p.action} needs a running VM`, v.node);
    acting = vms.filter((v) => v.state === 'running');
    if (!acting.length) {
      await hooks?.post(point, hookCtx, false);
      return code;
    }
  }
  try {
    await HANDLERS[p.action](ctx, p, acting, r);
  } catch (e) {
    await hooks?.post(point, hookCtx, false);
    throw e;
  }
  await hooks?.post(point, hookCtx, code === 0);
  return code;
}
