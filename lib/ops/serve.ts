// `corral serve`: Prometheus' /metrics over HTTP(S), read-only. A scrape renders lib/ops/metrics.ts
// from the newest reading of the CIB; everything that costs runs in the background and is only
// read by a scrape: the CIB itself (its version looked at every refresh interval, 2 s, and read
// again when it changed: on 1000 VMs the reading costs seconds of CPU, the rendering a tenth), N+1 (corral capacity's crm_simulate runs,
// at most once per capacity interval and only when the CIB changed since the last answer), this
// node's libvirt counters and the fencing history (once per sample interval).
//
// It also serves the web view, read-only, from the same readings: the page (/, /vm/NAME,
// /node/NAME: lib/ops/web-page.ts), its data (/api/state: lib/ops/web.ts) and the same data pushed
// as server-sent events (/api/events-stream) whenever the reading changes (a new CIB version, a
// new N+1 answer, new events), so that the page follows the cluster without reloading.
//
// Security: GET and HEAD only (405 for other methods, 404 for other paths); bounded header size
// (8 KiB: 431), header and request timeouts, a bound on connections and on event streams.
// Listening on anything but loopback needs TLS (certificate and key) and a bearer token (a
// root-only file), from corral.conf; without them it refuses to start. With a token, every
// request without it gets 401, whatever the path: one rule. A browser, which cannot send a
// bearer header when it opens a page, may carry the same token as HTTP Basic's password (any user
// name): the 401 offers both, so the browser asks for it once and sends it with every request.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import { CorralError } from '../errors.js';
import type { Snapshot } from '../cluster/snapshot.js';
import type { CapacityReport } from '../plan/capacity.js';
import type { FenceEvent } from '../host/pacemaker/fencing.js';
import type { ClusterEvent } from '../cluster/events.js';
import { readDecisionRecord } from './balance.js';
import { OperationCounters, renderMetrics, type CapacityState, type LibvirtState } from './metrics.js';
import { webState } from './web.js';
import { PAGE_CSS, PAGE_JS, pageHtml } from './web-page.js';

/** Input or settings corral serve will not start with (exit 2). */
class ServeRefused extends CorralError {
  readonly kind = 'refused';
  override name = 'ServeRefused';
}

/** The server could not start (the address is taken, a file could not be read): exit 1. */
class ServeFailed extends CorralError {
  readonly kind = 'failed';
  override name = 'ServeFailed';
}

export interface Listen {
  host: string;
  port: number;
}

/** HOST:PORT or [IPv6]:PORT. */
export function parseListen(text: string, what = '--listen'): Listen {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ServeRefused(`${what} ${JSON.stringify(text)}: expected HOST:PORT with a port from 0 (any free one) to 65535, e.g. 127.0.0.1:9777 or [::1]:9777`);
  const host = (m[1] ?? m[2]) as string;
  if (m[1] !== undefined && isIP(host) !== 6) throw new ServeRefused(`${what} ${JSON.stringify(text)}: ${host} is not an IPv6 address`);
  return { host, port };
}

/** Whether HOST is this machine's loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

export interface ServeSecurity {
  tls?: { cert: Buffer; key: Buffer };
  /** The bearer token every request must carry. */
  token?: string;
}

/** corral.conf's serve settings, in the form the security check reads. */
export interface ServeSettings {
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tokenFile: string | undefined;
}

/** A file that must be root's only (the key, the token): owned by root, no access for group or others. */
async function readSecret(p: string, what: string): Promise<Buffer> {
  let s;
  try {
    s = await stat(p);
  } catch (e) {
    throw new ServeFailed(`cannot read ${what} ${p}: ${(e as Error).message}`);
  }
  if (s.uid !== 0 || (s.mode & 0o077) !== 0) throw new ServeRefused(`${what} ${p} must belong to root and be readable by root only (chmod 600)`);
  return readFile(p);
}

/**
 * The TLS and token corral serve uses on HOST, from SETTINGS; refuses (ServeRefused) any address
 * but loopback without TLS and a token.
 */
