// corral serve's /metrics text (lib/ops/metrics.ts) on the recorded clusters
// (test/fixtures/recorded: a real 3-node lab at six moments, test/fixtures/pacemaker): every
// output passes `promtool check metrics` (Debian's prometheus package), says what the cluster
// was, and the counters of migrations and restarts follow the operation history.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDomstats } from '../../lib/cluster/libvirt.js';
import { takeSnapshot, type Snapshot } from '../../lib/cluster/snapshot.js';
import { DecisionRecord, readDecisionRecord } from '../../lib/ops/balance.js';
import { OperationCounters, renderMetrics } from '../../lib/ops/metrics.js';
import { isLoopback, parseListen, serveSecurity } from '../../lib/ops/serve.js';

const REC = new URL('../fixtures/recorded', import.meta.url).pathname;
const read = (f: string) => readFileSync(path.join(REC, f), 'utf8');
/** Debian's prometheus package (.ci/run installs it). */
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const MOMENTS = ['steady', 'migrating', 'moved', 'failed', 'recovered', 'standby'];

async function snap(moment: string): Promise<Snapshot> {
  return takeSnapshot({ cibXml: read(`${moment}/cib.xml`), crmMonXml: read(`${moment}/crm_mon.xml`) });
}

function promtool(text: string): { code: number | null; out: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The value of the sample NAME{LABELS} in TEXT (labels given in any order), or undefined. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('/metrics on the recorded clusters', () => {
  it('passes promtool check metrics at every recorded moment', async () => {
    execFileSync(PROMTOOL, ['--version'], { stdio: 'ignore' });
    for (const m of MOMENTS) {
      const s = await snap(m);
      const counters = new OperationCounters();
      counters.observe(s);
      const text = renderMetrics({
        snap: s,
        snapSeconds: 0.01,
        counters,
        capacity: { report: { nodes: [{ name: 'n1', ifFails: { stopped: ['web1'] } }, { name: 'n2', ifFails: { stopped: [], errors: ['x'] } }], nPlusOne: false, notRunning: [] }, at: 1700000000, seconds: 2 },
        libvirt: { node: 'n1', up: true, domains: parseDomstats(read('libvirt/n1-domstats-1.txt')) },
        fencing: [{ action: 'reboot', target: 'n3', status: 'success', completedMs: 1700000000000 }],
      });
      const r = promtool(text);
      expect(r.out, m).toBe('');
      expect(r.code, m).toBe(0);
    }
  });

  it('says where every VM runs, its state and size, and each node in one state', async () => {
    const text = renderMetrics({ snap: await snap('steady') });
    expect(value(text, 'corral_scrape_success')).toBe(1);
    expect(value(text, 'corral_vm_state', { vm: 'off1', state: 'disabled' })).toBe(1);
    expect(value(text, 'corral_vm_state', { vm: 'off1', state: 'running' })).toBe(0);
    expect(value(text, 'corral_vm_state', { vm: 'db1', state: 'running' })).toBe(1);
    expect(value(text, 'corral_vm_node', { vm: 'db1', node: 'n3' })).toBe(1);
    expect(value(text, 'corral_vm_memory_bytes', { vm: 'db1' })).toBe(256 * 1024 * 1024);
    expect(value(text, 'ha_cluster_pacemaker_nodes', { node: 'n1', type: 'member', status: 'online' })).toBe(1);
    expect(value(text, 'ha_cluster_corosync_quorate')).toBe(1);
    expect(value(text, 'ha_cluster_pacemaker_resources', { resource: 'vm-db1', node: 'n3', role: 'started', status: 'active' })).toBe(1);
    for (const n of ['n1', 'n2', 'n3']) expect(text.split('\n').filter((l) => l.startsWith(`corral_node_state{node="${n}"`) && l.endsWith(' 1'))).toHaveLength(1);
    expect(value(text, 'corral_node_cpus', { node: 'n1' })).toBe(8);
    // The newest start's exec-time: Pacemaker's start to ready (db1 started on n3 in 10.5 s).
    expect(value(text, 'corral_vm_start_seconds', { vm: 'db1', node: 'n3' })).toBe(10.492);
    expect(value(text, 'corral_vm_start_seconds', { vm: 'off1' })).toBeUndefined();
    // No background answers yet: no N+1 line rather than a guess.
    expect(value(text, 'corral_cluster_n_plus_one')).toBeUndefined();

    const standby = renderMetrics({ snap: await snap('standby') });
    expect(value(standby, 'corral_node_state', { node: 'n3', state: 'standby' })).toBe(1);
    expect(value(standby, 'corral_node_vms', { node: 'n3' })).toBe(0);
    const failed = renderMetrics({ snap: await snap('failed') });
    expect(value(failed, 'corral_failed_actions')).toBe(1);
    expect(value(failed, 'corral_resource_failures', { resource: 'vm-ns2', node: 'n1' })).toBe(1);
  });

  it('counts a live migration and a restart from the operation history, from the second look on', async () => {
    const c = new OperationCounters();
    c.observe(await snap('steady'));
    expect(c.migrations.size + c.restarts.size).toBe(0);
    // Between steady and moved, web2 went n2 → n1 and web1 (kept apart from it) n1 → n3, both live.
    const moved = await snap('moved');
    c.observe(moved);
    expect(Object.fromEntries(c.migrations)).toEqual({ web1: 1, web2: 1 });
    expect(c.restarts.size).toBe(0);
    const steady = await snap('steady');
    const moves = moved.view.vms.filter((v) => v.node !== steady.view.vms.find((x) => x.name === v.name)?.node).map((v) => v.name);
    expect(moves).toEqual(['web1', 'web2']);
    c.observe(moved); // the same history again: nothing new
    expect(Object.fromEntries(c.migrations)).toEqual({ web1: 1, web2: 1 });
    const r = new OperationCounters();
    r.observe(await snap('failed'));
    r.observe(await snap('recovered'));
    expect(r.restarts.get('ns2')).toBe(1);
    expect(value(renderMetrics({ snap: moved, counters: c }), 'corral_vm_migrations_total', { vm: 'web2' })).toBe(1);
  });

  it('says N+1 and what each node failure would stop, from the background answer', async () => {
    const text = renderMetrics({
      snap: await snap('steady'),
      capacity: { report: { nodes: [{ name: 'n1', ifFails: { stopped: ['web1', 'ns1'] } }, { name: 'n2', ifFails: { stopped: [] } }], nPlusOne: false, notRunning: [] }, at: 1, seconds: 1 },
    });
    expect(value(text, 'corral_cluster_n_plus_one')).toBe(0);
    expect(value(text, 'corral_node_failure_stopped_vms', { node: 'n1' })).toBe(2);
    expect(value(text, 'corral_vm_stopped_if_node_fails', { node: 'n1', vm: 'ns1' })).toBe(1);
    expect(value(text, 'corral_capacity_check_success')).toBe(1);
  });

  it("counts the balancer's decisions by reason on the node it runs on, from its decision record", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'corral-decisions-'));
    try {
      const file = path.join(dir, 'run/corral/balancer-decisions.json');
      const rec = new DecisionRecord(file);
      await rec.add({ loads: [], move: null, reason: 'no node above 80%', kind: 'calm' }, 1700000000);
      await rec.add({ loads: [], move: null, reason: 'no node above 80%', kind: 'calm' }, 1700000010);
      await rec.add({ loads: [], move: null, reason: 'n1 is being drained', kind: 'busy' }, 1700000020);
      // This process wrote it and runs: read; a writer that is gone (the balancer moved away): nothing.
      const read = await readDecisionRecord(file);
      expect(read?.counts).toMatchObject({ calm: 2, busy: 1, move: 0 });
      expect(await readDecisionRecord(file, () => false)).toBeUndefined();
      expect(await readDecisionRecord(path.join(dir, 'none.json'))).toBeUndefined();
      const text = renderMetrics({ snap: await snap('steady'), ...(read ? { balancerDecisions: read } : {}) });
      expect(value(text, 'corral_balancer_decisions_total', { reason: 'calm' })).toBe(2);
      expect(value(text, 'corral_balancer_decisions_total', { reason: 'move' })).toBe(0);
      expect(value(text, 'corral_balancer_last_decision_timestamp_seconds', { reason: 'busy' })).toBe(1700000020);
      expect(promtool(text)).toEqual({ code: 0, out: '' });
      expect(value(renderMetrics({ snap: await snap('steady') }), 'corral_balancer_decisions_total', { reason: 'calm' })).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('escapes label values and still reports when the CIB could not be read', () => {
    const text = renderMetrics({ snap: null, libvirt: { node: 'n"1\\', up: false, domains: [] } });
    expect(text).toContain('corral_node_libvirt_up{node="n\\"1\\\\"} 0');
    expect(value(text, 'corral_scrape_success')).toBe(0);
    expect(promtool(text).code).toBe(0);
  });
});

describe('corral serve: addresses and the security rule', () => {
  it('reads HOST:PORT and knows loopback', () => {
    expect(parseListen('127.0.0.1:9777')).toEqual({ host: '127.0.0.1', port: 9777 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseListen('0.0.0.0')).toThrow(/HOST:PORT/);
    expect(() => parseListen('x:70000')).toThrow(/0 \(any free one\) to 65535/);
    expect([isLoopback('127.0.0.1'), isLoopback('127.1.2.3'), isLoopback('::1'), isLoopback('localhost'), isLoopback('0.0.0.0'), isLoopback('10.0.0.1'), isLoopback('::')]).toEqual([true, true, true, true, false, false, false]);
  });

  it('refuses any address but loopback without TLS and a token', async () => {
    await expect(serveSecurity('0.0.0.0', { tlsCert: undefined, tlsKey: undefined, tokenFile: undefined })).rejects.toThrow(/not loopback.*serve_tls_cert and serve_tls_key and serve_token_file/);
    await expect(serveSecurity('10.1.1.1', { tlsCert: '/c', tlsKey: '/k', tokenFile: undefined })).rejects.toThrow(/serve_token_file/);
    await expect(serveSecurity('127.0.0.1', { tlsCert: '/c', tlsKey: undefined, tokenFile: undefined })).rejects.toThrow(/go together/);
    expect(await serveSecurity('127.0.0.1', { tlsCert: undefined, tlsKey: undefined, tokenFile: undefined })).toEqual({});
  });
});
