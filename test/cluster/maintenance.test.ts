// Node maintenance on a real 3-node lab cluster: `corral node drain` moves eight running guests off
// a node by live migration (their tick counters go on, no guest boots again, no VM is ever seen
// on two nodes), `corral node undrain --return` brings them back, a drain that must fail fails
// before moving anything, and bad input changes nothing. Run inside a node, as an operator would.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterExec, createClusterLab, destroyClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import { labDir, type LabNode } from '../../lib/lab/state.js';
import { LabWatcher } from '../../lib/lab/watch.js';
import type { RunResult } from '../../lib/host/exec.js';
import { addVms, built, bootsOf, copyBuild, ok, endLabTest, watchWhenIdle } from '../support/ops-lab.js';

const LAB = { name: process.env.CORRAL_MNT_LAB ?? 'mnt', subnet: process.env.CORRAL_MNT_SUBNET ?? '10.213.93' };
const MOVERS = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'];
let lab: ClusterLab;
let n1: LabNode;
let watcher: LabWatcher;

interface ListVm {
  name: string;
  node: string | null;
  state: string;
  constraints: { kind: string }[];
}

async function list(): Promise<ListVm[]> {
  return (JSON.parse((await ok(inNode(n1, 'corral', ['list', '--json']))).stdout) as { vms: ListVm[] }).vms;
}

async function cib(): Promise<string> {
  return (await ok(clusterExec(n1, 'cibadmin', ['--query', '--scope', 'configuration']))).stdout;
}

/** The configuration's version (admin_epoch.epoch): any configuration change raises it. */
const epoch = async () => {
  const root = /<cib [^>]*>/.exec((await ok(clusterExec(n1, 'cibadmin', ['--query']))).stdout)?.[0] ?? '';
  return `${/admin_epoch="(\d+)"/.exec(root)?.[1]}.${/ epoch="(\d+)"/.exec(root)?.[1]}`;
};

const boots = (vm: string): Promise<number> => bootsOf(lab, vm);

/** This build's corral command run in NODE with the node's own /etc/corral/corral.conf (the lab's). */
function inNode(node: LabNode, command: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return clusterExec(node, built(command), args, { timeoutMs: opts.timeoutMs ?? 120_000 });
}

