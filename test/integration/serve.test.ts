// `corral serve` as built (dist/bin/corral), on a recorded CIB (CIB_file): what it answers, what
// it refuses to start with (exit 2), what it refuses to answer (401, 404, 405, 431), and that its
// /metrics passes promtool check metrics. Also the shipped alert rules (promtool check rules and
// promtool test rules) and the systemd unit (systemd-analyze verify). Needs npm run build,
// Debian's prometheus package (promtool) and systemd (systemd-analyze): .ci/run installs them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const CORRAL = path.join(ROOT, 'dist/bin/corral');
const CIB = path.join(ROOT, 'test/fixtures/recorded/steady/cib.xml');
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const OPENSSL = '/usr/bin/openssl';
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const TOKEN = 'corral-test-token-0123456789abcdef';

let dir: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'corral-serve-'));
  await mkdir(path.join(dir, 'etc'), { mode: 0o755 });
});

afterAll(async () => {
  for (const p of started) if (p.exitCode === null) p.kill('SIGTERM');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs corral serve with ARGS and corral.conf CONF; resolves once it listens (its URL) or it exits (its code and stderr). */
async function serve(args: string[], conf = ''): Promise<{ url?: string; code?: number | null; stderr: string; proc: ChildProcess }> {
  const etc = await mkdtemp(path.join(dir, 'etc-'));
  await writeFile(path.join(etc, 'corral.conf'), conf, { mode: 0o644 });
  const proc = spawn(CORRAL, ['serve', ...args], { env: { ...process.env, CIB_file: CIB, CORRAL_ETC: etc }, stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(proc);
  let stderr = '';
  return new Promise((resolve) => {
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (\S+)\/metrics/.exec(stderr);
      if (m) resolve({ url: m[1], stderr, proc });
    });
    proc.on('exit', (code) => resolve({ code, stderr, proc }));
  });
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function get(url: string, opts: { method?: string; headers?: Record<string, string>; ca?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : request)(u, { method: opts.method ?? 'GET', headers: opts.headers, ...(opts.ca ? { ca: opts.ca, servername: 'localhost' } : {}) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A request whose headers exceed the server's bound, sent by hand: the status line of the answer. */
function hugeHeader(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(got.split('\r\n')[0] ?? '') : reject(e)));
  });
}

describe('corral serve on loopback', () => {
  let url: string;
  beforeAll(async () => {
    const r = await serve(['--listen', '127.0.0.1:0', '--capacity-interval', '10']);
    expect(r.url, r.stderr).toBeDefined();
    url = r.url as string;
  }, 30_000);

  it('answers /metrics in the text format that promtool accepts, and lists it at /', async () => {
    const r = await get(`${url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.body).toMatch(/^corral_vm_node\{vm="db1",node="n3"\} 1$/m);
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
    const index = await get(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.body).toContain('/metrics');
  });

  it('gets N+1 in the background (crm_simulate on the CIB), never in the scrape', async () => {
    let body = '';
    for (let i = 0; i < 60 && !/^corral_cluster_n_plus_one /m.test(body); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      body = (await get(`${url}/metrics`)).body;
    }
    expect(body).toMatch(/^corral_cluster_n_plus_one [01]$/m);
    expect(body).toMatch(/^corral_node_failure_stopped_vms\{node="n1"\} \d+$/m);
  }, 90_000);

  it('answers nothing else: 404 for other paths, 405 for other methods, 431 for huge headers', async () => {
    expect((await get(`${url}/api/v1/query`)).status).toBe(404);
    expect((await get(`${url}/../etc/passwd`)).status).toBe(404);
    const post = await get(`${url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await get(`${url}/metrics`, { method: 'DELETE' })).status).toBe(405);
    expect(await hugeHeader(url)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    // …and it still answers.
    expect((await get(`${url}/metrics`)).status).toBe(200);
  });
});

describe('corral serve: refusals', () => {
  it('refuses a non-loopback address without TLS and a token (exit 2, naming the settings)', async () => {
    const r = await serve(['--listen', '0.0.0.0:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^corral: refusing to listen on 0\.0\.0\.0, which is not loopback, without TLS and a bearer token: set serve_tls_cert and serve_tls_key and serve_token_file in corral\.conf/m);
  });

  it('refuses a bad --listen and a bad interval (exit 2)', async () => {
    expect((await serve(['--listen', 'nowhere'])).code).toBe(2);
    expect((await serve(['--capacity-interval', '1'])).code).toBe(2);
  });

  it('with TLS and a token on a non-loopback address: 401 without the token, metrics with it', async () => {
    const key = path.join(dir, 'serve.key');
    const cert = path.join(dir, 'serve.pem');
    const gen = spawnSync(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8' });
    expect(gen.status, gen.stderr).toBe(0);
    await chmod(key, 0o600);
    const token = path.join(dir, 'serve.token');
    await writeFile(token, `${TOKEN}\n`, { mode: 0o600 });
    const conf = `serve_tls_cert = ${cert}\nserve_tls_key = ${key}\nserve_token_file = ${token}\n`;
    // A token file others can read is refused.
    const loose = path.join(dir, 'loose.token');
    await writeFile(loose, `${TOKEN}\n`, { mode: 0o644 });
    await chmod(loose, 0o644);
    const bad = await serve(['--listen', '0.0.0.0:0'], conf.replace(token, loose));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/readable by root only/);

    const r = await serve(['--listen', '0.0.0.0:0'], conf);
    expect(r.url, r.stderr).toMatch(/^https:\/\/0\.0\.0\.0:\d+$/);
    const port = new URL(r.url as string).port;
    const ca = await import('node:fs/promises').then((fs) => fs.readFile(cert));
    const at = `https://127.0.0.1:${port}`;
    const none = await get(`${at}/metrics`, { ca });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.body).not.toContain('corral_');
    expect((await get(`${at}/metrics`, { ca, headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await get(`${at}/nothing`, { ca })).status).toBe(401);
    const ok = await get(`${at}/metrics`, { ca, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('corral_vm_state{vm="db1",state="running"} 1');
    // Plain HTTP to the TLS port gets no metrics.
    await expect(get(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  }, 30_000);
});

describe('what the package ships for Prometheus', () => {
  it('has alert rules that promtool checks and whose unit tests pass', () => {
    const rules = path.join(ROOT, 'prometheus/corral-alerts.yml');
    const check = spawnSync(PROMTOOL, ['check', 'rules', rules], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = spawnSync(PROMTOOL, ['test', 'rules', path.join(ROOT, 'prometheus/corral-alerts.test.yml')], { encoding: 'utf8', cwd: path.join(ROOT, 'prometheus') });
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toContain('SUCCESS');
  });

  it('has a systemd unit that systemd-analyze verify accepts', async () => {
    const tree = await mkdtemp(path.join(dir, 'root-'));
    await mkdir(path.join(tree, 'lib/systemd/system'), { recursive: true });
    await mkdir(path.join(tree, 'usr/sbin'), { recursive: true });
    spawnSync('cp', ['-rn', '/lib/systemd/system/.', path.join(tree, 'lib/systemd/system/')]);
    await copyFile(path.join(ROOT, 'debian/corral.corral-serve.service'), path.join(tree, 'lib/systemd/system/corral-serve.service'));
    await copyFile(CORRAL, path.join(tree, 'usr/sbin/corral'));
    const r = spawnSync(SYSTEMD_ANALYZE, ['verify', '--man=no', '--root', tree, '/lib/systemd/system/corral-serve.service'], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
