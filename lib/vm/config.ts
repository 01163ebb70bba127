// Where the domain XML comes from (inline in the CIB, or a file as with VirtualDomain), and a quick
// read of its identity that needs no XML library. Only node:fs here: the steady-state monitor uses it.
import { readFileSync } from 'node:fs';
import type { Identity } from './procs.js';

/** The domain XML text of the `config` parameter: inline XML, or the contents of the file it names. */
export function configText(config: string | undefined): string | undefined {
  if (config === undefined || config.trim() === '') return undefined;
  if (config.trimStart().startsWith('<')) return config;
  try {
    return readFileSync(config, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The domain's name and uuid read with regular expressions: the direct <name>/<uuid> of <domain>,
 * ignoring <metadata> and comments. Good enough to find a running domain's process, which is then
 * checked against qemu's own command line; everything else parses the XML properly.
 */
export function quickIdentity(xml: string): Identity | undefined {
  const body = xml.replace(/<!--[\s\S]*?-->/g, '').replace(/<metadata[\s>][\s\S]*?<\/metadata>/g, '');
  const name = /<name>\s*([^<\s]+)\s*<\/name>/.exec(body)?.[1];
  if (!name) return undefined;
  const uuid = /<uuid>\s*([0-9a-fA-F-]{32,36})\s*<\/uuid>/.exec(body)?.[1];
  return uuid ? { name, uuid } : { name };
}
