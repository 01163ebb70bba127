// `corral serve`: Prometheus metrics of the cluster over HTTP(S), read-only. Registered by
// scripts/corral.ts; the server is lib/ops/serve.ts, the metrics lib/ops/metrics.ts.
import type { Command } from 'commander';
import { sampleNode } from '../../cluster/facts.js';
import { takeSnapshot } from '../../cluster/snapshot.js';
import { hostCibPort } from '../../host/pacemaker/cib.js';
import { fenceHistory } from '../../host/pacemaker/fencing.js';
import { localNodeName } from '../../host/pacemaker/status.js';
import { loadConfig, DEFAULT_SERVE_LISTEN } from '../../ops/config.js';
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
    .description("Serve the cluster's metrics for Prometheus at /metrics (read-only; one process per node).")
    .option('--listen <host:port>', `where to listen (default: serve_listen in corral.conf, else ${DEFAULT_SERVE_LISTEN})`)
    .option('--capacity-interval <seconds>', "N+1 (crm_simulate, as corral capacity) at most this often, and only when the CIB changed", '300')
    .option('--sample-interval <seconds>', "this node's libvirt counters and the fencing history this often", '15')
    .option('--refresh-interval <seconds>', "look at the CIB's version this often, and read it again when it changed", '2')
    .addHelpText(
      'after',
      `
GET /metrics answers in Prometheus' text format; GET / lists what is served; nothing else is.
A scrape renders the newest reading of the CIB: the CIB (when its version changed), N+1,
libvirt and the fencing history are read in the background, never inside a scrape.
Any address but loopback needs serve_tls_cert, serve_tls_key and serve_token_file in
corral.conf (TLS and a bearer token); without them corral serve refuses to start (exit 2).
With a token, a request without "Authorization: Bearer TOKEN" gets 401.
Metric names, labels and the shipped alert rules: README, "Metrics".`,
    )
    .action(async (o: { listen?: string; capacityInterval: string; sampleInterval: string; refreshInterval: string }) => {
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
          log,
        },
      });
      log(`listening on ${running.url}/metrics`);
      await new Promise<void>((resolve) => {
        const stop = () => void running.close().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
