// domadd, domdel, nodecap and fixup_domxml against CIB files (CIB_file): what they write passes
// crm_verify, crm_simulate places the VMs the way the options ask, and every refused input
// leaves the CIB file byte-identical. No cluster runs; the TransientDomain agent need not be
// installed: neither crm_verify nor crm_simulate runs resource agents.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CibDoc } from '../../lib/cib/edit.js';
import { Cib, corralVms, kids, kid, parseXNode } from '../../lib/cib/model.js';
import { render } from '../../lib/cib/render.js';
import { DomainDoc } from '../../lib/domain/doc.js';
import { identityOf } from '../../lib/domain/fixup.js';
import { verifyCibFile } from '../../lib/host/pacemaker/cib.js';
import { getResourceParameter } from '../../lib/host/pacemaker/resources.js';
import { simulate } from '../../lib/host/pacemaker/simulate.js';
import { validateDomainXml } from '../../lib/host/virt-xml-validate.js';
import { emptyCib } from '../support/empty-cib.js';

const ROOT = new URL('../..', import.meta.url).pathname;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corral-domadd-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built command (dist/bin/COMMAND, as installed) with ARGS on the CIB file CIB. */
function cli(cib: string, command: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'dist/bin', command),
      args,
      { cwd: ROOT, env: { ...process.env, CIB_file: cib }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function ok(cib: string, command: string, ...args: string[]): Promise<Run> {
  const r = await cli(cib, command, ...args);
  expect(r.code, `${command} ${args.join(' ')}:\n${r.stderr}`).toBe(0);
  return r;
}

let cibCount = 0;
/** A CIB file with NODES (as <node> elements, offline) and stonith-enabled=false. */
async function newCib(nodes: readonly string[] = ['n1', 'n2', 'n3'], schema = 'pacemaker-3.9'): Promise<string> {
  const file = join(dir, `cib-${++cibCount}.xml`);
  await writeFile(
    file,
    emptyCib(nodes, { schema }),
  );
  return file;
}

let vmCount = 0;
/** Writes a stable domain XML for NAME and returns its path. */
async function vmXml(name: string, o: { cpus?: number; memMiB?: number; uuid?: string; mac?: string; raw?: string; disk?: string } = {}): Promise<string> {
  const n = ++vmCount;
  const file = join(dir, `vm-${n}-${name.replace(/[^A-Za-z0-9]/g, '_')}.xml`);
  const uuid = o.uuid ?? `7e57da7a-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const mac = o.mac ?? `52:54:00:7e:${String(Math.floor(n / 100) % 100).padStart(2, '0')}:${String(n % 100).padStart(2, '0')}`;
  await writeFile(
    file,
    o.raw ??
      `<domain type="qemu">
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <memory unit="MiB">${o.memMiB ?? 512}</memory>
  <vcpu>${o.cpus ?? 1}</vcpu>
  <os><type arch="x86_64">hvm</type></os>
  <devices>${o.disk ? `\n    <disk type="block" device="disk"><source dev="${o.disk}"/><target dev="vda" bus="virtio"/></disk>` : ''}
    <interface type="bridge">
      <mac address="${mac}"/>
      <source bridge="br0"/>
      <model type="virtio"/>
    </interface>
    <serial type="pty">
      <log file="/var/log/corral/console/${name}.log" append="on"/>
    </serial>
    <channel type="unix">
      <target type="virtio" name="startup_signal"/>
    </channel>
  </devices>
</domain>
`,
  );
  return file;
}

/** Adds VM NAME with domadd OPTIONS. */
async function addVm(cib: string, name: string, options: string[] = [], xml: { cpus?: number; memMiB?: number } = {}): Promise<void> {
  await ok(cib, 'domadd', ...options, await vmXml(name, xml));
}

/** Gives RSC a location preference for NODE (a pull the tests' options must overcome). */
async function prefer(cib: string, rsc: string, node: string, score = 100): Promise<void> {
  const cd = CibDoc.parse(await readFile(cib, 'utf8'));
  cd.append(
    cd.section('constraints'),
    render('<rsc_location id="{{id}}" rsc="{{rsc}}" node="{{node}}" score="{{score}}"/>', {
      id: `test-prefer-${rsc}-${node}`,
      rsc,
      node,
      score: String(score),
    }),
  );
  await writeFile(cib, cd.toXml());
}

/** Where crm_simulate puts every resource with NODES online (and quorum). */
async function placement(cib: string, nodes: readonly string[] = ['n1', 'n2', 'n3']): Promise<Record<string, string[]>> {
  const sim = await simulate(cib, { nodesUp: nodes });
  return Object.fromEntries(sim.placement);
}

async function expectValid(cib: string): Promise<void> {
  const v = await verifyCibFile(cib);
  expect(v, v.messages.join('\n')).toEqual({ ok: true, messages: [] });
}

function withCibFile<T>(cib: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.CIB_file;
  process.env.CIB_file = cib;
  return fn().finally(() => {
    if (before === undefined) delete process.env.CIB_file;
    else process.env.CIB_file = before;
  });
}

describe('domadd writes what Pacemaker accepts', () => {
  it('adds vm-NAME as ocf:corral:TransientDomain; crm_verify is clean; crm_resource reads the XML back', async () => {
    const cib = await newCib();
    const xml = await vmXml('gum', { cpus: 4, memMiB: 2048 });
    const r = await ok(cib, 'domadd', xml);
    expect(r.stdout).toContain('domadd: add vm-gum (4 vCPU, 2048 MiB)');
    await expectValid(cib);

    const c = Cib.parse(await readFile(cib, 'utf8'));
    const vm = c.resource('vm-gum')!;
    expect([vm.class, vm.provider, vm.type]).toEqual(['ocf', 'corral', 'TransientDomain']);
    expect(vm.utilization).toEqual({ cpu: '4', hv_memory: '2048' });
    expect(vm.meta).toEqual({ 'allow-migrate': 'true' });
    const ops = kids(kid(vm.node, 'operations'), 'op').map((o) => `${o.attrs.name}/${o.attrs.interval}/${o.attrs.timeout}`);
    expect(ops).toEqual(['start/0s/300s', 'stop/0s/120s', 'monitor/10s/30s', 'migrate_to/0s/120s', 'migrate_from/0s/120s']);

    const config = await withCibFile(cib, () => getResourceParameter('vm-gum', 'config'));
    const stored = DomainDoc.parse(config ?? '');
    expect(identityOf(stored)).toEqual(identityOf(DomainDoc.parse(await readFile(xml, 'utf8'))));
  });

  it('every option together still passes crm_verify', async () => {
    const cib = await newCib();
    await addVm(cib, 'a');
    await addVm(cib, 'b');
    await addVm(cib, 'c', ['--priority', '5', '--avoid', 'a', '--avoid', 'b:never', '--group-apart', 'dns', '--pin', 'n1',
      '--only-on', 'n1,n2', '--after', 'a']);
    await addVm(cib, 'd', ['--group-apart', 'dns:-INFINITY']);
    await expectValid(cib);
  });
});

describe('crm_simulate places the VMs as the options ask', () => {
  it('--avoid keeps two VMs apart that both prefer the same node', async () => {
    const cib = await newCib();
    await addVm(cib, 'a');
    await addVm(cib, 'b', ['--avoid', 'a']);
    await prefer(cib, 'vm-a', 'n1');
    await prefer(cib, 'vm-b', 'n1');
    const p = await placement(cib);
    expect(p['vm-a']).toEqual(['n1']);
    expect(p['vm-b']).toHaveLength(1);
    expect(p['vm-b']).not.toEqual(['n1']);

    // the same without --avoid: both on n1 (so the test above can fail)
    const control = await newCib();
    await addVm(control, 'a');
    await addVm(control, 'b');
    await prefer(control, 'vm-a', 'n1');
    await prefer(control, 'vm-b', 'n1');
    expect(await placement(control)).toEqual({ 'vm-a': ['n1'], 'vm-b': ['n1'] });
  });

  it('--avoid OTHER:never leaves a VM stopped rather than share the last node; the default score shares', async () => {
    const never = await newCib();
    await addVm(never, 'a');
    await addVm(never, 'b', ['--avoid', 'a:never']);
    expect(await placement(never, ['n1'])).toEqual({ 'vm-a': ['n1'], 'vm-b': [] });

    const soft = await newCib();
    await addVm(soft, 'a');
    await addVm(soft, 'b', ['--avoid', 'a']);
    expect(await placement(soft, ['n1'])).toEqual({ 'vm-a': ['n1'], 'vm-b': ['n1'] });
  });

  it('--pin puts VMs on their node, and elsewhere while that node is down', async () => {
    const cib = await newCib();
    await addVm(cib, 'a', ['--pin', 'n3']);
    await addVm(cib, 'b', ['--pin', 'n3']);
    expect(await placement(cib)).toEqual({ 'vm-a': ['n3'], 'vm-b': ['n3'] });
    const down = await placement(cib, ['n1', 'n2']);
    expect(down['vm-a']).toHaveLength(1);
    expect(down['vm-b']).toHaveLength(1);
  });

  it('--only-on keeps a VM off every other node, even when that means stopped', async () => {
    const cib = await newCib();
    await addVm(cib, 'a', ['--only-on', 'n2,n3']);
    expect(await placement(cib, ['n1'])).toEqual({ 'vm-a': [] });
    expect(await placement(cib, ['n1', 'n3'])).toEqual({ 'vm-a': ['n3'] });
  });

  it('node capacity caps a node: a VM that does not fit goes elsewhere or stays stopped', async () => {
    const cib = await newCib();
    await ok(cib, 'nodecap', 'n1', '--cpus', '4', '--mem', '4g');
    await ok(cib, 'nodecap', 'n2', '--cpus', '16', '--mem', '16g');
    await ok(cib, 'nodecap', 'n3', '--cpus', '16', '--mem', '1g');
    expect(Cib.parse(await readFile(cib, 'utf8')).options['placement-strategy']).toBe('balanced');
    await addVm(cib, 'big', ['--pin', 'n1'], { cpus: 8, memMiB: 2048 }); // wants n1, needs more CPUs than n1 has
    await addVm(cib, 'huge', [], { cpus: 32, memMiB: 1024 }); // fits nowhere
    await expectValid(cib);
    expect(await placement(cib)).toEqual({ 'vm-big': ['n2'], 'vm-huge': [] });

    // without node capacity the pin wins and nothing stays stopped
    const control = await newCib();
    await addVm(control, 'big', ['--pin', 'n1'], { cpus: 8, memMiB: 2048 });
    await addVm(control, 'huge', [], { cpus: 32, memMiB: 1024 });
    const p = await placement(control);
    expect(p['vm-big']).toEqual(['n1']);
    expect(p['vm-huge']).toHaveLength(1);
  });

  it('--priority wins a shortage: with room for one VM the higher priority runs', async () => {
    const cib = await newCib(['n1']);
    await ok(cib, 'nodecap', 'n1', '--cpus', '4', '--mem', '4g');
    await addVm(cib, 'a', [], { cpus: 4 });
    await addVm(cib, 'b', ['--priority', '10'], { cpus: 4 });
    expect(await placement(cib, ['n1'])).toEqual({ 'vm-a': [], 'vm-b': ['n1'] });

    // the same without priority: the first one gets the node
    const control = await newCib(['n1']);
    await ok(control, 'nodecap', 'n1', '--cpus', '4', '--mem', '4g');
    await addVm(control, 'a', [], { cpus: 4 });
    await addVm(control, 'b', [], { cpus: 4 });
    expect(await placement(control, ['n1'])).toEqual({ 'vm-a': ['n1'], 'vm-b': [] });
  });

  it('--group-apart keeps three tagged VMs on three nodes although all prefer one', async () => {
    const cib = await newCib();
    for (const n of ['ns1', 'ns2', 'ns3']) {
      await addVm(cib, n, ['--group-apart', 'dns']);
      await prefer(cib, `vm-${n}`, 'n1');
    }
    await addVm(cib, 'web'); // not in the group: follows its preference onto n1
    await prefer(cib, 'vm-web', 'n1');
    const c = Cib.parse(await readFile(cib, 'utf8'));
    expect(c.tags.get('dns')).toEqual(['vm-ns1', 'vm-ns2', 'vm-ns3']);
    const p = await placement(cib);
    const nodes = ['vm-ns1', 'vm-ns2', 'vm-ns3'].map((id) => p[id]?.[0]);
    expect(new Set(nodes)).toEqual(new Set(['n1', 'n2', 'n3']));
    expect(p['vm-web']).toEqual(['n1']);
  });

  it('--group-apart TAG:never on two nodes: the third VM of the group stays stopped', async () => {
    const cib = await newCib(['n1', 'n2']);
    for (const n of ['ns1', 'ns2', 'ns3']) await addVm(cib, n, ['--group-apart', 'dns:never']);
    const p = await placement(cib, ['n1', 'n2']);
    const running = Object.values(p).filter((nodes) => nodes.length === 1).map((nodes) => nodes[0]);
    expect(running.sort()).toEqual(['n1', 'n2']);
  });

  it('--after OTHER:mandatory: a VM does not start while the VM it follows cannot', async () => {
    const cib = await newCib();
    await addVm(cib, 'db', ['--only-on', 'n3']);
    await addVm(cib, 'app', ['--after', 'db:mandatory']);
    await addVm(cib, 'other');
    const p = await placement(cib, ['n1', 'n2']); // n3 is down: db cannot run
    expect(p['vm-db']).toEqual([]);
    expect(p['vm-app']).toEqual([]);
    expect(p['vm-other']).toHaveLength(1);
    const all = await placement(cib);
    expect(all['vm-app']).toHaveLength(1);
  });
});

describe('changing and removing', () => {
  it('--dry-run prints the change and leaves the file byte-identical (domadd, domdel, nodecap)', async () => {
    const cib = await newCib();
    await addVm(cib, 'a');
    const before = await readFile(cib);
    const r = await ok(cib, 'domadd', '--dry-run', '--avoid', 'a', await vmXml('b'));
    expect(r.stdout).toContain('nothing was changed');
    expect(r.stdout).toContain('<diff format="2">');
    expect(r.stdout).toContain('vm-b-avoid-vm-a');
    expect(await ok(cib, 'domdel', '--dry-run', 'a')).toMatchObject({ stdout: expect.stringContaining('operation="delete"') });
    await ok(cib, 'nodecap', '--dry-run', 'n1', '--cpus', '8');
    expect((await readFile(cib)).equals(before)).toBe(true);
  });

  it('--replace updates the XML and the options given, keeps the rest, and stays one valid change', async () => {
    const cib = await newCib();
    await addVm(cib, 'a');
    const xml = await vmXml('gum', { cpus: 2, memMiB: 1024 });
    await ok(cib, 'domadd', '--priority', '7', '--pin', 'n1', '--avoid', 'a', xml);
    await writeFile(xml, (await readFile(xml, 'utf8')).replace('<vcpu>2</vcpu>', '<vcpu>6</vcpu>').replace('>1024<', '>3072<'));
    await ok(cib, 'domadd', '--replace', '--no-pin', xml);
    await expectValid(cib);
    const c = Cib.parse(await readFile(cib, 'utf8'));
    const gum = c.resource('vm-gum')!;
    expect(gum.utilization).toEqual({ cpu: '6', hv_memory: '3072' });
    expect(gum.params.config).toContain('<vcpu>6</vcpu>');
    expect(gum.meta.priority).toBe('7');
    expect(c.constraints.map((k) => k.attrs.id)).toEqual(['vm-gum-avoid-vm-a']);
    expect(corralVms(c).map((v) => v.name)).toEqual(['a', 'gum']);
  });

  it('domdel removes the VM, its constraints, other VMs\' constraints on it and its group membership', async () => {
    const cib = await newCib();
    await addVm(cib, 'a', ['--group-apart', 'dns']);
    await addVm(cib, 'b', ['--group-apart', 'dns', '--avoid', 'a', '--after', 'a', '--pin', 'n2']);
    await addVm(cib, 'c', ['--group-apart', 'solo', '--avoid', 'b']);
    const r = await ok(cib, 'domdel', 'b');
    expect(r.stdout).toContain('domdel: remove primitive vm-b');
    await expectValid(cib);
    let c = Cib.parse(await readFile(cib, 'utf8'));
    expect(c.resource('vm-b')).toBeUndefined();
    expect(c.constraints.map((k) => k.attrs.id)).toEqual(['apart-dns', 'apart-solo']);
    expect(c.tags.get('dns')).toEqual(['vm-a']);
    await ok(cib, 'domdel', 'a');
    await ok(cib, 'domdel', 'c');
    c = Cib.parse(await readFile(cib, 'utf8'));
    expect(c.resources).toEqual([]);
    expect(c.constraints).toEqual([]);
    expect(c.tags.size).toBe(0);
    await expectValid(cib);
  });

  it('domdel refuses a VM the status shows running, unless --force', async () => {
    const cib = await newCib();
    await addVm(cib, 'a');
    await simulate(cib, { nodesUp: ['n1', 'n2', 'n3'], saveOutput: cib }); // the CIB now records vm-a running
    const before = await readFile(cib);
    const r = await cli(cib, 'domdel', 'a');
    expect(r.code).toBe(2); // refused: the user must stop it or add --force
    expect(r.stderr).toMatch(/vm-a is running on n\d; stop it first .*or use --force/);
    expect((await readFile(cib)).equals(before)).toBe(true);
    const forced = await ok(cib, 'domdel', '--force', 'a');
    expect(forced.stdout).toContain('Pacemaker stops it now');
    expect(Cib.parse(await readFile(cib, 'utf8')).resources).toEqual([]);
  });

  it('nodecap sets node capacity, and placement-strategy only when unset or asked', async () => {
    const cib = await newCib();
    await ok(cib, 'nodecap', 'n1', '--cpus', '32', '--mem', '256g');
    let c = Cib.parse(await readFile(cib, 'utf8'));
    expect(c.node('n1')?.utilization).toEqual({ cpu: '32', hv_memory: String(256 * 1024) });
    expect(c.options['placement-strategy']).toBe('balanced');
    await ok(cib, 'nodecap', 'n1', '--mem', '128g', '--placement-strategy', 'utilization');
    c = Cib.parse(await readFile(cib, 'utf8'));
    expect(c.node('n1')?.utilization).toEqual({ cpu: '32', hv_memory: String(128 * 1024) });
    expect(c.options['placement-strategy']).toBe('utilization');
    const shown = await ok(cib, 'nodecap');
    expect(shown.stdout).toContain('placement-strategy: utilization');
    expect(shown.stdout).toContain('n1: cpu 32, hv_memory 131072 (128 GiB)');
    await expectValid(cib);
  });
});

describe('fixup_domxml with a CIB', () => {
  it('fixes up in place, and refuses an XML whose uuid or MAC another VM has', async () => {
    const cib = await newCib();
    await addVm(cib, 'a');
    const a = Cib.parse(await readFile(cib, 'utf8')).resource('vm-a')!;
    const taken = identityOf(DomainDoc.parse(a.params.config ?? ''));

    const fresh = await vmXml('fresh', { raw: '<domain type="qemu"><name>fresh</name><memory>1048576</memory><vcpu>1</vcpu><devices><interface type="bridge"/></devices></domain>' });
    await ok(cib, 'fixup_domxml', '-i', fresh);
    const fixed = identityOf(DomainDoc.parse(await readFile(fresh, 'utf8')));
    expect(fixed.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(fixed.macs).toHaveLength(1);
    await ok(cib, 'domadd', fresh); // stable now: domadd takes it

    const copy = await vmXml('copy', { uuid: taken.uuid, mac: taken.macs[0] });
    const before = await readFile(copy);
    const r = await cli(cib, 'fixup_domxml', '-i', copy);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the uuid ${taken.uuid} is taken by vm-a`);
    expect(r.stderr).toContain(`the MAC address ${taken.macs[0]} is taken by vm-a`);
    expect((await readFile(copy)).equals(before)).toBe(true);
  });
});

