// `corral balance enable|disable|status|run`: the load balancer (DRS). enable/disable add or stop
// its Pacemaker resource (ocf:corral:Balancer, one instance, off until enabled); run is the loop
// that resource starts; status shows what it sees now (every VM's CPU from libvirt, per node), what
// it would do if this load held for its hold time (checked with crm_simulate), and the moves it
// made lately (kept in the CIB). Registered by scripts/corral.ts; the work is in lib/ops/balance.ts
// and lib/plan/balance.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { printable, printableLines } from '../../cluster/format.js';
import { takeSnapshot } from '../../cluster/snapshot.js';
import { changeCib } from '../../cib/change.js';
import { setNvpair } from '../../cib/nodes.js';
import { balancerXml } from '../../cib/shapes.js';
import { hostCibPort } from '../../host/pacemaker/cib.js';
import { BALANCER_FLAGS, balancerSpec } from '../../ocf/balancer.js';
import { BALANCER_ID, balancerResource, checkMove, clusterBusy, decideChecked, DecisionRecord, loadSample, moveLive, readNodes, recordedMoves, runBalancer } from '../../ops/balance.js';
import { CLOCK_SKEW_S, DEFAULT_BALANCER, decideBalancer, describeBalancer, recentMoves, type BalancerSettings } from '../../plan/balance.js';
import type { Snapshot } from '../../cluster/snapshot.js';
import { checkAction, checkExitCodes, setUnanswered, UsageError } from '../errors.js';
import { nodeAccess } from './tables.js';

const out = (s: string) => process.stdout.write(printableLines(s)); // text for people: node names escaped

/** The settings flags every balance command takes, with their bounds. */
const FLAGS: { flag: string; key: keyof BalancerSettings; what: string; min: number; max: number }[] = [
  { flag: 'interval', key: 'intervalS', what: 'seconds between samples', min: 2, max: 3600 },
  { flag: 'threshold', key: 'thresholdPct', what: 'a node is hot above this share of its CPUs in use by VMs (%)', min: 1, max: 100 },
  { flag: 'hold', key: 'holdS', what: 'seconds a node must stay hot before a VM moves off it', min: 1, max: 86400 },
  { flag: 'cooldown', key: 'cooldownS', what: 'seconds a moved VM stays where it went', min: 0, max: 7 * 86400 },
  { flag: 'max-moves-per-hour', key: 'maxMovesPerHour', what: 'moves in any hour, at most', min: 0, max: 1000 },
  { flag: 'min-gain', key: 'minGainPct', what: 'points a move must take off the hot node', min: 0, max: 100 },
  { flag: 'margin', key: 'marginPct', what: 'points the target must stay below the threshold', min: 0, max: 100 },
];

/** The resource parameter (lib/ocf/balancer.ts) behind each settings key. */
const PARAM_OF: Partial<Record<keyof BalancerSettings, string>> = {
  intervalS: 'interval',
  thresholdPct: 'threshold',
  holdS: 'hold',
  cooldownS: 'cooldown',
  maxMovesPerHour: 'max_moves_per_hour',
  minGainPct: 'min_gain',
  marginPct: 'margin',
  nodes: 'nodes',
  vms: 'vms',
};

