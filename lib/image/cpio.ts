// A cpio archive in the "newc" format the Linux kernel unpacks as an initramfs. GRUB loads several
// initrds one after another and the kernel unpacks them all into one root, so a small archive with
// /preseed.cfg next to the Debian installer's own initrd.gz preseeds the installer without
// touching its file. Pure: entries in, bytes out.

export interface CpioEntry {
  /** Path inside the archive, without a leading slash (e.g. "preseed.cfg", "corral/x"). */
  path: string;
  /** Absent: a directory. */
  data?: string | Uint8Array;
  /** Permission bits (default 0644 for files, 0755 for directories). */
  mode?: number;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex8 = (n: number) => n.toString(16).padStart(8, '0');

export function cpioNewc(entries: readonly CpioEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const enc = new TextEncoder();
  let ino = 1;
  const add = (path: string, mode: number, data: Uint8Array, nlink: number) => {
    const name = enc.encode(`${path}\0`);
    const fields = [ino++, mode, 0, 0, nlink, 0, data.length, 0, 0, 0, 0, name.length, 0];
    const header = enc.encode(`070701${fields.map(hex8).join('')}`);
    chunks.push(header, name, new Uint8Array(pad4(header.length + name.length)), data, new Uint8Array(pad4(data.length)));
  };
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    if (path === '' || path.split('/').some((p) => p === '..' || p === '')) throw new Error(`cpio: bad path ${JSON.stringify(e.path)}`);
    if (e.data === undefined) add(path, 0o040000 | (e.mode ?? 0o755), new Uint8Array(0), 2);
    else add(path, 0o100000 | (e.mode ?? 0o644), typeof e.data === 'string' ? enc.encode(e.data) : e.data, 1);
  }
  ino = 0;
  add('TRAILER!!!', 0, new Uint8Array(0), 1);
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
