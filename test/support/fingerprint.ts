// What a user would compare to see that a disk was not touched: size, mtime and the first 4 MiB.
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';

export async function fingerprint(file: string): Promise<string> {
  const st = await stat(file);
  const h = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4 * 1024 * 1024);
    await h.read(buf, 0, buf.length, 0);
    return `${st.size} ${st.mtimeMs} ${createHash('sha256').update(buf).digest('hex')}`;
  } finally {
    await h.close();
  }
}