export async function serveSecurity(host: string, settings: ServeSettings): Promise<ServeSecurity> {
  const { tlsCert, tlsKey, tokenFile } = settings;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new ServeRefused('corral.conf: serve_tls_cert and serve_tls_key go together: set both or neither');
  if (!isLoopback(host)) {
    const missing = [tlsCert === undefined ? 'serve_tls_cert and serve_tls_key' : '', tokenFile === undefined ? 'serve_token_file' : ''].filter(Boolean);
    if (missing.length) throw new ServeRefused(`refusing to listen on ${host}, which is not loopback, without TLS and a bearer token: set ${missing.join(' and ')} in corral.conf (or listen on 127.0.0.1)`);
  }
  const out: ServeSecurity = {};
  if (tlsCert !== undefined && tlsKey !== undefined) {
    const cert = await readFile(tlsCert).catch((e: Error) => {
      throw new ServeFailed(`cannot read the TLS certificate ${tlsCert}: ${e.message}`);
    });
    out.tls = { cert, key: await readSecret(tlsKey, 'the TLS key') };
  }
  if (tokenFile !== undefined) {
    const token = (await readSecret(tokenFile, 'the token file')).toString('utf8').trim();
    if (token.length < 16 || /\s/.test(token)) throw new ServeRefused(`the token in ${tokenFile} must be one word of at least 16 characters`);
    out.token = token;
  }
  return out;
}

/** What the server reads the cluster with (the real ones in lib/cli/corral/serve.ts; tests hand in their own). */
interface ServeSources {
  snapshot: () => Promise<Snapshot>;
  /** The CIB's version, cheaply (admin_epoch.epoch.num_updates); without it every refresh reads the CIB. */
  version?: () => Promise<string>;
  /** N+1 of SNAP (corral capacity's answer). */
  capacity?: (snap: Snapshot) => Promise<CapacityReport>;
  /** This node's libvirt counters. */
  libvirt?: () => Promise<LibvirtState>;
  fencing?: () => Promise<FenceEvent[]>;
  /** The cluster's events as they happen (corral events --follow): each new one handed to EMIT, until SIGNAL. */
  events?: (emit: (e: ClusterEvent) => void, signal: AbortSignal) => Promise<void>;
  log: (line: string) => void;
}

export interface ServeOptions {
  listen: Listen;
  security: ServeSecurity;
  sources: ServeSources;
  /** Seconds between N+1 answers at most (and only when the CIB changed). */
  capacityIntervalS: number;
  /** Seconds between libvirt and fencing samples. */
  sampleIntervalS: number;
  /** Seconds between looks at the CIB's version (a new reading when it changed). */
  refreshIntervalS: number;
}

/** The CIB's version: it changes with every configuration or status update. */
function cibVersion(snap: Snapshot): string {
  const a = snap.root.attrs;
  return `${a.admin_epoch ?? ''}.${a.epoch ?? ''}.${a.num_updates ?? ''}`;
}

/** The state the background keeps and scrapes read. */
class Collector {
  readonly counters = new OperationCounters();
  capacity: CapacityState | undefined;
  libvirt: LibvirtState | undefined;
  fencing: FenceEvent[] | null | undefined;
  private reading: Promise<{ snap: Snapshot | null; error?: string; seconds: number }> | undefined;
  private readVersion: string | undefined;
  private refreshing = false;
  private capacityVersion: string | undefined;
  private capacityRunning = false;
  private timers: NodeJS.Timeout[] = [];
  /** The newest events (at most KEPT_EVENTS), or null when none are read. */
  private events: ClusterEvent[] | null = null;
  private readonly stopEvents = new AbortController();
  /** Called when what the web view shows changed (a new reading, N+1 answer or event). */
  private readonly listeners = new Set<() => void>();
  private changeTimer: NodeJS.Timeout | undefined;
  private lastVersion: string | undefined;
  private stateCache: { inputs: unknown[]; text: string } | undefined;

