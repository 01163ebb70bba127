// The built agent as Pacemaker and an operator call it, without a guest: exit codes, exit
// reasons, logging and meta-data; and, against a stand-in for libvirt (test/support/fake-libvirt),
// what stop and probes do when the configuration is unusable.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT } from '../support/agent-lab.js';
import { fakeLibvirt, type FakeLibvirt } from '../support/fake-libvirt.js';
import { expectValidOcfMetadata } from '../support/ocf-metadata.js';

function run(action: string, env: Record<string, string> = {}) {
  const t = Date.now();
  // Bounded: an action that hangs is a failure here, not a hung test run.
  const r = spawnSync(AGENT, action ? [action] : [], { env: { PATH: process.env.PATH!, OCF_ROOT: '/usr/lib/ocf', ...env }, encoding: 'utf8', timeout: 20_000 });
  const reason = /^ocf-exit-reason:(.*)$/m.exec(r.stderr ?? '')?.[1];
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, reason, ms: Date.now() - t };
}

describe('TransientDomain executable', () => {
  it('prints meta-data that validates against metadata.rng and the OCF DTD', () => {
    const r = run('meta-data');
    expect(r.code).toBe(0);
    expectValidOcfMetadata(r.stdout);
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

const tmp = mkdtempSync(path.join(tmpdir(), 'corral-agent-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FIFO = path.join(tmp, 'gum.fifo');
execFileSync('mkfifo', [FIFO]);
const BIG = path.join(tmp, 'big.xml');
writeFileSync(BIG, '<domain type="qemu"><name>big</name></domain>');
truncateSync(BIG, 2 * 1024 * 1024);

/** config values that are neither inline XML nor a regular file of at most 1 MiB, and why not. */
const UNUSABLE: [string, string][] = [
  ['/dev/zero', 'the domain XML file /dev/zero is a character device, not a regular file'],
  [FIFO, `the domain XML file ${FIFO} is a named pipe, not a regular file`],
  [tmp, `the domain XML file ${tmp} is a directory, not a regular file`],
  ['gum.xml', 'config "gum.xml" is neither domain XML (starting with "<") nor the absolute path of a file holding it'],
  [BIG, `the domain XML file ${BIG} is larger than 1 MiB (2097152 bytes)`],
];

describe('a config that is not inline XML must be a regular file of at most 1 MiB', () => {
  it.each(UNUSABLE)('config=%s: every action that needs it answers OCF_ERR_CONFIGURED (6) at once', (config, why) => {
    for (const action of ['validate-all', 'start', 'migrate_to', 'migrate_from', 'reload']) {
      const r = run(action, { OCF_RESKEY_config: config, OCF_RESOURCE_INSTANCE: 'vm-gum', OCF_RESKEY_CRM_meta_migrate_target: 'n2' });
      expect(r.code, `${action}: ${r.stderr}`).toBe(6);
      expect(r.reason, action).toBe(why);
      expect(r.ms, action).toBeLessThan(5000);
    }
  });
});

describe('stop and probes with an unusable configuration (stand-in libvirt)', () => {
  let lv: FakeLibvirt;
  beforeEach(() => {
    lv = fakeLibvirt();
  });
  afterEach(() => lv.remove());

  const env = (config: string | undefined, extra: Record<string, string> = {}) => ({
    ...lv.env,
    OCF_RESOURCE_INSTANCE: 'vm-td-cli',
    OCF_RESKEY_CRM_meta_timeout: '20000',
    ...(config === undefined ? {} : { OCF_RESKEY_config: config }),
    ...extra,
  });
  const probe = { OCF_RESKEY_CRM_meta_interval: '0' };
  const recurring = { OCF_RESKEY_CRM_meta_interval: '10000' };
  const broken: [string, string | undefined][] = [
    ['/dev/zero', '/dev/zero'],
    ['a named pipe', FIFO],
    ['a missing file', '/nonexistent/td-cli.xml'],
    ['broken XML', '<domain><name>td-cli'],
    ['no config at all', undefined],
  ];

  it.each(broken)('config is %s: stop stops the domain start recorded, and succeeds once it is gone', (_what, config) => {
    lv.addDomain('td-cli-rec');
    lv.addDomain('td-cli-other', { owner: 'vm-other' });
    lv.record('vm-td-cli', 'td-cli-rec');
    const r = run('stop', env(config));
    expect(r.code, r.stderr).toBe(0);
    expect(lv.has('td-cli-rec')).toBe(false);
    expect(lv.calls()).toContain('shutdown td-cli-rec');
    expect(lv.has('td-cli-other')).toBe(true);
  });

  it.each(broken)('config is %s: with nothing recorded, stop finds the domain by its owner metadata', (_what, config) => {
    lv.addDomain('td-cli-other', { owner: 'vm-other' });
    lv.addDomain('td-cli-owned', { owner: 'vm-td-cli' });
    const r = run('stop', env(config));
    expect(r.code, r.stderr).toBe(0);
    expect(lv.has('td-cli-owned')).toBe(false);
    expect(lv.has('td-cli-other')).toBe(true);
  });

  it('stop with an unusable config succeeds when libvirt shows no domain of the resource, and fails when libvirt does not answer', () => {
    lv.addDomain('td-cli-other', { owner: 'vm-other' });
    expect(run('stop', env('/dev/zero')).code).toBe(0);
    lv.setUnreachable(true);
    const r = run('stop', env('/dev/zero'));
    expect(r.code).toBe(1);
    expect(r.reason).toMatch(/^the domain XML file \/dev\/zero is a character device, not a regular file; cannot tell whether a domain of vm-td-cli runs here: libvirt cannot list its domains/);
  });

  it.each(broken)('config is %s: a probe answers "not running" (7) when libvirt has no domain of the resource', (_what, config) => {
    lv.addDomain('td-cli-other', { owner: 'vm-other' });
    const r = run('monitor', env(config, probe));
    expect(r.code, r.stderr).toBe(7);
    expect(run('monitor', env(config)).code, 'no interval at all is a probe too').toBe(7);
    // A recurring monitor of a resource that cannot be started again reports the configuration.
    expect(run('monitor', env(config, recurring)).code).toBe(6);
  });

  it('a probe with an unusable config answers "not running" when the domain start recorded is gone', () => {
    lv.record('vm-td-cli', 'td-cli-rec');
    expect(run('monitor', env('/dev/zero', probe)).code).toBe(7);
  });

  it('a probe with an unusable config reports a domain of the resource that runs as running', () => {
    lv.addDomain('td-cli-owned', { owner: 'vm-td-cli' });
    const r = run('monitor', env('/dev/zero', probe));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('td-cli-owned runs, but its configuration is unusable: the domain XML file /dev/zero is a character device');
  });

  it('a probe with an unusable config is an error, never "not running", without proof', () => {
    lv.setUnreachable(true);
    const down = run('monitor', env('/dev/zero', probe));
    expect(down.code).toBe(1);
    expect(down.reason).toMatch(/cannot tell whether a domain of vm-td-cli runs here: libvirt cannot list its domains: failed to connect to the hypervisor/);
    lv.setUnreachable(false);
    // Without OCF_RESOURCE_INSTANCE no domain can be recognised as this resource's.
    const { OCF_RESOURCE_INSTANCE: _, ...anonymous } = env('/dev/zero', probe);
    const r = run('monitor', anonymous);
    expect(r.code).toBe(1);
    expect(r.reason).toMatch(/OCF_RESOURCE_INSTANCE is not set/);
  });
});

describe('validate-all and start refuse XML libvirt would read differently', () => {
  const one = (config: string) => ({ OCF_RESKEY_config: config, OCF_RESOURCE_INSTANCE: 'vm-gum' });
  it.each([
    ['a DOCTYPE with an entity', '<!DOCTYPE domain [<!ENTITY n "gum">]><domain type="qemu"><name>&n;</name></domain>', /^invalid domain XML: domain XML contains a DOCTYPE declaration \(line 1\)/],
    ['an undefined entity', '<domain type="qemu"><name>gum</name><description>&nbsp;</description></domain>', /^invalid domain XML: domain XML uses the undefined entity &nbsp;/],
    ['two names', '<domain type="qemu"><name>gum</name><name>elm</name></domain>', /^invalid domain XML: domain XML has 2 <name> elements; a domain has exactly one$/],
  ])('%s', (_what, xml, why) => {
    for (const action of ['validate-all', 'start']) {
      const r = run(action, one(xml));
      expect(r.code, action).toBe(6);
      expect(r.reason, action).toMatch(why);
    }
  });

  it('a config file that is not UTF-8', () => {
    const f = path.join(tmp, 'latin1.xml');
    writeFileSync(f, Buffer.from('<domain type="qemu"><name>caf\xe9</name></domain>', 'latin1'));
    for (const action of ['validate-all', 'start']) {
      const r = run(action, one(f));
      expect(r.code, action).toBe(6);
      expect(r.reason).toBe(`the domain XML file ${f} is not UTF-8 text (byte 0xE9 at offset 29); convert it to UTF-8 first`);
    }
  });

  it('an inline config that is not UTF-8 (bytes Node would turn into U+FFFD)', () => {
    const script = `OCF_RESKEY_config="$(printf '<domain type="qemu"><name>caf\\351</name></domain>')" exec "$0" "$1"`;
    for (const action of ['validate-all', 'start']) {
      const r = spawnSync('sh', ['-c', script, AGENT, action], { env: { PATH: process.env.PATH!, OCF_RESOURCE_INSTANCE: 'vm-gum' }, encoding: 'utf8', timeout: 20_000 });
      expect(r.status, action).toBe(6);
      expect(r.stderr).toContain('ocf-exit-reason:config is not UTF-8 text (byte 0xE9 at offset 29); convert it to UTF-8 first');
    }
  });
});
