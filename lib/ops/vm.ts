// `vm PATTERN ACTION [ARG]`: the whole command behind scripts/vm.ts. In order, and nothing
// later happens when something earlier refuses:
//   1. the arguments are checked (names, patterns, action arguments): exit 2 on bad input;
//   2. settings (lib/ops/config.ts) and the caller (root, or the sudo user) are established;
//   3. a non-root caller needs the access file to parse and a rule for this action;
//   4. one CIB query gives every VM with its node, tags and state; the pattern selects among the
//      VMs the caller may act on (others are invisible to them);
//   5. more than one VM for an action that changes something: listed, and asked (or --yes);
//   6. each VM's action is logged ("started") before it happens and with its result after.
import { readFile, rm, mkdtemp, chmod, chown, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hostname } from 'node:os';
import { takeSnapshot } from '../cluster/snapshot.js';
import type { VmView } from '../cluster/view.js';
import { renderTable } from '../cluster/format.js';
import { runAttached } from '../host/exec.js';
import { localNodeName } from '../host/pacemaker/status.js';
import { homeOf } from '../host/identity.js';
import { AccessFileError, mayDo, parseAccessFile, type AccessRule } from './access.js';
import { ACTIONS, priorityValue, sysrqKey, type ActionName } from './actions.js';
import { AuditLog, type AuditResult } from './audit.js';
import { identifyCaller } from './caller.js';
import { currentInvocation, loadConfig, NODE_NAME_RE, statFile, viaSudo, type Invocation } from './config.js';
import type { ActionOptions, Context, Io } from './context.js';
import { checkEdited, EditConflictError, EditError, editableXml, sameDomain, writeBack } from './edit.js';
import * as guest from './guest.js';
import * as info from './info.js';
import * as pcmk from './pacemaker.js';
import { matches, parseVmPattern, PatternError, type VmPattern } from './patterns.js';

/** Bad input: nothing was done (exit 2). */
export class VmUsageError extends Error {
  override name = 'VmUsageError';
}

/** The caller may not do this (exit 1, logged as refused). */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

export interface VmRequest {
  pattern: string;
  action: string;
  args: string[];
  options: ActionOptions;
}

interface Parsed {
  pattern: VmPattern;
  action: ActionName;
  sysrq?: string;
  priority?: number;
  node?: string;
}

/** Step 1: everything the user typed, checked; throws VmUsageError. */
export function parseRequest(req: VmRequest): Parsed {
  let pattern: VmPattern;
  try {
    pattern = parseVmPattern(req.pattern);
  } catch (e) {
    if (e instanceof PatternError) throw new VmUsageError(e.message);
    throw e;
  }
  const spec = (ACTIONS as Record<string, (typeof ACTIONS)[ActionName] | undefined>)[req.action];
  if (!spec || !Object.hasOwn(ACTIONS, req.action)) {
    throw new VmUsageError(`${JSON.stringify(req.action)} is not an action (actions: ${Object.keys(ACTIONS).join(', ')})`);
  }
  const action = spec.name;
  const args = req.args;
  const max = action === 'sysrq' || action === 'priority' || action === 'migrate' ? 1 : 0;
  if (args.length > max) throw new VmUsageError(`${action} takes ${max ? 'one argument' : 'no arguments'}, not ${args.map((a) => JSON.stringify(a)).join(' ')}`);
  const out: Parsed = { pattern, action };
  if (action === 'sysrq') {
    const k = sysrqKey.safeParse(args[0] ?? '');
    if (!k.success) throw new VmUsageError(`sysrq ${JSON.stringify(args[0] ?? '')}: ${k.error.issues[0]?.message}`);
    out.sysrq = k.data;
  }
  if (action === 'priority') {
    const p = priorityValue.safeParse(args[0] ?? '');
    if (!p.success) throw new VmUsageError(`priority ${JSON.stringify(args[0] ?? '')}: ${p.error.issues[0]?.message}`);
    out.priority = p.data;
  }
  if (action === 'migrate' && args[0] !== undefined) {
    if (!NODE_NAME_RE.test(args[0])) throw new VmUsageError(`${JSON.stringify(args[0])} is not a node name`);
    out.node = args[0];
  }
  if (req.options.log && action !== 'console') throw new VmUsageError('--log goes with console');
  if (req.options.lines !== undefined && !(Number.isInteger(req.options.lines) && req.options.lines > 0)) throw new VmUsageError('--lines takes a positive whole number');
  return out;
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n').join(' / ');
}

