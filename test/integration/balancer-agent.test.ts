// ocf:corral:Balancer, the built agent, as Pacemaker and ocf-tester call it: meta-data that the
// OCF schema accepts, parameters refused by name, and start/monitor/stop of the process it runs —
// here a stand-in for `corral balance run` (the lab test runs the real one), found again by its pid
// file and command line, never by a PID that now belongs to something else.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectValidOcfMetadata } from '../support/ocf-metadata.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const BUILT = path.join(ROOT, 'dist/agents/Balancer');
// A copy anyone may read and run: ocf-tester runs meta-data as nobody, who cannot reach a checkout in /root.
const dir = mkdtempSync(path.join(tmpdir(), 'corral-balancer-'));
chmodSync(dir, 0o755);
const AGENT = path.join(dir, 'Balancer');
copyFileSync(BUILT, AGENT);
chmodSync(AGENT, 0o755);
const FAKE = path.join(dir, 'corral');
writeFileSync(FAKE, "#!/bin/sh\n# stands in for corral balance run: says its arguments, then waits\necho \"fake corral $*\"\ntrap 'kill $! 2>/dev/null; exit 0' TERM\nsleep 600 &\nwait\n", { mode: 0o755 });
const LOG = path.join(dir, 'balancer.log');
const INSTANCE = `corral-balancer-test-${process.pid}`;
const PIDFILE = `/run/corral/${INSTANCE}.pid`;

function run(action: string, env: Record<string, string> = {}) {
  const r = spawnSync(AGENT, [action], {
    env: { PATH: process.env.PATH!, OCF_ROOT: '/usr/lib/ocf', OCF_RESOURCE_INSTANCE: INSTANCE, OCF_RESKEY_corral: FAKE, OCF_RESKEY_log_file: LOG, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, reason: /^ocf-exit-reason:(.*)$/m.exec(r.stderr ?? '')?.[1] };
}

afterAll(() => {
  run('stop');
  rmSync(dir, { recursive: true, force: true });
});

describe('ocf:corral:Balancer', () => {
  it('meta-data validates against metadata.rng and the OCF DTD', () => {
    const r = run('meta-data');
    expect(r.code).toBe(0);
    expectValidOcfMetadata(r.stdout);
    for (const p of ['interval', 'threshold', 'hold', 'cooldown', 'max_moves_per_hour', 'min_gain', 'nodes', 'vms']) expect(r.stdout).toContain(`<parameter name="${p}"`);
  });

  it('validate-all names every bad parameter (OCF_ERR_CONFIGURED), and a missing corral is OCF_ERR_INSTALLED', () => {
    const bad = run('validate-all', { OCF_RESKEY_threshold: '250', OCF_RESKEY_hold: 'long', OCF_RESKEY_nodes: 'n1;reboot' });
    expect(bad.code).toBe(6);
    expect(bad.reason).toMatch(/threshold: at most 100.*hold: expected an integer.*nodes: names separated by commas/);
    const missing = run('validate-all', { OCF_RESKEY_corral: '/nonexistent/corral' });
    expect(missing.code).toBe(5);
    expect(run('validate-all').code).toBe(0);
  });

  it('start runs corral balance run with the parameters as flags; monitor finds it; stop ends it', () => {
    expect(run('monitor').code).toBe(7);
    const started = run('start', { OCF_RESKEY_hold: '60', OCF_RESKEY_vms: 'web,db', OCF_RESKEY_dry_run: 'yes' });
    expect(started.code, started.stderr).toBe(0);
    expect(run('monitor').code).toBe(0);
    expect(run('start').code).toBe(0); // already running: nothing more
    const pid = Number(readFileSync(PIDFILE, 'utf8'));
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(argv.indexOf('balance'))).toEqual(['balance', 'run', '--interval', '30', '--threshold', '80', '--hold', '60', '--cooldown', '1800', '--max-moves-per-hour', '6', '--min-gain', '10', '--margin', '10', '--vms', 'web,db', '--dry-run', '']);
    expect(readFileSync(LOG, 'utf8')).toContain('fake corral balance run --interval 30');
    expect(run('stop').code).toBe(0);
    expect(run('monitor').code).toBe(7);
    expect(run('stop').code).toBe(0); // stopping what is stopped succeeds
  });

  it('a pid file whose PID now belongs to another program is "not running", and stop leaves that program alone', () => {
    writeFileSync(PIDFILE, `${process.pid}\n`);
    expect(run('monitor').code).toBe(7);
    expect(run('stop').code).toBe(0);
  });

  it('a start whose program ends at once fails with the reason and the log named', () => {
    const r = run('start', { OCF_RESKEY_corral: '/bin/false' });
    expect(r.code).toBe(1);
    expect(r.reason).toContain(LOG);
  });

  it('its log lines are tagged with its own name, Balancer(INSTANCE)[pid], also when Pacemaker says another type', () => {
    for (const env of [{}, { OCF_RESOURCE_TYPE: 'TransientDomain' }] as Record<string, string>[]) {
      const r = run('start', { OCF_RESKEY_corral: '/bin/false', ...env });
      expect(r.code).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => /\[\d+\]: [A-Z]+: /.test(l));
      expect(lines.length, r.stderr).toBeGreaterThan(0);
      for (const l of lines) expect(l).toMatch(new RegExp(`^Balancer\\(${INSTANCE}\\)\\[\\d+\\]: ERROR: `));
    }
  });

  it('ocf-tester passes', () => {
    const r = spawnSync('ocf-tester', ['-n', INSTANCE, '-o', `corral=${FAKE}`, '-o', `log_file=${LOG}`, AGENT], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`${AGENT} passed all tests`);
  }, 150_000);
});
