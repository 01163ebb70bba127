// `corral serve`: Prometheus metrics of the cluster and its live web view over HTTP(S), read-only.
// Registered by scripts/corral.ts; the server is lib/ops/serve.ts, the metrics lib/ops/metrics.ts,
// the web view lib/ops/web.ts and lib/ops/web-page.ts.
import type { Command } from 'commander';
import { sampleNode } from '../../cluster/facts.js';
import { takeSnapshot } from '../../cluster/snapshot.js';
import { hostCibPort } from '../../host/pacemaker/cib.js';
import { fenceHistory } from '../../host/pacemaker/fencing.js';
import { localNodeName } from '../../host/pacemaker/status.js';
import { loadConfig, DEFAULT_SERVE_LISTEN } from '../../ops/config.js';
import { followEvents } from '../../ops/events.js';
import { capacityOf } from '../../ops/maintenance.js';
import { parseListen, serveSecurity, startServe } from '../../ops/serve.js';
import { UsageError } from '../errors.js';
import { nodeAccess } from './tables.js';

function seconds(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected whole seconds from ${min} to ${max}`);
  return Number(text);
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description("Serve the cluster's metrics for Prometheus at /metrics and a live web view at / (read-only; one process per node).")
    .option('--listen <host:port>', `where to listen (default: serve_listen in corral.conf, else ${DEFAULT_SERVE_LISTEN})`)
    .option('--capacity-interval <seconds>', "N+1 (crm_simulate, as corral capacity) at most this often, and only when the CIB changed", '300')
    .option('--sample-interval <seconds>', "this node's libvirt counters and the fencing history this often", '15')
    .option('--refresh-interval <seconds>', "look at the CIB's version this often, and read it again when it changed", '2')
    .option('--no-events', "do not read the cluster's events (corral events --follow) for the web view")
    .addHelpText(
      'after',
      `
GET /metrics answers in Prometheus' text format. GET / is the web view: the cluster map, N+1,
the balancer, recent events; /vm/NAME and /node/NAME a VM's and a node's page; /api/state its
data (JSON) and /api/events-stream the same pushed as server-sent events when it changes.
Nothing else is served, and nothing served changes anything.
A scrape renders the newest reading of the CIB: the CIB (when its version changed), N+1,
libvirt and the fencing history are read in the background, never inside a scrape.
Any address but loopback needs serve_tls_cert, serve_tls_key and serve_token_file in
corral.conf (TLS and a bearer token); without them corral serve refuses to start (exit 2).
With a token, a request without "Authorization: Bearer TOKEN" (or, from a browser, the token as
HTTP Basic's password, any user name) gets 401.
Metric names, labels and the shipped alert rules: README, "Metrics".`,
    )
    .action(async (o: { listen?: string; capacityInterval: string; sampleInterval: string; refreshInterval: string; events: boolean }) => {
      const capacityIntervalS = seconds('--capacity-interval', o.capacityInterval, 10, 86_400);
      const sampleIntervalS = seconds('--sample-interval', o.sampleInterval, 1, 3600);
      const refreshIntervalS = seconds('--refresh-interval', o.refreshInterval, 1, 3600);
      const config = await loadConfig();
      for (const w of config.warnings) process.stderr.write(`corral: warning: ${w}\n`);
      const listen = parseListen(o.listen ?? config.serveListen, o.listen !== undefined ? '--listen' : 'serve_listen');
      const security = await serveSecurity(listen.host, { tlsCert: config.serveTlsCert, tlsKey: config.serveTlsKey, tokenFile: config.serveTokenFile });
      const log = (line: string) => process.stderr.write(`corral serve: ${line}\n`);
      const access = await nodeAccess();
      const local = access.localNode ?? (await localNodeName().catch(() => undefined));
      const running = await startServe({
        listen,
        security,
        capacityIntervalS,
        sampleIntervalS,
        refreshIntervalS,
        sources: {
          snapshot: () => takeSnapshot(),
          version: async () => {
            const v = await hostCibPort().version();
            return `${v.adminEpoch}.${v.epoch}.${v.numUpdates}`;
          },
          capacity: (snap) => capacityOf(snap),
          ...(local
            ? {
                libvirt: async () => {
                  const s = await sampleNode(local, access);
                  return { node: local, up: !s.problems.some((p) => /^(libvirt|virsh domstats):/.test(p)), domains: s.domains };
                },
              }
            : {}),
          fencing: () => fenceHistory(),
          ...(o.events
            ? {
                // The last hour's events, then the new ones as they come (every 5 s).
                events: (emit, signal) => followEvents({ sinceMs: Date.now() - 3_600_000, auditLog: config.auditLog, nodeCommand: config.nodeCommand }, emit, { intervalMs: 5000, signal }),
              }
            : {}),
          log,
        },
      });
      log(`listening on ${running.url}/metrics (the web view: ${running.url}/)`);
      await new Promise<void>((resolve) => {
        const stop = () => void running.close().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
