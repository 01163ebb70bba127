// Writing a command's output to a file (create_domxml -o FILE, fixup_domxml -i FILE): to regular
// files only, atomically, keeping what the file was.
// - a new file: created in the target's directory as a temporary file (mode 0666 less the
//   umask, as a shell's > would), written, fsynced, renamed onto the name;
// - an existing regular file: the same, with the file's owner, group and mode set on the
//   temporary file first, so the replacement differs only in its content;
// - anything else (a symbolic link, a FIFO, a device, a socket, a directory) is refused with a
//   UsageError before anything is written: `-o /dev/full` must not replace the device with a
//   file, and a symlink must not become a regular file behind its owner's back.
// A failure leaves the target as it was and no temporary file behind.
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, open, readlink, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './errors.js';

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
};

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return (err.code && REASONS[err.code]) ?? err.message;
}

/**
 * What FILE is before it is written: undefined when it does not exist yet (its directory does),
 * its stat when it is a regular file. Anything else is a UsageError naming FLAG (e.g. "-o").
 */
export async function checkOutputFile(file: string, flag: string): Promise<Stats | undefined> {
  let st: Stats;
  try {
    st = await lstat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new Error(`${flag} ${file}: ${reason(e)}`);
    const dir = dirname(file);
    const d = await stat(dir).catch(() => undefined);
    if (!d) throw new UsageError(`${flag} ${file}: there is no directory ${dir}`);
    if (!d.isDirectory()) throw new UsageError(`${flag} ${file}: ${dir} is not a directory`);
    return undefined;
  }
  if (st.isFile()) return st;
  let what = kindOf(st);
  if (st.isSymbolicLink()) what += ` (to ${await readlink(file).catch(() => '?')}): name the file itself`;
  throw new UsageError(`${flag} ${file}: ${what}; ${flag} writes regular files only`);
}

/**
 * Writes TEXT to FILE as described above; FLAG names the option in messages. Throws UsageError
 * for a target that is not a regular file (nothing written), Error when writing fails.
 */
export async function writeOutputFile(file: string, text: string, flag: string): Promise<void> {
  const before = await checkOutputFile(file, flag);
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let fh: FileHandle | undefined;
  try {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    fh = await open(tmp, flags, before ? 0o600 : 0o666);
    await fh.writeFile(text);
    if (before) {
      await fh.chown(before.uid, before.gid); // before chmod: chown clears set-id bits
      await fh.chmod(before.mode & 0o7777);
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, file);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${reason(e)}; it is unchanged`);
  }
  // The rename itself lasts only once the directory is on disk.
  const d = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined);
  await d?.sync().catch(() => undefined);
  await d?.close();
}