describe('bad input: a clear message, exit code not 0, the CIB file byte-identical', () => {
  let cib: string;
  let before: Buffer;
  let existing: { uuid: string; mac: string };

  beforeAll(async () => {
    cib = await newCib();
    await addVm(cib, 'a');
    await addVm(cib, 'b');
    existing = { uuid: '7e57da7a-0000-4000-8000-0000000000aa', mac: '52:54:00:7e:aa:aa' };
    await ok(cib, 'domadd', await vmXml('c', { ...existing, disk: '/dev/vm/c' }));
    before = await readFile(cib);
  }, 120_000);

  const cases: [string, () => Promise<string[]>, RegExp][] = [
    ['a name with shell metacharacters', async () => ['domadd', await vmXml('gum;rm -rf /')], /the domain name "gum;rm -rf \/" is not usable/],
    ['a name with a slash', async () => ['domadd', await vmXml('../etc/passwd')], /is not usable/],
    ['a name with $( )', async () => ['domadd', await vmXml('$(reboot)')], /is not usable/],
    ['option injection --avoid=--x', async () => ['domadd', '--avoid=--x', await vmXml('d')], /--avoid "--x": a VM name is/],
    ['option injection --pin=--x', async () => ['domadd', '--pin=--x', await vmXml('d')], /--pin "--x": a node name is/],
    ['an unknown option', async () => ['domadd', '--name=--x', await vmXml('d')], /unknown option "--name=--x"/],
    ['broken XML', async () => ['domadd', await vmXml('d', { raw: '<domain><name>d</name><devices>' })], /not well-formed/],
    ['XML that is not a domain', async () => ['domadd', await vmXml('d', { raw: '<network><name>d</name></network>' })], /expected a <domain> document, found <network>/],
    ['an XML that is not stable, with --no-fixup', async () => ['domadd', '--no-fixup', await vmXml('d', { raw: '<domain><name>d</name><memory>1024</memory><vcpu>1</vcpu></domain>' })], /the XML is not stable \(set the uuid; .*\): leave out --no-fixup, or run fixup_domxml -i first/],
    ['a disk another VM writes to', async () => ['domadd', await vmXml('d', { disk: '/dev/vm/c' })], /the disk \/dev\/vm\/c is used by vm-c \(two VMs writing to one disk destroy it/],
    ['the same disk spelt otherwise', async () => ['domadd', await vmXml('d', { disk: '/dev/vm/../vm//c' })], /the disk \/dev\/vm\/c is used by vm-c/],
    ['an --after with an unknown ordering', async () => ['domadd', '--after', 'a:always', await vmXml('d')], /--after "a:always": the ordering after ":" is optional \(the default\) or mandatory/],
    ['non-ASCII text in a parameter (Pacemaker 2.1 cannot store it safely)', async () => ['domadd', '--param', 'migration_network_suffix=-é"/><primitive id="evil"/>', await vmXml('d')], /--param migration_network_suffix=.*: only letters, digits/],
    ['a file that does not exist', async () => ['domadd', join(dir, 'nope.xml')], /^domadd: \S*nope\.xml: no such file$/m],
    ['a duplicate name', async () => ['domadd', await vmXml('a')], /vm-a is already in the cluster; use domadd --replace/],
    ['a duplicate uuid', async () => ['domadd', await vmXml('d', { uuid: existing.uuid })], /the uuid 7e57da7a-0000-4000-8000-0000000000aa is taken by vm-c/],
    ['a duplicate MAC', async () => ['domadd', await vmXml('d', { mac: existing.mac })], /the MAC address 52:54:00:7e:aa:aa is taken by vm-c/],
    ['an unknown --avoid VM', async () => ['domadd', '--avoid', 'zz', await vmXml('d')], /--avoid zz: there is no VM zz \(vm-zz\) in the cluster \(VMs: a, b, c\)/],
    ['an unknown --after VM', async () => ['domadd', '--after', 'zz', await vmXml('d')], /--after zz: there is no VM zz/],
    ['a positive --avoid score', async () => ['domadd', '--avoid', 'a:100', await vmXml('d')], /must be negative/],
    ['a score that is not a number', async () => ['domadd', '--avoid', 'a:lots', await vmXml('d')], /"lots" is not a score/],
    ['an absurd score', async () => ['domadd', '--avoid', 'a:-99999999', await vmXml('d')], /is not a score/],
    ['a bad --group-apart score', async () => ['domadd', '--group-apart', 'dns:5', await vmXml('d')], /must be negative/],
    ['a bad priority', async () => ['domadd', '--priority', '1e9', await vmXml('d')], /--priority "1e9"/],
    ['an unknown node', async () => ['domadd', '--pin', 'n9', await vmXml('d')], /--pin n9: there is no node n9 in the cluster \(nodes: n1, n2, n3\)/],
    ['--replace of a VM that is not there', async () => ['domadd', '--replace', await vmXml('d')], /there is no vm-d to replace/],
    ['a --group-apart tag whose id is taken', async () => ['domadd', '--group-apart', 'vm-a', await vmXml('d')], /already used by a <primitive>/],
    ['domdel of an unknown VM', async () => ['domdel', 'zz'], /there is no VM zz \(vm-zz\)/],
    ['domdel of a name with shell metacharacters', async () => ['domdel', 'a;reboot'], /"a;reboot": a VM name is/],
    ['domdel of a path', async () => ['domdel', '../a'], /a VM name is/],
    ['domdel option injection', async () => ['domdel', '--name=--x'], /unknown option/],
    ['nodecap of an unknown node', async () => ['nodecap', 'n9', '--cpus', '4'], /no node n9/],
    ['nodecap with a negative size', async () => ['nodecap', 'n1', '--mem', '-5g'], /--mem "-5g": "-5g" is not a size/],
    ['nodecap with an absurd size', async () => ['nodecap', 'n1', '--mem', '5000p'], /--mem/],
    ['nodecap with no CPUs', async () => ['nodecap', 'n1', '--cpus', '0'], /^nodecap: --cpus "0": the vCPUs a node may run are a whole number from 1 to 100000, e.g. 32$/m],
    ['nodecap with a bad strategy', async () => ['nodecap', 'n1', '--placement-strategy', 'random'], /--placement-strategy/],
    ['fixup_domxml of a bad name', async () => ['fixup_domxml', await vmXml('a b')], /is not usable/],
  ];

  it.each(cases)('%s', async (_what, argv, message) => {
    const [command, ...args] = await argv();
    const r = await cli(cib, command as string, ...args);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').filter(Boolean).every((l) => l.startsWith(`${command}: `))).toBe(true);
    expect(r.stdout).toBe('');
    expect((await readFile(cib)).equals(before), 'the CIB file changed').toBe(true);
  });

  it('a change Pacemaker\'s schema refuses (tags in a pacemaker-1.2 CIB) changes nothing either', async () => {
    const old = await newCib(['n1'], 'pacemaker-1.2');
    const bytes = await readFile(old);
    const r = await cli(old, 'domadd', '--group-apart', 'dns', await vmXml('d'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/would make the configuration invalid/);
    expect((await readFile(old)).equals(bytes)).toBe(true);
  });
});

// Pacemaker 2.1.5's XML writer (crm_diff, the CIB file, cibadmin --query) stops escaping an
// attribute value after its first non-ASCII character: markup that follows it in a domain XML
// became CIB elements. Every place a domain XML can hold text is tried; the CIB must end with
// exactly the VM that was added, its XML stored intact.
describe('markup after non-ASCII text in a domain XML stays text', () => {
  const payload = 'é"/></nvpair></instance_attributes></primitive><primitive id="evil" class="ocf" provider="heartbeat" type="anything"><instance_attributes id="evil-ia"><nvpair id="evil-cmd" name="binfile" value="/bin/sh"/></instance_attributes></primitive><x y="';
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const places: [string, (p: string) => string][] = [
    ['the description', (p) => `<description>Café € 😀 ${esc(p)}</description>`],
    ['the title', (p) => `<title>${esc(p)}</title>`],
    ['metadata text', (p) => `<metadata><app:note xmlns:app="urn:example">${esc(p)}</app:note></metadata>`],
    ['a metadata attribute', (p) => `<metadata><app:note xmlns:app="urn:example" text="${esc(p)}"/></metadata>`],
    ['CDATA', (p) => `<description><![CDATA[${p}]]></description>`],
    ['a device attribute', (p) => `<devices><disk type="file" device="disk"><source file="/srv/${esc(p).replace(/\//g, '_')}"/><target dev="vda"/></disk></devices>`],
    ['a character reference', () => `<description>&#xE9;&#x22;/&gt;&lt;primitive id=&quot;evil&quot;/&gt;</description>`],
  ];

  it.each(places)('in %s: one VM, nothing else, the XML read back as written', async (_where, part) => {
    const cib = await newCib();
    const inner = part(payload);
    const devicesInPart = inner.startsWith('<devices>');
    const xml = `<domain type="qemu"><name>gum</name><uuid>7e57da7a-0000-4000-8000-00000000abcd</uuid>${devicesInPart ? '' : inner}<memory unit="MiB">64</memory><vcpu>1</vcpu><os><type arch="x86_64">hvm</type></os>${devicesInPart ? inner.replace('</devices>', '<serial type="pty"><log file="/var/log/corral/console/gum.log" append="on"/></serial></devices>') : '<devices><serial type="pty"><log file="/var/log/corral/console/gum.log" append="on"/></serial></devices>'}</domain>`;
    const file = join(dir, `inject-${++vmCount}.xml`);
    await writeFile(file, xml);
    await ok(cib, 'domadd', file);
    const text = await readFile(cib, 'utf8');
    const c = Cib.parse(text);
    expect(c.resources.map((r) => r.id)).toEqual(['vm-gum']);
    expect(text).not.toMatch(/<primitive id="evil"/);
    expect(text).toMatch(/^[\x00-\x7f]*$/);
    // What the agent gets is the same domain: every text and attribute as written.
    const stored = (await getResourceParameter('vm-gum', 'config').catch(() => undefined)) ?? corralVms(c)[0]?.config ?? '';
    expect(canonicalDomain(stored)).toBe(canonicalDomain(xml));
    const r = await ok(cib, 'corral', 'list', '--json');
    expect(JSON.parse(r.stdout).vms.map((v: { name: string }) => v.name)).toEqual(['gum']);
  });

  it('a comment holding non-ASCII text is refused with a clear message, the CIB unchanged', async () => {
    const cib = await newCib();
    const before = await readFile(cib);
    const file = join(dir, `inject-${++vmCount}.xml`);
    await writeFile(file, `<domain type="qemu"><name>gum</name><!-- ${payload.replace(/--/g, '')} --><memory unit="MiB">64</memory><vcpu>1</vcpu></domain>`);
    const r = await cli(cib, 'domadd', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^domadd: a comment holds the character "é": outside text and attribute values, Pacemaker can store only ASCII$/m);
    expect((await readFile(cib)).equals(before)).toBe(true);
  });
});

/** A domain XML in a canonical form (DOM → sorted attributes, trimmed text), to compare meaning. */
function canonicalDomain(xml: string): string {
  const walk = (el: Element): unknown => [
    el.tagName,
    Array.from(el.attributes).map((a) => [a.name, a.value]).sort(),
    Array.from(el.childNodes).filter((n) => n.nodeType === 3 || n.nodeType === 4).map((n) => n.nodeValue).join('').trim(),
    Array.from(el.childNodes).filter((n) => n.nodeType === 1).map((n) => walk(n as Element)),
  ];
  const doc = DomainDoc.parse(xml);
  // fixup adds a console log and the like: compare what the test wrote, not what was added.
  return JSON.stringify(walk(doc.root)).replace(/,\["serial".*?\]\]\]\]/, '');
}

