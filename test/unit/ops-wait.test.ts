import { describe, expect, it } from 'vitest';
import type { ClusterView, VmView } from '../../lib/cluster/view.js';
import { waitFor } from '../../lib/ops/wait.js';

function vm(state: VmView['state'], node: string | null, extra: Partial<VmView> = {}): VmView {
  return {
    name: 'gum',
    resource: 'vm-gum',
    state,
    node,
    nodes: node ? [node] : [],
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
    ...extra,
  };
}

function views(...vms: VmView[]): () => Promise<ClusterView> {
  let i = 0;
  return async () => {
    const v = vms[Math.min(i++, vms.length - 1)] as VmView;
    return { vms: [v], hosts: [], status: { nodes: [], quorum: true, resources: new Map(), needsPacemaker: [], source: 'cib' }, byResource: new Map([[v.resource, v]]) };
  };
}

function clock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

describe('waiting for Pacemaker', () => {
  it('prints a line per change and ends when the VM is where it should be', async () => {
    const lines: string[] = [];
    const c = clock();
    const out = await waitFor(
      [{ vm: 'gum', resource: 'vm-gum', goal: { kind: 'running', on: 'n2' } }],
      {
        look: views(vm('running', 'n1'), vm('running', 'n1'), vm('migrating', 'n1', { migratingTo: 'n2' }), vm('running', 'n2')),
        settled: async () => false,
        progress: (l) => lines.push(l),
        ...c,
      },
      { timeoutMs: 60_000 },
    );
    expect(out).toEqual([{ vm: 'gum', ok: true, message: 'running on n2', node: 'n2' }]);
    expect(lines.map((l) => l.replace(/^\[.*?\] /, ''))).toEqual(['gum: running on n1', 'gum: migrating n1 → n2', 'gum: running on n2']);
  });

  it('gives up with the reason when the cluster settles elsewhere', async () => {
    const c = clock();
    const out = await waitFor(
      [{ vm: 'gum', resource: 'vm-gum', goal: { kind: 'running' } }],
      {
        look: views(vm('stopped', null, { lastFailure: { node: 'n1', operation: 'start', rc: 1, reason: 'no such disk' } })),
        settled: async () => true,
        progress: () => undefined,
        ...c,
      },
      { timeoutMs: 600_000 },
    );
    expect(out[0]?.ok).toBe(false);
    expect(out[0]?.message).toMatch(/Pacemaker settled with it stopped; start failed on n1 \(rc 1: no such disk\)/);
    expect(c.now()).toBeLessThan(10_000);
  });

  it('does not give up while the cluster is still busy, only at the timeout', async () => {
    const c = clock();
    const out = await waitFor(
      [{ vm: 'gum', resource: 'vm-gum', goal: { kind: 'stopped' } }],
      { look: views(vm('stopping', 'n1')), settled: async () => false, progress: () => undefined, ...c },
      { timeoutMs: 30_000 },
    );
    expect(out[0]).toMatchObject({ ok: false, message: 'still stopping on n1 after 30 s' });
    expect(c.now()).toBeGreaterThanOrEqual(30_000);
  });

  it('a stop is done only when the VM runs nowhere', async () => {
    const c = clock();
    const out = await waitFor(
      [{ vm: 'gum', resource: 'vm-gum', goal: { kind: 'stopped' } }],
      { look: views(vm('stopping', 'n1'), vm('disabled', null)), settled: async () => false, progress: () => undefined, ...c },
      { timeoutMs: 30_000 },
    );
    expect(out[0]).toMatchObject({ ok: true, message: 'stopped (target-role Stopped)' });
  });
});
