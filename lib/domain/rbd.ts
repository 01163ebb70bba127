// A domain's Ceph RBD disks, read from its XML: the images it opens (for domadd's and fixup_domxml's
// checks against Ceph) and the cephx identities it needs on a node (for the agent, which makes the
// libvirt secret of each before the domain starts or arrives). Pure: a parsed domain in, data out.
import { child, type DomainDoc } from './doc.js';

/** One RBD disk: its target (vda), pool/image (pool `rbd` when unsaid, as QEMU reads it), the client that opens it. */
export interface RbdDisk {
  target: string;
  /** pool/image or pool/namespace/image. */
  name: string;
  /** The Ceph user without "client." (libvirt's <auth username>); undefined: no <auth>. */
  username?: string;
  /** The libvirt secret (usage type ceph) that holds that user's key. */
  secretUuid?: string;
  /** The monitors its <source> names (HOST, HOST:PORT, [IPV6]:PORT); none: the node's ceph.conf. */
  monitors: string[];
  /** <readonly/> or <shareable/>, a CD-ROM or floppy: another client may have it open. */
  shared: boolean;
}

/** A cephx identity the domain needs on a node: the user, and the libvirt secret that holds its key. */
export interface CephAuth {
  username: string;
  secretUuid: string;
}

/** DOC's RBD disks (disks of type network, protocol rbd), CD-ROMs included. */
export function rbdDisks(doc: DomainDoc): RbdDisk[] {
  const out: RbdDisk[] = [];
  for (const d of doc.devicesOf('disk')) {
    if (d.getAttribute('type') !== 'network') continue;
    const source = child(d, 'source');
    if (source?.getAttribute('protocol') !== 'rbd') continue;
    const raw = (source.getAttribute('name') ?? '').trim();
    const name = raw.includes('/') ? raw : `rbd/${raw}`;
    const auth = child(d, 'auth');
    const secret = auth ? child(auth, 'secret') : undefined;
    const device = d.getAttribute('device') ?? 'disk';
    const monitors = Array.from(source.childNodes)
      .filter((n): n is Element => n.nodeType === 1 && (n as Element).tagName === 'host')
      .map((h) => {
        const host = h.getAttribute('name') ?? '';
        const port = h.getAttribute('port');
        const shown = host.includes(':') ? `[${host}]` : host;
        return port ? `${shown}:${port}` : shown;
      })
      .filter((m) => m && m !== '[]');
    out.push({
      target: child(d, 'target')?.getAttribute('dev') ?? '',
      name,
      ...(auth?.getAttribute('username') ? { username: auth.getAttribute('username') as string } : {}),
      ...(secret?.getAttribute('uuid') ? { secretUuid: (secret.getAttribute('uuid') as string).toLowerCase() } : {}),
      monitors,
      shared: device === 'cdrom' || device === 'floppy' || child(d, 'readonly') !== undefined || child(d, 'shareable') !== undefined,
    });
  }
  return out;
}

/** The cephx identities DOC's RBD disks name (<auth username> with a <secret uuid>), each once. */
export function cephAuths(doc: DomainDoc): CephAuth[] {
  const seen = new Map<string, CephAuth>();
  for (const d of rbdDisks(doc)) {
    if (d.username && d.secretUuid) seen.set(`${d.username} ${d.secretUuid}`, { username: d.username, secretUuid: d.secretUuid });
  }
  return [...seen.values()];
}

/** Where a node keeps a Ceph user's key (Ceph's default keyring path for cluster "ceph"): what the agent makes the libvirt secret from. */
export function cephKeyringPath(username: string): string {
  return `/etc/ceph/ceph.client.${username}.keyring`;
}
