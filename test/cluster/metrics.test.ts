// corral serve on a real 3-node lab cluster, scraped by a real Prometheus (Debian's package): each
// node runs `corral serve` on its lab address (not loopback, so with TLS and a bearer token, as
// corral.conf must say), a Prometheus inside n1 (its network namespace: the lab's addresses are
// reached from inside the lab, as the nodes reach each other) scrapes all three, and after
// `corral node drain n1` a PromQL query shows the VMs on their new nodes and n1 with none. The
// same lab then proves `corral events`: run in n1 (any node: it reads every node's scheduler
// inputs through the node command), it lists the drain, n1's standby and each VM's live migration
// from n1, in time order; `--follow` prints a `vm NAME migrate` within seconds. Last, the web view:
// Debian's chromium, run inside n1 (headless, its network namespace) against a corral serve on
// n1's loopback, shows every VM in its node's column; after a node crashes, the node down and its
// VMs running in other columns (screenshots in test-artifacts/). The page's live updates without a
// reload are proven in test/integration/web-view.test.ts; here each look is a fresh load. One lab
// start; the lab is undrained and destroyed afterwards (kept with CORRAL_KEEP_LAB=1).
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterExec, crashNode, createClusterLab, destroyClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import type { LabNode } from '../../lib/lab/state.js';
import { addVms, built, copyBuild, endLabTest, ok } from '../support/ops-lab.js';
import { requireRoot } from '../support/root.js';

const LAB = { name: process.env.CORRAL_METRICS_LAB ?? 'met', subnet: process.env.CORRAL_METRICS_SUBNET ?? '10.213.97' };
const VMS = ['p1', 'p2'];
const PORT = 9777;
const PROM_PORT = 9090;
const TOKEN = 'corral-metrics-lab-token-0123456789';
/** Files every node sees (the nodes see the host's /var/cache/corral). */
const DIR = '/var/cache/corral/it/metrics';
const ETC = path.join(DIR, 'etc');
const PROM = path.join(DIR, 'prometheus');
/** Pid files inside the nodes (each node has its own /run). */
const SERVE_PID = '/run/corral-serve-test.pid';
const PROM_PID = '/run/prometheus-test.pid';
const FOLLOW_PID = '/run/corral-events-follow-test.pid';
const WEB_PID = '/run/corral-serve-web-test.pid';
const WEB_DRIVER_PID = '/run/corral-web-view-driver-test.pid';
const WEB_PORT = 9778;
/** corral.conf of the web view's serve on n1's loopback (no TLS, no token: loopback needs neither). */
const WEB_ETC = path.join(DIR, 'web-etc');
const ARTIFACTS = new URL('../../test-artifacts', import.meta.url).pathname;
/** What `corral events --follow --json` prints, in a file the host sees. */
const FOLLOW_OUT = path.join(DIR, 'events-follow.jsonl');
const OPENSSL = '/usr/bin/openssl';
const DAEMON_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let lab: ClusterLab;
let n1: LabNode;

/** One event of corral events --json (the fields the test reads). */
interface Ev {
  at: string;
  kind: string;
  vm?: string;
  node?: string;
  from?: string;
  to?: string;
  seconds?: number;
  live?: boolean;
  text: string;
}

interface Row {
  metric: Record<string, string>;
  value: [number, string];
}

/** EXPR through Prometheus' HTTP API, asked inside n1 (where it listens) with promtool. */
async function query(expr: string): Promise<Row[]> {
  const r = await ok(clusterExec(n1, 'promtool', ['query', 'instant', '-o', 'json', `http://127.0.0.1:${PROM_PORT}`, expr], { timeoutMs: 30_000 }));
  return JSON.parse(r.stdout) as Row[];
}

/** Polls F every 2 s until it gives a value, for at most MS. */
async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const v = await f().catch((e: unknown) => {
      last = e;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(2000);
  }
}

/** vm → node by corral list, run in n1. */
async function listed(): Promise<Record<string, string>> {
  const list = JSON.parse((await ok(clusterExec(n1, built('corral'), ['list', '--json']))).stdout) as { vms: { name: string; node: string | null }[] };
  return Object.fromEntries(list.vms.map((v) => [v.name, String(v.node)]).sort());
}

/** vm → node as PromQL has it, when all three targets say the same; else undefined. */
async function placement(): Promise<Record<string, string> | undefined> {
  const rows = await query('count by (vm, node) (corral_vm_node == 1)');
  if (rows.some((r) => r.value[1] !== '3')) return undefined;
  return Object.fromEntries(rows.map((r) => [r.metric.vm as string, r.metric.node as string]).sort());
}

