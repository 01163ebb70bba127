// What `vm NAME edit` reads back from, and removes in, the directory the editor had: under sudo
// that directory belongs to the caller, who may have put anything there while vm (root) waited —
// a symbolic link to a root-only file or to /dev/zero, a FIFO, a device, another directory in the
// directory's place. So nothing here follows a link or trusts a path twice:
//   - the directory is opened once (O_DIRECTORY|O_NOFOLLOW) and must be the one vm made (device
//     and inode); every name in it is reached through that open directory (/proc/self/fd/N/NAME),
//     so swapping the directory for a link changes nothing;
//   - the file is opened with O_NOFOLLOW|O_NONBLOCK (a link fails, a FIFO does not block), and the
//     open file must be a regular file of the expected owner and at most 1 MiB; at most 1 MiB + 1
//     bytes are read from it.
// A refusal says what the file is, never what it holds or where a link points.
import { CorralError } from '../errors.js';
import { constants } from 'node:fs';
import { lstat, open, readdir, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** The most an edited domain XML may hold (as everywhere else corral reads a domain XML). */
const MAX_BYTES = 1024 * 1024;

/** The edited file cannot be taken (kind: refused; the message names the file, not its content). */
export class EditedFileError extends CorralError {
  readonly kind = 'refused';
  override name = 'EditedFileError';
}

/** Identity of the directory vm made for the edit. */
export interface EditDir {
  path: string;
  dev: number;
  ino: number;
}

export async function editDir(p: string): Promise<EditDir> {
  const s = await stat(p);
  return { path: p, dev: s.dev, ino: s.ino };
}

/** DIR opened without following a link, and checked to be the same directory. */
async function openDir(dir: EditDir): Promise<FileHandle> {
  let d: FileHandle;
  try {
    d = await open(dir.path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch {
    throw new EditedFileError(`the directory of the edit (${dir.path}) was replaced or removed; nothing changed`);
  }
  const s = await d.stat();
  if (s.dev !== dir.dev || s.ino !== dir.ino) {
    await d.close();
    throw new EditedFileError(`the directory of the edit (${dir.path}) was replaced; nothing changed`);
  }
  return d;
}

/** NAME inside the open directory D, reached through D itself. */
function inDir(d: FileHandle, name: string): string {
  return `/proc/self/fd/${d.fd}/${name}`;
}

/**
 * The text of NAME in DIR: a regular file owned by OWNER (a uid), at most 1 MiB. Throws
 * EditedFileError otherwise.
 */
export async function readEditedFile(dir: EditDir, name: string, owner: number): Promise<string> {
  const shown = path.join(dir.path, name);
  const d = await openDir(dir);
  try {
    let f: FileHandle;
    try {
      f = await open(inDir(d, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new EditedFileError(
        code === 'ELOOP' ? `${shown} is a symbolic link, not the edited file; nothing changed` : code === 'ENOENT' ? `${shown} is gone; nothing changed` : `cannot open ${shown} (${code ?? 'error'}); nothing changed`,
      );
    }
    try {
      const s = await f.stat();
      if (!s.isFile()) throw new EditedFileError(`${shown} is not a regular file; nothing changed`);
      if (s.uid !== owner) throw new EditedFileError(`${shown} belongs to uid ${s.uid}, not to the editor's user (uid ${owner}); nothing changed`);
      if (s.size > MAX_BYTES) throw new EditedFileError(`${shown} is larger than 1 MiB; nothing changed`);
      const buf = Buffer.alloc(MAX_BYTES + 1);
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await f.read(buf, got, buf.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      if (got > MAX_BYTES) throw new EditedFileError(`${shown} is larger than 1 MiB; nothing changed`);
      return buf.toString('utf8', 0, got);
    } finally {
      await f.close();
    }
  } finally {
    await d.close();
  }
}

/**
 * Removes DIR and what is in it without following a link anywhere (names are unlinked through the
 * open directory; a subdirectory is opened the same way). Best effort: what cannot be removed
 * safely stays.
 */
export async function removeEditDir(dir: EditDir): Promise<void> {
  let d: FileHandle;
  try {
    d = await openDir(dir);
  } catch {
    return;
  }
  try {
    await emptyDir(d, 0);
  } finally {
    await d.close();
  }
  // The name may now be something else (a link): rmdir removes only an empty directory, never follows.
  await rmdir(dir.path).catch(() => undefined);
}

async function emptyDir(d: FileHandle, depth: number): Promise<void> {
  const names = await readdir(inDir(d, '.')).catch(() => [] as string[]);
  for (const n of names) {
    const p = inDir(d, n);
    const s = await lstat(p).catch(() => undefined);
    if (!s) continue;
    if (!s.isDirectory()) {
      await unlink(p).catch(() => undefined);
      continue;
    }
    if (depth >= 8) continue;
    const sub = await open(p, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch(() => undefined);
    if (!sub) continue;
    try {
      const ss = await sub.stat();
      if (ss.dev === s.dev && ss.ino === s.ino) await emptyDir(sub, depth + 1);
    } finally {
      await sub.close();
    }
    await rmdir(p).catch(() => undefined);
  }
}
