// End-to-end scenarios on a real 3-node lab cluster (Corosync, Pacemaker with stonith-enabled and
// the lab's fence device, libvirtd per node, corral installed in the nodes), each checked the way
// an operator would: crm_mon, the VM's console log, stonith history, fail counts. Throughout, a
// watcher samples every node every 200 ms and fails the scenario if a VM ever has a qemu on two
// nodes at once (other than a live migration's incoming target) or a VM vanishes from the CIB.
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fenceHistory } from '../../lib/host/pacemaker/fencing.js';
import { cleanupResource, clearResource, failCount, moveResource } from '../../lib/host/pacemaker/resources.js';
import { rootMountsUnder } from '../../lib/host/mounts.js';
import { netnsList } from '../../lib/host/netns.js';
import { signalPids } from '../../lib/host/ns-procs.js';
import { argvOf, isAlive, procPids } from '../../lib/host/procs.js';
import {
  clusterStatus,
  crashNode,
  createClusterLab,
  destroyClusterLab,
  nodeVia,
  reachableNode,
  waitClusterIdle,
  type ClusterLab,
} from '../../lib/lab/cluster.js';
import { restartLibvirtd } from '../../lib/lab/libvirt.js';
import { labDir, type LabNode } from '../../lib/lab/state.js';
import { ensureTestGuest, type TestGuest } from '../../lib/lab/test-guest.js';
import { addLabVm, domaddLabVm, labConsoleLog, labQemus, ticks, writeLabVmXml } from '../../lib/lab/vms.js';
import { LabWatcher } from '../../lib/lab/watch.js';

const LAB = 'e2e';
const SUBNET = '10.213.82';
const NODES = ['c1', 'c2', 'c3'];

let lab: ClusterLab;
let guest: TestGuest;
let watcher: LabWatcher;
let mark = 0;
let rootIfacesBefore: string[] = [];
const figures: Record<string, string> = {};

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