describe('corral serve scraped by Prometheus on the lab', () => {
  beforeAll(async () => {
    requireRoot('the metrics suite on the lab', 'it runs a lab cluster');
    await destroyClusterLab(LAB.name).catch(() => undefined);
    lab = await createClusterLab({ name: LAB.name, nodes: 3, subnet: LAB.subnet, timeoutMs: 300_000 });
    n1 = lab.nodes[0] as LabNode;
    await copyBuild();
    await addVms(lab, VMS.map((name) => ({ name })));
    await waitClusterIdle(lab, { timeoutMs: 300_000 });
    // Both on n1, the way an operator would gather them, then no constraint left: the drain moves both.
    await ok(clusterExec(n1, built('vm'), ['p*', 'migrate', 'n1', '--yes'], { timeoutMs: 300_000 }));
    await ok(clusterExec(n1, built('vm'), ['p*', 'clear', '--yes']));
    await waitClusterIdle(lab, { timeoutMs: 300_000 });

    // TLS for the nodes' addresses and a token: what corral serve needs off loopback.
    await rm(DIR, { recursive: true, force: true });
    await mkdir(ETC, { recursive: true, mode: 0o755 });
    await mkdir(PROM, { recursive: true, mode: 0o755 });
    for (const d of ['/var/cache/corral', '/var/cache/corral/it', DIR, ETC, PROM]) await chmod(d, 0o755);
    const san = lab.nodes.map((n) => `IP:${n.address}`).join(',');
    const gen = spawnSync(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ETC}/serve.key`, '-out', `${ETC}/serve.pem`, '-days', '1', '-subj', '/CN=corral-lab', '-addext', `subjectAltName=${san}`], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`openssl: ${gen.stderr}`);
    await chmod(`${ETC}/serve.key`, 0o600);
    await writeFile(`${ETC}/serve.token`, `${TOKEN}\n`, { mode: 0o600 });
    await writeFile(
      `${ETC}/corral.conf`,
      `libvirt_uri = qemu+tcp://{node}/system\nserve_tls_cert = ${ETC}/serve.pem\nserve_tls_key = ${ETC}/serve.key\nserve_token_file = ${ETC}/serve.token\n`,
      { mode: 0o644 },
    );

    for (const n of lab.nodes) {
      await ok(
        clusterExec(
          n,
          'start-stop-daemon',
          ['--start', '--background', '--make-pidfile', '--pidfile', SERVE_PID, '--output', '/var/log/corral/serve-test.log', '--exec', built('corral'), '--',
            'serve', '--listen', `${n.address}:${PORT}`, '--capacity-interval', '10', '--sample-interval', '5'],
          { cleanEnv: true, env: { CORRAL_ETC: ETC, PATH: DAEMON_PATH }, timeoutMs: 30_000 },
        ),
      );
    }

    await writeFile(path.join(PROM, 'token'), TOKEN, { mode: 0o600 });
    await writeFile(
      path.join(PROM, 'prometheus.yml'),
      'global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\nscrape_configs:\n  - job_name: corral\n    scheme: https\n' +
        `    tls_config:\n      ca_file: ${ETC}/serve.pem\n    authorization:\n      credentials_file: ${PROM}/token\n` +
        `    static_configs:\n      - targets: [${lab.nodes.map((n) => `'${n.address}:${PORT}'`).join(', ')}]\n`,
    );
    await ok(
      clusterExec(
        n1,
        'start-stop-daemon',
        ['--start', '--background', '--make-pidfile', '--pidfile', PROM_PID, '--output', '/var/log/corral/prometheus-test.log', '--exec', '/usr/bin/prometheus', '--',
          `--config.file=${PROM}/prometheus.yml`, `--storage.tsdb.path=${PROM}/data`, `--web.listen-address=127.0.0.1:${PROM_PORT}`, '--storage.tsdb.retention.time=1h'],
        { cleanEnv: true, env: { PATH: DAEMON_PATH }, timeoutMs: 30_000 },
      ),
    );
    await until('Prometheus to scrape every node', async () => {
      const up = await query('up{job="corral"} == 1');
      return up.length === 3 ? up : undefined;
    });
  }, 900_000);

  afterAll(async () => {
    if (!lab) return;
    for (const n of lab.nodes) {
      const pids = n === n1 ? [SERVE_PID, PROM_PID, FOLLOW_PID, WEB_DRIVER_PID, WEB_PID] : [SERVE_PID];
      for (const pid of pids) await clusterExec(n, 'start-stop-daemon', ['--stop', '--pidfile', pid, '--remove-pidfile', '--retry', '10'], { timeoutMs: 30_000 }).catch(() => undefined);
    }
    // Reusable when kept: n1 back in service (the VMs stay where they went).
    if (n1) await clusterExec(n1, built('corral'), ['node', 'undrain', 'n1'], { timeoutMs: 120_000 }).catch(() => undefined);
    await rm(PROM, { recursive: true, force: true });
    await endLabTest(lab, undefined);
  }, 300_000);

  it('off loopback, corral serve refuses to start without TLS and a token', async () => {
    const refused = await clusterExec(n1, built('corral'), ['serve', '--listen', `${n1.address}:${PORT + 1}`], { cleanEnv: true, env: { CORRAL_ETC: '/nonexistent', PATH: DAEMON_PATH }, timeoutMs: 30_000 });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/not loopback, without TLS and a bearer token/);
  });

  it('every node answers Prometheus, over TLS with the token, what corral list says', async () => {
    const want = await listed();
    expect(Object.keys(want)).toEqual(VMS);
    const got = await until('every target to agree with corral list', async () => {
      const p = await placement();
      return JSON.stringify(p) === JSON.stringify(want) ? p : undefined;
    });
    expect(got).toEqual(want);
    expect((await query('min(ha_cluster_corosync_quorate)'))[0]?.value[1]).toBe('1');
    // Each node's libvirt answered its own serve.
    const libvirt = await until('every libvirt up', async () => {
      const rows = await query('corral_node_libvirt_up == 1');
      return rows.length === 3 ? rows : undefined;
    });
    expect(libvirt.map((r) => r.metric.node).sort()).toEqual(['n1', 'n2', 'n3']);
  }, 300_000);

  it('after corral node drain n1, PromQL shows the VMs on their new nodes and n1 with none', async () => {
    const before = await listed();
    expect(before).toEqual({ p1: 'n1', p2: 'n1' });
    await ok(clusterExec(n1, built('corral'), ['node', 'drain', 'n1'], { timeoutMs: 600_000 }));
    await waitClusterIdle(lab, { timeoutMs: 300_000 });
    const want = await listed();
    expect(Object.keys(want)).toEqual(VMS);
    expect(Object.values(want)).not.toContain('n1');
    expect(Object.values(want).every((n) => n === 'n2' || n === 'n3')).toBe(true);

    const got = await until('the drain in Prometheus', async () => {
      const p = await placement();
      return JSON.stringify(p) === JSON.stringify(want) ? p : undefined;
    });
    expect(got).toEqual(want);
    console.log(`metrics lab: before the drain ${JSON.stringify(before)}, after it (PromQL count by (vm, node) (corral_vm_node == 1)) ${JSON.stringify(got)}`);
    // n1 holds nothing and is drained, in what every target exports.
    expect(await query('corral_vm_node{node="n1"}')).toEqual([]);
    const onN1 = await query('corral_node_vms{node="n1"}');
    expect(onN1.map((r) => r.value[1])).toEqual(['0', '0', '0']);
    const drained = await until('n1 drained on every target', async () => {
      const rows = await query('corral_node_state{node="n1",state="drained"} == 1');
      return rows.length === 3 ? rows : undefined;
    });
    expect(drained).toHaveLength(3);
    // Both left n1 live: their migration counters went up.
    for (const vm of VMS) {
      const moved = await until(`${vm}'s migration counted`, async () => {
        const rows = await query(`max(corral_vm_migrations_total{vm="${vm}"})`);
        return Number(rows[0]?.value[1]) > 0 ? rows : undefined;
      }, 60_000);
      expect(Number(moved[0]?.value[1])).toBeGreaterThan(0);
    }
  }, 900_000);

  it('corral events, run in n1, lists the drain, n1 in standby and each VM migrated live from n1, in time order', async () => {
    const placed = await listed();
    const r = await ok(clusterExec(n1, built('corral'), ['events', '--since', '30m', '--json'], { timeoutMs: 120_000 }));
    const report = JSON.parse(r.stdout) as { events: Ev[]; sources: { source: string; records: number; problem?: string }[] };
    const ev = report.events;
    console.log(`metrics lab: corral events --since 30m in n1:\n${ev.map((e) => `  ${e.at}  ${e.text}`).join('\n')}\nsources: ${JSON.stringify(report.sources)}`);
    const times = ev.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const drain = ev.findIndex((e) => e.kind === 'node-draining' && e.node === 'n1');
    const standby = ev.findIndex((e) => e.kind === 'node-standby' && e.node === 'n1');
    const drained = ev.findIndex((e) => e.kind === 'node-drained' && e.node === 'n1');
    expect(drain).toBeGreaterThanOrEqual(0);
    expect(standby).toBeGreaterThan(drain);
    expect(drained).toBeGreaterThan(standby);
    for (const vm of VMS) {
      // The last migration of VM away from n1: to where corral list has it now, live, after n1 went into standby.
      const i = ev.map((e, k) => (e.kind === 'vm-migrated' && e.vm === vm && e.from === 'n1' ? k : -1)).reduce((a, b) => Math.max(a, b), -1);
      expect(i, `${vm}'s migration from n1`).toBeGreaterThan(standby);
      expect(i).toBeLessThan(drained);
      expect(ev[i]).toMatchObject({ to: placed[vm], live: true });
      expect(ev[i]?.seconds).toBeGreaterThan(0);
    }
    // n1 was not necessarily the DC: the scheduler inputs came from whichever node wrote them.
    expect(report.sources.filter((s) => s.source.startsWith('scheduler inputs of') && s.records > 0).length).toBeGreaterThan(0);
  }, 300_000);

  it('corral events --follow prints a vm migrate within seconds', async () => {
    const placed = await listed();
    const from = placed.p1 as string;
    const to = from === 'n2' ? 'n3' : 'n2';
    await rm(FOLLOW_OUT, { force: true });
    await ok(
      clusterExec(
        n1,
        'start-stop-daemon',
        ['--start', '--background', '--make-pidfile', '--pidfile', FOLLOW_PID, '--output', FOLLOW_OUT, '--exec', built('corral'), '--', 'events', '--follow', '--json', '--since', '10s'],
        { timeoutMs: 30_000 },
      ),
    );
    // Its first look is done once it has printed nothing new for a while; give it a few seconds.
    await sleep(5000);
    const t0 = Date.now();
    await ok(clusterExec(n1, built('vm'), ['p1', 'migrate', to, '--yes'], { timeoutMs: 300_000 }));
    const done = Date.now();
    const line = await until(
      'the migration in corral events --follow',
      async () => {
        const text = await readFile(FOLLOW_OUT, 'utf8').catch(() => '');
        const e = text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Ev)
          .find((x) => x.kind === 'vm-migrated' && x.vm === 'p1' && x.from === from && x.to === to && Date.parse(x.at) >= t0 - 1000);
        return e ? { e, seenMs: Date.now() } : undefined;
      },
      60_000,
    );
    console.log(`metrics lab: vm p1 migrate ${to} took ${((done - t0) / 1000).toFixed(1)} s; corral events --follow printed "${line.e.text}" ${((line.seenMs - done) / 1000).toFixed(1)} s after it returned`);
    expect(line.e.live).toBe(true);
    expect(line.seenMs - done).toBeLessThan(10_000);
    await ok(clusterExec(n1, 'start-stop-daemon', ['--stop', '--pidfile', FOLLOW_PID, '--remove-pidfile', '--retry', '10'], { timeoutMs: 30_000 }));
    await ok(clusterExec(n1, built('vm'), ['p1', 'clear', '--yes']));
  }, 600_000);

  it('the web view in chromium inside n1: every VM on its node; after a node crash, the node down and its VMs back elsewhere', async () => {
    // Three nodes for the crashed node's VMs to go to.
    const undrain = await clusterExec(n1, built('corral'), ['node', 'undrain', 'n1'], { timeoutMs: 300_000 });
    if (undrain.exitCode !== 0 && !/is not drained/.test(undrain.stderr)) throw new Error(`corral node undrain n1 exited ${undrain.exitCode}: ${undrain.stderr}`);
    await waitClusterIdle(lab, { timeoutMs: 300_000 });
    await mkdir(WEB_ETC, { recursive: true, mode: 0o755 });
    await chmod(WEB_ETC, 0o755);
    await writeFile(path.join(WEB_ETC, 'corral.conf'), 'libvirt_uri = qemu+tcp://{node}/system\n', { mode: 0o644 });
    await ok(
      clusterExec(
        n1,
        'start-stop-daemon',
        ['--start', '--background', '--make-pidfile', '--pidfile', WEB_PID, '--output', '/var/log/corral/serve-web-test.log', '--exec', built('corral'), '--',
          'serve', '--listen', `127.0.0.1:${WEB_PORT}`, '--capacity-interval', '10', '--refresh-interval', '1'],
        { cleanEnv: true, env: { CORRAL_ETC: WEB_ETC, PATH: DAEMON_PATH }, timeoutMs: 30_000 },
      ),
    );
    // One page, opened once and watched (test/cluster/web-view-driver.mjs, inside n1): it must follow the cluster without a reload.
    const seenFile = path.join(DIR, 'web-view-seen.json');
    await rm(seenFile, { force: true });
    await ok(
      clusterExec(
        n1,
        'start-stop-daemon',
        ['--start', '--background', '--make-pidfile', '--pidfile', WEB_DRIVER_PID, '--output', '/var/log/corral/web-view-driver.log', '--exec', process.execPath, '--',
          new URL('web-view-driver.mjs', import.meta.url).pathname, `http://127.0.0.1:${WEB_PORT}/`, seenFile],
        { timeoutMs: 30_000 },
      ),
    );
    /** What the page shows now: each VM tile's column and state, each node's state. */
    const page = async (): Promise<{ vms: Record<string, string>; nodes: Record<string, string>; firstLoad: boolean; at: number }> => JSON.parse(await readFile(seenFile, 'utf8'));
    const shot = async (name: string) => {
      await sleep(1200);
      await mkdir(ARTIFACTS, { recursive: true });
      await writeFile(path.join(ARTIFACTS, name), await readFile(path.join(DIR, 'web-view-lab-latest.png')));
    };
    const running = async () => Object.fromEntries(Object.entries(await listed()).map(([vm, node]) => [vm, `${node}:running`]));
    // A VM on a node other than n1, for the crash to take away.
    if (Object.values(await listed()).every((n) => n === 'n1')) {
      await ok(clusterExec(n1, built('vm'), ['p2', 'migrate', 'n2', '--yes'], { timeoutMs: 300_000 }));
      await ok(clusterExec(n1, built('vm'), ['p2', 'clear', '--yes']));
      await waitClusterIdle(lab, { timeoutMs: 300_000 });
    }
    const want = await running();
    let seen: unknown;
    const shown = await until(`the page to show every VM on its node (${JSON.stringify(want)})`, async () => {
      const p = await page();
      seen = p;
      const sorted = (o: Record<string, string>) => JSON.stringify(Object.entries(o).sort());
      return sorted(p.vms) === sorted(want) ? p : undefined;
    }, 90_000).catch((e: Error) => {
      throw new Error(`${e.message}; the page showed ${JSON.stringify(seen)}`);
    });
    expect(Object.keys(shown.nodes).sort()).toEqual(['n1', 'n2', 'n3']);
    await shot('web-view-lab.png');

    // Not n1, where the page is watched.
    const victim = ['n2', 'n3'].find((n) => Object.values(want).some((w) => w.startsWith(`${n}:`))) ?? 'n2';
    const onVictim = VMS.filter((v) => want[v]?.startsWith(`${victim}:`));
    const t0 = Date.now();
    await crashNode(lab, victim);
    const down = await until(`the page to show ${victim} down`, async () => {
      const p = await page();
      return /^(offline|unclean)$/.test(p.nodes[victim] ?? '') ? { p, ms: Date.now() - t0 } : undefined;
    }, 180_000);
    await shot('web-view-lab-down.png');
    const back = await until(`the page to show ${onVictim.join(', ')} running on another node`, async () => {
      const p = await page();
      return onVictim.every((v) => /^n\d:running$/.test(p.vms[v] ?? '') && !p.vms[v]?.startsWith(`${victim}:`)) ? { p, ms: Date.now() - t0 } : undefined;
    }, 300_000);
    expect(back.p.firstLoad).toBe(true);
    await shot('web-view-lab-crashed.png');
    console.log(`metrics lab: web view after ${victim} crashed: shown ${down.p.nodes[victim]} ${(down.ms / 1000).toFixed(1)} s after, ${onVictim.map((v) => `${v} on ${back.p.vms[v]}`).join(', ')} ${(back.ms / 1000).toFixed(1)} s after`);
    // The fence device reboots it; it rejoins before the lab is torn down.
    await waitClusterIdle(lab, { timeoutMs: 300_000 }).catch(() => undefined);
  }, 900_000);
});