/** Runs the request; resolves with the exit code (0 all done, 1 something failed or was refused). */
export async function runVm(req: VmRequest, io: Io, inv: Invocation = currentInvocation()): Promise<number> {
  const p = parseRequest(req);
  const spec = ACTIONS[p.action];
  const config = await loadConfig(inv);
  for (const w of config.warnings) io.err(`vm: warning: ${w}\n`);
  const caller = await identifyCaller(inv);
  const audit = new AuditLog(config.auditLog);
  const refuse = async (vmText: string, why: string): Promise<never> => {
    await audit.write({ user: caller.user, action: p.action, vm: vmText, result: 'refused', detail: why });
    throw new RefusedError(why);
  };

  // 3. the access file
  let rules: AccessRule[] = [];
  if (!caller.root) {
    let text: string;
    try {
      text = await readFile(config.accessFile, 'utf8');
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
      return refuse(req.pattern, `${caller.user} may not use vm: ${config.accessFile} ${why}`);
    }
    const owner = await statFile(config.accessFile);
    if (viaSudo(inv) && !(owner && owner.uid === 0 && (owner.mode & 0o022) === 0)) {
      return refuse(req.pattern, `${config.accessFile} must belong to root and be writable only by root; vm refuses everyone but root until it does`);
    }
    try {
      rules = parseAccessFile(text, config.accessFile);
    } catch (e) {
      if (e instanceof AccessFileError) return refuse(req.pattern, e.message);
      throw e;
    }
    const any = rules.some((r) => r.actions.includes(p.action) && r.who.some((w) => ('user' in w ? w.user === caller.user : caller.groups.includes(w.group))));
    if (!any) return refuse(req.pattern, `${caller.user} may not ${p.action} any VM (no rule in ${config.accessFile} allows it)`);
  }

  // 4. one look at the cluster; the VMs this caller may act on that match
  const snapshot = await takeSnapshot();
  const permitted = (v: VmView) => caller.root || mayDo(rules, caller, p.action, { name: v.name, tags: v.tags });
  const chosen = snapshot.view.vms.filter((v) => matches(p.pattern, v) && permitted(v));
  if (!chosen.length) {
    if (p.pattern.exact !== undefined) {
      if (!caller.root) return refuse(p.pattern.exact, `${caller.user} may not ${p.action} ${p.pattern.exact} (no rule in ${config.accessFile} allows it)`);
      throw new VmUsageError(`there is no VM ${p.pattern.exact} in the cluster`);
    }
    throw new VmUsageError(`no VM${caller.root ? '' : ` that ${caller.user} may ${p.action}`} matches ${JSON.stringify(req.pattern)}`);
  }

  // 5. several VMs
  if (chosen.length > 1 && spec.single) {
    throw new VmUsageError(`${p.action} works on one VM at a time; ${JSON.stringify(req.pattern)} matches ${chosen.map((v) => v.name).join(', ')}`);
  }
  if (chosen.length > 1 && !spec.readOnly && !req.options.yes) {
    const list = chosen.map((v) => `  ${v.name}${v.node ? ` (${v.node})` : ` (${v.state})`}`).join('\n');
    if (!io.interactive) throw new VmUsageError(`${JSON.stringify(req.pattern)} matches ${chosen.length} VMs:\n${list}\nadd --yes to ${p.action} all of them`);
    io.out(`${p.action} ${chosen.length} VMs?\n${list}\n`);
    if (!(await io.confirm(`${p.action} all ${chosen.length}? [y/N] `))) {
      for (const v of chosen) await audit.write({ user: caller.user, action: p.action, vm: v.name, result: 'cancelled' });
      io.out('nothing done\n');
      return 1;
    }
  }

  const localNode = (await localNodeName().catch(() => undefined)) ?? hostname().split('.')[0];
  const ctx: Context = { config, caller, snapshot, audit, io, options: req.options, ...(localNode ? { localNode } : {}) };
  return perform(ctx, p, chosen);
}

