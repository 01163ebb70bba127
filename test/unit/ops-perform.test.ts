// lib/ops/perform.ts: the rules every action follows, read from the actions table: an action
// that needs a running VM reports the others as failures before acting, and what is logged.
import { describe, expect, it } from 'vitest';
import type { VmView } from '../../lib/cluster/view.js';
import { ACTIONS, type ActionName } from '../../lib/ops/actions.js';
import type { AuditEntry } from '../../lib/ops/audit.js';
import type { Context } from '../../lib/ops/context.js';
import { perform } from '../../lib/ops/perform.js';
import { parseRequest } from '../../lib/ops/request.js';

const vm = (name: string, state: VmView['state']): VmView => ({
  name,
  resource: `vm-${name}`,
  state,
  node: state === 'running' ? 'hv1' : null,
  nodes: state === 'running' ? ['hv1'] : [],
  migratingTo: null,
  targetRole: null,
  managed: true,
  vcpus: 1,
  memoryMiB: 128,
  priority: 0,
  tags: [],
  constraints: [],
  failCounts: {},
  lastFailure: null,
});

function fakeContext() {
  const audit: AuditEntry[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const ctx = {
    caller: { user: 'root', root: true, groups: [] },
    audit: { write: async (e: AuditEntry) => void audit.push(e) },
    io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), confirm: async () => false, interactive: false },
    options: { yes: true, wait: false, json: false, log: false, force: false },
  } as unknown as Context;
  return { ctx, audit, out, err };
}

const opts = { yes: true, wait: false, json: false, log: false, force: false };

describe('an action that needs a running VM', () => {
  const needing = (Object.keys(ACTIONS) as ActionName[]).filter((a) => ACTIONS[a].needsRunning);

  it('is restart and migrate: the Pacemaker requests that act on where a VM runs', () => {
    expect(needing).toEqual(['restart', 'migrate']);
  });

  it.each(needing)('%s: a stopped VM is a failure, said and logged, and nothing is asked of Pacemaker', async (action) => {
    const { ctx, audit, out, err } = fakeContext();
    const code = await perform(ctx, parseRequest({ pattern: 'gum', action, args: [], options: opts }), [vm('gum', 'stopped')]);
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([`vm: gum: not running (stopped); ${action} needs a running VM\n`]);
    expect(audit.map((a) => [a.vm, a.action, a.result, a.detail])).toEqual([
      ['gum', action, 'started', undefined],
      ['gum', action, 'failed', `not running (stopped); ${action} needs a running VM`],
    ]);
  });
});

describe('a read-only action', () => {
  it('is logged once, with its result, and where of a stopped VM fails', async () => {
    const { ctx, audit, out, err } = fakeContext();
    const code = await perform(ctx, parseRequest({ pattern: 'gum', action: 'where', args: [], options: opts }), [vm('gum', 'stopped')]);
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual(['vm: gum is not running (stopped)\n']);
    expect(audit.map((a) => [a.vm, a.action, a.result])).toEqual([['gum', 'where', 'ok']]);
  });
});
