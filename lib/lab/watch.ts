// A watcher for the lab's safety invariants, sampled while a scenario runs (end-to-end tests,
// bench, demo):
//   - no VM ever has a qemu process on two nodes at once — except a live migration's target
//     (a qemu started with -incoming, younger than the source, for at most the migration timeout);
//   - no VM definition the scenario expects ever disappears from the CIB.
// The process side reads /proc (lib/host/procs.ts, one pass per sample for all nodes); the CIB side asks a
// node that answers (cibadmin --query --scope resources) about once a second.
import { queryCib } from '../host/pacemaker/cib.js';
import { parseXNode, walk } from '../cib/model.js';
import { nodeVia } from './boot.js';
import { nodeInitPid } from './node.js';
import type { Lab } from './state.js';
import { argvOf, commOf, domainNameOf, pidNamespaceOf, procPids, startTicksOf, statusOf, uptimeSeconds } from '../host/procs.js';

export interface Violation {
  at: number;
  kind: 'double' | 'cib';
  vm: string;
  detail: string;
}

export interface SeenQemu {
  vm: string;
  node: string;
  pid: number;
  incoming: boolean;
  /** When the process started (ms since the epoch, from /proc, ±10 ms). */
  startedMs: number;
  /** First and last sample that saw it. */
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface WatchReport {
  samples: number;
  cibSamples: number;
  /** The longest gap between two process samples (ms): how fine-grained the watch really was. */
  maxGapMs: number;
  violations: Violation[];
  /** Live migration overlaps seen: VM → the longest time two qemus coexisted (ms). */
  migrations: Map<string, number>;
}

export interface WatchOptions {
  intervalMs?: number;
  cibEveryMs?: number;
  /** How long a migration target may coexist with its source (default 120 s, the op timeout). */
  maxMigrationMs?: number;
}

const HZ = 100; // USER_HZ

export class LabWatcher {
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastCib = 0;
  private lastSample = 0;
  private readonly expected = new Set<string>();
  readonly seen = new Map<string, SeenQemu>(); // key node/pid
  private readonly overlapSince = new Map<string, number>();
  private readonly reported = new Set<string>();
  readonly report: WatchReport = { samples: 0, cibSamples: 0, maxGapMs: 0, violations: [], migrations: new Map() };
  private readonly intervalMs: number;
  private readonly cibEveryMs: number;
  private readonly maxMigrationMs: number;

  constructor(private readonly lab: Lab, opts: WatchOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 200;
    this.cibEveryMs = opts.cibEveryMs ?? 1000;
    this.maxMigrationMs = opts.maxMigrationMs ?? 120_000;
  }

  /** From now on, resource ID must stay in the CIB. */
  expect(id: string): void {
    this.expected.add(id);
  }

  /** ID may leave the CIB (the scenario removes it). */
  forget(id: string): void {
    this.expected.delete(id);
  }

  start(): this {
    const loop = async () => {
      while (!this.stopped) {
        const t = Date.now();
        try {
          await this.sample();
        } catch {
          // a node changing state under us: the next sample sees it settled
        }
        const wait = Math.max(0, this.intervalMs - (Date.now() - t));
        await new Promise<void>((r) => {
          this.wake = r;
          this.timer = setTimeout(r, wait);
        });
      }
    };
    this.running = loop();
    return this;
  }

  async stop(): Promise<WatchReport> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.running;
    return this.report;
  }

  /** Violations after index FROM (see mark()). */
  violationsSince(from: number): Violation[] {
    return this.report.violations.slice(from);
  }

  mark(): number {
    return this.report.violations.length;
  }

  /** The qemu processes of VM seen so far (oldest first). */
  qemusOf(vm: string): SeenQemu[] {
    return [...this.seen.values()].filter((q) => q.vm === vm).sort((a, b) => a.startedMs - b.startedMs);
  }

