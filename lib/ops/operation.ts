// One shape for every cluster action (Ganeti's logical units): an Operation names itself (its hook
// point and audit action), plans from one snapshot of the cluster (checking its arguments and the
// cluster's preconditions: input errors are CorralErrors of kind refused, exit 2), and executes.
// One runner, runOperation, owns everything around that, in this order:
//   1. take the cluster's state (one snapshot, through the cluster port);
//   2. plan, and print the plan (for people) or keep it for the JSON answer;
//   3. nothing to do: say so, exit 0;
//   4. another maintenance under way (maintenanceUnderWay, the one maintenance lock): refused, exit 2
//      (not for a dry run, which changes nothing);
//   5. what --force overrides (VMs that would stop): refused, exit 1, with the plan;
//   6. the operator's pre hooks (also for a dry run: a veto is exit 1), then the work, then the post
//      hooks — lib/ops/hooks.ts;
//   7. the audit line (started, then ok or failed), the result (JSON or lines), the exit code.
// A command (lib/cli/corral/*.ts) parses its flags, builds the Operation and hands it here.
import type { Snapshot } from '../cluster/snapshot.js';
import { CorralError } from '../errors.js';
import { hostClusterPort, type ClusterPort } from '../host/pacemaker/cluster-port.js';
import type { AuditEntry } from './audit.js';
import type { Hooks } from './hooks.js';
import { parseProgress, PROGRESS_OPTION } from './rolling.js';
import { snapshotOf } from './wait.js';

/** The plan of an operation, as the runner needs it. */
interface Planned<P> {
  plan: P;
  /** The JSON answer's fields that describe the plan (the runner adds dryRun, refused, result). */
  json: Record<string, unknown>;
  /** The plan for people, printed before anything is done (not with --json). */
  text?: string;
  warnings?: readonly string[];
  /** Why it must not go ahead without --force (e.g. "p1, p2 would stop (--force drains anyway)"). */
  blocked?: string;
  /** There is nothing to do: this line is the answer (exit 0; no hooks, no audit). */
  nothing?: string;
  /** What the hooks (CORRAL_NODES, CORRAL_VMS) and the audit line name. */
  nodes: readonly string[];
  vms: readonly string[];
}

/** What an operation's work reports; ok false is exit 1. */
export interface Outcome {
  ok: boolean;
}

export interface Operation<P, R extends Outcome> {
  /** The hook point and the audit action: node-drain, node-undrain, rebalance, rolling-reboot. */
  name: string;
  /** Takes the maintenance lock: refused while another maintenance is under way (maintenanceUnderWay). */
  lock?: LockRule;
  plan(snap: Snapshot): Promise<Planned<P>>;
  /** Carries out PLAN (never for a dry run). PROGRESS: a line per step for people. */
  execute(plan: P, progress: (line: string) => void): Promise<R>;
  /** The result for people: lines for stdout and for stderr. */
  report(r: R): { out: readonly string[]; err: readonly string[] };
  /** The result in the JSON answer (default: R itself). */
  resultJson?(r: R): unknown;
  /** What a dry run ends with (default "dry run: nothing was changed"). */
  dryRunLine?: string;
}

/** What the maintenance lock lets through: the drain of these nodes (finishing their own), a rolling reboot being resumed. */
export interface LockRule {
  /** Nodes whose unfinished drain this operation finishes (corral node drain N again). */
  finishes?: readonly string[];
  /** A rolling reboot's progress in the CIB is this operation's own (--resume). */
  resumes?: boolean;
  /** How to go on, appended to the refusal. */
  hint?: (busy: Busy) => string;
}

/** Another maintenance under way. */
export interface Busy {
  /** Nodes being drained (or whose drain was interrupted). */
  draining: string[];
  /** A rolling reboot's recorded progress. */
  rolling?: string;
  /** One line for people. */
  what: string;
}

/**
 * The maintenance under way in SNAP — a drain (a node's corral-drain-state is draining) or a
 * rolling reboot (its progress is recorded) — or undefined. The one lock: drain, rolling reboot,
 * rebalance --exec and the balancer's moves all ask it, since they steer VMs with hints of the same
 * kind and each expects the cluster to stay as it planned.
 */
export function maintenanceUnderWay(snap: Snapshot, except: Pick<LockRule, 'finishes' | 'resumes'> = {}): Busy | undefined {
  const progress = snap.cib.options[PROGRESS_OPTION];
  // Resuming a rolling reboot finishes its own turn's drain too.
  const own = [...(except.finishes ?? []), ...(except.resumes ? parseProgress(progress).flatMap((p) => p.nodes) : [])];
  const draining = snap.view.hosts.filter((h) => h.drainState === 'draining' && !own.includes(h.name)).map((h) => h.name);
  const rolling = progress && !except.resumes ? progress : undefined;
  if (!draining.length && !rolling) return undefined;
  const what = draining.length ? `${draining.join(', ')} ${draining.length === 1 ? 'is' : 'are'} being drained` : 'a rolling reboot is under way';
  return { draining, ...(rolling ? { rolling } : {}), what };
}