describe('corral node drain / undrain on the lab cluster', () => {
  beforeAll(async () => {
    await destroyClusterLab(LAB.name).catch(() => undefined);
    lab = await createClusterLab({ name: LAB.name, nodes: 3, subnet: LAB.subnet, timeoutMs: 300_000 });
    n1 = lab.nodes[0] as LabNode;
    await copyBuild();
    await addVms(lab, [...MOVERS.map((name) => ({ name, tick: true })), { name: 'p1', domadd: ['--only-on', 'n2'] }]);
    await waitClusterIdle(lab, { timeoutMs: 300_000 });
    // Every mover onto n1, the way an operator would gather them, then no constraint left.
    await ok(inNode(n1, 'vm', ['m*', 'migrate', 'n1', '--yes'], { timeoutMs: 300_000 }));
    await ok(inNode(n1, 'vm', ['m*', 'clear', '--yes']));
    watcher = await watchWhenIdle(lab);
  }, 900_000);

  afterAll(() => endLabTest(lab, watcher), 120_000);

  it('eight VMs run on n1 with no constraint holding them there', async () => {
    const vms = await list();
    expect(vms.filter((v) => MOVERS.includes(v.name)).map((v) => `${v.name}@${v.node}:${v.state}`)).toEqual(MOVERS.map((m) => `${m}@n1:running`));
    expect(vms.filter((v) => MOVERS.includes(v.name)).every((v) => v.constraints.length === 0)).toBe(true);
  });

  it('bad input changes nothing: unknown node, the last node, a node that is not drained, a drain under way elsewhere', async () => {
    const before = await epoch();
    const unknown = await inNode(n1, 'corral', ['node', 'drain', 'n9']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/^corral: there is no node n9 in the cluster \(nodes: n1, n2, n3\)$/m);
    const all = await inNode(n1, 'corral', ['node', 'drain', 'n1', 'n2', 'n3']);
    expect(all.exitCode).toBe(2);
    expect(all.stderr).toMatch(/would leave no node to run VMs/);
    const undrain = await inNode(n1, 'corral', ['node', 'undrain', 'n3']);
    expect(undrain.exitCode).toBe(2);
    expect(undrain.stderr).toMatch(/^corral: node n3 is not drained/m);
    const parallel = await inNode(n1, 'corral', ['node', 'drain', 'n3', '--parallel', '0']);
    expect(parallel.exitCode).toBe(2);
    expect(await epoch()).toBe(before);
    // Another drain under way (as its CIB record says): a second one is refused.
    await ok(clusterExec(n1, 'crm_attribute', ['--node', 'n3', '--name', 'corral-drain-state', '--update', 'draining']));
    const second = await inNode(n1, 'corral', ['node', 'drain', 'n2']);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toMatch(/not now: n3 is being drained; nothing was changed \(run corral node drain n3 again to finish that drain, or undrain it\)/);
    await ok(clusterExec(n1, 'crm_attribute', ['--node', 'n3', '--name', 'corral-drain-state', '--delete']));
  });

  it('a drain that must fail (p1 may run only on n2) fails before moving anything', async () => {
    const before = await epoch();
    const where = (await list()).map((v) => `${v.name}@${v.node}`);
    const r = await inNode(n1, 'corral', ['node', 'drain', 'n2']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/p1: would STOP on n2: it may run only on n2 \(--only-on\)/);
    expect(r.stderr).toMatch(/refusing: p1 would stop .* nothing was changed/);
    expect(await epoch()).toBe(before);
    expect((await list()).map((v) => `${v.name}@${v.node}`)).toEqual(where);
  });

  it('drain n1: every VM leaves by live migration, the guests go on counting, none boots again', async () => {
    const bootsBefore = new Map<string, number>();
    for (const m of MOVERS) bootsBefore.set(m, await boots(m));
    const dry = await ok(inNode(n1, 'corral', ['node', 'drain', 'n1', '--dry-run', '--json']));
    const plan = JSON.parse(dry.stdout) as { plan: { moves: { vm: string; live: boolean }[]; stops: unknown[] } };
    expect(plan.plan.moves.map((m) => m.vm).sort()).toEqual(MOVERS);
    expect(plan.plan.moves.every((m) => m.live)).toBe(true);
    expect(plan.plan.stops).toEqual([]);

    const r = await inNode(n1, 'corral', ['node', 'drain', 'n1', '--json'], { timeoutMs: 600_000 });
    expect(r.exitCode, `${r.stderr}\n${r.stdout}`).toBe(0);
    const out = JSON.parse(r.stdout) as { result: { ok: boolean; left: { vm: string; how: string; to: string }[]; remaining: string[] } };
    expect(out.result.ok).toBe(true);
    expect(out.result.left.map((l) => `${l.vm}:${l.how}`).sort()).toEqual(MOVERS.map((m) => `${m}:migrated`));
    expect(out.result.remaining).toEqual([]);

    const vms = await list();
    expect(vms.filter((v) => v.node === 'n1')).toEqual([]);
    for (const m of MOVERS) {
      const v = vms.find((x) => x.name === m);
      expect(v?.state).toBe('running');
      expect(await boots(m), `${m} booted again`).toBe(bootsBefore.get(m));
    }
    const hosts = JSON.parse((await ok(inNode(n1, 'corral', ['hosts', '--json']))).stdout) as { hosts: { name: string; state: string; drainState: string; owes: number }[] };
    const h1 = hosts.hosts.find((h) => h.name === 'n1');
    expect(h1).toMatchObject({ state: 'standby', drainState: 'drained', owes: 8 });
    // migration-limit is back to what it was (unset).
    expect((await cib())).not.toMatch(/name="migration-limit"/);
  });

  it('undrain n1 --return brings every VM back live and leaves no constraint behind', async () => {
    const bootsBefore = new Map<string, number>();
    for (const m of MOVERS) bootsBefore.set(m, await boots(m));
    const r = await inNode(n1, 'corral', ['node', 'undrain', 'n1', '--return', '--json'], { timeoutMs: 600_000 });
    expect(r.exitCode, `${r.stderr}\n${r.stdout}`).toBe(0);
    const out = JSON.parse(r.stdout) as { result: { ok: boolean; returned: { vm: string; how: string }[] } };
    expect(out.result.returned.map((l) => `${l.vm}:${l.how}`).sort()).toEqual(MOVERS.map((m) => `${m}:migrated`));
    await waitClusterIdle(lab, { timeoutMs: 120_000 });
    const vms = await list();
    for (const m of MOVERS) {
      const v = vms.find((x) => x.name === m);
      expect(`${v?.name}@${v?.node}:${v?.state}`).toBe(`${m}@n1:running`);
      expect(v?.constraints).toEqual([]);
      expect(await boots(m)).toBe(bootsBefore.get(m));
    }
    const config = await cib();
    expect(config).not.toMatch(/corral-drained|corral-drain-state|name="standby" value="on"|migration-limit|cli-prefer/);
  });

  it('rolling-reboot: the plan reboots the empty nodes first and moves each VM once', async () => {
    // p1 may run only on n2: while it runs, n2's turn would stop it, and the plan says so.
    const refused = await inNode(n1, 'corral', ['rolling-reboot']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(/p1 would STOP: it may run only on n2/);
    await ok(inNode(n1, 'vm', ['p1', 'stop', '--yes']));
    await waitClusterIdle(lab, { timeoutMs: 120_000 });
    const r = await ok(inNode(n1, 'corral', ['rolling-reboot', '--json']));
    const plan = JSON.parse(r.stdout) as { dryRun: boolean; plan: { order: string[]; steps: { node: string; moves: { vm: string }[] }[]; migrationsPerVm: number } };
    expect(plan.dryRun).toBe(true);
    expect(plan.plan.order).toHaveLength(3);
    // n2 and n3 are empty and go first (unless one is the DC): n1's VMs then go to a rebooted node.
    expect(plan.plan.steps.find((st) => st.node === 'n1')?.moves.map((m) => m.vm).sort()).toEqual(MOVERS);
    expect(plan.plan.migrationsPerVm).toBe(1);
  });

  it('rolling-reboot --exec from a node, whose own turn ends the run, then --resume: every node rebooted once, every VM running throughout, no guest boots again', async () => {
    const bootsBefore = new Map<string, number>();
    for (const m of MOVERS) bootsBefore.set(m, await boots(m));
    const restarts = async (node: string) => (await readFile(path.join(labDir(lab.name), 'power.log'), 'utf8')).split('\n').filter((l) => l.includes(`${node}: power off (restart`)).length;
    const before = new Map<string, number>();
    for (const n of lab.nodes) before.set(n.name, await restarts(n.name));
    // Run it from n3: its own turn ends that run (the node reboots under it), with the progress
    // in the CIB; a second run from n1 resumes it.
    const n3 = lab.nodes[2] as LabNode;
    const first = await inNode(n3, 'corral', ['rolling-reboot', '--exec'], { timeoutMs: 900_000 });
    // It has said everything before its node's reboot ends it: done, or killed by the reboot.
    expect(first.exitCode === 0 || first.exitCode >= 128, `${first.stdout}\n${first.stderr}`).toBe(true);
    expect(first.stdout).toMatch(/n3 \(this node\) reboots now: once it is back, run corral rolling-reboot --exec --resume/);
    const progress = (await cib()).match(/name="corral-rolling-reboot" value="([^"]*)"/)?.[1] ?? '';
    expect(progress).toMatch(/n3:rebooting/);
    await waitClusterIdle(lab, { timeoutMs: 300_000 });
    // Resumed from a node whose turn is over (so that this run is not cut short by its own).
    const doneNode = lab.nodes.find((n) => new RegExp(`\\b${n.name}:done\\b`).test(progress)) as LabNode;
    expect(doneNode, progress).toBeDefined();
    const again = await inNode(doneNode, 'corral', ['rolling-reboot', '--exec'], { timeoutMs: 60_000 });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/not now: a rolling reboot is under way; nothing was changed \(its progress: .*n3:rebooting.*; --exec --resume continues it\)/);
    const resumed = await inNode(doneNode, 'corral', ['rolling-reboot', '--exec', '--resume'], { timeoutMs: 900_000 });
    expect(resumed.exitCode, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    await waitClusterIdle(lab, { timeoutMs: 300_000 });
    for (const n of lab.nodes) expect(await restarts(n.name), `${n.name} rebooted once`).toBe((before.get(n.name) ?? 0) + 1);
    const vms = await list();
    for (const m of MOVERS) {
      expect(vms.find((v) => v.name === m)?.state).toBe('running');
      expect(await boots(m), `${m} booted again`).toBe(bootsBefore.get(m));
    }
    const config = await cib();
    expect(config).not.toMatch(/corral-rolling-reboot|corral-steer-|corral-drained|corral-saved|name="standby" value="on"|migration-limit/);
  }, 1_800_000);

  it('rolling-reboot --exec: a node-reboot-pre hook that vetoes the second node stops the run after the first, with the reason and the progress kept', async () => {
    // p1 may run only on n2: stopped, so that no turn would stop it (the earlier test may have done so).
    await ok(inNode(n1, 'vm', ['p1', 'stop', '--yes'], { timeoutMs: 240_000 }));
    await waitClusterIdle(lab, { timeoutMs: 300_000 });
    // Run from the DC, which goes last: the first two turns are the other nodes.
    const dry = JSON.parse((await ok(inNode(n1, 'corral', ['rolling-reboot', '--json']))).stdout) as { plan: { steps: { node: string; dc: boolean }[] } };
    const dcName = dry.plan.steps.find((st) => st.dc)?.node as string;
    const dc = lab.nodes.find((n) => n.name === dcName) as LabNode;
    const order = (JSON.parse((await ok(inNode(dc, 'corral', ['rolling-reboot', '--json']))).stdout) as { plan: { order: string[] } }).plan.order;
    expect(order[2]).toBe(dcName);
    const [first, second] = order as [string, string];
    // The hooks, in the DC's own /etc/corral/hooks (the lab node's /etc/corral), root's, 0755.
    const hooksDir = path.join(labDir(lab.name), 'nodes', dcName, 'fs/etc/corral/hooks');
    const trace = path.join(labDir(lab.name), 'nodes', dcName, 'fs/var/log/corral-hooks.trace');
    await rm(hooksDir, { recursive: true, force: true });
    await rm(trace, { force: true });
    const hook = async (point: string, name: string, body: string) => {
      await mkdir(path.join(hooksDir, point), { recursive: true, mode: 0o755 });
      await chmod(hooksDir, 0o755);
      const f = path.join(hooksDir, point, name);
      await writeFile(f, `#!/bin/sh\necho "$CORRAL_OPERATION $CORRAL_PHASE [$CORRAL_NODES] dry=$CORRAL_DRY_RUN" >> /var/log/corral-hooks.trace\n${body}\n`);
      await chmod(f, 0o755);
    };
    await hook('node-reboot-pre.d', '10-on-call', `if [ "$CORRAL_NODES" = "${second}" ]; then echo "${second}: the on-call engineer says not now"; exit 1; fi`);
    await hook('node-reboot-post.d', '10-trace', 'exit 0');
    await hook('rolling-reboot-post.d', '10-trace', 'exit 0');
    const restarts = async (node: string) => (await readFile(path.join(labDir(lab.name), 'power.log'), 'utf8')).split('\n').filter((l) => l.includes(`${node}: power off (restart`)).length;
    const before = new Map<string, number>();
    for (const n of lab.nodes) before.set(n.name, await restarts(n.name));
    try {
      const r = await inNode(dc, 'corral', ['rolling-reboot', '--exec'], { timeoutMs: 900_000 });
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`corral: vetoed by hook node-reboot-pre.d/10-on-call (exit status 1): ${second}: the on-call engineer says not now; nothing was done; stopped before ${second}`);
      expect(r.stdout).toMatch(new RegExp(`${first}: done`));
      for (const n of lab.nodes) expect(await restarts(n.name), `${n.name}'s reboots`).toBe((before.get(n.name) ?? 0) + (n.name === first ? 1 : 0));
      expect(await readFile(trace, 'utf8')).toBe(
        [`node-reboot pre [${first}] dry=0`, `node-reboot post [${first}] dry=0`, `node-reboot pre [${second}] dry=0`, `rolling-reboot post [${order.join(' ')}] dry=0`, ''].join('\n'),
      );
      const config = await cib();
      expect(config).toMatch(new RegExp(`name="corral-rolling-reboot" value="${first}:done ${second}:pending ${dcName}:pending"`));
      expect(config).not.toMatch(/name="standby" value="on"|corral-drain-state/);
    } finally {
      await rm(hooksDir, { recursive: true, force: true });
      // The run is not resumed: its record goes, the cluster is as before but one node rebooted.
      await clusterExec(n1, 'crm_attribute', ['--type', 'crm_config', '--name', 'corral-rolling-reboot', '--delete']);
      await waitClusterIdle(lab, { timeoutMs: 300_000 });
    }
  }, 1_800_000);

  it('the watcher never saw a VM on two nodes, nor one vanish from the CIB', async () => {
    const report = await watcher.stop();
    expect(report.violations).toEqual([]);
  });
});
