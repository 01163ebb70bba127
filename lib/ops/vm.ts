// `vm PATTERN ACTION [ARG]`: the whole command behind scripts/vm.ts. In order, and nothing
// later happens when something earlier refuses:
//   1. the arguments are checked (names, patterns, action arguments): exit 2 on bad input;
//   2. settings (lib/ops/config.ts) and the caller (root, or the sudo user) are established;
//   3. a non-root caller needs the access file to parse and a rule for this action;
//   4. one CIB query gives every VM with its node, tags and state; the pattern selects among the
//      VMs the caller may act on (others are invisible to them);
//   5. more than one VM for an action that changes something: listed, and asked (or --yes);
//   6. each VM's action is logged ("started") before it happens and with its result after.
// Step 1 is lib/ops/request.ts, step 6 lib/ops/perform.ts (what each action does).
import { CorralError } from '../errors.js';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { takeSnapshot } from '../cluster/snapshot.js';
import type { VmView } from '../cluster/view.js';
import { localNodeName } from '../host/pacemaker/status.js';
import { AccessFileError, mayDo, parseAccessFile, type AccessRule } from './access.js';
import { ACTIONS } from './actions.js';
import { AuditLog } from './audit.js';
import { identifyCaller } from './caller.js';
import { currentInvocation, loadConfig, statFile, viaSudo, type Invocation } from './config.js';
import type { Context, Io } from './context.js';
import { matches } from './patterns.js';
import { perform } from './perform.js';
import { parseRequest, VmUsageError, type VmRequest } from './request.js';

/** The caller may not do this (exit 1, logged as refused). */
class RefusedError extends CorralError {
  readonly kind = 'failed';
  override name = 'RefusedError';
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