/** Refused: another maintenance is under way. Exit 2, nothing changed. */
class MaintenanceBusy extends CorralError {
  readonly kind = 'refused';
  override name = 'MaintenanceBusy';
}

/** Where the runner's words go. */
export interface OperationIo {
  /** Text for people, on stdout (a whole line or lines, with their newline). */
  out(text: string): void;
  /** The JSON answer. */
  json(value: unknown): void;
  /** One line on stderr (the command prefixes its name). */
  err(line: string): void;
}

export interface RunOptions {
  dryRun: boolean;
  force: boolean;
  json: boolean;
  io: OperationIo;
  /** The operator's hooks (lib/ops/hooks.ts loadHooks); none: no hooks. */
  hooks?: Hooks;
  /** The audit trail (the hooks' log: audit_log of corral.conf); none: no audit line. */
  audit?: { user: string; write(entry: AuditEntry): Promise<void> };
  /** The cluster (default this host's). */
  cluster?: ClusterPort;
  /** The cluster's state, when the command has taken it already (e.g. to read load first). */
  snapshot?: Snapshot;
}

/** What runOperation ends with: the exit code, and the work's result when it ran. */
export interface RunResult<R> {
  code: 0 | 1;
  result?: R;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Runs OP (see the top of this file). Errors (input refused, a hook's veto, a failure) are thrown with their kind. */
export async function runOperation<P, R extends Outcome>(op: Operation<P, R>, o: RunOptions): Promise<RunResult<R>> {
  const { io } = o;
  const snap = o.snapshot ?? (await snapshotOf(o.cluster ?? hostClusterPort()));
  const planned = await op.plan(snap);
  const answer = (extra: Record<string, unknown>) => io.json({ ...planned.json, dryRun: o.dryRun, ...extra });
  if (!o.json) {
    if (planned.text) io.out(planned.text);
    for (const w of planned.warnings ?? []) io.err(`warning: ${w}`);
  }
  if (planned.nothing !== undefined) {
    if (o.json) answer({});
    else io.out(`${planned.nothing}\n`);
    return { code: 0 };
  }
  if (op.lock && !o.dryRun) {
    // A fresh look: planning took a while (crm_simulate), and another maintenance may have begun.
    const busy = maintenanceUnderWay(await snapshotOf(o.cluster ?? hostClusterPort()), op.lock);
    if (busy) throw new MaintenanceBusy(`not now: ${busy.what}; nothing was changed${op.lock.hint ? ` (${op.lock.hint(busy)})` : ''}`);
  }
  const audit = async (result: AuditEntry['result'], detail?: string) => {
    if (!o.audit || o.dryRun) return;
    const entry: AuditEntry = { user: o.audit.user, action: op.name, vm: planned.vms.join(',') || '-', node: planned.nodes.join(','), result, ...(detail ? { detail } : {}) };
    await o.audit.write(entry).catch((e: unknown) => io.err(`warning: the audit line was not written: ${(e as Error).message}`));
  };
  if (planned.blocked && !o.force) {
    if (o.json) answer({ refused: true });
    io.err(`refusing: ${planned.blocked}; nothing was changed`);
    await audit('refused', planned.blocked);
    return { code: 1 };
  }
  const ctx = { nodes: planned.nodes, vms: planned.vms, dryRun: o.dryRun };
  const work = async (): Promise<R | undefined> => {
    if (o.dryRun) return undefined;
    await audit('started');
    try {
      const r = await op.execute(planned.plan, (l) => (o.json ? undefined : io.out(`${l}\n`)));
      await audit(r.ok ? 'ok' : 'failed');
      return r;
    } catch (e) {
      await audit('failed', (e as Error).message);
      throw e;
    }
  };
  const r = o.hooks ? await o.hooks.around(op.name, ctx, work, (x) => x?.ok !== false) : await work();
  if (r === undefined) {
    if (o.json) answer({});
    else io.out(`${op.dryRunLine ?? 'dry run: nothing was changed'}\n`);
    return { code: 0 };
  }
  if (o.json) answer({ result: op.resultJson ? op.resultJson(r) : r });
  else {
    const said = op.report(r);
    for (const l of said.out) io.out(`${l}\n`);
    for (const l of said.err) io.err(l);
  }
  return { code: r.ok ? 0 : 1, result: r };
}

/** "N VM(s)" for the operations' lines. */
export function vmCount(n: number): string {
  return plural(n, 'VM');
}