/** Settings: the defaults, then the balancer resource's parameters (BASE), then the flags in O. */
function settingsOf(o: Record<string, string | undefined>, base: Readonly<Record<string, string>> = {}): BalancerSettings {
  const s: Record<string, unknown> = { ...DEFAULT_BALANCER };
  for (const [key, param] of Object.entries(PARAM_OF)) {
    const v = base[param as string];
    if (v === undefined || v === '') continue;
    s[key] = key === 'nodes' || key === 'vms' ? v.split(',').filter(Boolean) : Number(v);
  }
  for (const f of FLAGS) {
    const text = o[f.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
    if (text === undefined) continue;
    if (!/^\d+$/.test(text) || Number(text) < f.min || Number(text) > f.max) throw new UsageError(`--${f.flag} ${JSON.stringify(text)}: a whole number from ${f.min} to ${f.max}`);
    s[f.key] = Number(text);
  }
  for (const k of ['nodes', 'vms'] as const) {
    const text = o[k];
    if (text === undefined) continue;
    const names = text.split(',').filter(Boolean);
    if (names.length === 0 || names.some((n) => !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(n))) throw new UsageError(`--${k} ${JSON.stringify(text)}: names separated by commas`);
    s[k] = names;
  }
  return s as unknown as BalancerSettings;
}

/**
 * Refuses (one line each) the --nodes and --vms names in O that SNAP's cluster does not have: a
 * typo would otherwise leave the balancer silently doing nothing for the node or VM meant.
 */
function refuseUnknownNames(o: Record<string, string | undefined>, snap: Snapshot): void {
  const have = { nodes: snap.view.hosts.map((h) => h.name), vms: snap.view.vms.map((v) => v.name) };
  const what = { nodes: ['node', 'nodes'], vms: ['VM', 'VMs'] };
  const lines: string[] = [];
  for (const k of ['nodes', 'vms'] as const) {
    const unknown = (o[k] ?? '').split(',').filter((n) => n && !have[k].includes(n));
    if (unknown.length === 0) continue;
    const known = have[k].length > 6 ? `${have[k].slice(0, 6).join(', ')} …` : have[k].join(', ') || 'none';
    lines.push(`--${k} ${JSON.stringify(o[k])}: the cluster has no ${what[k][0]} ${unknown.join(', ')} (${what[k][1]}: ${known})`);
  }
  if (lines.length) throw new UsageError(lines.join('\n'));
}

/** What --nodes and --vms of enable and status accept, for --help. */
const NAMES_HELP = `--nodes and --vms take names the cluster has now (corral hosts, corral list); others are
refused (exit 2, nothing changed). A VM that is not added yet cannot be named: add it (domadd), then
run corral balance enable again with it.`;

export function registerBalance(program: Command): void {
  const balance = program.command('balance').description('The load balancer (DRS): moves VMs off nodes that stay hot, without ping-pong.');
  const status = balance
    .command('status')
    .description('What the balancer sees now, what it would do if this load held, and the moves it made lately.')
    .option('--seconds <n>', 'read every VM\'s CPU over this many seconds', '5')
    .option('--nodes <a,b>', 'nodes it may move VMs off and onto (default: all)')
    .option('--vms <x,y>', 'VMs it may move (default: all)')
    .option('--json', 'machine-readable output');
  for (const f of FLAGS) status.option(`--${f.flag} <n>`, `${f.what} (default ${DEFAULT_BALANCER[f.key] as number})`);
  status.addHelpText(
    'after',
    `
Load is the CPU the VMs on a node use (libvirt's cpu.time), as a share of the node's CPUs (its
utilization "cpu", as nodecap set it). The balancer acts only on a node that stayed above the
threshold for the whole hold time; here the reading is short, so "would" means "if this load held".
Moves on record dated more than ${CLOCK_SKEW_S / 60} minutes ahead of this node's clock (a node with a fast clock,
a bad write) are not listed and not counted; the balancer's next move drops them from the record.
${NAMES_HELP}

${checkExitCodes('no move wanted', 'a move would be made')}`,
  );
  status.action(checkAction(async (o: Record<string, string | undefined> & { json?: boolean }) => {
    settingsOf(o); // bad flags are refused before the cluster is asked anything
    const seconds = o.seconds ?? '5';
    if (!/^\d+$/.test(seconds) || Number(seconds) < 1 || Number(seconds) > 600) throw new UsageError(`--seconds ${JSON.stringify(seconds)}: a whole number from 1 to 600`);
    const snap = await takeSnapshot();
    refuseUnknownNames(o, snap);
    const settings = settingsOf(o, balancerResource(snap)?.params);
    const access = await nodeAccess();
    const first = await readNodes(snap.view, access);
    await sleep(Number(seconds) * 1000);
    const second = await readNodes(snap.view, access);
    const now = Math.floor(Date.now() / 1000);
    const { sample, problems } = loadSample(snap.view, first, second, now);
    // The reading stands for the hold time: two samples, HOLD apart, the same.
    const held = [{ ...sample, at: now - settings.holdS }, sample];
    const moves = recordedMoves(snap);
    const busy = await clusterBusy(snap);
    const d = busy ? { ...decideBalancer(held, moves, settings, now, () => true), move: null, reason: `not judged now: ${busy}` } : await decideChecked(held, moves, settings, now, (vm, from, to) => checkMove(snap, vm, from, to));
    const lately = recentMoves(moves, now);
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ settings, seconds: Number(seconds), nodes: Object.entries(sample.nodes).map(([node, n]) => ({ node, cpus: n.cpus, loadPct: d.loads.find((l) => l.node === node)?.loadPct ?? 0, vms: Object.fromEntries(Object.entries(n.vms).map(([vm, c]) => [vm, Math.round(c * 1000) / 1000])) })), wouldMove: d.move, reason: d.reason, moves: lately, problems }, null, 2)}\n`);
    } else {
      const r = balancerResource(snap);
      const where = r ? snap.view.status.resources.get(r.id)?.nodes ?? [] : [];
      const lines = [r ? `Balancer ${r.id}: ${r.meta['target-role']?.toLowerCase() === 'stopped' ? 'disabled' : where.length ? `running on ${where.join(', ')}` : 'not running'}${r.params.dry_run && /^(1|yes|true|on)$/i.test(r.params.dry_run) ? ' (dry run)' : ''}` : 'Balancer: not enabled (corral balance enable)'];
      lines.push(`Load over ${seconds} s (threshold ${settings.thresholdPct}%, hold ${settings.holdS} s):`);
      for (const [node, n] of Object.entries(sample.nodes)) {
        const vms = Object.entries(n.vms).sort((a, b) => b[1] - a[1]).map(([vm, c]) => `${vm} ${c.toFixed(2)}`);
        lines.push(`  ${node} (${n.cpus} CPUs): ${d.loads.find((l) => l.node === node)?.loadPct ?? 0}%${vms.length ? ` — ${vms.join(', ')} cores` : ''}`);
      }
      lines.push(`If this load held: ${describeBalancer(d).at(-1)}`);
      lines.push(lately.length ? 'Moves in the last 24 h:' : 'No move in the last 24 h.');
      for (const m of lately) lines.push(`  ${new Date(m.at * 1000).toISOString().replace('.000Z', 'Z')}  ${m.vm} ${m.from} → ${m.to}`);
      out(`${lines.join('\n')}\n`);
      for (const p of problems) process.stderr.write(`corral: ${printable(p)}\n`);
    }
    // A node that could not be read leaves the answer open, unless a move is wanted all the same.
    if (d.move) process.exitCode = 1;
    else if (problems.length) setUnanswered();
  }));

  const run = balance
    .command('run')
    .description('The balancer itself, in the foreground: a sample every interval, a decision, at most one move (what ocf:corral:Balancer starts).')
    .option('--nodes <a,b>', 'nodes it may move VMs off and onto (default: all)')
    .option('--vms <x,y>', 'VMs it may move (default: all)')
    .option('--dry-run', 'decide and log, move nothing')
    .option('--rounds <n>', 'stop after this many samples (default: run until TERM or Ctrl-C)');
  for (const f of FLAGS) run.option(`--${f.flag} <n>`, `${f.what} (default ${DEFAULT_BALANCER[f.key] as number})`);
  run.addHelpText('after', '\nA line per decision on stdout, with its numbers. Enable it as a cluster resource with corral balance enable.');
  run.action(async (o: Record<string, string | undefined> & { dryRun?: boolean }) => {
    const settings = settingsOf(o);
    if (o.rounds !== undefined && (!/^\d+$/.test(o.rounds) || Number(o.rounds) < 1)) throw new UsageError(`--rounds ${JSON.stringify(o.rounds)}: a whole number, at least 1`);
    const access = await nodeAccess();
    let stopped = false;
    const wake = new AbortController();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => ((stopped = true), wake.abort()));
    const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    out(`${stamp()} corral balance run: ${JSON.stringify(settings)}${o.dryRun ? ' (dry run)' : ''}\n`);
    // Its decisions by kind, for corral serve on this node (corral_balancer_decisions_total).
    const record = new DecisionRecord();
    await runBalancer({
      settings,
      read: (view) => readNodes(view, access),
      snapshot: () => takeSnapshot(),
      check: checkMove,
      move: (snap, vm, from, to) => moveLive(snap, vm, from, to, (line) => out(`${stamp()} ${line.trim()}\n`)),
      busy: clusterBusy,
      decided: (x, at) => record.add(x, at),
      log: (line) => out(`${stamp()} ${line}\n`),
      now: () => Math.floor(Date.now() / 1000),
      sleep: (ms) => sleep(ms, undefined, { signal: wake.signal }).catch(() => undefined),
      stopped: () => stopped,
      ...(o.dryRun ? { dryRun: true } : {}),
      ...(o.rounds !== undefined ? { rounds: Number(o.rounds) } : {}),
    });
    out(`${stamp()} corral balance run: stopped\n`);
  });

  const enable = balance
    .command('enable')
    .description('Add the balancer to the cluster (ocf:corral:Balancer, one instance), or change its settings and start it again.')
    .option('--nodes <a,b>', 'nodes it may move VMs off and onto (default: all)')
    .option('--vms <x,y>', 'VMs it may move (default: all)')
    .option('--dry-run', 'the balancer decides and logs, and moves nothing');
  for (const f of FLAGS) enable.option(`--${f.flag} <n>`, `${f.what} (default ${DEFAULT_BALANCER[f.key] as number})`);
  enable.addHelpText('after', `\nIts decisions go to ${balancerSpec.params.find((p) => p.name === 'log_file')?.default} on the node it runs on; corral balance status shows them.\n${NAMES_HELP}`);
  enable.action(async (o: Record<string, string | undefined> & { dryRun?: boolean }) => {
    settingsOf(o); // bad flags are refused before anything changes
    refuseUnknownNames(o, await takeSnapshot());
    const params: Record<string, string> = {};
    for (const [param, flag] of Object.entries(BALANCER_FLAGS)) {
      const v = o[flag.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
      if (v !== undefined) params[param] = v;
    }
    if (o.dryRun) params.dry_run = 'true';
    await changeCib(hostCibPort(), (cd) => {
      const el = cd.byId(BALANCER_ID);
      if (!el) {
        cd.append(cd.section('resources'), balancerXml(BALANCER_ID, params));
        return { notes: [`${BALANCER_ID} added`], warnings: [] };
      }
      const inst = cd.byId(`${BALANCER_ID}-instance_attributes`);
      const meta = cd.byId(`${BALANCER_ID}-meta_attributes`);
      if (!inst || !meta) throw new UsageError(`${BALANCER_ID} is not the primitive corral balance enable makes: remove it first (crm configure delete ${BALANCER_ID})`);
      for (const [n, v] of Object.entries(params)) setNvpair(cd, inst, n, v);
      if (!o.dryRun) setNvpair(cd, inst, 'dry_run', undefined);
      setNvpair(cd, meta, 'target-role', undefined);
      return { notes: [`${BALANCER_ID} updated`], warnings: [] };
    });
    out(`${BALANCER_ID}: enabled${o.dryRun ? ' (dry run)' : ''}\n`);
  });

  balance
    .command('disable')
    .description("Stop the balancer (its resource's target-role Stopped); its settings and moves stay on record.")
    .action(async () => {
      const snap = await takeSnapshot();
      if (!balancerResource(snap)) {
        out('the balancer is not enabled: nothing to do\n');
        return;
      }
      await changeCib(hostCibPort(), (cd) => {
        const el = cd.byId(BALANCER_ID);
        if (!el) return { notes: [], warnings: [] };
        const meta = cd.byId(`${BALANCER_ID}-meta_attributes`);
        if (!meta) throw new UsageError(`${BALANCER_ID} is not the primitive corral balance enable makes: stop it with crm resource stop ${BALANCER_ID}`);
        setNvpair(cd, meta, 'target-role', 'Stopped');
        return { notes: [], warnings: [] };
      });
      out(`${BALANCER_ID}: disabled\n`);
    });
}
