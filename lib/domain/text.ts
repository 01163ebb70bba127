// The bytes of a domain XML as text: UTF-8 only, and of a bounded size. Shared by the agent (its
// `config` file, on the fast path too: nothing but node:buffer here) and the tools (lib/cli/input.ts).
import { isUtf8 } from 'node:buffer';

/** The largest domain XML corral reads. A real one is a few KiB. */
export const DOMAIN_XML_MAX_BYTES = 1024 * 1024;

export type Decoded = { ok: true; text: string } | { ok: false; error: string };

/** Offset of the first byte of BYTES that is not part of a valid UTF-8 sequence, or -1. */
export function firstNonUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0 || i + n > bytes.length - 1) return i; // not a lead byte, or a sequence cut short
    for (let k = 1; k <= n; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    const d = bytes[i + 1]!;
    // Overlong forms, UTF-16 surrogates and code points above U+10FFFF.
    if ((c === 0xe0 && d < 0xa0) || (c === 0xed && d >= 0xa0) || (c === 0xf0 && d < 0x90) || (c === 0xf4 && d >= 0x90)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * BYTES as text, or why not (WHAT names them in the message): bytes that are not UTF-8 are refused
 * rather than turned into U+FFFD. A UTF-8 byte order mark at the start is dropped.
 */
export function decodeUtf8(bytes: Uint8Array, what: string): Decoded {
  if (!isUtf8(bytes)) {
    const bad = Math.max(0, firstNonUtf8(bytes));
    const hex = (bytes[bad] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    return { ok: false, error: `${what} is not UTF-8 text (byte 0x${hex} at offset ${bad}); convert it to UTF-8 first` };
  }
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return { ok: true, text: Buffer.from(bytes.buffer, bytes.byteOffset + start, bytes.length - start).toString('utf8') };
}
