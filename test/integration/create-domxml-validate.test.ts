// create_domxml against libvirt's own schema (virt-xml-validate), and the command itself run as a
// user would: via tsx from the source, so the test does not depend on `npm run build` having run.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainXmlFromArgs, type CreateDomxmlArgs } from '../../lib/domain/flags.js';
import { run, type RunResult } from '../../lib/host/exec.js';
import { validateDomainXml } from '../../lib/host/virt-xml-validate.js';

const root = new URL('../..', import.meta.url).pathname;
const script = join(root, 'scripts/create_domxml.ts');

function createDomxml(args: string[], cwd = root): Promise<RunResult> {
  return run(process.execPath, ['--import', 'tsx', script, ...args], { cwd, timeoutMs: 30_000 });
}

const EXAMPLE = ['--name', 'gum', '--cpus', '16', '--mem', '8g', '--ovs', 'vh', '--iface', '150', '--disk', '/dev/vm/gum', '/dev/data/gum'];
const SECRET = '5c4a9f5e-1111-2222-3333-444455556666';

describe('every flag combination yields XML that virt-xml-validate accepts', () => {
  const base = { name: 'gum', cpus: '2', mem: '1g' } satisfies CreateDomxmlArgs;
  const cases: [string, CreateDomxmlArgs][] = [
    [
      "the original system's example",
      { name: 'gum', cpus: '16', mem: '8g', ovs: 'vh', nics: [{ option: 'iface', value: '150' }], disks: [{ option: 'disk', value: '/dev/vm/gum' }, { option: 'disk', value: '/dev/data/gum' }] },
    ],
    ['the bare minimum', base],
    ['a Linux bridge', { ...base, nics: [{ option: 'bridge', value: 'br0' }] }],
    [
      'several interfaces with MACs, a trunk and an all-VLAN port',
      {
        ...base,
        ovs: 'vh',
        nics: [
          { option: 'iface', value: '150' },
          { option: 'bridge', value: 'br0' },
          { option: 'iface', value: 'lab:20,30,40' },
          { option: 'iface', value: 'core:all' },
        ],
        mac: ['52:54:00:12:34:56', '52:54:00:12:34:57'],
      },
    ],
    [
      'file and qcow2 disks',
      {
        ...base,
        disks: [
          { option: 'disk', value: '/var/lib/corral/gum.qcow2' },
          { option: 'disk', value: '/srv/gum-data.img' },
          { option: 'disk', value: 'qcow2:/dev/vg/thin' },
        ],
      },
    ],
    [
      'Ceph RBD disks with monitors and auth',
      {
        ...base,
        disks: [{ option: 'rbd', value: 'ssd/gum-root' }, { option: 'disk', value: '/dev/vm/gum' }, { option: 'rbd', value: 'hdd/gum-data' }],
        cephMon: ['mon1.example.org', '10.0.0.2:6789', '[2001:db8::3]:3300'],
        cephUser: 'libvirt',
        cephSecret: SECRET,
      },
    ],
    ['an RBD disk using the host ceph.conf', { ...base, disks: [{ option: 'rbd', value: 'rbd/gum' }] }],
    ['NUMA placement auto', { ...base, numa: 'auto' }],
    ['a NUMA node set', { ...base, numaNodes: '0-1,3,^1' }],
    [
      'kernel boot under TCG, as the test guest does',
      { ...base, virtType: 'qemu', kernel: '/var/lib/corral/vmlinuz', initrd: '/var/lib/corral/initrd.img', cmdline: 'console=ttyS0 panic=-1 x="<&>"' },
    ],
    ['a machine type and a named CPU model', { ...base, machine: 'pc-q35-7.2', cpuModel: 'Skylake-Server-v4' }],
    ['CPU model maximum under TCG', { ...base, virtType: 'qemu', cpuModel: 'maximum' }],
    ['host-model and a uuid', { ...base, cpuModel: 'host-model', uuid: SECRET }],
    ['no startup signal, no VNC', { ...base, startupSignal: false, vnc: false }],
    ['UEFI firmware (an image made with mk_debian_installer --uefi)', { ...base, firmware: 'efi', disks: [{ option: 'disk', value: '/dev/vm/gum' }] }],
    ['UEFI on q35 with a direct kernel boot under TCG', { ...base, firmware: 'efi', machine: 'q35', virtType: 'qemu', kernel: '/k', cmdline: 'console=ttyS0' }],
    ['many disks (past vdz)', { ...base, disks: Array.from({ length: 30 }, (_, i) => ({ option: 'disk' as const, value: `/dev/vm/d${i}` })) }],
  ];

  it.each(cases)('%s', async (_what, args) => {
    const v = await validateDomainXml(domainXmlFromArgs(args));
    expect(v.message).toBe('valid');
    expect(v.ok).toBe(true);
  });
});

