// Every command, as built (dist/bin/*), given wrong input the way a new user types it: one line
// on stderr naming the flag or value and what is allowed, exit code 2, nothing on stdout, and
// nothing changed (the CIB file byte-identical, every file around it as it was). Plus --version
// everywhere. CIB_file only: no cluster runs.
import { execFile, execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyCib } from '../support/empty-cib.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const COMMANDS = ['vm', 'corral', 'domadd', 'domdel', 'create_domxml', 'fixup_domxml', 'nodecap', 'mk_debian_installer'] as const;

let dir: string;
let cib: string;
let gum: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(command: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'dist/bin', command),
      args,
      { cwd: dir, env: { ...process.env, CIB_file: cib }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

async function ok(command: string, args: readonly string[]): Promise<Run> {
  const r = await cli(command, args);
  expect(r.code, `${command} ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

/** Everything in DIR as a user would check it: kind, mode, owner, content or link target. */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    const st = await lstat(p);
    const kind = st.isFile() ? 'file' : st.isSymbolicLink() ? 'link' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'chardev' : st.isDirectory() ? 'dir' : 'other';
    const body = st.isFile() ? (await readFile(p)).toString('base64') : st.isSymbolicLink() ? await readlink(p) : '';
    out[name] = `${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.ino} ${body}`;
  }
  return out;
}

beforeAll(async () => {
  expect((await lstat(join(ROOT, 'dist/bin/domadd'))).isFile(), 'npm run build first').toBe(true);
  dir = await mkdtemp(join(tmpdir(), 'corral-bad-input-'));
  cib = join(dir, 'cib.xml');
  await writeFile(
    cib,
    emptyCib(['n1', 'n2']),
  );
  // One VM in the cluster (a), one stable XML ready to add (gum), made with the tools themselves.
  await ok('create_domxml', ['--name', 'a', '--cpus', '1', '--mem', '256m', '--bridge', 'br0', '-o', 'a.xml']);
  await ok('fixup_domxml', ['-i', 'a.xml']);
  await ok('domadd', ['a.xml']);
  await ok('create_domxml', ['--name', 'gum', '--cpus', '1', '--mem', '256m', '--bridge', 'br0', '-o', 'gum.xml']);
  await ok('fixup_domxml', ['-i', 'gum.xml']);
  gum = join(dir, 'gum.xml');
  // Things that are not regular files, for -o and -i.
  await symlink('gum.xml', join(dir, 'link.xml'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  execFileSync('mknod', [join(dir, 'full'), 'c', '1', '7']); // a private /dev/full
  await mkdir(join(dir, 'subdir'));
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const X = ['--cpus', '1', '--mem', '1g'];
const D = () => dir;

/** [what a new user typed, command, arguments, the one line on stderr] */
const cases: [string, string, () => string[], () => string][] = [
  // create_domxml
  ['a flag taken as the value of --name', 'create_domxml', () => ['--name', '--cpus', '1', '--mem', '1g'],
    () => 'create_domxml: --name needs a value, not the option "--cpus" (write --name=VALUE for a value that starts with "-")'],
  ['--name twice', 'create_domxml', () => ['--name', 'a', '--name', 'b', ...X],
    () => 'create_domxml: --name is given twice ("a", "b"): it takes one value'],
  ['--cpus out of range', 'create_domxml', () => ['--name', 'a', '--cpus', '0', '--mem', '1g'],
    () => 'create_domxml: --cpus "0": the number of vCPUs is a whole number from 1 to 4096'],
  ['--ovs that every --iface overrides', 'create_domxml', () => ['--name', 'a', ...X, '--ovs', 'vh', '--iface', 'br1:150'],
    () => 'create_domxml: --ovs "vh": no --iface uses this bridge (--iface br1:150 names another): drop --ovs, or give --iface VLAN'],
  ['an unknown --firmware', 'create_domxml', () => ['--name', 'a', ...X, '--firmware', 'uefi'],
    () => 'create_domxml: --firmware "uefi": the firmware is bios or efi (UEFI, e.g. an image made with mk_debian_installer --uefi)'],
  ['a missing --mem', 'create_domxml', () => ['--name', 'a', '--cpus', '1'], () => 'create_domxml: --mem SIZE is required'],
  ['-o without a file', 'create_domxml', () => ['--name', 'a', ...X, '-o'], () => 'create_domxml: -o needs a value: -o FILE'],
  ['a stray argument', 'create_domxml', () => ['--name', 'a', ...X, 'gum'],
    () => 'create_domxml: unexpected argument "gum" (usage: create_domxml [options])'],
  ['an unknown option', 'create_domxml', () => ['--name', 'a', ...X, '--disks', '/dev/vm/a'],
    () => 'create_domxml: unknown option "--disks" (did you mean --disk?)'],
  ['-o onto a device', 'create_domxml', () => ['--name', 'a', ...X, '-o', join(D(), 'full')],
    () => `create_domxml: -o ${join(D(), 'full')}: a character device; -o writes regular files only`],
  ['-o onto a symlink', 'create_domxml', () => ['--name', 'a', ...X, '-o', 'link.xml'],
    () => 'create_domxml: -o link.xml: a symbolic link (to gum.xml): name the file itself; -o writes regular files only'],
  ['-o onto a FIFO', 'create_domxml', () => ['--name', 'a', ...X, '-o', 'fifo'],
    () => 'create_domxml: -o fifo: a FIFO (named pipe); -o writes regular files only'],
  ['-o onto a directory', 'create_domxml', () => ['--name', 'a', ...X, '-o', 'subdir'],
    () => 'create_domxml: -o subdir: a directory; -o writes regular files only'],
  ['bad input with -o onto an existing file', 'create_domxml', () => ['--name', 'a', '--cpus', '1', '--mem', '8x', '-o', 'gum.xml'],
    () => 'create_domxml: --mem "8x": "8x" is not a size: expected a number with an optional unit, e.g. 512m, 8g, 8GiB, 1.5t (a plain number is MiB)'],
  // fixup_domxml
  ['-i on a symlink', 'fixup_domxml', () => ['-i', 'link.xml'],
    () => 'fixup_domxml: -i link.xml: a symbolic link (to gum.xml): name the file itself; -i writes regular files only'],
  ['-i on a FIFO', 'fixup_domxml', () => ['-i', 'fifo'], () => 'fixup_domxml: -i fifo: a FIFO (named pipe); -i writes regular files only'],
  ['-i on a device', 'fixup_domxml', () => ['-i', 'full'], () => 'fixup_domxml: -i full: a character device; -i writes regular files only'],
  ['-i on stdin', 'fixup_domxml', () => ['-i', '-'], () => 'fixup_domxml: --in-place needs a FILE, not - (stdin)'],
  ['a file that is not there', 'fixup_domxml', () => ['nope.xml'], () => 'fixup_domxml: nope.xml: no such file'],
  ['no file', 'fixup_domxml', () => [], () => 'fixup_domxml: missing FILE (usage: fixup_domxml [options] <file>)'],
  // domadd
  ['a priority beyond Pacemaker scores', 'domadd', () => ['--priority', '1000000000', 'gum.xml'],
    () => 'domadd: --priority "1000000000": a priority is a whole number from -1000000 to 1000000 (Pacemaker\'s score range), e.g. 10'],
  ['--priority twice', 'domadd', () => ['--priority', '1', '--priority', '2', 'gum.xml'],
    () => 'domadd: --priority is given twice ("1", "2"): it takes one value'],
  ['--pin and --no-pin', 'domadd', () => ['--pin', 'n1', '--no-pin', 'gum.xml'], () => 'domadd: --pin and --no-pin exclude each other: give one of them'],
  ['a flag taken as the value of --pin', 'domadd', () => ['--pin', '--dry-run', 'gum.xml'],
    () => 'domadd: --pin needs a value, not the option "--dry-run" (write --pin=VALUE for a value that starts with "-")'],
  ['--pin at the end', 'domadd', () => ['gum.xml', '--pin'], () => 'domadd: --pin needs a value: --pin NODE'],
  ['--avoid at the end', 'domadd', () => ['gum.xml', '--avoid'], () => 'domadd: --avoid needs a value: --avoid OTHER[:SCORE]'],
  ['an agent parameter out of range', 'domadd', () => ['--param', 'migration_speed=-1', 'gum.xml'],
    () => 'domadd: --param migration_speed=-1: must be at least 0'],
  ['an agent parameter not among its values', 'domadd', () => ['--param', 'migration_transport=rsh', 'gum.xml'],
    () => 'domadd: --param migration_transport=rsh: expected ssh, tcp, tls, libssh or libssh2'],
  ['a file that is not there', 'domadd', () => ['nope.xml'], () => 'domadd: nope.xml: no such file'],
  ['a directory', 'domadd', () => ['subdir'], () => 'domadd: subdir is a directory: give a domain XML file (or - for stdin)'],
  ['two files', 'domadd', () => ['gum.xml', 'a.xml'], () => 'domadd: unexpected argument "a.xml" (usage: domadd [options] <file>)'],
  ['a VM already there', 'domadd', () => ['a.xml'], () => 'domadd: vm-a is already in the cluster; use domadd --replace to update it'],
  // domdel
  ['no name', 'domdel', () => [], () => 'domdel: missing NAME (usage: domdel [options] <name>)'],
  ['an unknown VM', 'domdel', () => ['gum'], () => 'domdel: there is no VM gum (vm-gum) in the cluster (VMs: a)'],
  // nodecap
  ['--cpus twice', 'nodecap', () => ['n1', '--cpus', '4', '--cpus', '5'], () => 'nodecap: --cpus is given twice ("4", "5"): it takes one value'],
  ['no vCPUs', 'nodecap', () => ['n1', '--cpus', '0'],
    () => 'nodecap: --cpus "0": the vCPUs a node may run are a whole number from 1 to 100000, e.g. 32'],
  ['an unknown strategy', 'nodecap', () => ['n1', '--placement-strategy', 'random'],
    () => 'nodecap: --placement-strategy "random": the placement strategy is balanced, utilization, minimal or default'],
  // vm
  ['a priority beyond Pacemaker scores', 'vm', () => ['a', 'priority', '1000000000'],
    () => 'vm: priority "1000000000": a priority is a whole number from -1000000 to 1000000 (Pacemaker\'s score range), e.g. 10'],
  ['--lines twice', 'vm', () => ['a', 'console', '--log', '--lines', '5', '--lines', '6'], () => 'vm: --lines is given twice ("5", "6"): it takes one value'],
  ['one argument too many', 'vm', () => ['a', 'start', 'now', 'please'],
    () => 'vm: unexpected argument "please" (usage: vm [options] <vm> <action> [arg])'],
  // corral
  ['an unknown command', 'corral', () => ['lst'], () => 'corral: unknown command "lst" (did you mean list?)'],
  ['an interval of nothing', 'corral', () => ['stats', '--interval', '0'],
    () => 'corral: --interval "0": expected seconds, more than 0 and at most 300 (e.g. 2 or 0.5)'],
  ['--interval twice', 'corral', () => ['stats', '--interval', '1', '--interval', '2'], () => 'corral: --interval is given twice ("1", "2"): it takes one value'],
  ['a shutdown drain bound too short', 'corral', () => ['node', 'on-shutdown', '--timeout', '5'], () => 'corral: --timeout "5": a whole number of seconds from 30 to 1080'],
  ['a boot wait that is not a number', 'corral', () => ['node', 'on-boot', '--wait', 'soon'], () => 'corral: --wait "soon": a whole number of seconds up to 86400'],
  ['a fraction of a move', 'corral', () => ['rebalance', '--exec', '--max-moves', '3.5'], () => 'corral: --max-moves "3.5": a whole number from 0 to 100000'],
  ['a gain that is not a number', 'corral', () => ['rebalance', '--exec', '--min-gain', 'abc'], () => 'corral: --min-gain "abc": a number, 0 or more (a score difference, e.g. 0.05)'],
  ['--min-gain at the end', 'corral', () => ['rebalance', '--min-gain'], () => 'corral: --min-gain needs a value: --min-gain X'],
  ['--max-moves twice', 'corral', () => ['rebalance', '--max-moves', '1', '--max-moves', '2'], () => 'corral: --max-moves is given twice ("1", "2"): it takes one value'],
  ['a measuring time that is not seconds', 'corral', () => ['rebalance', '--measure', 'soon'], () => 'corral: --measure "soon": a whole number of seconds from 1 to 600'],
  ['a balancer threshold over 100 %', 'corral', () => ['balance', 'enable', '--threshold', '150'], () => 'corral: --threshold "150": a whole number from 1 to 100'],
  ['balancer nodes that are not names', 'corral', () => ['balance', 'status', '--nodes', 'n1;reboot'], () => 'corral: --nodes "n1;reboot": names separated by commas'],
];

describe('wrong input: one line naming the flag and what is allowed, exit 2, nothing changed', () => {
  it.each(cases)('%s (%s)', async (_what, command, args, line) => {
    const before = await snapshot();
    const r = await cli(command, args());
    expect(r.stderr).toBe(`${line()}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(await snapshot()).toEqual(before); // the CIB file and every file beside it
  });
});