function node(name: string): LabNode {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

/** The one node where crm_mon says vm-NAME is Started (undefined otherwise). */
async function startedOn(name: string): Promise<string | undefined> {
  const s = await clusterStatus(lab);
  const r = s.resources.get(`vm-${name}`);
  // role Started: active and not failed (a failed resource's role is Failed)
  return r?.role === 'Started' && r.nodes.length === 1 ? r.nodes[0] : undefined;
}

/** Waits until vm-NAME is Started on one node (other than NOTON) and its qemu runs there, only there. */
async function waitRunning(name: string, timeoutMs: number, notOn?: string): Promise<string> {
  return waitFor(`${name} running${notOn ? ` elsewhere than ${notOn}` : ''}`, async () => {
    const where = await startedOn(name);
    if (where === undefined || where === notOn) return undefined;
    const q = (await labQemus(lab)).filter((x) => x.vm === name);
    return q.length === 1 && q[0]!.node === where ? where : undefined;
  }, timeoutMs, 250);
}

async function via() {
  const n = await reachableNode(lab);
  if (!n) throw new Error('no node answers');
  return nodeVia(n, 30_000);
}

/** When RSC's start on NODE last succeeded after SINCE (ms since the epoch), from pacemaker-execd's log. */
async function startFinishedMs(n: LabNode, rsc: string, since: number): Promise<number> {
  const log = await readFile(path.join(n.dir, 'fs/var/log/pacemaker/pacemaker.log'), 'utf8');
  const re = new RegExp(`^(\\w+ \\d+ [\\d:.]+) \\S+ pacemaker-execd .*\\b${rsc} start \\(call \\d+, PID \\d+\\) exited with status 0`);
  const year = new Date().getFullYear();
  const times = log
    .split('\n')
    .map((l) => re.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Date.parse(`${m[1]} ${year}`))
    .filter((t) => t >= since - 1000);
  if (times.length === 0) throw new Error(`no successful start of ${rsc} logged on ${n.name}`);
  return times[times.length - 1]!;
}

beforeAll(async () => {
  guest = await ensureTestGuest();
  await destroyClusterLab(LAB);
  rootIfacesBefore = (await readdir('/sys/class/net')).sort();
  lab = await createClusterLab({ name: LAB, nodes: NODES, subnet: SUBNET });
  figures['lab up (3 nodes, online and idle)'] = secs(lab.timings!.totalMs);
  watcher = new LabWatcher(lab).start();
}, 300_000);

beforeEach(() => {
  mark = watcher?.mark() ?? 0;
});

afterEach(() => {
  if (!watcher) return;
  // The invariants hold throughout every scenario.
  expect(watcher.violationsSince(mark).map((v) => `${v.kind}: ${v.detail}`)).toEqual([]);
});

afterAll(async () => {
  if (watcher) await watcher.stop();
  if (!process.env.CORRAL_KEEP_LAB) await destroyClusterLab(LAB).catch(() => undefined);
  console.log(`\nlab figures (${LAB}):\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
  if (watcher) console.log(`  watcher: ${watcher.report.samples} process samples (max gap ${watcher.report.maxGapMs} ms), ${watcher.report.cibSamples} CIB samples`);
}, 120_000);

describe('a 3-node lab cluster', () => {
  it('starts with every node online, fencing on and the fence device running', async () => {
    const s = await clusterStatus(lab);
    expect(s.nodes.map((n) => [n.name, n.online]).sort()).toEqual(NODES.map((n) => [n, true]));
    expect(s.quorum).toBe(true);
    expect(s.resources.get('fence-lab')).toMatchObject({ agent: 'stonith:fence_corral_lab', role: 'Started' });
    const r = await (await via()).runner!('crm_attribute', ['--type', 'crm_config', '--name', 'stonith-enabled', '--query', '--quiet'], { timeoutMs: 10_000 });
    expect(r.stdout.trim()).toBe('true');
  });

  it('domadd puts a VM into the cluster: Pacemaker starts it on one node and its guest signals ready', async () => {
    const t = Date.now();
    const report = await addLabVm(lab, node('c1'), { name: 'web', guest });
    watcher.expect('vm-web');
    expect(report).toContain('add vm-web');
    const where = await waitRunning('web', 90_000);
    figures['domadd to running and ready'] = secs(Date.now() - t);
    // The guest prints its acknowledgement right after it read the host's ack.
    const log = await waitFor('the acknowledgement in the console log', async () => {
      const text = await labConsoleLog(node(where), 'web');
      return text.includes('startup signal acknowledged') ? text : undefined;
    }, 3000, 100);
    expect(log).toContain('corral-test-guest: booted');
  }, 150_000);

  it('a VM added --after another starts only once the other one\'s guest has signalled ready', async () => {
    const t0 = Date.now();
    // db's guest waits 4 s before it signals; without the ordering app would start meanwhile.
    // Both XMLs are made first, so the two domadds follow each other within a second.
    const dbXml = await writeLabVmXml(lab, node('c2'), { name: 'db', guest, signalDelaySeconds: 4 });
    const appXml = await writeLabVmXml(lab, node('c2'), { name: 'app', guest });
    await domaddLabVm(node('c2'), dbXml);
    watcher.expect('vm-db');
    await domaddLabVm(node('c2'), appXml, ['--after', 'db']);
    watcher.expect('vm-app');
    const [dbOn] = await Promise.all([waitRunning('db', 120_000), waitRunning('app', 120_000)]);
    // db's start succeeded when its guest's "ready" had been answered (the agent waits for it):
    // when, to the millisecond, pacemaker-execd logged.
    const dbStarted = await startFinishedMs(node(dbOn), 'vm-db', t0);
    const db = watcher.qemusOf('db')[0]!;
    const app = watcher.qemusOf('app')[0]!;
    expect(db, 'the watcher saw db\'s qemu').toBeDefined();
    expect(app, 'the watcher saw app\'s qemu').toBeDefined();
    // app's qemu started after db's start had succeeded (the /proc start time is ±10 ms), so at
    // least db's signal delay after db's qemu.
    expect(app.startedMs).toBeGreaterThanOrEqual(dbStarted - 20);
    expect(app.startedMs - db.startedMs).toBeGreaterThanOrEqual(4000);
    await waitFor('db\'s guest to print its acknowledgement', async () => (await labConsoleLog(node(dbOn), 'db')).includes('startup signal acknowledged'), 5000);
    figures['ordering: app started after db ready'] = `${secs(app.startedMs - db.startedMs)} after db's qemu, ${app.startedMs - dbStarted} ms after db's start succeeded`;
  }, 180_000);

  it('a Pacemaker move migrates the VM live: one qemu moves, the guest keeps counting on the target', async () => {
    const src = (await startedOn('web'))!;
    const s = await clusterStatus(lab);
    // the target: the node with the fewest resources running that is not the source
    const running = (n: string) => [...s.resources.values()].filter((r) => r.nodes.includes(n)).length;
    const dst = s.nodes
      .filter((n) => n.name !== src)
      .sort((a, b) => running(a.name) - running(b.name))[0]!.name;
    const dstBefore = (await labConsoleLog(node(dst), 'web')).length;
    const srcPid = (await labQemus(lab)).find((q) => q.vm === 'web')!.pid;

    const t = Date.now();
    await moveResource('vm-web', { node: dst }, await via());
    await waitRunning('web', 120_000, src);
    const moveMs = Date.now() - t;
    figures['Pacemaker move (crm_resource --move) to running on the target'] = secs(moveMs);
    await clearResource('vm-web', await via());
    expect(await startedOn('web')).toBe(dst);
    expect(isAlive(srcPid)).toBe(false);

    // The guest kept running: its ticks continue in the target's console log, with no new boot.
    await sleep(3000);
    const srcTicks = ticks(await labConsoleLog(node(src), 'web'));
    const added = (await labConsoleLog(node(dst), 'web')).slice(dstBefore);
    const dstTicks = ticks(added);
    expect(added).not.toContain('corral-test-guest: booted');
    expect(dstTicks.length).toBeGreaterThanOrEqual(2);
    const lastOnSrc = srcTicks.at(-1)!;
    expect(dstTicks[0]).toBeGreaterThan(lastOnSrc);
    expect(dstTicks[0]).toBeLessThanOrEqual(lastOnSrc + 2);
    // What the watcher saw was a live migration: the target's qemu came in with -incoming.
    expect(watcher.report.migrations.has('web')).toBe(true);
    expect(watcher.qemusOf('web').at(-1)).toMatchObject({ node: dst, incoming: true });
    await waitClusterIdle(lab, { timeoutMs: 60_000 });
  }, 240_000);

  it('a killed qemu is noticed by the monitor and Pacemaker restarts the VM (fail count 1)', async () => {
    const where = (await startedOn('web'))!;
    const victim = (await labQemus(lab)).find((q) => q.vm === 'web')!;
    const boots = (await labConsoleLog(node(where), 'web')).split('corral-test-guest: booted').length;
    const t = Date.now();
    signalPids([victim.pid], 'SIGKILL');
    await waitFor('a new qemu for web, Started', async () => {
      const q = (await labQemus(lab)).filter((x) => x.vm === 'web');
      return q.length === 1 && q[0]!.pid !== victim.pid && (await startedOn('web')) === q[0]!.node;
    }, 120_000, 250);
    figures['qemu killed to VM running again'] = secs(Date.now() - t);
    const now = (await startedOn('web'))!;
    expect((await labConsoleLog(node(now), 'web')).split('corral-test-guest: booted').length).toBeGreaterThan(now === where ? boots : 1);
    expect(await failCount('vm-web', where, await via())).toBeGreaterThanOrEqual(1);
    await cleanupResource('vm-web', await via());
    await waitClusterIdle(lab, { timeoutMs: 60_000 });
  }, 180_000);

  it('restarting libvirtd under a running VM causes no recovery: same qemu, no failure', async () => {
    const where = (await startedOn('web'))!;
    const before = (await labQemus(lab)).find((q) => q.vm === 'web')!;
    const boots = (await labConsoleLog(node(where), 'web')).split('corral-test-guest: booted').length;
    await restartLibvirtd(node(where));
    // Two monitor intervals (10 s each) pass with the new libvirtd.
    await sleep(22_000);
    const after = (await labQemus(lab)).filter((q) => q.vm === 'web');
    expect(after).toEqual([before]);
    expect(await startedOn('web')).toBe(where);
    expect(await failCount('vm-web', where, await via())).toBe(0);
    expect((await labConsoleLog(node(where), 'web')).split('corral-test-guest: booted').length).toBe(boots);
  }, 120_000);

  it('a crashed node is fenced, its VMs run on the survivors, and it rejoins', async () => {
    const s = await clusterStatus(lab);
    const vms = [...s.resources.values()].filter((r) => r.id.startsWith('vm-'));
    // The node that runs web (a VM nothing orders it after): it is placed again as soon as the
    // fencing is done, while the fenced node is still down. A VM ordered after another (app after
    // db) is placed only once that one runs again, maybe on the rebooted node: that is fine.
    const victim = s.resources.get('vm-web')!.nodes[0]!;
    const onVictim = vms.filter((r) => r.nodes.includes(victim)).map((r) => r.id.slice(3));
    const independent = onVictim.filter((v) => v !== 'app');

    const t0 = Date.now();
    await crashNode(lab, victim);
    const fenced = waitFor(`fencing of ${victim} recorded`, async () => {
      const n = await reachableNode(lab);
      if (!n) return undefined;
      const events = await fenceHistory(victim, nodeVia(n, 10_000));
      const e = events.find((x) => x.status === 'success' && (x.completedMs ?? 0) >= t0 - 1000);
      return e ? { at: Date.now(), event: e } : undefined;
    }, 120_000, 250);
    await Promise.all(independent.map((v) => waitRunning(v, 120_000, victim)));
    const recoveredMs = Date.now() - t0;
    const fence = await fenced;
    expect(fence.event.action).toBe('reboot');
    expect(fence.event.target).toBe(victim);
    figures[`node crash to its VMs (${independent.join(', ')}) running on the survivors`] = secs(recoveredMs);
    figures['node crash to fencing recorded'] = secs(fence.at - t0);
    console.log(`crash of ${victim}: fenced after ${secs(fence.at - t0)}, ${independent.join(', ')} running on the survivors after ${secs(recoveredMs)}`);
    expect(recoveredMs).toBeLessThan(60_000);

    // The fenced node was rebooted by the fence device and rejoins by itself; every VM runs.
    await waitClusterIdle(lab, { timeoutMs: 120_000 });
    figures['node crash to rejoined, cluster idle'] = secs(Date.now() - t0);
    for (const v of vms) await waitRunning(v.id.slice(3), 60_000);
  }, 300_000);

  it('lab down removes every process, namespace, mount, interface and file of the lab, and again is a no-op', async () => {
    const report = await watcher.stop();
    expect(report.samples).toBeGreaterThan(100);
    const dir = labDir(LAB);
    const r = await destroyClusterLab(LAB);
    expect(r.deletedNetns.sort()).toEqual([`corral.${LAB}`, ...NODES.map((n) => `corral.${LAB}.${n}`)].sort());
    expect((await netnsList()).filter((n) => n === `corral.${LAB}` || n.startsWith(`corral.${LAB}.`))).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(await rootMountsUnder(dir)).toEqual([]);
    expect((await readdir('/sys/class/net')).sort()).toEqual(rootIfacesBefore);
    // No process of the lab anywhere: nothing refers to its state directory or runs its controller.
    const leftovers: string[] = [];
    for (const pid of procPids()) {
      const argv = argvOf(pid) ?? [];
      if (argv.some((a) => a.includes(dir)) || (argv.includes('power-daemon') && argv.includes(LAB))) leftovers.push(`${pid}: ${argv.join(' ')}`);
    }
    expect(leftovers).toEqual([]);
    const again = await destroyClusterLab(LAB);
    expect(again).toEqual({ killedNetns: [], deletedNetns: [], removedDir: false });
  }, 120_000);
});
