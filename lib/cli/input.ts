// Reading the domain XML argument of domadd and fixup_domxml (FILE, or - for stdin): a FILE that
// is not there or is a directory, bytes that are not UTF-8 or too many, XML that is not a domain
// are the caller's mistake (exit 2), said in one line naming FILE (readDomainArg). (Writing files
// is lib/cli/output.ts's.)
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DomainDoc, DomainXmlError } from '../domain/doc.js';
import { FixupError } from '../domain/fixup.js';
import { withPrefix } from '../errors.js';
import { decodeUtf8, DOMAIN_XML_MAX_BYTES } from '../domain/text.js';
import { UsageError } from './errors.js';

function readError(file: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', EISDIR: 'it is a directory' };
  return new Error(`cannot read ${file}: ${(err.code && why[err.code]) ?? err.message}`);
}

/**
 * The domain XML in FILE, or on standard input for "-". Throws DomainXmlError (input the user
 * must fix) when it is not UTF-8 — bytes that are not are refused, never turned into U+FFFD — or
 * larger than DOMAIN_XML_MAX_BYTES (reading stops there: /dev/zero does not fill the memory), and
 * Error when it cannot be read at all.
 */
export async function readInput(file: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of file === '-' ? process.stdin : createReadStream(file)) {
      size += (c as Buffer).length;
      if (size > DOMAIN_XML_MAX_BYTES) throw new DomainXmlError(`domain XML is larger than ${DOMAIN_XML_MAX_BYTES / 1024 / 1024} MiB`);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    if (e instanceof DomainXmlError) throw e;
    throw readError(file === '-' ? 'standard input' : file, e);
  }
  const d = decodeUtf8(Buffer.concat(chunks), 'domain XML');
  if (!d.ok) throw new DomainXmlError(d.error);
  return d.text;
}

async function readInputArg(file: string): Promise<string> {
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

/**
 * The domain XML argument of domadd and fixup_domxml (FILE, or - for stdin), parsed and, with
 * CHECK, checked: what is wrong with it is input to fix, said once here as "FILE: why" (exit 2).
 */
export async function readDomainArg(file: string, check?: (doc: DomainDoc) => void): Promise<DomainDoc> {
  try {
    const doc = DomainDoc.parse(await readInputArg(file));
    check?.(doc);
    return doc;
  } catch (e) {
    // Refused input, said with its file. A DomainXmlError is refused only here: the same error
    // from XML that libvirt or the agent's config hands over is a failure, not the user's input.
    if (e instanceof FixupError) throw withPrefix(e, `${file}: `);
    if (e instanceof DomainXmlError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
}