describe('--version', () => {
  it.each(COMMANDS)('%s --version prints its name and the version of package.json, exit 0', async (command) => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(command, ['--version']);
    expect(r).toEqual({ code: 0, stdout: `${command} ${version}\n`, stderr: '' });
  });
});

describe('what the conventions still let through', () => {
  it('repeatable options repeat, a negative number is a value, --opt=-x is a value', async () => {
    const r = await ok('create_domxml', ['--name', 'two', '--cpus', '1', '--mem', '256m', '--bridge', 'br0', '--iface', 'vh:5', '--bridge', 'br1',
      '--mac', '52:54:00:00:00:01', '--mac', '52:54:00:00:00:02', '--cmdline=-v', '--kernel', '/boot/vmlinuz']);
    expect(r.stdout.match(/<interface /g)).toHaveLength(3);
    expect(r.stdout).toContain('<cmdline>-v</cmdline>');
    const dry = await ok('domadd', ['--dry-run', '--priority', '-10', '--avoid', 'a:-20', '--only-on', 'n1', '--only-on', 'n2', 'gum.xml']);
    expect(dry.stdout).toContain('name="priority" value="-10"');
  });
});

describe('output files that are fine', () => {
  it('create_domxml -o over a regular file keeps its owner and mode; fixup_domxml -i too', async () => {
    const f = join(dir, 'owned.xml');
    await writeFile(f, 'old\n');
    execFileSync('chown', ['nobody:nogroup', f]);
    execFileSync('chmod', ['0640', f]);
    await ok('create_domxml', ['--name', 'owned', '--cpus', '1', '--mem', '256m', '--bridge', 'br0', '-o', f]);
    let st = await lstat(f);
    expect([st.isFile(), st.mode & 0o7777, st.uid, st.gid]).toEqual([true, 0o640, 65534, 65534]);
    expect(await readFile(f, 'utf8')).toContain('<name>owned</name>');
    await ok('fixup_domxml', ['-i', '--no-cib', f]);
    st = await lstat(f);
    expect([st.isFile(), st.mode & 0o7777, st.uid, st.gid]).toEqual([true, 0o640, 65534, 65534]);
    expect(await readFile(f, 'utf8')).toMatch(/<uuid>[0-9a-f-]{36}<\/uuid>/);
    await rm(f);
  });
});
