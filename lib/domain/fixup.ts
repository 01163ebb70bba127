// fixup_domxml's logic: make a domain XML stable (the same identity wherever and whenever the
// transient domain is created) and cluster-ready, and check it against the other VMs.
//
// Stable means: a fixed <uuid>, a fixed <mac address> on every interface (libvirt would invent
// new ones at every `virsh create`), and a console log on the serial console (a continuous log per
// VM, kept by virtlogd). The startup_signal channel is left as it is: libvirt generates its socket
// path. Fixing up is idempotent: a fixed-up document is left unchanged.
import { CorralError } from '../errors.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import { sameDisk, type NodeDiskIds } from './disk-key.js';
import { DomainDoc, child, children, type El } from './doc.js';
import { vmName } from './names.js';

export class FixupError extends CorralError {
  readonly kind = 'refused';
  override name = 'FixupError';
}

export const CONSOLE_LOG_DIR = '/var/log/corral/console';

export function consoleLogPath(name: string): string {
  return `${CONSOLE_LOG_DIR}/${name}.log`;
}

/** Values that mean "make one up" rather than a real uuid or MAC address. */
function isAuto(v: string | undefined | null): boolean {
  return v === undefined || v === null || v.trim() === '' || v.trim().toLowerCase() === 'auto';
}