  constructor(private readonly o: ServeOptions) {}

  onChange(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** Tells the listeners, once for changes that come together (within 100 ms). */
  private changed(): void {
    if (this.changeTimer || this.listeners.size === 0) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      for (const f of this.listeners) f();
    }, 100);
  }

  /** The web view's JSON from the newest reading (made once for the same inputs: every open page asks for it at each change). */
  async state(): Promise<string> {
    const r = await this.read();
    const balancerDecisions = await readDecisionRecord();
    const inputs = [r.snap ?? r.error, this.capacity, this.events?.length ?? -1, this.events?.[this.events.length - 1], balancerDecisions?.last.at];
    if (this.stateCache && this.stateCache.inputs.every((x, i) => x === inputs[i])) return this.stateCache.text;
    const text = JSON.stringify(
      webState({ snap: r.snap, ...(r.error ? { snapError: r.error } : {}), version: r.snap ? cibVersion(r.snap) : '', ...(this.capacity ? { capacity: this.capacity } : {}), ...(balancerDecisions ? { balancerDecisions } : {}), events: this.events }),
    );
    this.stateCache = { inputs, text };
    return text;
  }

  /**
   * The newest reading of the CIB. The background re-reads it when its version changed (refreshTick);
   * a scrape only waits for the very first reading.
   */
  read(): Promise<{ snap: Snapshot | null; error?: string; seconds: number }> {
    return this.reading ?? this.refresh();
  }

  private refresh(): Promise<{ snap: Snapshot | null; error?: string; seconds: number }> {
    const t0 = process.hrtime.bigint();
    const p = this.o.sources.snapshot().then(
      (snap) => {
        this.counters.observe(snap);
        const v = cibVersion(snap);
        if (v !== this.lastVersion) {
          this.lastVersion = v;
          this.changed();
        }
        return { snap, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
      },
      (e: unknown) => {
        const error = (e as Error).message.split('\n')[0] ?? String(e);
        this.o.sources.log(`reading the cluster failed: ${error}`);
        return { snap: null, error, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
      },
    );
    if (!this.reading) this.reading = p;
    return p.then((r) => {
      this.reading = Promise.resolve(r);
      return r;
    });
  }

  /** A new reading when the CIB's version changed (or could not be asked); never two at once. */
  private async refreshTick(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const version = await this.o.sources.version?.().catch(() => undefined);
      if (version !== undefined && version === this.readVersion) return;
      const r = await this.refresh();
      this.readVersion = r.snap ? cibVersion(r.snap) : undefined;
    } finally {
      this.refreshing = false;
    }
  }

  async metrics(): Promise<string> {
    const r = await this.read();
    const balancerDecisions = await readDecisionRecord();
    return renderMetrics({ snap: r.snap, ...(r.error ? { snapError: r.error } : {}), snapSeconds: r.seconds, capacity: this.capacity, libvirt: this.libvirt, fencing: this.fencing, counters: this.counters, ...(balancerDecisions ? { balancerDecisions } : {}) });
  }

  /** N+1, when the CIB changed since the last answer; never two at once. */
  private async capacityTick(): Promise<void> {
    const cap = this.o.sources.capacity;
    if (!cap || this.capacityRunning) return;
    this.capacityRunning = true;
    try {
      const { snap } = await this.read();
      if (!snap || cibVersion(snap) === this.capacityVersion) return;
      const version = cibVersion(snap);
      const t0 = Date.now();
      try {
        const report = await cap(snap);
        this.capacity = { report, at: Math.round(Date.now() / 1000), seconds: (Date.now() - t0) / 1000 };
        this.changed();
        if (report.nPlusOne === null) this.o.sources.log(`N+1: Pacemaker could not say: ${report.nodes.flatMap((n) => n.ifFails.errors ?? []).join('; ')}`);
      } catch (e) {
        const error = (e as Error).message.split('\n')[0] ?? String(e);
        this.capacity = { report: null, at: Math.round(Date.now() / 1000), seconds: (Date.now() - t0) / 1000, error };
        this.o.sources.log(`N+1 could not be asked: ${error}`);
      }
      this.capacityVersion = version;
    } finally {
      this.capacityRunning = false;
    }
  }

  private async sampleTick(): Promise<void> {
    const { libvirt, fencing, log } = this.o.sources;
    await Promise.all([
      libvirt?.().then((s) => {
        this.libvirt = s;
      }),
      fencing?.().then(
        (f) => {
          this.fencing = f;
        },
        (e: unknown) => {
          if (this.fencing !== null) log(`the fencing history could not be read: ${(e as Error).message.split('\n')[0]}`);
          this.fencing = null;
        },
      ),
    ]).catch((e: unknown) => log(`sampling failed: ${(e as Error).message}`));
  }

  start(): void {
    const every = (s: number, f: () => Promise<void>) => {
      void f();
      const t = setInterval(() => void f(), s * 1000);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.refreshIntervalS, () => this.refreshTick());
    every(this.o.sampleIntervalS, () => this.sampleTick());
    every(this.o.capacityIntervalS, () => this.capacityTick());
    const events = this.o.sources.events;
    if (events) {
      this.events = [];
      events((e) => {
        const list = this.events ?? (this.events = []);
        list.push(e);
        if (list.length > KEPT_EVENTS) list.splice(0, list.length - KEPT_EVENTS);
        this.changed();
      }, this.stopEvents.signal).catch((e: unknown) => {
        this.o.sources.log(`the events could not be read, the web view shows none: ${(e as Error).message.split('\n')[0]}`);
        this.events = null;
        this.changed();
      });
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.stopEvents.abort();
    this.listeners.clear();
  }
}

/** The events the web view keeps (the newest). */
const KEPT_EVENTS = 200;
/** Event streams open at once, at most (each holds a connection). */
const MAX_STREAMS = 64;

/** The token a request carries: as a bearer token, or as HTTP Basic's password (a browser). */
function tokenOk(req: IncomingMessage, token: string): boolean {
  const auth = req.headers.authorization ?? '';
  let given = /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth)?.[1];
  if (given === undefined && basic !== undefined) {
    const text = Buffer.from(basic, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon >= 0) given = text.slice(colon + 1);
  }
  if (given === undefined) return false;
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(given), h(token));
}

