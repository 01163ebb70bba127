// vm edit reads back what the editor left in a directory the caller owns: never through a link,
// never a FIFO or a device, only a regular file of the editor's user of at most 1 MiB, and the
// refusal names the file, not what a link points at or what it holds.
import { chown, mkdir, mkdtemp, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { editDir, readEditedFile, removeEditDir, type EditDir } from '../../lib/ops/edit-file.js';

const me = process.geteuid?.() ?? 0;
let base = '';
let d: EditDir;
let file = '';

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'corral-edit-file-'));
  await mkdir(path.join(base, 'edit'));
  d = await editDir(path.join(base, 'edit'));
  file = path.join(d.path, 'web1.xml');
  await writeFile(path.join(base, 'secret'), 'SECRET-4711');
});

describe('reading the edited file', () => {
  it('reads a regular file of the expected owner', async () => {
    await writeFile(file, '<domain/>');
    expect(await readEditedFile(d, 'web1.xml', me)).toBe('<domain/>');
  });

  it.each([
    ['a symbolic link', async () => symlink(path.join(base, 'secret'), file), /web1\.xml is a symbolic link, not the edited file/],
    ['a link to /dev/zero', async () => symlink('/dev/zero', file), /is a symbolic link/],
    ['a FIFO (no hang)', async () => void execFileSync('mkfifo', [file]), /web1\.xml is not a regular file/],
    ['a file over 1 MiB', async () => writeFile(file, 'x'.repeat(1024 * 1024 + 1)), /is larger than 1 MiB/],
    ['a missing file', async () => undefined, /web1\.xml is gone/],
  ])('refuses %s, naming the file and nothing of its target', async (_what, make, why) => {
    await make();
    const e = await readEditedFile(d, 'web1.xml', me).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(why);
    expect((e as Error).message).not.toMatch(/SECRET|secret|zero/);
  });

  it('refuses a file of another owner', async () => {
    await writeFile(file, '<domain/>');
    if (me !== 0) return expect(await readEditedFile(d, 'web1.xml', me + 1).catch((x: Error) => x.message)).toMatch(/belongs to uid/);
    await chown(file, 4242, 4242);
    expect(await readEditedFile(d, 'web1.xml', 0).catch((x: Error) => x.message)).toMatch(/web1\.xml belongs to uid 4242, not to the editor's user \(uid 0\)/);
  });

  it('refuses when the directory was swapped for a link to another one', async () => {
    await mkdir(path.join(base, 'other'));
    await writeFile(path.join(base, 'other/web1.xml'), 'SECRET-4711');
    await rename(d.path, path.join(base, 'moved'));
    await symlink(path.join(base, 'other'), d.path);
    expect(await readEditedFile(d, 'web1.xml', me).catch((x: Error) => x.message)).toMatch(/directory of the edit .* was replaced/);
  });
});

describe('removing the edit directory', () => {
  it('removes files and subdirectories, and follows no link out of it', async () => {
    await writeFile(file, '<domain/>');
    await mkdir(path.join(d.path, 'sub'));
    await writeFile(path.join(d.path, 'sub/x'), 'x');
    await mkdir(path.join(base, 'outside'));
    await writeFile(path.join(base, 'outside/keep'), 'keep');
    await symlink(path.join(base, 'outside'), path.join(d.path, 'link'));
    await removeEditDir(d);
    expect(existsSync(d.path)).toBe(false);
    expect(await readFile(path.join(base, 'outside/keep'), 'utf8')).toBe('keep');
  });

  it('leaves a directory that was swapped for a link alone (and what it points at)', async () => {
    await mkdir(path.join(base, 'outside'));
    await writeFile(path.join(base, 'outside/keep'), 'keep');
    await rename(d.path, path.join(base, 'moved'));
    await symlink(path.join(base, 'outside'), d.path);
    await removeEditDir(d);
    expect(await readFile(path.join(base, 'outside/keep'), 'utf8')).toBe('keep');
  });
});