/** A uuid in canonical form (lower case, 8-4-4-4-12), or undefined if TEXT is not a uuid. */
export function normalizeUuid(text: string): string | undefined {
  const hex = text.trim().toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A MAC address in lower case, or undefined if TEXT is not a unicast MAC address. */
export function normalizeMac(text: string): string | undefined {
  const mac = text.trim().toLowerCase();
  if (!MAC_RE.test(mac)) return undefined;
  if (mac === '00:00:00:00:00:00') return undefined;
  if (parseInt(mac.slice(0, 2), 16) & 1) return undefined; // multicast: libvirt refuses it
  return mac;
}

/** A random MAC address in the range libvirt and qemu use for guests (52:54:00:xx:xx:xx). */
export function randomMac(): string {
  return ['52', '54', '00', ...Array.from(randomBytes(3), (b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** What makes a VM unique in the cluster. */
export interface DomainIdentity {
  name: string;
  /** canonical form; undefined when the XML has none (yet) */
  uuid?: string;
  /** lower case, one per interface that has one */
  macs: string[];
  /**
   * The disks this VM writes to, one key each (`file:/path`, `block:/dev/…`, `rbd:pool/image`,
   * `volume:pool/vol`, …): two VMs that write to one disk destroy it. Disks marked <shareable/>
   * (a cluster file system's disk) or <readonly/>, and CD-ROMs, are not listed: sharing them is
   * safe.
   */
  disks: string[];
}

/** The key of a disk's source, or undefined when it has none (an empty CD-ROM drive). */
function diskKey(disk: El): string | undefined {
  const type = disk.getAttribute('type') ?? 'file';
  const src = child(disk, 'source');
  if (!src) return undefined;
  const norm = (p: string | null): string | undefined => (p && p.trim() ? posix.normalize(p.trim()) : undefined);
  switch (type) {
    case 'file': {
      const f = norm(src.getAttribute('file'));
      return f && `file:${f}`;
    }
    case 'block': {
      const d = norm(src.getAttribute('dev'));
      return d && `block:${d}`;
    }
    case 'dir': {
      const d = norm(src.getAttribute('dir'));
      return d && `dir:${d}`;
    }
    case 'volume': {
      const pool = src.getAttribute('pool');
      const vol = src.getAttribute('volume');
      return pool && vol ? `volume:${pool}/${vol}` : undefined;
    }
    case 'network': {
      const proto = src.getAttribute('protocol') ?? 'network';
      const name = src.getAttribute('name');
      return name ? `${proto}:${name.replace(/^\/+/, '')}` : undefined;
    }
    default:
      return undefined;
  }
}

/** The disks of DOC that another VM must not use (see DomainIdentity.disks). */
function exclusiveDisks(doc: DomainDoc): string[] {
  const out: string[] = [];
  for (const disk of doc.devicesOf('disk')) {
    const device = disk.getAttribute('device') ?? 'disk';
    if (device === 'cdrom' || device === 'floppy') continue;
    if (child(disk, 'shareable') || child(disk, 'readonly')) continue;
    const k = diskKey(disk);
    if (k && !out.includes(k)) out.push(k);
  }
  return out;
}

/** A disk key for people: `/dev/vm/gum`, `rbd pool/image`. */
function diskLabel(key: string): string {
  const [kind, ...rest] = key.split(':');
  const what = rest.join(':');
  return kind === 'file' || kind === 'block' || kind === 'dir' ? what : `${kind} ${what}`;
}

function interfaceMac(iface: El): El | undefined {
  return child(iface, 'mac');
}

export function identityOf(doc: DomainDoc): DomainIdentity {
  const uuid = doc.uuid;
  const macs: string[] = [];
  for (const iface of doc.devicesOf('interface')) {
    const addr = interfaceMac(iface)?.getAttribute('address');
    if (!isAuto(addr)) macs.push(normalizeMac(addr ?? '') ?? (addr ?? '').trim().toLowerCase());
  }
  return { name: doc.name, uuid: uuid && !isAuto(uuid) ? (normalizeUuid(uuid) ?? uuid) : undefined, macs, disks: exclusiveDisks(doc) };
}

/**
 * Checks what fixup cannot repair: the name (corral's VM name rule), a uuid or MAC address that is
 * present but malformed, and a MAC address used twice in this domain. Throws FixupError.
 */
export function checkDomain(doc: DomainDoc): void {
  const problems: string[] = [];
  const name = vmName.safeParse(doc.name);
  if (!name.success) {
    problems.push(`the domain name ${JSON.stringify(doc.name)} is not usable: ${name.error.issues[0]?.message}`);
  }
  const uuid = doc.uuid;
  if (uuid !== undefined && !isAuto(uuid) && !normalizeUuid(uuid)) {
    problems.push(`<uuid>${uuid}</uuid> is not a uuid (32 hex digits, e.g. 8-4-4-4-12)`);
  }
  const seen = new Map<string, number>();
  doc.devicesOf('interface').forEach((iface, i) => {
    const addr = interfaceMac(iface)?.getAttribute('address');
    if (isAuto(addr)) return;
    const mac = normalizeMac(addr ?? '');
    if (!mac) {
      problems.push(`interface ${i + 1}: "${addr}" is not a unicast MAC address (like 52:54:00:12:34:56)`);
      return;
    }
    const first = seen.get(mac);
    if (first !== undefined) problems.push(`interfaces ${first + 1} and ${i + 1} share the MAC address ${mac}`);
    else seen.set(mac, i);
  });
  if (problems.length) throw new FixupError(problems.join('\n'));
}

export interface FixupOptions {
  /** Makes a uuid (tests pass a fixed one); crypto.randomUUID by default. */
  newUuid?: () => string;
  /** Makes a MAC address; randomMac by default. */
  newMac?: () => string;
  /** MAC addresses already in use elsewhere (other VMs): never handed out. */
  takenMacs?: Iterable<string>;
}

/**
 * Makes DOC stable and cluster-ready, in place; returns what it changed (empty when DOC already
 * was). Runs checkDomain first, so it throws FixupError for what it cannot repair.
 */
export function fixupDomain(doc: DomainDoc, opts: FixupOptions = {}): string[] {
  checkDomain(doc);
  const changes: string[] = [];
  const newUuid = opts.newUuid ?? randomUUID;
  const newMac = opts.newMac ?? randomMac;

  // uuid
  const uuidEl = child(doc.root, 'uuid');
  if (isAuto(uuidEl?.textContent)) {
    const uuid = normalizeUuid(newUuid());
    if (!uuid) throw new FixupError('the uuid generator returned something that is not a uuid');
    if (uuidEl) {
      uuidEl.textContent = uuid;
    } else {
      const el = doc.root.ownerDocument.createElement('uuid');
      el.textContent = uuid;
      insertAfter(doc.root, el, child(doc.root, 'name'));
    }
    changes.push(`set the uuid to ${uuid}`);
  }

  // MAC addresses
  const taken = new Set<string>();
  for (const m of opts.takenMacs ?? []) taken.add(m.toLowerCase());
  for (const m of identityOf(doc).macs) taken.add(m);
  doc.devicesOf('interface').forEach((iface, i) => {
    let macEl = interfaceMac(iface);
    if (!isAuto(macEl?.getAttribute('address'))) return;
    let mac = '';
    for (let tries = 0; ; tries++) {
      mac = normalizeMac(newMac()) ?? '';
      if (mac && !taken.has(mac)) break;
      if (tries > 100) throw new FixupError('could not find a free MAC address');
    }
    taken.add(mac);
    if (!macEl) {
      macEl = doc.root.ownerDocument.createElement('mac');
      insertFirst(iface, macEl);
    }
    macEl.setAttribute('address', mac);
    changes.push(`interface ${i + 1}: set the MAC address to ${mac}`);
  });

  // console log on the serial console
  const logFile = consoleLogPath(doc.name);
  let serial = doc.devicesOf('serial')[0];
  if (!serial) {
    serial = doc.root.ownerDocument.createElement('serial');
    serial.setAttribute('type', 'pty');
    insertLast(doc.devices, serial);
    changes.push('added a serial console (pty)');
  }
  if (!child(serial, 'log')) {
    const log = doc.root.ownerDocument.createElement('log');
    log.setAttribute('file', logFile);
    log.setAttribute('append', 'on');
    insertLast(serial, log);
    changes.push(`the serial console logs to ${logFile}`);
  }
  return changes;
}

/** What fixupDomain would change in DOC (DOC itself is left alone); empty when DOC is stable. */
export function unstableReasons(doc: DomainDoc): string[] {
  const copy = DomainDoc.parse(doc.toXml());
  return fixupDomain(copy, { newUuid: () => '00000000-0000-4000-8000-000000000000', newMac: () => '52:54:00:00:00:01' })
    .map((c) => c.replace(/ to [0-9a-f:-]+$/, ''));
}

/** Another VM as the CIB knows it. */
export interface KnownVm extends DomainIdentity {
  /** its Pacemaker resource id */
  resourceId: string;
  /** The name inside its domain XML, when it differs from the VM's name (vm-NAME). */
  domainName?: string;
}

/**
 * Everything in ID that clashes with KNOWN: another VM with the same name, the same uuid or a
 * shared MAC address, or a disk of another VM: the same path, or one disk under another name
 * (lib/domain/disk-key.ts: by the text, and through NODE by what this node sees at both paths). A
 * known VM with the same name *and* uuid is this VM itself (e.g. the XML of a VM already in the
 * cluster): it is not compared.
 */
export function clashes(id: DomainIdentity, known: readonly KnownVm[], node?: NodeDiskIds): string[] {
  const out: string[] = [];
  for (const k of known) {
    if (k.name === id.name) {
      if (id.uuid !== undefined && k.uuid === id.uuid) continue;
      out.push(`the name ${id.name} is taken by ${k.resourceId} (uuid ${k.uuid ?? 'unknown'})`);
      continue;
    }
    if (k.domainName === id.name) out.push(`the name ${id.name} is taken by the domain inside ${k.resourceId}`);
    const disks = id.disks.filter((d) => k.disks.includes(d));
    if (disks.length) {
      out.push(
        `the disk${disks.length > 1 ? 's' : ''} ${disks.map(diskLabel).join(', ')} ${disks.length > 1 ? 'are' : 'is'} used by ${k.resourceId} ` +
          '(two VMs writing to one disk destroy it; mark a disk meant to be shared <shareable/>)',
      );
    }
    for (const d of id.disks) {
      for (const e of k.disks) {
        const why = d === e ? undefined : sameDisk(d, e, node);
        if (why) {
          out.push(
            `the disk ${diskLabel(d)} of ${id.name} is ${diskLabel(e)} of ${k.resourceId}, the same disk (${why}): ` +
              'two VMs writing to one disk destroy it; mark a disk meant to be shared <shareable/>',
          );
        }
      }
    }
    if (id.uuid !== undefined && k.uuid === id.uuid) out.push(`the uuid ${id.uuid} is taken by ${k.resourceId}`);
    const shared = id.macs.filter((m) => k.macs.includes(m));
    if (shared.length) {
      out.push(`the MAC address${shared.length > 1 ? 'es' : ''} ${shared.join(', ')} ${shared.length > 1 ? 'are' : 'is'} taken by ${k.resourceId}`);
    }
  }
  return out;
}

function insertFirst(parent: El, el: El): void {
  parent.insertBefore(el, children(parent)[0] ?? null);
}

function insertAfter(parent: El, el: El, ref: El | undefined): void {
  if (!ref) return insertFirst(parent, el);
  parent.insertBefore(el, ref.nextSibling);
}

function insertLast(parent: El, el: El): void {
  parent.appendChild(el);
}
