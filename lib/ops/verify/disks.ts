// corral verify's disk check: every VM's disks visible on every node it may run on, and a VM's
// local file nowhere it may not. The disks come from the domain XML in the CIB; what a node sees at
// a path comes from `stat` run there (probe.ts). Pure.
import { domainFromConfig } from '../../cib/config.js';
import { child } from '../../domain/doc.js';
import { cephKeyringPath } from '../../domain/rbd.js';
import { CLUSTER, pass, problem, type CheckLine } from './report.js';

export interface VmDisk {
  /** file or block: a path every node it may run on must see; anything else is not checked. */
  kind: 'file' | 'block' | 'rbd' | 'other';
  /** The path, or what names the disk (rbd pool/image, a volume). */
  source: string;
  /** An RBD disk's cephx user and the libvirt secret holding its key (its <auth>). */
  auth?: { username: string; secretUuid: string };
}

export interface VmDisks {
  vm: string;
  /** The nodes it may run on (constraints), and the other nodes. */
  nodes: string[];
  otherNodes: string[];
  disks: VmDisk[];
}

/** The disks of a domain XML (CD-ROMs and floppies without a medium left out); [] for an XML that cannot be read. */
export function disksOf(config: string | undefined): VmDisk[] {
  if (!config) return [];
  let devices;
  try {
    devices = domainFromConfig(config).devicesOf('disk');
  } catch {
    return []; // corral list and domadd say what is wrong with it
  }
  const out: VmDisk[] = [];
  for (const d of devices) {
    const type = d.getAttribute('type') ?? 'file';
    const src = child(d, 'source');
    if (!src) continue;
    const path = (type === 'file' ? src.getAttribute('file') : type === 'block' ? src.getAttribute('dev') : null)?.trim();
    if (path) out.push({ kind: type as 'file' | 'block', source: path });
    else if (type === 'network' && src.getAttribute('protocol') === 'rbd') {
      const auth = child(d, 'auth');
      const username = auth?.getAttribute('username');
      const secretUuid = auth ? child(auth, 'secret')?.getAttribute('uuid')?.toLowerCase() : undefined;
      out.push({ kind: 'rbd', source: src.getAttribute('name') ?? '?', ...(username && secretUuid ? { auth: { username, secretUuid } } : {}) });
    }
    else out.push({ kind: 'other', source: `${type} ${src.getAttribute('name') ?? src.getAttribute('volume') ?? src.getAttribute('dir') ?? ''}`.trim() });
  }
  return out;
}

/** What a node sees at a path (stat -L there). */
export interface PathSeen {
  kind: 'file' | 'block' | 'other' | 'missing';
  /** A file's device and inode, a block device's major:minor: equal on two nodes means one thing (same kernel, or one shared export). */
  identity?: string;
  /** The file system's type (stat -f: its magic in hex, e.g. 6969 for NFS). */
  fsType?: string;
}

/** File systems whose files every node sees as one: NFS, CephFS, GlusterFS (FUSE), GFS2, OCFS2, Lustre, 9p, CIFS/SMB. */
const SHARED_FS = new Set(['6969', 'c36400', '65735546', '1161970', '7461636f', 'bd00bd0', '1021997', 'ff534d42', 'fe534d42', '517b']);

/** Whether the file at a path is shared storage: a cluster or network file system, or the very same file on every node that sees it. */
function sharedFile(seen: readonly PathSeen[]): boolean {
  const files = seen.filter((s) => s.kind === 'file');
  if (files.some((s) => s.fsType !== undefined && SHARED_FS.has(s.fsType.toLowerCase().replace(/^0+/, '')))) return true;
  return files.length > 1 && files.every((s) => s.identity !== undefined && s.identity === files[0]?.identity);
}

/** The key files the RBD disks of VMS need on their nodes (stat them with the disks' paths). */
export function keyringPaths(vms: readonly VmDisks[]): string[] {
  return [...new Set(vms.flatMap((v) => v.disks.flatMap((d) => (d.auth ? [cephKeyringPath(d.auth.username)] : []))))];
}

/** The libvirt secrets the RBD disks of VMS name (ask each node's libvirt for them). */
export function secretUuids(vms: readonly VmDisks[]): string[] {
  return [...new Set(vms.flatMap((v) => v.disks.flatMap((d) => (d.auth ? [d.auth.secretUuid] : []))))];
}

/**
 * An RBD disk with <auth> on each node the VM may run on: the user's key file must be there (the
 * agent makes the libvirt secret from it; without it the VM can neither start nor arrive there),
 * and libvirt there should have the secret (the agent makes it at its next probe or start: a
 * warning). SECRET(node, uuid): libvirt there has it; null or undefined: could not tell.
 */
function rbdLines(vm: VmDisks, d: VmDisk, seen: (node: string, path: string) => PathSeen | undefined, secret: (node: string, uuid: string) => boolean | null | undefined, checked: Set<string>, bad: Set<string>): CheckLine[] {
  const lines: CheckLine[] = [];
  const auth = d.auth as { username: string; secretUuid: string };
  const keyring = cephKeyringPath(auth.username);
  for (const n of vm.nodes) {
    const key = seen(n, keyring);
    if (key === undefined) continue;
    checked.add(n);
    if (key.kind !== 'file') {
      bad.add(n);
      lines.push(
        problem(
          'disks',
          n,
          `${vm.vm}'s RBD disk ${d.source} needs client.${auth.username}'s key here, and ${keyring} is missing: the agent cannot make its libvirt secret, so ${vm.vm} can neither start nor arrive here (${vm.vm} may run on ${vm.nodes.join(', ')})`,
          `copy the key file to ${n} (root's, mode 0600), or keep ${vm.vm} off ${n} (domadd --replace --only-on …)`,
        ),
      );
      continue;
    }
    if (secret(n, auth.secretUuid) === false) {
      lines.push(
        problem(
          'disks',
          n,
          `${vm.vm}'s RBD disk ${d.source}: libvirt here has no secret ${auth.secretUuid} (client.${auth.username}) yet; the agent makes it from ${keyring} at its next probe or start here`,
          `crm_resource --refresh --resource vm-${vm.vm} --node ${n} (a probe makes it now)`,
          'warning',
        ),
      );
    }
  }
  return lines;
}