/** What every answer of the web view carries: nothing from elsewhere runs or frames it. */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const STATIC: Record<string, { type: string; body: string }> = {
  '/static/corral.css': { type: 'text/css; charset=utf-8', body: PAGE_CSS },
  '/static/corral.js': { type: 'text/javascript; charset=utf-8', body: PAGE_JS },
};

/** /vm/NAME or /node/NAME: the kind and the name (decoded), or null; undefined for another path. */
function namedPage(p: string): { kind: 'vm' | 'node'; name: string } | null | undefined {
  const m = /^\/(vm|node)\/([^/]+)$/.exec(p);
  if (!m) return undefined;
  try {
    return { kind: m[1] as 'vm' | 'node', name: decodeURIComponent(m[2] as string) };
  } catch {
    return null;
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}, head = false): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...headers });
  res.end(head ? undefined : body);
}

export interface RunningServer {
  server: Server;
  /** The address it listens on (the port chosen when 0 was asked). */
  address: Listen;
  url: string;
  close: () => Promise<void>;
}

/** Starts the server and the background work; resolves once it listens. */
export async function startServe(o: ServeOptions): Promise<RunningServer> {
  const collector = new Collector(o);
  const streams = new Set<ServerResponse>();
  const failed = (what: string, res: ServerResponse, head: boolean) => (e: unknown) => {
    o.sources.log(`${what} failed: ${(e as Error).message}`);
    send(res, 500, `${what} could not be made (see the log)\n`, {}, head);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const head = req.method === 'HEAD';
    if (o.security.token !== undefined && !tokenOk(req, o.security.token)) {
      send(res, 401, 'a bearer token is required (as "Authorization: Bearer TOKEN", or as the password of HTTP Basic)\n', { 'WWW-Authenticate': ['Bearer realm="corral"', 'Basic realm="corral", charset="UTF-8"'] }, head);
      return;
    }
    const named = namedPage(path);
    if (path === '/favicon.ico' && (req.method === 'GET' || head)) {
      // No icon: an empty answer rather than a 404 in every browser's console.
      res.writeHead(204, { 'Cache-Control': 'max-age=86400' });
      res.end();
      return;
    }
    if (path !== '/' && path !== '/metrics' && path !== '/api/state' && path !== '/api/events-stream' && !STATIC[path] && named === undefined) {
      send(res, 404, 'not found: see /\n', {}, head);
      return;
    }
    if (req.method !== 'GET' && !head) {
      send(res, 405, 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
      return;
    }
    if (named === null) {
      send(res, 400, 'a malformed name in the path\n', {}, head);
      return;
    }
    const stat = STATIC[path];
    if (stat) {
      send(res, 200, stat.body, { 'Content-Type': stat.type, ...PAGE_HEADERS }, head);
      return;
    }
    if (path === '/') {
      send(res, 200, pageHtml(), { 'Content-Type': 'text/html; charset=utf-8', ...PAGE_HEADERS }, head);
      return;
    }
    if (named) {
      collector.read().then((r) => {
        const known = r.snap && (named.kind === 'vm' ? r.snap.view.vms.some((v) => v.name === named.name) : r.snap.view.hosts.some((h) => h.name === named.name));
        send(res, known ? 200 : 404, pageHtml(named.kind, named.name), { 'Content-Type': 'text/html; charset=utf-8', ...PAGE_HEADERS }, head);
      }, failed('the page', res, head));
      return;
    }
    if (path === '/api/state') {
      collector.state().then((text) => send(res, 200, text, { 'Content-Type': 'application/json; charset=utf-8', ...PAGE_HEADERS }, head), failed('the state', res, head));
      return;
    }
    if (path === '/api/events-stream') {
      if (head) {
        send(res, 200, '', { 'Content-Type': 'text/event-stream' }, true);
        return;
      }
      if (streams.size >= MAX_STREAMS) {
        send(res, 503, `too many event streams open (${MAX_STREAMS})\n`, { 'Retry-After': '10' });
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no', ...PAGE_HEADERS });
      streams.add(res);
      const push = () =>
        void collector.state().then(
          (text) => res.write(`event: state\ndata: ${text}\n\n`),
          (e: unknown) => o.sources.log(`the state failed: ${(e as Error).message}`),
        );
      push();
      const off = collector.onChange(push);
      // A comment now and then keeps the connection (and proxies) from timing out.
      const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      beat.unref();
      res.on('close', () => {
        off();
        clearInterval(beat);
        streams.delete(res);
      });
      return;
    }
    collector.metrics().then(
      (text) => send(res, 200, text, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }, head),
      failed('the metrics', res, head),
    );
  };
  const opts: ServerOptions = { maxHeaderSize: 8192, requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 };
  const server: Server = o.security.tls ? createHttpsServer({ ...opts, cert: o.security.tls.cert, key: o.security.tls.key }, handler) : createHttpServer(opts, handler);
  server.maxConnections = 256;
  // What node's parser refuses: headers over the bound (431), a request that took too long (408),
  // anything else malformed (400); the connection is closed.
  server.on('clientError', (e: NodeJS.ErrnoException, socket) => {
    const status = e.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : e.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new ServeFailed(`cannot listen on ${o.listen.host}:${o.listen.port}: ${e.code === 'EADDRINUSE' ? 'the address is in use' : e.message}`)));
    server.listen(o.listen.port, o.listen.host, () => resolve());
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : o.listen.port;
  collector.start();
  const hostPart = isIP(o.listen.host) === 6 ? `[${o.listen.host}]` : o.listen.host;
  return {
    server,
    address: { host: o.listen.host, port },
    url: `${o.security.tls ? 'https' : 'http'}://${hostPart}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        collector.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
