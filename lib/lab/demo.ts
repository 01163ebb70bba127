// `corral lab demo`: corral on a running lab, narrated. Three VMs of the test guest made the way
// an operator makes them (create_domxml, fixup_domxml, domadd inside a node) with a priority, an
// anti-affinity and a startup order; the tables; a live migration (crm_resource --move, --clear);
// a node crash, its fencing, the VMs back on the survivors and the node rejoining.
import { setTimeout as sleep } from 'node:timers/promises';
import { fenceHistory, type FenceEvent } from '../host/pacemaker/fencing.js';
import { clearResource, moveResource } from '../host/pacemaker/resources.js';
import { crmMonText } from '../host/pacemaker/status.js';
import { clusterExec, clusterStatus, crashNode, nodeVia, reachableNode, waitClusterIdle, type ClusterLab, type ClusterStatus } from './cluster.js';
import type { LabNode } from './state.js';
import { ensureTestGuest } from './test-guest.js';
import { addLabVm, createDomxmlArgs, labConsoleLog, labQemus, removeLabVm, ticks, vmXmlPath, type LabVmSpec } from './vms.js';

export interface DemoOptions {
  out: (s: string) => void;
  /** How the user runs `corral lab` (for the lines to type next). */
  self: string;
  /** ' --name LAB' unless the default lab. */
  labFlag: string;
  /** Whether this corral has `corral list` (decides which table is shown). */
  hasList: boolean;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`gave up after ${secs(timeoutMs)} waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The demo's VMs: db has the priority, app starts after db and keeps away from it, web keeps away from app. */
function demoVms(guest: LabVmSpec['guest']): LabVmSpec[] {
  return [
    { name: 'db', guest, domadd: ['--priority', '10'] },
    { name: 'app', guest, domadd: ['--after', 'db', '--avoid', 'db'] },
    { name: 'web', guest, domadd: ['--avoid', 'app'] },
  ];
}

function startedOn(s: ClusterStatus, vm: string): string | undefined {
  const r = s.resources.get(`vm-${vm}`);
  return r?.role === 'Started' && r.nodes.length === 1 ? r.nodes[0] : undefined;
}

export async function runDemo(lab: ClusterLab, o: DemoOptions): Promise<void> {
  const { out } = o;
  const { hasList } = o;
  const exec = async (prefer?: string[]): Promise<LabNode> => {
    const n = await reachableNode(lab, prefer);
    if (!n) throw new Error(`no node of lab ${lab.name} answers`);
    return n;
  };
  const show = (cmd: string, n: LabNode) => out(`  $ ${o.self} exec${o.labFlag} ${n.name} -- ${cmd}`);
  const table = async (title: string, avoid?: string) => {
    const n = await exec(lab.nodes.map((x) => x.name).filter((x) => x !== avoid));
    out(`\n${title}`);
    if (hasList) {
      show('corral list', n);
      const r = await clusterExec(n, 'corral', ['list']);
      if (r.exitCode === 0) {
        out(r.stdout.replace(/^/gm, '    '));
        return;
      }
    }
    show('crm_mon -1', n);
    const text = await crmMonText([], nodeVia(n, 20_000));
    const from = text.indexOf('Node List:');
    out((from >= 0 ? text.slice(from) : text).trimEnd().replace(/^/gm, '    '));
  };
  const all = (s: ClusterStatus) => ['db', 'app', 'web'].every((v) => startedOn(s, v) !== undefined);

  out(`corral lab demo on lab ${lab.name}: ${lab.nodes.map((n) => n.name).join(', ')}\n`);
  const guest = await ensureTestGuest();

  // -- 0. a clean slate
  const first = await exec();
  const before = await clusterStatus(lab);
  const old = ['web', 'app', 'db'].filter((v) => before.resources.has(`vm-${v}`));
  if (old.length) {
    out(`Removing the VMs of an earlier demo (${old.join(', ')})…`);
    for (const v of old) await removeLabVm(first, v);
    await waitClusterIdle(lab, { timeoutMs: 180_000 });
  }

  // -- 1. three VMs
  out('1. Three VMs of the tiny test guest (a Debian kernel and a busybox initramfs that signals');
  out('   "ready" on the startup_signal channel), made inside a node the way an operator would:');
  const vms = demoVms(guest);
  const t1 = Date.now();
  for (const vm of vms) {
    const file = vmXmlPath(lab, vm.name);
    out('');
    show(`create_domxml ${createDomxmlArgs(vm, file).map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`, first);
    show(`fixup_domxml -i ${file}`, first);
    show(`domadd --param migration_transport=tcp ${(vm.domadd ?? []).join(' ')} ${file}`.replace(/ {2,}/g, ' '), first);
    const report = await addLabVm(lab, first, vm);
    out(report.replace(/^/gm, '    '));
  }
  out('\n   db has priority 10 (it wins when there is not room for all); when both start, app starts only');
  out('   once db\'s guest has signalled ready (--after db), and it keeps away from db; web keeps away from app.');
  const placed = await waitFor('the three VMs to run', async () => {
    const s = await clusterStatus(lab);
    return all(s) ? s : undefined;
  }, 240_000);
  out(`   All three run ${secs(Date.now() - t1)} after the first domadd.`);
  await table('2. The cluster now:');

  // -- 3. live migration of web (after a few ticks, so that its console log shows them go on)
  await sleep(3000);
  const src = startedOn(placed, 'web')!;
  // To db's node (web keeps away from app only), or to a node without app.
  const dbOn = startedOn(placed, 'db')!;
  const dst = dbOn !== src ? dbOn : (lab.nodes.find((n) => n.name !== src && n.name !== startedOn(placed, 'app')) ?? lab.nodes.find((n) => n.name !== src)!).name;
  const srcNode = lab.nodes.find((n) => n.name === src)!;
  const dstNode = lab.nodes.find((n) => n.name === dst)!;
  const dstLogBefore = (await labConsoleLog(dstNode, 'web')).length;
  out(`\n3. Live migration: Pacemaker moves web from ${src} to ${dst} while its guest keeps running.`);
  const n3 = await exec();
  show(`crm_resource --move --resource vm-web --node ${dst}`, n3);
  const t3 = Date.now();
  await moveResource('vm-web', { node: dst }, nodeVia(n3, 30_000));
  await waitFor('web on its new node', async () => {
    const s = await clusterStatus(lab);
    const q = (await labQemus(lab)).filter((x) => x.vm === 'web');
    return startedOn(s, 'web') === dst && q.length === 1 && q[0]!.node === dst ? true : undefined;
  }, 120_000, 100);
  const moveMs = Date.now() - t3;
  show('crm_resource --clear --resource vm-web', n3);
  await clearResource('vm-web', nodeVia(n3, 30_000));
  await sleep(2000);
  const lastSrc = ticks(await labConsoleLog(srcNode, 'web')).at(-1) ?? '?';
  const newOnDst = (await labConsoleLog(dstNode, 'web')).slice(dstLogBefore);
  const firstDst = ticks(newOnDst)[0];
  out(`   web runs on ${dst} ${secs(moveMs)} after the move; one qemu, on ${dst} only.`);
  out(`   Its console log (/var/log/corral/console/web.log on each node) goes on: tick ${lastSrc} was the last`);
  out(`   on ${src}, tick ${firstDst ?? '?'} the first on ${dst}${newOnDst.includes('booted') ? '' : ', with no new boot'}.`);

  // -- 4. crash web's node
  await waitClusterIdle(lab, { timeoutMs: 120_000 });
  const s4 = await clusterStatus(lab);
  const victim = startedOn(s4, 'web')!;
  const onVictim = ['db', 'app', 'web'].filter((v) => startedOn(s4, v) === victim);
  out(`\n4. ${victim} crashes (every process of it killed at once, Pacemaker is not told):`);
  out(`  $ ${o.self} crash${o.labFlag} ${victim}`);
  const t4 = Date.now();
  await crashNode(lab, victim);
  const fenced = await waitFor<FenceEvent>(`the fencing of ${victim}`, async () => {
    const n = await reachableNode(lab, lab.nodes.map((x) => x.name).filter((x) => x !== victim));
    if (!n) return undefined;
    return (await fenceHistory(victim, nodeVia(n, 10_000))).find((e) => e.status === 'success' && (e.completedMs ?? 0) >= t4 - 1000);
  }, 120_000);
  const fenceMs = Date.now() - t4;
  out(`   Corosync noticed, Pacemaker fenced ${victim} (${fenced.action} by ${fenced.executioner ?? '?'} through stonith:fence_corral_lab) after ${secs(fenceMs)}.`);
  const back = await waitFor('the VMs of the crashed node to run again', async () => {
    const s = await clusterStatus(lab);
    const q = await labQemus(lab);
    const ok = onVictim.every((v) => {
      const w = startedOn(s, v);
      return w !== undefined && w !== victim && q.filter((x) => x.vm === v).length === 1;
    });
    return ok ? s : undefined;
  }, 180_000);
  if (onVictim.includes('db') && !onVictim.includes('app')) {
    out('   app keeps running meanwhile: --after db orders starts (a cold start brings db up first)');
    out('   and leaves a running app alone; --after db:mandatory would have restarted app with db.');
  }
  out(`   ${onVictim.join(' and ')} run${onVictim.length === 1 ? 's' : ''} again on ${onVictim.map((v) => startedOn(back, v)).join(', ')} ${secs(Date.now() - t4)} after the crash.`);
  await table('   The cluster without it:', victim);

  // -- 5. the fenced node rejoins
  await waitClusterIdle(lab, { timeoutMs: 180_000 });
  out(`\n5. The fence device rebooted ${victim}: it booted, rejoined and the cluster is idle again ${secs(Date.now() - t4)} after the crash.`);
  await table('   The cluster now:');
  const n5 = await exec(lab.nodes.map((x) => x.name).filter((x) => x !== victim)); // a node that saw it happen
  show(`stonith_admin --history ${victim} --verbose`, n5);
  const hist = await clusterExec(n5, 'stonith_admin', ['--history', victim, '--verbose']);
  out(hist.stdout.trimEnd().replace(/^/gm, '    '));

  // corral's own commands work inside the nodes as on a real cluster (/etc/corral/corral.conf of
  // the nodes: lib/lab/node-command.ts).
  const x = `${o.self} exec${o.labFlag} ${lab.nodes[0]!.name} --`;
  out('\nTry next (vm and corral work inside the nodes as on a real cluster):');
  out(`  ${x} corral hosts                        every node: capacity, VMs, versions`);
  out(`  ${x} vm web console                      web's serial console (leave with Ctrl+])`);
  out(`  ${x} vm web console --log --lines 20     its continuous console log`);
  out(`  ${x} vm db migrate                       a live migration away from its node, through Pacemaker`);
  out(`  ${o.self} crash${o.labFlag} ${lab.nodes[lab.nodes.length - 1]!.name}`);
  out(`  ${o.self} down${o.labFlag}`);
}
