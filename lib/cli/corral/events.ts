// `corral events`: what happened in the cluster, one line per event in time order. Registered by
// scripts/corral.ts; the sources are read in lib/ops/events.ts, the events made in
// lib/cluster/events.ts.
import type { Command } from 'commander';
import { eventLine, type ClusterEvent } from '../../cluster/events.js';
import { printable } from '../../cluster/format.js';
import { NODE_NAME_RE, VM_NAME_RE } from '../../domain/names.js';
import { loadConfig } from '../../ops/config.js';
import { clusterEvents, followEvents } from '../../ops/events.js';
import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
/** The longest look back --since takes (the scheduler inputs rarely reach that far anyway). */
const MAX_SINCE_MS = 400 * 86_400_000;

/** --since: a duration back from now (90s, 30m, 2h, 1d, 1h30m) or a date and time (2026-12-07T18:00, UTC unless it says). */
export function parseSince(text: string, now: number): number {
  const d = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  let ms: number | undefined;
  if (d && text !== '') {
    ms = now - [d[1], d[2], d[3], d[4]].reduce((sum, v, i) => sum + (v ? Number(v) * (Object.values(UNITS)[i] as number) : 0), 0);
  } else if (/^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?(Z|[+-]\d\d:?\d\d)?$/.test(text)) {
    const iso = text.replace(' ', 'T');
    const t = Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(iso) || !iso.includes('T') ? iso : `${iso}Z`);
    if (Number.isFinite(t)) ms = t;
  }
  if (ms === undefined) throw new UsageError(`--since ${JSON.stringify(text)}: expected a time back from now (90s, 30m, 2h, 1d, 1h30m) or a date and time (2026-12-07T18:00, UTC unless it ends in an offset)`);
  if (ms > now) throw new UsageError(`--since ${JSON.stringify(text)}: that is in the future`);
  if (now - ms > MAX_SINCE_MS) throw new UsageError(`--since ${JSON.stringify(text)}: at most 400 days back`);
  return ms;
}

function interval(text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) < 0.5 || Number(text) > 60) throw new UsageError(`--interval ${JSON.stringify(text)}: expected seconds from 0.5 to 60`);
  return Number(text) * 1000;
}

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('What happened in the cluster, one line per event in time order: VMs started, stopped, migrated, moved, failed, recovered; nodes fenced, joined, left, in standby, drained; corral\'s own actions.')
    .option('--since <when>', 'from this time on: back from now (90s, 30m, 2h, 1d) or a date and time (2026-12-07T18:00, UTC)', '2h')
    .option('--vm <name>', 'only the events of this VM')
    .option('--node <node>', 'only the events of this node (and the VMs that left or reached it)')
    .option('--json', 'machine-readable output: {since, events: [{at, kind, vm, vms, node, from, to, seconds, live, operation, rc, reason, user, result, detail, source, text}], sources, problems}; with --follow one event object per line')
    .option('--follow', 'after the events so far, print each new one as it happens (until interrupted)')
    .option('--interval <seconds>', 'with --follow: how often to look (default 1)')
    .addHelpText(
      'after',
      `
Sources (see README, "Events", for how long each keeps what it has):
  - Pacemaker's scheduler inputs, /var/lib/pacemaker/pengine/pe-input-N.bz2: the whole CIB each
    time the scheduler ran, kept by the node that was DC then: this node's are read here, the
    other online nodes' through node_command (ls and bzip2). Their resource operation
    history (lrm_rsc_op) gives starts (with the time to ready: the start's exec-time, which
    includes the startup signal), stops, migrations (migrate_to to migrate_from: from, to,
    seconds), moves that restarted a VM, and failures (the operation, the result and the
    agent's exit reason); compared one to the next they give nodes joining, leaving, going into
    and out of standby, corral's drain marks, the rolling reboot's progress and move
    constraints (crm_resource --move, vm migrate, corral's steering).
  - the live CIB: the newest records, and the balancer's record of its moves;
  - the fencer's history (stonith_admin --history '*'): fencing, and VMs recovered after it;
  - vm's audit log (audit_log in corral.conf) of every online node: vm actions and corral's
    node drains with who asked.
What a source could not give is a "note:" line on stderr ("sources" in --json).
Times are UTC, to the second (Pacemaker records seconds). Each line is "TIME  WHAT".

Exit codes: 0 the events were listed (none is not an error); 1 the cluster (its CIB) could not
be read (what the other sources gave is still printed; --follow stops);
2 bad input (a --since that does not parse, a bad name, a VM or node that
neither the cluster nor its records know), nothing printed.

Examples:
  corral events                          the last two hours
  corral events --since 30m --vm web1    one VM's last half hour
  corral events --node hv3 --since 1d    everything that touched hv3 today
  corral events --follow                 stream (Ctrl-C ends)
  corral events --json --since 2026-12-07T08:00 | jq '.events[] | select(.kind == "vm-failed")'`,
    )
    .action(async (o: { since: string; vm?: string; node?: string; json?: boolean; follow?: boolean; interval?: string }) => {
      const now = Date.now();
      const sinceMs = parseSince(o.since, now);
      if (o.vm !== undefined && !VM_NAME_RE.test(o.vm)) throw new UsageError(`--vm ${JSON.stringify(o.vm)}: not a VM name (letters, digits, '_', '.', '-'; at most 63)`);
      if (o.node !== undefined && !NODE_NAME_RE.test(o.node)) throw new UsageError(`--node ${JSON.stringify(o.node)}: not a node name (letters, digits, '_', '.', '-')`);
      if (o.interval !== undefined && !o.follow) throw new UsageError('--interval goes with --follow');
      const intervalMs = interval(o.interval ?? '1');
      const config = await loadConfig();
      for (const w of config.warnings) process.stderr.write(`corral: warning: ${w}\n`);
      const q = { sinceMs, auditLog: config.auditLog, nodeCommand: config.nodeCommand, ...(o.vm ? { vm: o.vm } : {}), ...(o.node ? { node: o.node } : {}) };
      const show = (e: ClusterEvent) => process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : `${printable(eventLine(e))}\n`);
      if (o.follow) {
        const stop = new AbortController();
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
        await followEvents(q, show, { intervalMs, signal: stop.signal });
        return;
      }
      const report = await clusterEvents(q);
      if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else for (const e of report.events) show(e);
      for (const p of report.problems) process.stderr.write(`corral: warning: ${printable(p)}\n`);
      if (!o.json) for (const s of report.sources) if (s.problem) process.stderr.write(`corral: note: ${printable(`${s.source}: ${s.problem}`)}\n`);
      // What could be read is printed; without the CIB it is not the cluster's history.
      const cib = report.sources.find((s) => s.source === 'the live CIB');
      if (cib?.problem) {
        process.stderr.write(`corral: cannot read the cluster: ${printable(cib.problem)}\n`);
        process.exitCode = 1;
      }
    });
}
