// How libvirt names a domain on qemu's command line, and how to recognise the qemu process of a
// domain from its argv. Pure: the host port (lib/host/agent-fs.ts, test/support/sim-host.ts) reads
// the processes; this only tells whose they are.
import type { Identity } from './host-port.js';

export type { Identity };

/** The domain name in libvirt's "-name guest=NAME,debug-threads=on" (commas in names doubled). */
function domainNameOf(args: readonly string[]): string | undefined {
  const n = args.indexOf('-name');
  const nameArg = n >= 0 ? args[n + 1] : undefined;
  if (nameArg === undefined) return undefined;
  const first = nameArg.replace(/,,/g, '\u0000').split(',')[0]!.replace(/\u0000/g, ',');
  return first.startsWith('guest=') ? first.slice(6) : first;
}

/** True when ARGS carries libvirt's "-name guest=NAME,…" (and "-uuid UUID", when ID has one). */
export function namesDomain(args: readonly string[], id: Identity): boolean {
  if (domainNameOf(args) !== id.name) return false;
  if (id.uuid) {
    const u = args.indexOf('-uuid');
    if (u >= 0 && args[u + 1]?.toLowerCase() !== id.uuid.toLowerCase()) return false;
  }
  return true;
}

/** True when ARGS is the command line of a qemu process that libvirt started for ID. */
export function isQemuFor(args: readonly string[], id: Identity): boolean {
  const exe = args[0] ?? '';
  return /qemu/.test(exe.slice(exe.lastIndexOf('/') + 1)) && namesDomain(args, id);
}
