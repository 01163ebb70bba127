import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_LIBVIRT_URI,
  loadConfig,
  nodeCommandArgv,
  nodeUri,
  parseConfigText,
  trustEnvironment,
  type FileOwner,
  type StatFn,
} from '../../lib/ops/config.js';

const rootDir: FileOwner = { uid: 0, mode: 0o40755, isDirectory: true };
const rootFile: FileOwner = { uid: 0, mode: 0o100755, isDirectory: false };
const stats =
  (table: Record<string, FileOwner>): StatFn =>
  async (p) =>
    table[p];

describe('corral.conf', () => {
  it('reads key = value lines with comments', () => {
    const c = parseConfigText('# lab\nlibvirt_uri = qemu+tcp://{node}/system  # no auth in the lab\nmove_lifetime = none\n');
    expect(c).toEqual({ libvirt_uri: 'qemu+tcp://{node}/system', move_lifetime: 'none' });
  });

  it('reads the Ceph defaults of create_domxml --rbd: monitors as a list, the user and the secret (lower case) together', () => {
    const c = parseConfigText('ceph_monitors = 10.0.0.1 mon2:6789 [::1]:3300\nceph_client = corral\nceph_secret = 5B0E8F9A-2C1D-4E3F-8A7B-6C5D4E3F2A1B\n');
    expect(c).toEqual({ ceph_monitors: ['10.0.0.1', 'mon2:6789', '[::1]:3300'], ceph_client: 'corral', ceph_secret: '5b0e8f9a-2c1d-4e3f-8a7b-6c5d4e3f2a1b' });
  });

  it('splits the node command into words and insists on {node}', () => {
    expect(parseConfigText('node_command = ssh -T {node} --').node_command).toEqual(['ssh', '-T', '{node}', '--']);
    expect(() => parseConfigText('node_command = ssh somewhere')).toThrow(/must name \{node\}/);
    expect(() => parseConfigText('node_command = sh -c "ssh {node}"')).toThrow(/no shell/);
  });

  it.each([
    ['libvirt_uri = qemu+ssh://fixedhost/system', /\{node\}/],
    ['libvirt_uri = xen://{node}/', /qemu URI/],
    ['libvirt_uri = qemu+ext://{node}/system?command=/bin/sh', /qemu URI/],
    ['move_lifetime = 1h', /ISO 8601/],
    ['access_file = relative/access', /absolute path/],
    ['audit_log = /var/log/../etc/shadow', /no "\.\."/],
    ['colour = on', /unknown setting colour/],
    ['libvirt_uri', /expected "key = value"/],
    ['move_lifetime = PT1H\nmove_lifetime = PT2H', /set twice/],
    ['ceph_monitors = mon1:notaport', /Ceph monitors separated by spaces/],
    ['ceph_client = client.corral\nceph_secret = 5b0e8f9a-2c1d-4e3f-8a7b-6c5d4e3f2a1b', /without "client."/],
    ['ceph_client = corral', /ceph_client and ceph_secret go together/],
    ['ceph_client = corral\nceph_secret = not-a-uuid', /uuid/],
  ])('refuses %j', (text, why) => {
    expect(() => parseConfigText(text)).toThrow(ConfigError);
    expect(() => parseConfigText(text)).toThrow(why);
  });

  it('puts the node name into the URI and the node command, and nothing else', () => {
    expect(nodeUri(DEFAULT_LIBVIRT_URI, 'hv17')).toBe('qemu+ssh://hv17/system');
    expect(() => nodeUri(DEFAULT_LIBVIRT_URI, 'hv17/system?command=x')).toThrow(/refusing the node name/);
    expect(nodeCommandArgv(['ssh', '{node}', '--'], 'hv2', ['tail', '-n', '5', '--', '/var/log/corral/console/gum.log'])).toEqual([
      'ssh',
      'hv2',
      '--',
      'tail',
      '-n',
      '5',
      '--',
      '/var/log/corral/console/gum.log',
    ]);
    expect(() => nodeCommandArgv(['ssh', '{node}'], 'hv2', ['cat', '/tmp/a;reboot'])).toThrow(/refusing to send/);
    expect(() => nodeCommandArgv(['ssh', '{node}'], '-oProxyCommand=x', ['uname'])).toThrow(/refusing the node name/);
  });
});

