// One disk under two names is one disk, on the real file system (DESIGN, safety rule 8): a hard
// link, a symbolic link and a path through a bind mount of a VM's image file, and a loop device
// reached through a symbolic link and through a device node of its own (mknod, the same
// major:minor), are each refused by domadd (exit 2, one line naming both VMs, both paths and that
// they are the same disk, the CIB file byte-identical; fixup_domxml, comparing with the same CIB,
// too) and by mk_debian_installer (the disk of a VM Pacemaker may start: refused even with
// --force, the disk untouched). A disk that only looks alike is accepted. Needs root (mount
// --bind, losetup, mknod); this kernel has no device-mapper, so /dev/mapper aliases are proved by
// the text alone (test/unit/disk-key.test.ts).
import { execFile } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyCib } from '../support/empty-cib.js';
import { mkdi, ROOT } from '../support/debian-installer.js';
import { fingerprint } from '../support/fingerprint.js';

const exec = promisify(execFile);
let dir: string;
let image: string; // the first VM's image file (in src/)
let hard: string;
let soft: string;
let bound: string; // the same file through bind/, a bind mount of src/
let boundDir: string | undefined;
let loopFile: string;
let loop: string | undefined; // /dev/loopN, attached to loopFile
let loopLink: string;
let loopNode: string;
let loopDevnum: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built COMMAND (domadd, fixup_domxml) on XML against the CIB file CIB. */
function cli(command: string, cib: string, xml: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'dist/bin', command), [xml], { env: { ...process.env, CIB_file: cib }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

const domadd = (cib: string, xml: string) => cli('domadd', cib, xml);

let vmCount = 0;
/** A stable domain XML for NAME whose one disk is DISK (a block or file disk). */
async function vmXml(name: string, disk: string, type: 'file' | 'block'): Promise<string> {
  const n = ++vmCount;
  const file = path.join(dir, `${name}-${n}.xml`);
  const source = type === 'block' ? `<source dev="${disk}"/>` : `<source file="${disk}"/>`;
  await writeFile(
    file,
    `<domain type="qemu">
  <name>${name}</name>
  <uuid>d15c1de0-0000-4000-8000-${String(n).padStart(12, '0')}</uuid>
  <memory unit="MiB">256</memory>
  <vcpu>1</vcpu>
  <os><type arch="x86_64">hvm</type></os>
  <devices>
    <disk type="${type}" device="disk"><driver name="qemu" type="raw"/>${source}<target dev="vda" bus="virtio"/></disk>
    <interface type="bridge"><mac address="52:54:00:d1:5c:${String(n % 100).padStart(2, '0')}"/><source bridge="br0"/><model type="virtio"/></interface>
    <serial type="pty"><log file="/var/log/corral/console/${name}.log" append="on"/></serial>
  </devices>
</domain>
`,
  );
  return file;
}

let cibCount = 0;
/** A CIB file holding VM NAME on DISK (added with domadd, not started, not disabled). */
async function cibWith(name: string, disk: string, type: 'file' | 'block'): Promise<string> {
  const cib = path.join(dir, `cib-${++cibCount}.xml`);
  await writeFile(cib, emptyCib(['n1']));
  const r = await domadd(cib, await vmXml(name, disk, type));
  expect(r.code, r.stderr).toBe(0);
  return cib;
}

async function sparseFile(file: string, bytes: number): Promise<void> {
  await writeFile(file, '');
  await exec('truncate', ['-s', String(bytes), file]);
}


const GiB = 1024 ** 3;

beforeAll(async () => {
  for (const bin of ['domadd', 'mk_debian_installer']) {
    await exec('test', ['-x', path.join(ROOT, 'dist/bin', bin)]).catch(() => {
      throw new Error('run npm run build first');
    });
  }
  dir = await mkdtemp('/var/tmp/corral-disk-identity.');
  await mkdir(path.join(dir, 'src'));
  await mkdir(path.join(dir, 'bind'));
  image = path.join(dir, 'src/oak.img');
  await sparseFile(image, 3 * GiB);
  hard = path.join(dir, 'hard.img');
  await link(image, hard);
  soft = path.join(dir, 'soft.img');
  await symlink(image, soft);
  await exec('mount', ['--bind', path.join(dir, 'src'), path.join(dir, 'bind')]);
  boundDir = path.join(dir, 'bind');
  bound = path.join(boundDir, 'oak.img');
  loopFile = path.join(dir, 'loop.img');
  await sparseFile(loopFile, 3 * GiB);
  loop = (await exec('losetup', ['--find', '--show', loopFile])).stdout.trim();
  loopDevnum = (await readFile(`/sys/class/block/${path.basename(loop)}/dev`, 'utf8')).trim();
  loopLink = path.join(dir, 'loop-link');
  await symlink(loop, loopLink);
  loopNode = path.join(dir, 'loop-node');
  const [major, minor] = loopDevnum.split(':') as [string, string];
  await exec('mknod', [loopNode, 'b', major, minor]);
}, 60_000);

afterAll(async () => {
  if (boundDir) await exec('umount', [boundDir]);
  if (loop) await exec('losetup', ['--detach', loop]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The image's identity as the refusal words it. */
async function fileWhat(): Promise<RegExp> {
  const st = await stat(image);
  return new RegExp(`on this node, one file: device \\d+:\\d+, inode ${st.ino}`);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('domadd: the disk of another VM under another name is refused', () => {
  const cases: [string, () => { orig: string; alias: string; type: 'file' | 'block'; what: () => Promise<RegExp> }][] = [
    ['a hard link of its image', () => ({ orig: image, alias: hard, type: 'file', what: fileWhat })],
    ['a symbolic link to its image', () => ({ orig: image, alias: soft, type: 'file', what: fileWhat })],
    ['its image through a bind mount', () => ({ orig: image, alias: bound, type: 'file', what: fileWhat })],
    ['its loop device through a symbolic link', () => ({ orig: loop as string, alias: loopLink, type: 'block', what: async () => new RegExp(`on this node, block device ${loopDevnum}`) })],
    ['its loop device through a device node of its own', () => ({ orig: loop as string, alias: loopNode, type: 'block', what: async () => new RegExp(`on this node, block device ${loopDevnum}`) })],
  ];
  for (const [what, c] of cases) {
    it(what, async () => {
      const { orig, alias, type, what: why } = c();
      const cib = await cibWith('oak', orig, type);
      const before = await readFile(cib);
      const r = await domadd(cib, await vmXml('gum', alias, type));
      expect(r.code, r.stderr).toBe(2);
      const line = r.stderr.split('\n').find((l) => l.includes('the same disk'));
      expect(line, r.stderr).toMatch(new RegExp(`the disk ${esc(alias)} of gum is ${esc(orig)} of vm-oak, the same disk \\(`));
      expect(line).toMatch(await why());
      expect((await readFile(cib)).equals(before)).toBe(true);
    });
  }

  it('fixup_domxml, which compares with the same CIB, refuses it too', async () => {
    const cib = await cibWith('oak', image, 'file');
    const r = await cli('fixup_domxml', cib, await vmXml('gum', hard, 'file'));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`the disk ${esc(hard)} of gum is ${esc(image)} of vm-oak, the same disk \\(on this node, one file: `));
  });

  it('a disk that only looks alike (another file, another loop device path that is not one) is accepted', async () => {
    const other = path.join(dir, 'src/oak-copy.img');
    await sparseFile(other, 1024);
    const cib = await cibWith('oak', image, 'file');
    const r = await domadd(cib, await vmXml('gum', other, 'file'));
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(cib, 'utf8')).toContain('vm-gum');
    await rm(other);
  });
});

describe('mk_debian_installer: the disk of a VM Pacemaker may start, under another name, is refused even with --force', () => {
  const cases: [string, () => { orig: string; alias: string; type: 'file' | 'block'; what: () => Promise<RegExp> }][] = [
    ['a hard link of its image', () => ({ orig: image, alias: hard, type: 'file', what: fileWhat })],
    ['a symbolic link to its image', () => ({ orig: image, alias: soft, type: 'file', what: fileWhat })],
    ['its image through a bind mount', () => ({ orig: image, alias: bound, type: 'file', what: fileWhat })],
    ['its loop device through a symbolic link', () => ({ orig: loop as string, alias: loopLink, type: 'block', what: async () => new RegExp(`block device ${loopDevnum}`) })],
    ['its loop device through a device node of its own', () => ({ orig: loop as string, alias: loopNode, type: 'block', what: async () => new RegExp(`block device ${loopDevnum}`) })],
  ];
  for (const [what, c] of cases) {
    it(what, async () => {
      const { orig, alias, type, what: why } = c();
      const cib = await cibWith('oak', orig, type);
      const before = await fingerprint(orig);
      // An unreachable mirror: a run that got past its checks would fail soon after, not build an image.
      const r = await mkdi(['--force', '--mirror', 'http://127.0.0.1:9/debian', alias], { CIB_file: cib }, 120_000);
      expect(r.code, r.stderr + r.stdout).toBe(2);
      expect(r.stdout).toBe('');
      const msg = r.stderr.trim();
      expect(msg).toMatch(
        new RegExp(`^mk_debian_installer: ${esc(alias)} is the disk of oak \\(as ${esc(orig)}; .*\\), which Pacemaker may start at any moment \\(stopped, not disabled\\)`),
      );
      expect(msg).toMatch(await why());
      expect(await fingerprint(orig)).toBe(before);
    }, 150_000);
  }
});
