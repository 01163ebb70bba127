// lib/cli/output.ts: what create_domxml -o and fixup_domxml -i write to. Regular files only,
// replaced atomically with their owner, group and mode kept; anything else refused untouched.
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/cli/errors.js';
import { writeOutputFile } from '../../lib/cli/output.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corral-output-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sub(name: string): Promise<string> {
  const d = join(dir, name);
  await mkdir(d);
  return d;
}

describe('writeOutputFile', () => {
  it('creates a new file with mode 0666 less the umask, and leaves no temporary file', async () => {
    const d = await sub('new');
    const old = process.umask(0o027);
    try {
      await writeOutputFile(join(d, 'gum.xml'), '<domain/>\n', '-o');
    } finally {
      process.umask(old);
    }
    expect(await readFile(join(d, 'gum.xml'), 'utf8')).toBe('<domain/>\n');
    expect((await stat(join(d, 'gum.xml'))).mode & 0o7777).toBe(0o640);
    expect(await readdir(d)).toEqual(['gum.xml']);
  });

  it('replaces an existing regular file keeping its owner, group and mode', async () => {
    const d = await sub('existing');
    const f = join(d, 'gum.xml');
    await writeFile(f, 'old\n');
    execFileSync('chown', ['nobody:nogroup', f]);
    execFileSync('chmod', ['0604', f]);
    const before = await stat(f);
    await writeOutputFile(f, 'new\n', '-i');
    const after = await stat(f);
    expect(await readFile(f, 'utf8')).toBe('new\n');
    expect([after.uid, after.gid, after.mode]).toEqual([before.uid, before.gid, before.mode]);
    expect(after.ino).not.toBe(before.ino); // a new file renamed over it: readers see old or new
    expect(await readdir(d)).toEqual(['gum.xml']);
  });

  async function refused(target: string, flag: string): Promise<string> {
    const e = await writeOutputFile(target, 'new\n', flag).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }

  it('refuses a symbolic link, and neither the link nor its target changes', async () => {
    const d = await sub('symlink');
    await writeFile(join(d, 'real.xml'), 'old\n');
    await symlink('real.xml', join(d, 'link.xml'));
    expect(await refused(join(d, 'link.xml'), '-i')).toBe(
      `-i ${join(d, 'link.xml')}: a symbolic link (to real.xml): name the file itself; -i writes regular files only`,
    );
    expect(await readlink(join(d, 'link.xml'))).toBe('real.xml');
    expect(await readFile(join(d, 'real.xml'), 'utf8')).toBe('old\n');
    expect((await readdir(d)).sort()).toEqual(['link.xml', 'real.xml']);
  });

  it('refuses a FIFO without opening it (no hang), a directory and a device', async () => {
    const d = await sub('special');
    execFileSync('mkfifo', [join(d, 'fifo')]);
    execFileSync('mknod', [join(d, 'full'), 'c', '1', '7']); // a private /dev/full
    await mkdir(join(d, 'dir'));
    expect(await refused(join(d, 'fifo'), '-o')).toBe(`-o ${join(d, 'fifo')}: a FIFO (named pipe); -o writes regular files only`);
    expect(await refused(join(d, 'full'), '-o')).toBe(`-o ${join(d, 'full')}: a character device; -o writes regular files only`);
    expect(await refused(join(d, 'dir'), '-o')).toBe(`-o ${join(d, 'dir')}: a directory; -o writes regular files only`);
    expect((await lstat(join(d, 'fifo'))).isFIFO()).toBe(true);
    expect((await lstat(join(d, 'full'))).isCharacterDevice()).toBe(true);
    expect((await readdir(d)).sort()).toEqual(['dir', 'fifo', 'full']);
  });

  it('refuses a file in a directory that does not exist', async () => {
    expect(await refused(join(dir, 'nowhere', 'gum.xml'), '-o')).toBe(
      `-o ${join(dir, 'nowhere', 'gum.xml')}: there is no directory ${join(dir, 'nowhere')}`,
    );
  });

  it('fails (an Error, not a usage error) when the directory refuses the temporary file, and changes nothing', async () => {
    execFileSync('chmod', ['0755', dir]);
    const d = await sub('unwritable');
    const f = join(d, 'gum.xml');
    await writeFile(f, 'old\n');
    execFileSync('chmod', ['0555', d]);
    // The module bundled into a directory nobody may read (the checkout itself may be a root-only
    // /root/corral), then run as nobody, who may not create files in d.
    const bundleDir = await mkdtemp(join(tmpdir(), 'corral-output-'));
    execFileSync('chmod', ['0755', bundleDir]);
    const bundle = join(bundleDir, 'output.mjs');
    await build({ entryPoints: [new URL('../../lib/cli/output.ts', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', outfile: bundle, logLevel: 'silent' });
    execFileSync('chmod', ['0644', bundle]);
    try {
      const r = (() => {
        try {
          execFileSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e',
            `import(${JSON.stringify(bundle)}).then((m) => m.writeOutputFile(${JSON.stringify(f)}, 'new\\n', '-o')).catch((e) => { console.error(e.constructor.name + ': ' + e.message); process.exit(3); })`],
          { stdio: 'pipe', cwd: bundleDir });
          return { code: 0, stderr: '' };
        } catch (e) {
          const x = e as { status: number; stderr: Buffer };
          return { code: x.status, stderr: x.stderr.toString() };
        }
      })();
      expect(r.code).toBe(3);
      expect(r.stderr.trim()).toBe(`Error: cannot write ${f}: permission denied; it is unchanged`);
    } finally {
      execFileSync('chmod', ['0755', d]);
      await rm(bundleDir, { recursive: true, force: true });
    }
    expect(await readFile(f, 'utf8')).toBe('old\n');
    expect(await readdir(d)).toEqual(['gum.xml']);
  });
});