async function perform(ctx: Context, p: Parsed, vms: VmView[]): Promise<number> {
  const { io, audit, caller } = ctx;
  const log = (vm: string, result: AuditResult, node?: string | null, detail?: string) =>
    audit.write({ user: caller.user, action: p.action + (p.sysrq ? ` ${p.sysrq}` : p.priority !== undefined ? ` ${p.priority}` : p.node ? ` ${p.node}` : ''), vm, result, ...(node ? { node } : {}), ...(detail ? { detail } : {}) });
  const spec = ACTIONS[p.action];

  // Read-only actions: logged once, with their result.
  if (spec.readOnly) return readOnly(ctx, p, vms, log);

  for (const v of vms) await log(v.name, 'started', v.node);
  let failures = 0;
  const report = async (vm: string, ok: boolean, message: string, node?: string | null) => {
    if (!ok) failures++;
    await log(vm, ok ? 'ok' : 'failed', node, ok ? undefined : message);
    (ok ? io.out : io.err)(`${ok ? '' : 'vm: '}${vm}: ${message}\n`);
  };

  switch (p.action) {
    case 'reset':
    case 'ctrlaltdel':
    case 'sysrq': {
      await Promise.all(
        vms.map(async (v) => {
          try {
            const node =
              p.action === 'reset' ? await guest.reset(ctx, v) : p.action === 'ctrlaltdel' ? await guest.ctrlAltDel(ctx, v) : await guest.sysrq(ctx, v, p.sysrq as string);
            await report(v.name, true, p.action === 'reset' ? `reset on ${node}` : p.action === 'ctrlaltdel' ? `Ctrl+Alt+Del sent on ${node}` : `Alt+SysRq+${p.sysrq} sent on ${node}`, node);
          } catch (e) {
            await report(v.name, false, oneLine(e), v.node);
          }
        }),
      );
      break;
    }
    case 'console': {
      const v = vms[0] as VmView;
      try {
        if (ctx.options.log) {
          const node = await guest.printConsoleLog(ctx, v);
          await log(v.name, 'ok', node, 'console log');
        } else {
          const r = await guest.attachConsole(ctx, v);
          await log(v.name, r.code === 0 ? 'ok' : 'failed', r.node, r.code === 0 ? 'console detached' : `virsh console exited ${r.code}`);
          if (r.code !== 0) failures++;
        }
      } catch (e) {
        await report(v.name, false, oneLine(e), v.node);
      }
      break;
    }
    case 'start':
    case 'stop':
    case 'restart':
    case 'migrate':
    case 'clear':
    case 'priority': {
      let outcomes: pcmk.Outcome[];
      try {
        if (p.action === 'restart' || p.action === 'migrate') {
          const notRunning = vms.filter((v) => v.state !== 'running');
          for (const v of notRunning) await report(v.name, false, `not running (${v.state}); ${p.action} needs a running VM`, v.node);
          vms = vms.filter((v) => v.state === 'running');
          if (!vms.length) break;
        }
        outcomes =
          p.action === 'start'
            ? await pcmk.start(ctx, vms)
            : p.action === 'stop'
              ? await pcmk.stop(ctx, vms)
              : p.action === 'restart'
                ? await pcmk.restart(ctx, vms)
                : p.action === 'migrate'
                  ? await pcmk.migrate(ctx, vms, p.node)
                  : p.action === 'clear'
                    ? await pcmk.clear(ctx, vms)
                    : await pcmk.priority(ctx, vms, p.priority as number);
      } catch (e) {
        for (const v of vms) await report(v.name, false, oneLine(e), v.node);
        break;
      }
      for (const o of outcomes) await report(o.vm, o.ok, o.message, o.node);
      break;
    }
    case 'edit': {
      const v = vms[0] as VmView;
      try {
        const msg = await edit(ctx, v);
        await report(v.name, true, msg, v.node);
      } catch (e) {
        await report(v.name, false, oneLine(e), v.node);
        if (e instanceof EditError) return 2;
      }
      break;
    }
    default:
      throw new Error(`unhandled action ${p.action}`);
  }
  return failures ? 1 : 0;
}

