// Where the domain XML comes from (inline in the CIB, or a file as with VirtualDomain), and a quick
// read of its identity that needs no XML library. Only node:fs and lib/domain/text here: the
// steady-state monitor uses it.
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, type Stats } from 'node:fs';
import { decodeUtf8, DOMAIN_XML_MAX_BYTES as CONFIG_MAX_BYTES } from '../domain/text.js';
import type { Identity } from '../host/agent-port.js';

export type ConfigRead = { ok: true; xml: string; inline: boolean } | { ok: false; error: string };

function kindOf(st: Stats): string | undefined {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  return undefined;
}

/** A failed open or read in words, without Node's "ENOENT: …, open '…'" wrapping. */
function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ENXIO':
      return 'not a regular file';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'EISDIR':
      return 'a directory';
    default:
      return err.code ? `error ${err.code}` : String(err.message);
  }
}

/**
 * Reads FILE if it is a regular file of at most CONFIG_MAX_BYTES, without ever blocking or reading
 * more than that: opened non-blocking (a named pipe opens at once), checked with fstat on the
 * open descriptor (so what is checked is what is read), read with a bound (files in /proc say 0).
 */
function readBoundedFile(file: string): ConfigRead {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    return { ok: false, error: `cannot read the domain XML file ${file}: ${why(e)}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = kindOf(st);
      return { ok: false, error: `the domain XML file ${file} is ${kind ? `${kind}, ` : ''}not a regular file` };
    }
    const limit = `larger than ${CONFIG_MAX_BYTES / 1024 / 1024} MiB`;
    if (st.size > CONFIG_MAX_BYTES) return { ok: false, error: `the domain XML file ${file} is ${limit} (${st.size} bytes)` };
    let buf = Buffer.allocUnsafe(Math.min(CONFIG_MAX_BYTES + 1, st.size > 0 ? st.size + 1 : 64 * 1024));
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (buf.length > CONFIG_MAX_BYTES) break;
        const bigger = Buffer.allocUnsafe(Math.min(CONFIG_MAX_BYTES + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    if (len > CONFIG_MAX_BYTES) return { ok: false, error: `the domain XML file ${file} is ${limit}` };
    const d = decodeUtf8(buf.subarray(0, len), `the domain XML file ${file}`);
    return d.ok ? { ok: true, xml: d.text, inline: false } : d;
  } catch (e) {
    return { ok: false, error: `cannot read the domain XML file ${file}: ${why(e)}` };
  } finally {
    closeSync(fd);
  }
}

/**
 * The domain XML of the `config` parameter: inline XML (starts with "<"), or else the contents of
 * the file it names, which must be an absolute path to a regular file of at most CONFIG_MAX_BYTES.
 * Anything else is refused at once, before reading a byte: `config=/dev/zero` or a named pipe
 * must not hang an action or fill the node's memory.
 */
export function readConfig(config: string | undefined): ConfigRead {
  if (config === undefined || config.trim() === '') return { ok: false, error: 'parameter config is not set' };
  if (config.trimStart().startsWith('<')) return { ok: true, xml: config, inline: true };
  if (!config.startsWith('/')) {
    const shown = config.length > 60 ? `${config.slice(0, 57)}...` : config;
    return { ok: false, error: `config "${shown}" is neither domain XML (starting with "<") nor the absolute path of a file holding it` };
  }
  return readBoundedFile(config);
}

/**
 * The bytes of environment variable NAME as this process received it (/proc/self/environ), or
 * undefined when that cannot be read. process.env has already turned bytes that are not UTF-8
 * into U+FFFD, so only this shows them.
 */
export function rawEnvValue(name: string): Buffer | undefined {
  let environ: Buffer;
  try {
    environ = readFileSync('/proc/self/environ');
  } catch {
    return undefined;
  }
  const key = Buffer.from(`${name}=`);
  let start = 0;
  while (start < environ.length) {
    let end = environ.indexOf(0, start);
    if (end < 0) end = environ.length;
    if (environ.subarray(start, start + key.length).equals(key)) return environ.subarray(start + key.length, end);
    start = end + 1;
  }
  return undefined;
}

/**
 * The domain's name and uuid read with regular expressions: the direct <name>/<uuid> of <domain>,
 * ignoring <metadata>, comments and CDATA sections. Good enough to find a running domain's
 * process, which is then checked against qemu's own command line; everything else parses the XML
 * properly.
 */
export function quickIdentity(xml: string): Identity | undefined {
  const body = xml
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '')
    .replace(/<metadata[\s>][\s\S]*?<\/metadata>/g, '');
  const name = /<name>\s*([^<\s]+)\s*<\/name>/.exec(body)?.[1];
  if (!name) return undefined;
  const uuid = /<uuid>\s*([0-9a-fA-F-]{32,36})\s*<\/uuid>/.exec(body)?.[1];
  return uuid ? { name, uuid } : { name };
}