/**
 * One line per VM and node it may run on (missing, or of the wrong kind); a warning where a file
 * disk on local storage also exists on a node the VM may not run on (not its disk: a leftover copy
 * it could be started from once the constraint goes), and where it is local on several nodes it
 * may run on (each has its own copy). SEEN(node, path) is undefined when the node could not be
 * asked (its line says so elsewhere).
 */
export function diskLines(
  vms: readonly VmDisks[],
  seen: (node: string, path: string) => PathSeen | undefined,
  secret: (node: string, uuid: string) => boolean | null | undefined = () => undefined,
): CheckLine[] {
  const lines: CheckLine[] = [];
  const bad = new Set<string>();
  const checked = new Set<string>();
  for (const vm of vms) {
    for (const d of vm.disks) {
      if (d.kind === 'rbd' && d.auth) {
        lines.push(...rbdLines(vm, d, seen, secret, checked, bad));
        continue;
      }
      if (d.kind === 'rbd' || d.kind === 'other') {
        const what = d.kind === 'rbd' ? `rbd ${d.source}: an RBD disk without <auth>` : `${d.source}: nothing in corral checks this kind of disk on the nodes yet`;
        lines.push(problem('disks', CLUSTER, `${vm.vm}'s disk ${what}`, '', 'not-checked'));
        continue;
      }
      const on = vm.nodes.map((n) => ({ n, s: seen(n, d.source) }));
      for (const { n, s } of on) {
        if (s === undefined) continue;
        checked.add(n);
        const ok = s.kind === 'block' || (d.kind === 'file' && s.kind === 'file');
        if (ok) continue;
        bad.add(n);
        const what = s.kind === 'missing' ? 'is missing here' : `is ${s.kind === 'other' ? 'neither a file nor a block device' : `a ${s.kind}, not a block device`} here`;
        lines.push(
          problem(
            'disks',
            n,
            `${vm.vm}'s disk ${d.source} ${what} (${vm.vm} may run on ${vm.nodes.join(', ')})`,
            `make ${d.source} available on ${n} (mount the shared storage, log in to the iSCSI target, activate the volume), or keep ${vm.vm} off ${n} (domadd --replace --only-on …)`,
          ),
        );
      }
      if (d.kind !== 'file') continue;
      const seenOn = on.filter((x) => x.s?.kind === 'file').map((x) => x.s as PathSeen);
      const elsewhere = vm.otherNodes.map((n) => ({ n, s: seen(n, d.source) })).filter((x) => x.s?.kind === 'file');
      if (sharedFile([...seenOn, ...elsewhere.map((x) => x.s as PathSeen)])) continue;
      if (seenOn.length > 1) {
        lines.push(
          problem(
            'disks',
            CLUSTER,
            `${vm.vm}'s disk ${d.source} is a local file on each of ${on.filter((x) => x.s?.kind === 'file').map((x) => x.n).join(', ')}, not shared storage: each node has its own copy, and a failover starts ${vm.vm} from another one`,
            `put it on shared storage, or let ${vm.vm} run on one node only (domadd --replace --only-on NODE)`,
            'warning',
          ),
        );
      }
      for (const { n } of elsewhere) {
        lines.push(
          problem(
            'disks',
            n,
            `${vm.vm}'s disk ${d.source} exists here, on local storage, though ${vm.vm} may not run here: a copy that is not its disk`,
            `if it is a leftover (an old copy), remove or rename it on ${n}, so that ${vm.vm} can never start from it`,
            'warning',
          ),
        );
      }
    }
  }
  for (const n of checked) if (!bad.has(n)) lines.push(pass('disks', n, 'every disk of the VMs that may run here is here'));
  return lines;
}

/** `stat -L -t` lines: NAME SIZE BLOCKS RAWMODE UID GID DEV INODE LINKS MAJOR MINOR …, keyed by name. */
export function parseStatTerse(text: string): Map<string, PathSeen> {
  const out = new Map<string, PathSeen>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 11) continue;
    const [name, , , mode, , , dev, ino, , major, minor] = f as [string, string, string, string, string, string, string, string, string, string, string];
    const type = Number.parseInt(mode, 16) & 0xf000;
    if (type === 0x6000) out.set(name, { kind: 'block', identity: `block:${Number.parseInt(major, 16)}:${Number.parseInt(minor, 16)}` });
    else if (type === 0x8000) out.set(name, { kind: 'file', identity: `inode:${dev}:${ino}` });
    else out.set(name, { kind: 'other' });
  }
  return out;
}

/** `stat -L -f -t` lines: NAME FSID NAMELEN TYPE …, name → the file system's type (hex). */
export function parseStatFsTerse(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 4) out.set(f[0] as string, f[3] as string);
  }
  return out;
}