describe('which environment overrides count', () => {
  const sudo = (env: Record<string, string>) => ({ uid: 0, env: { SUDO_USER: 'alice', SUDO_UID: '1000', SUDO_GID: '1000', ...env } });

  it('run directly (root or not), the environment counts', async () => {
    expect((await trustEnvironment({ uid: 0, env: { CORRAL_ETC: '/tmp/x' } }, stats({}))).trusted).toBe(true);
    expect((await trustEnvironment({ uid: 1000, env: { CORRAL_ETC: '/tmp/x' } }, stats({}))).trusted).toBe(true);
    expect((await trustEnvironment({ uid: 0, env: { SUDO_USER: 'root', CORRAL_ETC: '/tmp/x' } }, stats({}))).trusted).toBe(true);
  });

  it('through sudo, the overrides a user passed are ignored', async () => {
    const t = await trustEnvironment(sudo({ CORRAL_ETC: '/home/alice/etc', SUDO_COMMAND: '/usr/sbin/vm gum reset' }), stats({}));
    expect(t.trusted).toBe(false);
    expect(t.why).toMatch(/does not live next to/);
  });

  it('through sudo, a root-only wrapper next to a root-only CORRAL_ETC counts (how the ACL tests point vm at their files)', async () => {
    const table = { '/t': rootDir, '/t/etc': rootDir, '/t/vm': rootFile };
    expect((await trustEnvironment(sudo({ CORRAL_ETC: '/t/etc', SUDO_COMMAND: '/t/vm gum reset' }), stats(table))).trusted).toBe(true);
  });

  it('through sudo, a wrapper or directory anyone else could write does not count', async () => {
    for (const weak of [
      { '/t': { ...rootDir, mode: 0o41777 }, '/t/etc': rootDir, '/t/vm': rootFile },
      { '/t': rootDir, '/t/etc': { ...rootDir, uid: 1000 }, '/t/vm': rootFile },
      { '/t': rootDir, '/t/etc': rootDir, '/t/vm': { ...rootFile, mode: 0o100777 } },
      { '/t': rootDir, '/t/etc': rootFile, '/t/vm': rootFile },
    ]) {
      expect((await trustEnvironment(sudo({ CORRAL_ETC: '/t/etc', SUDO_COMMAND: '/t/vm gum reset' }), stats(weak))).trusted).toBe(false);
    }
  });

  it('through sudo, untrusted overrides are dropped from the environment, with a warning', async () => {
    const env: Record<string, string | undefined> = {
      SUDO_USER: 'alice',
      SUDO_COMMAND: '/usr/sbin/vm gum status',
      CORRAL_LIBVIRT_URI: 'qemu+tcp://{node}/system',
      CIB_file: '/home/alice/cib.xml',
      CORRAL_ETC: '/nonexistent-corral-etc',
    };
    const c = await loadConfig({ uid: 0, env }, stats({}));
    expect(c.libvirtUri).toBe(DEFAULT_LIBVIRT_URI);
    expect(c.etcDir).toBe('/etc/corral');
    expect(env.CIB_file).toBeUndefined();
    expect(env.CORRAL_LIBVIRT_URI).toBeUndefined();
    expect(c.warnings.join()).toMatch(/ignoring CORRAL_ETC, CORRAL_LIBVIRT_URI, CIB_file/);
  });

  it('through sudo, Pacemaker\'s remote-CIB variables go with CIB_file, and PATH is a fixed one', async () => {
    const env: Record<string, string | undefined> = {
      SUDO_USER: 'alice',
      SUDO_UID: '1000',
      SUDO_COMMAND: '/usr/sbin/vm gum status',
      PATH: '/home/alice/bin:/usr/bin:/bin',
      CIB_server: 'evil.example',
      CIB_port: '9999',
      CIB_user: 'hacluster',
      CIB_passwd: 'secret',
      CIB_encrypted: 'false',
    };
    const c = await loadConfig({ uid: 0, env }, stats({}));
    for (const k of ['CIB_server', 'CIB_port', 'CIB_user', 'CIB_passwd', 'CIB_encrypted']) expect(env[k], k).toBeUndefined();
    expect(c.warnings.join()).toMatch(/ignoring CIB_server, CIB_port, CIB_user, CIB_passwd, CIB_encrypted \(run through sudo\)/);
    expect(env.PATH).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });

  it('root for a user through doas or pkexec trusts no override either', async () => {
    for (const [marker, tool] of [[{ DOAS_USER: 'alice' }, 'doas'], [{ PKEXEC_UID: '1000' }, 'pkexec']] as const) {
      const env: Record<string, string | undefined> = { ...marker, CIB_file: '/home/alice/cib.xml', CORRAL_ETC: '/home/alice/etc' };
      const c = await loadConfig({ uid: 0, env }, stats({}));
      expect(c.etcDir).toBe('/etc/corral');
      expect(env.CIB_file).toBeUndefined();
      expect(c.warnings.join()).toMatch(new RegExp(`ignoring CORRAL_ETC, CIB_file \\(run through ${tool}\\)`));
    }
  });

  it('run directly, CORRAL_ETC and CORRAL_LIBVIRT_URI take effect', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'corral-conf-'));
    await mkdir(path.join(dir, 'etc'));
    await writeFile(path.join(dir, 'etc/corral.conf'), 'libvirt_uri = qemu+tcp://{node}/system\naccess_file = /srv/access\n');
    const c = await loadConfig({ uid: 0, env: { CORRAL_ETC: path.join(dir, 'etc') } });
    expect(c.libvirtUri).toBe('qemu+tcp://{node}/system');
    expect(c.accessFile).toBe('/srv/access');
    const d = await loadConfig({ uid: 0, env: { CORRAL_ETC: path.join(dir, 'etc'), CORRAL_LIBVIRT_URI: 'qemu+ssh://{node}.mgmt/system' } });
    expect(d.libvirtUri).toBe('qemu+ssh://{node}.mgmt/system');
    await expect(loadConfig({ uid: 0, env: { CORRAL_LIBVIRT_URI: 'qemu+ssh://x/system' } })).rejects.toThrow(/CORRAL_LIBVIRT_URI/);
  });
});