describe('many changes at once', () => {
  it('six concurrent domadds on one CIB file keep all six VMs', async () => {
    const cib = await newCib();
    const files = await Promise.all(['v1', 'v2', 'v3', 'v4', 'v5', 'v6'].map((n) => vmXml(n)));
    const runs = await Promise.all(files.map((f) => cli(cib, 'domadd', f)));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const names = corralVms(Cib.parse(await readFile(cib, 'utf8'))).map((v) => v.name).sort();
    expect(names).toEqual(['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
  });
});

describe('the seed\'s workflow: create_domxml > FILE, then domadd FILE', () => {
  it('domadd makes the XML stable itself, says what it fixed, and gives each VM its own MACs', async () => {
    const cib = await newCib();
    const made: string[] = [];
    for (const n of ['gum', 'elm']) {
      const file = join(dir, `seed-${n}.xml`);
      const r = await new Promise<Run>((resolve) =>
        execFile(join(ROOT, 'dist/bin/create_domxml'), ['--name', n, '--cpus', '2', '--mem', '1g', '--bridge', 'br0', '--disk', `/dev/vm/${n}`], (err, stdout, stderr) =>
          resolve({ code: err ? 1 : 0, stdout, stderr }),
        ),
      );
      expect(r.code, r.stderr).toBe(0);
      await writeFile(file, r.stdout);
      made.push(file);
      const add = await ok(cib, 'domadd', file);
      expect(add.stdout).toMatch(/^domadd: fixed up: set the uuid to [0-9a-f-]{36}$/m);
      expect(add.stdout).toMatch(/^domadd: fixed up: interface 1: set the MAC address to 52:54:00(:[0-9a-f]{2}){3}$/m);
      expect(add.stdout).toMatch(new RegExp(`^domadd: add vm-${n} \\(2 vCPU, 1024 MiB\\)$`, 'm'));
      expect(await readFile(file, 'utf8')).toBe(r.stdout); // the file is left as it was
    }
    const c = Cib.parse(await readFile(cib, 'utf8'));
    const ids = corralVms(c).map((v) => identityOf(DomainDoc.parse(v.config ?? '')));
    expect(ids.every((i) => i.uuid !== undefined && i.macs.length === 1)).toBe(true);
    expect(new Set(ids.map((i) => i.uuid)).size).toBe(2);
    expect(new Set(ids.flatMap((i) => i.macs)).size).toBe(2);
    expect((await verifyCibFile(cib)).ok).toBe(true);
  });
});

describe('a UEFI VM: create_domxml --firmware efi, fixup_domxml -i, domadd', () => {
  it("keeps <os firmware='efi'> and its secure-boot feature through fixup_domxml and into the CIB", async () => {
    const cib = await newCib();
    const file = join(dir, 'uefi-ash.xml');
    const made = await new Promise<Run>((resolve) =>
      execFile(join(ROOT, 'dist/bin/create_domxml'), ['--name', 'ash', '--cpus', '1', '--mem', '512m', '--firmware', 'efi', '--bridge', 'br0', '--disk', '/dev/vm/ash', '-o', file], (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(made.code, made.stderr).toBe(0);
    await ok(cib, 'fixup_domxml', '-i', file);
    await ok(cib, 'domadd', file);
    const config = corralVms(Cib.parse(await readFile(cib, 'utf8'))).find((v) => v.name === 'ash')?.config ?? '';
    const os = /<os[ >][\s\S]*?<\/os>/.exec(config)?.[0];
    expect(os).toMatch(/^<os firmware="efi">/);
    expect(os).toMatch(/<firmware>\s*<feature enabled="no" name="secure-boot"\/>\s*<\/firmware>/);
    expect(os).toContain('<boot dev="hd"/>');
    expect((await validateDomainXml(config)).ok).toBe(true);
    expect((await verifyCibFile(cib)).ok).toBe(true);
  });
});

describe('--after: optional ordering by default, mandatory when asked (crm_simulate)', () => {
  /** db pinned to n1 (may go to n2), app only on n3; both running; then n1 goes down. */
  async function dbFails(after: string): Promise<{ app: string[]; actions: { action: string; resource: string; reason?: string }[] }> {
    const cib = await newCib();
    await addVm(cib, 'db', ['--pin', 'n1', '--only-on', 'n1,n2']);
    await addVm(cib, 'app', ['--after', after, '--only-on', 'n3']);
    const running = join(dir, `after-${++cibCount}.xml`);
    await simulate(cib, { nodesUp: ['n1', 'n2', 'n3'], saveOutput: running });
    const settled = join(dir, `after-${++cibCount}.xml`);
    await simulate(running, { saveOutput: settled });
    const before = await simulate(settled);
    expect(before.placement.get('vm-db')).toEqual(['n1']);
    expect(before.placement.get('vm-app')).toEqual(['n3']);
    const sim = await simulate(settled, { nodesDown: ['n1'] });
    expect(sim.placement.get('vm-db')).toEqual(['n2']);
    return { app: sim.placement.get('vm-app') ?? [], actions: sim.actions };
  }

  it('--after db: db failing over leaves a running app alone', async () => {
    const r = await dbFails('db');
    expect(r.app).toEqual(['n3']);
    expect(r.actions.filter((a) => a.resource === 'vm-app')).toEqual([]);
  });

  it('--after db:mandatory: db failing over restarts app ("required vm-db start")', async () => {
    const r = await dbFails('db:mandatory');
    expect(r.app).toEqual(['n3']);
    expect(r.actions.filter((a) => a.resource === 'vm-app')).toEqual([expect.objectContaining({ action: 'restart', reason: 'required vm-db start' })]);
  });

  it('both order a cold start: app starts only once db has started (the transition graph)', async () => {
    for (const after of ['db', 'db:mandatory']) {
      const cib = await newCib();
      await addVm(cib, 'db');
      await addVm(cib, 'app', ['--after', after]);
      const graph = join(dir, `graph-${++cibCount}.xml`);
      await simulate(cib, { nodesUp: ['n1', 'n2', 'n3'], saveGraph: graph });
      const g = parseXNode(await readFile(graph, 'utf8'));
      const startOf = (rsc: string) => kids(g, 'synapse').find((syn) => kids(kid(syn, 'action_set'), 'rsc_op').some((op) => op.attrs.operation_key === `${rsc}_start_0`));
      const appStart = startOf('vm-app');
      expect(appStart, after).toBeDefined();
      const triggers = kids(kid(appStart, 'inputs'), 'trigger').flatMap((t) => kids(t, 'rsc_op').map((op) => op.attrs.operation_key));
      expect(triggers, after).toContain('vm-db_start_0');
    }
  });

  it('when db cannot run at all, a mandatory app stays stopped and an optional one starts', async () => {
    for (const [after, expected] of [['db:mandatory', 0], ['db', 1]] as const) {
      const cib = await newCib();
      await addVm(cib, 'db', ['--only-on', 'n3']);
      await addVm(cib, 'app', ['--after', after]);
      const sim = await simulate(cib, { nodesUp: ['n1', 'n2'] });
      expect(sim.placement.get('vm-db')).toEqual([]);
      expect(sim.placement.get('vm-app'), after).toHaveLength(expected);
    }
  });
});