describe('validateDomainXml', () => {
  it('reports what libvirt rejects, without the temporary path', async () => {
    const v = await validateDomainXml('<domain type="kvm"><name>x</name><bogus/></domain>');
    expect(v.ok).toBe(false);
    expect(v.message).toMatch(/domain\.xml/);
    expect(v.message).not.toContain(tmpdir());
  });

  it('reports XML that is not well-formed', async () => {
    const v = await validateDomainXml('<domain');
    expect(v.ok).toBe(false);
  });

  it('leaves no temporary files behind', async () => {
    const before = (await readdir(tmpdir())).filter((n) => n.startsWith('corral-validate-'));
    await validateDomainXml('<domain/>');
    const after = (await readdir(tmpdir())).filter((n) => n.startsWith('corral-validate-'));
    expect(after.length).toBeLessThanOrEqual(before.length);
  });
});

describe('the create_domxml command', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'corral-create-domxml-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the original system's example on stdout, and it validates", async () => {
    const r = await createDomxml(EXAMPLE);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(`${r.stdout}\n`).toBe(
      domainXmlFromArgs({
        name: 'gum',
        cpus: '16',
        mem: '8g',
        ovs: 'vh',
        nics: [{ option: 'iface', value: '150' }],
        disks: [{ option: 'disk', value: '/dev/vm/gum' }, { option: 'disk', value: '/dev/data/gum' }],
      }),
    );
    expect((await validateDomainXml(r.stdout)).ok).toBe(true);
  });

  it('keeps --disk/--rbd and --iface/--bridge in command-line order', async () => {
    const r = await createDomxml([
      '--name', 'o', '--cpus', '1', '--mem', '256m',
      '--rbd', 'p/root', '--disk', '/dev/vm/o', '--bridge', 'br0', '--iface', 'vh:7',
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.indexOf('p/root')).toBeLessThan(r.stdout.indexOf('/dev/vm/o'));
    expect(r.stdout).toMatch(/name="p\/root"\/>\s*<target dev="vda"/);
    expect(r.stdout.indexOf('bridge="br0"')).toBeLessThan(r.stdout.indexOf('bridge="vh"'));
  });

  it('writes -o FILE instead of stdout, and --validate checks it', async () => {
    const file = join(dir, 'gum.xml');
    const r = await createDomxml([...EXAMPLE, '--validate', '-o', file]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    const xml = await readFile(file, 'utf8');
    expect(xml).toContain('<name>gum</name>');
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses -o into a directory that does not exist: exit 2 and a message', async () => {
    const r = await createDomxml([...EXAMPLE, '-o', join(dir, 'missing', 'gum.xml')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(`create_domxml: -o ${join(dir, 'missing', 'gum.xml')}: there is no directory ${join(dir, 'missing')}`);
    expect(r.stdout).toBe('');
  });

  it('shows its synopsis with --help and exits 0', async () => {
    const r = await createDomxml(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Usage: create_domxml [options]');
    expect(r.stdout).toContain('--iface <vlans...>');
  });

  it.each<[string, string[], RegExp]>([
    ['a name with shell metacharacters', ['--name', 'x;rm -rf /', '--cpus', '1', '--mem', '1g'], /--name "x;rm -rf \/": a VM name is/],
    ['an option smuggled in as a name', ['--name=--x', '--cpus', '1', '--mem', '1g'], /--name "--x": a VM name is/],
    ['a name with a path', ['--name', '../etc', '--cpus', '1', '--mem', '1g'], /--name "\.\.\/etc": a VM name/],
    ['negative memory', ['--name', 'a', '--cpus', '1', '--mem', '-1'], /--mem "-1": "-1" is not a size/],
    ['memory with a bad unit', ['--name', 'a', '--cpus', '1', '--mem', '8x'], /--mem "8x": "8x" is not a size/],
    ['absurd memory', ['--name', 'a', '--cpus', '1', '--mem', '1e400'], /--mem "1e400": "1e400" is not a size/],
    ['zero vCPUs', ['--name', 'a', '--cpus', '0', '--mem', '1g'], /--cpus "0": the number of vCPUs is a whole number from 1 to 4096/],
    ['absurd vCPUs', ['--name', 'a', '--cpus', '100000', '--mem', '1g'], /--cpus "100000": the number of vCPUs is a whole number from 1 to 4096/],
    ['a missing required option', ['--name', 'a', '--cpus', '1'], /^create_domxml: --mem SIZE is required$/m],
    ['an unknown option', ['--name', 'a', '--cpus', '1', '--mem', '1g', '--bogus'], /^create_domxml: unknown option "--bogus"$/m],
    ['a stray argument', ['--name', 'a', '--cpus', '1', '--mem', '1g', 'extra'], /^create_domxml: unexpected argument "extra" \(usage: create_domxml \[options\]\)$/m],
    ['a VLAN without a bridge', ['--name', 'a', '--cpus', '1', '--mem', '1g', '--iface', '150'], /--iface "150": which Open vSwitch bridge\?/],
  ])('rejects %s: exit 2, a message on stderr, nothing on stdout', async (_what, args, message) => {
    const r = await createDomxml(args);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^create_domxml: /);
    expect(r.stderr).toMatch(message);
  });

  it('writes no -o file when the input is rejected', async () => {
    const out = join(dir, 'rejected.xml');
    const r = await createDomxml(['--name', 'a', '--cpus', '1', '--mem', '8x', '-o', out]);
    expect(r.exitCode).toBe(2);
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });
});
