// The built agent as Pacemaker and an operator call it, without a guest: exit codes, exit
// reasons, logging and meta-data.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT } from '../support/agent-lab.js';

function run(action: string, env: Record<string, string> = {}) {
  const r = spawnSync(AGENT, action ? [action] : [], { env: { PATH: process.env.PATH!, OCF_ROOT: '/usr/lib/ocf', ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('TransientDomain executable', () => {
  it('prints meta-data that validates against metadata.rng and the OCF DTD', () => {
    const r = run('meta-data');
    expect(r.code).toBe(0);
    const rng = spawnSync('xmllint', ['--noout', '--relaxng', '/usr/share/resource-agents/metadata.rng', '-'], { input: r.stdout, encoding: 'utf8' });
    expect(rng.status, rng.stderr).toBe(0);
    const dtd = spawnSync('xmllint', ['--noout', '--valid', '-'], { input: r.stdout, cwd: '/usr/share/resource-agents', encoding: 'utf8' });
    expect(dtd.status, dtd.stderr).toBe(0);
  });

  it('answers an unknown action with usage and OCF_ERR_UNIMPLEMENTED (3)', () => {
    const r = run('promote');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('usage: TransientDomain');
    expect(run('').code).toBe(3);
    expect(run('usage').code).toBe(0);
  });

  it('validate-all names every bad parameter and exits OCF_ERR_CONFIGURED (6)', () => {
    const r = run('validate-all', {
      OCF_RESKEY_config: '<domain type="qemu"><name>v</name></domain>',
      OCF_RESKEY_migration_transport: 'pigeon',
      OCF_RESKEY_migration_speed: 'fast',
    });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^ocf-exit-reason:.*migration_transport.*migration_speed/m);
  });

  it('validate-all accepts a good configuration and warns about VirtualDomain-only parameters', () => {
    const r = run('validate-all', { OCF_RESKEY_config: '<domain type="qemu"><name>v</name></domain>', OCF_RESKEY_snapshot: '/x' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('ignoring VirtualDomain parameters that do not apply to transient domains: snapshot');
  });

  it('takes a config that is not XML as the path of a file holding it, like VirtualDomain', () => {
    const missing = run('start', { OCF_RESKEY_config: '/nonexistent/gum.xml' });
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain('cannot read the domain XML file /nonexistent/gum.xml');
  });

  it('logs to HA_LOGFILE and gives an exit reason on failure', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'corral-log-'));
    const logfile = path.join(dir, 'ha.log');
    const r = run('start', { OCF_RESKEY_config: '<domain><name>x</name>', HA_LOGFILE: logfile, OCF_RESOURCE_INSTANCE: 'vm-x' });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^ocf-exit-reason:invalid domain XML/m);
    expect(readFileSync(logfile, 'utf8')).toMatch(/TransientDomain\(vm-x\)\[\d+\]: ERROR: invalid domain XML/);
  });
});
