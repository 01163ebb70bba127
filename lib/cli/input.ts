// The input file argument of domadd and fixup_domxml (FILE, or - for stdin): a FILE that is not
// there or is a directory is the caller's mistake (exit 2), said in one line; reading itself is
// lib/cib/io.ts's readInput.
import { stat } from 'node:fs/promises';
import { readInput } from '../cib/io.js';
import { UsageError } from './errors.js';

export async function readInputArg(file: string): Promise<string> {
  if (file !== '-') {
    const st = await stat(file).catch((e: NodeJS.ErrnoException) => e);
    if (st instanceof Error) {
      if (st.code === 'ENOENT') throw new UsageError(`${file}: no such file`);
      if (st.code === 'ENOTDIR') throw new UsageError(`${file}: a part of the path is not a directory`);
    } else if (st.isDirectory()) {
      throw new UsageError(`${file} is a directory: give a domain XML file (or - for stdin)`);
    }
  }
  return readInput(file);
}