async function readOnly(
  ctx: Context,
  p: Parsed,
  vms: VmView[],
  log: (vm: string, result: AuditResult, node?: string | null, detail?: string) => Promise<void>,
): Promise<number> {
  const { io } = ctx;
  let code = 0;
  switch (p.action) {
    case 'where': {
      if (p.pattern.exact) {
        const v = vms[0] as VmView;
        if (v.node) io.out(`${v.node}\n`);
        else {
          io.err(`vm: ${v.name} is not running (${v.state})\n`);
          code = 1;
        }
      } else {
        io.out(renderTable([{ header: 'VM', value: (v: VmView) => v.name }, { header: 'NODE', value: (v: VmView) => v.node ?? '-' }, { header: 'STATE', value: (v: VmView) => v.state }], vms));
      }
      for (const v of vms) await log(v.name, 'ok', v.node);
      break;
    }
    case 'status': {
      const all = await Promise.all(vms.map((v) => info.status(ctx, v)));
      if (ctx.options.json) io.out(`${JSON.stringify(p.pattern.exact ? all[0] : all, null, 2)}\n`);
      else io.out(all.map(info.formatStatus).join(''));
      for (const v of vms) await log(v.name, 'ok', v.node);
      break;
    }
    case 'log': {
      const v = vms[0] as VmView;
      io.out(await info.history(ctx, v));
      await log(v.name, 'ok', v.node);
      break;
    }
    case 'vnc': {
      for (const v of vms) {
        try {
          const x = await guest.vnc(ctx, v);
          if (ctx.options.json) io.out(`${JSON.stringify(x)}\n`);
          else io.out(`${x.vm}: VNC display :${x.display} on ${x.node} (port ${x.port}, listening on ${x.listen})\n  tunnel: ${x.tunnel}\n  then point a VNC viewer at localhost:${x.port}\n`);
          await log(v.name, 'ok', x.node);
        } catch (e) {
          io.err(`vm: ${v.name}: ${oneLine(e)}\n`);
          await log(v.name, 'failed', v.node, oneLine(e));
          code = 1;
        }
      }
      break;
    }
    default:
      throw new Error(`unhandled action ${p.action}`);
  }
  return code;
}

/** The edit session: copy for the user, their editor (as them), checks, question, write-back. */
async function edit(ctx: Context, v: VmView): Promise<string> {
  const original = ctx.snapshot.cib.resource(v.resource)?.params.config;
  if (!original) throw new EditError(`${v.resource} has no domain XML (config) to edit`);
  if (!ctx.io.interactive && !process.env.VISUAL && !process.env.EDITOR) throw new EditError('edit needs a terminal (or $VISUAL/$EDITOR naming a non-interactive editor)');
  const dir = await mkdtemp(path.join(tmpdir(), `vm-edit-${v.name}-`));
  const file = path.join(dir, `${v.name}.xml`);
  let keep = false;
  try {
    await writeFile(file, editableXml(original), { mode: 0o600 });
    const asUser = !ctx.caller.root && ctx.caller.uid !== undefined && ctx.caller.gid !== undefined && process.getuid?.() === 0;
    if (asUser) {
      await chown(dir, ctx.caller.uid as number, ctx.caller.gid as number);
      await chown(file, ctx.caller.uid as number, ctx.caller.gid as number);
    }
    await chmod(dir, 0o700);
    const editor = (process.env.VISUAL || process.env.EDITOR || 'vi').trim().split(/\s+/);
    const env: Record<string, string | undefined> = asUser
      ? {
          PATH: '/usr/local/bin:/usr/bin:/bin',
          TERM: process.env.TERM,
          LANG: process.env.LANG,
          HOME: (await homeOf(ctx.caller.user)) ?? '/',
          USER: ctx.caller.user,
          LOGNAME: ctx.caller.user,
        }
      : {};
    const code = await runAttached(editor[0] as string, [...editor.slice(1), file], {
      ...(asUser ? { uid: ctx.caller.uid, gid: ctx.caller.gid, env, cleanEnv: true } : {}),
    });
    if (code !== 0) throw new Error(`the editor (${editor.join(' ')}) exited ${code}; nothing changed`);
    const edited = await readFile(file, 'utf8');
    if (sameDomain(original, edited)) return 'no change';
    let checked;
    try {
      checked = await checkEdited(v.name, original, edited);
    } catch (e) {
      keep = true;
      throw new EditError(`${(e as Error).message}\nnothing changed; your edit is in ${file}`);
    }
    const effect = `${checked.notes.length ? `${checked.notes.join(', ')}; ` : ''}Pacemaker restarts ${v.name} to apply it${v.state === 'running' ? ` (it runs on ${v.node})` : ''}`;
    if (!ctx.options.yes) {
      if (!ctx.io.interactive) {
        keep = true;
        throw new EditError(`${effect}: add --yes to write it back; your edit is in ${file}`);
      }
      if (!(await ctx.io.confirm(`Write it back? ${effect}. [y/N] `))) {
        keep = true;
        return `not written back; your edit is in ${file}`;
      }
    }
    try {
      await writeBack(v.name, original, checked.doc);
    } catch (e) {
      keep = true;
      if (e instanceof EditConflictError) throw new Error(`${e.message}; nothing changed; your edit is in ${file}`);
      throw new Error(`${(e as Error).message}\nnothing changed; your edit is in ${file}`);
    }
    return `domain XML written back; ${effect}`;
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}
