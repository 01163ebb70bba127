// The runner of every cluster action (lib/ops/operation.ts) with a stand-in operation: what it
// prints, when it refuses (another maintenance under way, what --force overrides), what it hands
// the hooks, the audit lines it writes, its JSON answer and exit code. The real operations run
// through it in the executor scenarios (test/scenarios/ops/) and the lab tests.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeSnapshot, type Snapshot } from '../../lib/cluster/snapshot.js';
import { kindOf } from '../../lib/errors.js';
import type { ClusterPort } from '../../lib/host/pacemaker/cluster-port.js';
import type { AuditEntry } from '../../lib/ops/audit.js';
import { HookVeto, Hooks, type HookContext } from '../../lib/ops/hooks.js';
import { maintenanceUnderWay, runOperation, type Operation, type RunOptions } from '../../lib/ops/operation.js';

const ROOT = new URL('../..', import.meta.url).pathname;
let dir: string;
let idle: string;
let draining: string;
let rolling: string;

/** The drain-two cluster (n1 n2 n3, a VM each) with ATTRS set on a copy (crm_attribute, as Pacemaker's tools write them). */
async function cibWith(name: string, ...attrs: string[][]): Promise<string> {
  const file = join(dir, `${name}.xml`);
  await copyFile(join(ROOT, 'test/scenarios/maintenance/drain-two/cib.xml'), file);
  for (const a of attrs) execFileSync('crm_attribute', a, { env: { ...process.env, CIB_file: file }, stdio: 'ignore' });
  return readFile(file, 'utf8');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corral-operation-'));
  idle = await cibWith('idle');
  draining = await cibWith('draining', ['--node', 'n2', '--name', 'corral-drain-state', '--update', 'draining']);
  rolling = await cibWith('rolling', ['--type', 'crm_config', '--name', 'corral-rolling-reboot', '--update', 'n1:done n2:draining n3:pending'], ['--node', 'n2', '--name', 'corral-drain-state', '--update', 'draining']);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Said {
  out: string[];
  err: string[];
  json: unknown[];
  audit: AuditEntry[];
  hooks: string[];
  executed: number;
}

/** Hooks that say what they were asked, and veto POINT's pre hook when told to. */
class Recorded extends Hooks {
  constructor(
    private readonly said: Said,
    private readonly veto?: string,
  ) {
    super({ dir: '/nonexistent', timeoutMs: 1000, user: 'root', say: () => undefined, log: async () => undefined });
  }
  override async pre(point: string, ctx: HookContext): Promise<void> {
    this.said.hooks.push(`${point}-pre nodes=${ctx.nodes?.join(',')} vms=${ctx.vms?.join(',')} dry=${ctx.dryRun ? 1 : 0}`);
    if (this.veto === point) throw new HookVeto(`vetoed by hook ${point}-pre.d/x (exit status 1): no; nothing was done`);
  }
  override async post(point: string, _ctx: HookContext, ok = true): Promise<string[]> {
    this.said.hooks.push(`${point}-post ${ok ? 'ok' : 'failed'}`);
    return [];
  }
}

/** A stand-in operation on nodes n1 (VM a): its plan as told, its work counted. */
function op(said: Said, plan: { blocked?: string; nothing?: string; ok?: boolean; throws?: string; lock?: Operation<string, { ok: boolean }>['lock'] } = {}): Operation<string, { ok: boolean }> {
  return {
    name: 'node-drain',
    ...(plan.lock ? { lock: plan.lock } : {}),
    plan: async () => ({
      plan: 'the plan',
      json: { nodes: ['n1'], plan: { moves: ['a'] } },
      text: 'drain n1: 1 VM move\n',
      warnings: ['not N+1 after'],
      ...(plan.blocked ? { blocked: plan.blocked } : {}),
      ...(plan.nothing ? { nothing: plan.nothing } : {}),
      nodes: ['n1'],
      vms: ['a'],
    }),
    execute: async (p, progress) => {
      said.executed++;
      expect(p).toBe('the plan');
      progress('a: n1 → n2 (live migration)');
      if (plan.throws) throw new Error(plan.throws);
      return { ok: plan.ok ?? true };
    },
    report: (r) => ({ out: r.ok ? ['n1 drained'] : [], err: r.ok ? [] : ['a did not move'] }),
  };
}

async function run(cib: string, o: Partial<RunOptions> & { veto?: string }, make: (said: Said) => Operation<string, { ok: boolean }>) {
  const said: Said = { out: [], err: [], json: [], audit: [], hooks: [], executed: 0 };
  const snapshot: Snapshot = await takeSnapshot({ cibXml: cib });
  const cluster = { query: async () => cib } as unknown as ClusterPort;
  const r = await runOperation(make(said), {
    dryRun: false,
    force: false,
    json: false,
    io: { out: (t) => said.out.push(t), err: (l) => said.err.push(l), json: (v) => said.json.push(v) },
    hooks: new Recorded(said, o.veto),
    audit: { user: 'alice', write: async (e) => void said.audit.push(e) },
    cluster,
    snapshot,
    ...o,
  }).then(
    (x) => ({ code: x.code, result: x.result }),
    (e: unknown) => ({ error: `${kindOf(e)}: ${(e as Error).message}` }),
  );
  return { ...r, said };
}

describe('runOperation', () => {
  it('prints the plan, runs the pre hooks, the work and the post hooks, and writes started then ok', async () => {
    const r = await run(idle, {}, (s) => op(s));
    expect(r).toMatchObject({ code: 0, result: { ok: true } });
    expect(r.said.out).toEqual(['drain n1: 1 VM move\n', 'a: n1 → n2 (live migration)\n', 'n1 drained\n']);
    expect(r.said.err).toEqual(['warning: not N+1 after']);
    expect(r.said.hooks).toEqual(['node-drain-pre nodes=n1 vms=a dry=0', 'node-drain-post ok']);
    expect(r.said.audit.map((e) => `${e.user} ${e.action} ${e.node} ${e.vm} ${e.result}`)).toEqual(['alice node-drain n1 a started', 'alice node-drain n1 a ok']);
  });

  it('a dry run runs the pre hooks only (CORRAL_DRY_RUN), does nothing, writes no audit line, exit 0', async () => {
    const r = await run(draining, { dryRun: true }, (s) => op(s, { lock: {} }));
    expect(r).toMatchObject({ code: 0 });
    expect(r.said.executed).toBe(0);
    expect(r.said.out.at(-1)).toBe('dry run: nothing was changed\n');
    expect(r.said.hooks).toEqual(['node-drain-pre nodes=n1 vms=a dry=1']);
    expect(r.said.audit).toEqual([]);
  });

  it('JSON: the plan\'s fields, dryRun, and the result; no text', async () => {
    const r = await run(idle, { json: true }, (s) => op(s));
    expect(r.said.out).toEqual([]);
    expect(r.said.json).toEqual([{ nodes: ['n1'], plan: { moves: ['a'] }, dryRun: false, result: { ok: true } }]);
    const dry = await run(idle, { json: true, dryRun: true }, (s) => op(s));
    expect(dry.said.json).toEqual([{ nodes: ['n1'], plan: { moves: ['a'] }, dryRun: true }]);
  });

  it('what --force overrides is refused without it (exit 1, nothing done, no hook, audit refused), and done with it', async () => {
    const r = await run(idle, { json: true }, (s) => op(s, { blocked: 'b would stop (--force drains anyway)' }));
    expect(r).toMatchObject({ code: 1 });
    expect(r.said.executed).toBe(0);
    expect(r.said.hooks).toEqual([]);
    expect(r.said.err).toEqual(['refusing: b would stop (--force drains anyway); nothing was changed']);
    expect(r.said.json).toEqual([{ nodes: ['n1'], plan: { moves: ['a'] }, dryRun: false, refused: true }]);
    expect(r.said.audit.map((e) => `${e.result} ${e.detail}`)).toEqual(['refused b would stop (--force drains anyway)']);
    const forced = await run(idle, { force: true }, (s) => op(s, { blocked: 'b would stop' }));
    expect(forced).toMatchObject({ code: 0 });
    expect(forced.said.executed).toBe(1);
  });

  it('nothing to do: the line, exit 0, no hooks, no lock', async () => {
    const r = await run(draining, {}, (s) => op(s, { nothing: 'nothing to do', lock: {} }));
    expect(r).toMatchObject({ code: 0 });
    expect(r.said.out).toEqual(['drain n1: 1 VM move\n', 'nothing to do\n']);
    expect(r.said.hooks).toEqual([]);
  });

  it('the maintenance lock: refused (kind refused, exit 2) while another drain or a rolling reboot is under way, before any hook', async () => {
    const busy = await run(draining, {}, (s) => op(s, { lock: { hint: () => 'finish it first' } }));
    expect(busy).toMatchObject({ error: 'refused: not now: n2 is being drained; nothing was changed (finish it first)' });
    expect(busy.said.hooks).toEqual([]);
    expect(busy.said.executed).toBe(0);
    // Finishing its own nodes' drain is allowed; so is resuming a rolling reboot's own turn.
    expect(await run(draining, {}, (s) => op(s, { lock: { finishes: ['n2'] } }))).toMatchObject({ code: 0 });
    expect(await run(rolling, {}, (s) => op(s, { lock: {} }))).toMatchObject({ error: 'refused: not now: n2 is being drained; nothing was changed' });
    expect(await run(rolling, {}, (s) => op(s, { lock: { resumes: true } }))).toMatchObject({ code: 0 });
  });

  it('maintenanceUnderWay names the drain or the rolling reboot', async () => {
    expect(maintenanceUnderWay(await takeSnapshot({ cibXml: idle }))).toBeUndefined();
    expect(maintenanceUnderWay(await takeSnapshot({ cibXml: draining }))).toEqual({ draining: ['n2'], what: 'n2 is being drained' });
    expect(maintenanceUnderWay(await takeSnapshot({ cibXml: rolling }), { finishes: ['n2'] })).toEqual({ draining: [], rolling: 'n1:done n2:draining n3:pending', what: 'a rolling reboot is under way' });
  });

  it('a pre hook\'s veto: nothing done, no audit line (the hook logs its own); the work\'s failure: post hooks told, audit failed, exit 1', async () => {
    const vetoed = await run(idle, { veto: 'node-drain' }, (s) => op(s));
    expect(vetoed).toMatchObject({ error: 'failed: vetoed by hook node-drain-pre.d/x (exit status 1): no; nothing was done' });
    expect(vetoed.said.executed).toBe(0);
    expect(vetoed.said.audit).toEqual([]);
    const failed = await run(idle, {}, (s) => op(s, { ok: false }));
    expect(failed).toMatchObject({ code: 1 });
    expect(failed.said.err).toEqual(['warning: not N+1 after', 'a did not move']);
    expect(failed.said.hooks.at(-1)).toBe('node-drain-post failed');
    expect(failed.said.audit.map((e) => e.result)).toEqual(['started', 'failed']);
    const threw = await run(idle, {}, (s) => op(s, { throws: 'the CIB did not answer' }));
    expect(threw).toMatchObject({ error: 'failed: the CIB did not answer' });
    expect(threw.said.audit.map((e) => `${e.result}${e.detail ? ` ${e.detail}` : ''}`)).toEqual(['started', 'failed the CIB did not answer']);
  });
});
