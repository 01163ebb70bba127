// The built TransientDomain agent is a standalone executable (scripts/dev/compile-agent.ts: Bun's
// `build --compile`), not a script for node: Pacemaker runs its monitor every few seconds for every
// VM, and Node's start-up was most of the monitor's cost. What this must not change: it answers
// with the agent's meta-data from anywhere, as nobody (ocf-tester), with Pacemaker's bare
// environment; it reads no .env or bunfig.toml from the directory it runs in; its failures still
// carry an ocf-exit-reason line. (Life cycle, monitor and ocf-tester on real libvirt:
// transient-domain.test.ts, which runs the same executable.)
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, openSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT } from '../support/agent-lab.js';

const GOOD = '<domain type="qemu"><name>v</name></domain>';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(action: string, env: Record<string, string>, opts: { cwd?: string; uid?: number; gid?: number } = {}) {
  const r = spawnSync(AGENT, [action], { env, encoding: 'utf8', timeout: 20_000, cwd: opts.cwd ?? '/', uid: opts.uid, gid: opts.gid });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

function firstBytes(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    readSync(fd, b, 0, n, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}

describe('dist/agents/TransientDomain is a standalone executable', () => {
  it('is an ELF executable, not a script for an interpreter', () => {
    const head = firstBytes(AGENT, 4);
    expect(head.subarray(0, 2).toString('latin1'), `${AGENT} starts with an interpreter line: it is not compiled (scripts/dev/compile-agent.ts)`).not.toBe('#!');
    expect(head.toString('latin1')).toBe('\x7fELF');
  });

  it('answers meta-data with an empty environment (no PATH, so no node to find)', () => {
    const r = run('meta-data', {});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('<resource-agent name="TransientDomain"');
    expect(r.stdout.trimEnd().endsWith('</resource-agent>')).toBe(true);
  });

  it('answers meta-data as user nobody, the way ocf-tester runs it', () => {
    const r = run('meta-data', { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, { uid: 65534, gid: 65534 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('<resource-agent name="TransientDomain"');
  });

  it('reads no .env, bunfig.toml or package.json from the directory it runs in', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'corral-agent-binary-'));
    dirs.push(dir);
    chmodSync(dir, 0o755);
    // Were .env loaded, validate-all would see a transport it refuses (exit 6, naming it).
    writeFileSync(path.join(dir, '.env'), 'OCF_RESKEY_migration_transport=pigeon\n');
    writeFileSync(path.join(dir, 'bunfig.toml'), 'preload = ["./evil.ts"]\n');
    writeFileSync(path.join(dir, 'evil.ts'), 'process.exit(42);\n');
    writeFileSync(path.join(dir, 'package.json'), '{ "type": "module", "main": "evil.ts" }\n');
    const r = run('validate-all', { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', OCF_ROOT: '/usr/lib/ocf', OCF_RESKEY_config: GOOD }, { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('migration_transport');
  });

  it('a failure still says why on an ocf-exit-reason line, with the OCF exit code', () => {
    const r = run('validate-all', { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', OCF_ROOT: '/usr/lib/ocf', OCF_RESKEY_config: GOOD, OCF_RESKEY_migration_transport: 'pigeon' });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^ocf-exit-reason:.*migration_transport/m);
  });
});