  private async sample(): Promise<void> {
    const now = Date.now();
    if (this.lastSample) this.report.maxGapMs = Math.max(this.report.maxGapMs, now - this.lastSample);
    this.lastSample = now;
    // pid namespace of each powered-on node
    const nsOf = new Map<string, string>();
    for (const n of this.lab.nodes) {
      const init = await nodeInitPid(n).catch(() => undefined);
      if (init === undefined) continue;
      const link = pidNamespaceOf(init);
      if (link) nsOf.set(link, n.name);
    }
    const uptime = uptimeSeconds();
    const current: SeenQemu[] = [];
    for (const pid of procPids()) {
      if (!commOf(pid)?.startsWith('qemu-system')) continue;
      const node = nsOf.get(pidNamespaceOf(pid) ?? '');
      if (node === undefined) continue;
      const status = statusOf(pid);
      if (!status || status.state === 'Z') continue;
      const cmdline = argvOf(pid) ?? [];
      const vm = domainNameOf(cmdline);
      const ticks = startTicksOf(pid);
      if (vm === undefined || ticks === undefined) continue;
      const key = `${node}/${pid}`;
      const known = this.seen.get(key);
      const q: SeenQemu = known ?? {
        vm,
        node,
        pid,
        incoming: cmdline.includes('-incoming'),
        startedMs: Math.round(now - (uptime - ticks / HZ) * 1000),
        firstSeenMs: now,
        lastSeenMs: now,
      };
      q.lastSeenMs = now;
      this.seen.set(key, q);
      current.push(q);
    }
    this.report.samples++;

    const byVm = new Map<string, SeenQemu[]>();
    for (const q of current) byVm.set(q.vm, [...(byVm.get(q.vm) ?? []), q]);
    for (const [vm, qs] of byVm) {
      const nodes = new Set(qs.map((q) => q.node));
      if (nodes.size < 2) {
        this.overlapSince.delete(vm);
        this.reported.delete(vm);
        continue;
      }
      const sorted = [...qs].sort((a, b) => a.startedMs - b.startedMs);
      const younger = sorted[sorted.length - 1]!;
      const since = this.overlapSince.get(vm) ?? now;
      this.overlapSince.set(vm, since);
      const migration = qs.length === 2 && younger.incoming && now - since <= this.maxMigrationMs;
      if (migration) {
        this.report.migrations.set(vm, Math.max(this.report.migrations.get(vm) ?? 0, now - since));
        continue;
      }
      if (this.reported.has(vm)) continue; // once per episode
      this.reported.add(vm);
      this.report.violations.push({
        at: now,
        kind: 'double',
        vm,
        detail: `qemu of ${vm} on ${qs.map((q) => `${q.node} (pid ${q.pid}${q.incoming ? ', incoming' : ''})`).join(' and ')}`,
      });
    }

    for (const vm of [...this.overlapSince.keys()]) {
      if (!byVm.has(vm)) {
        this.overlapSince.delete(vm);
        this.reported.delete(vm);
      }
    }

    if (this.expected.size > 0 && now - this.lastCib >= this.cibEveryMs) {
      this.lastCib = now;
      await this.checkCib(now);
    }
  }

  private async checkCib(now: number): Promise<void> {
    for (const n of this.lab.nodes) {
      if ((await nodeInitPid(n).catch(() => undefined)) === undefined) continue;
      let xml: string;
      try {
        xml = await queryCib({ scope: 'resources' }, nodeVia(n, 5000));
      } catch {
        continue; // this node's CIB manager does not answer (booting, shutting down): ask another
      }
      const root = parseXNode(xml);
      const ids = new Set<string>();
      for (const el of [root, ...walk(root)]) if (el.tag === 'primitive' && el.attrs.id) ids.add(el.attrs.id);
      this.report.cibSamples++;
      for (const id of this.expected) {
        if (!ids.has(id)) this.report.violations.push({ at: now, kind: 'cib', vm: id, detail: `${id} is missing from the CIB (asked ${n.name})` });
      }
      return;
    }
  }
}
