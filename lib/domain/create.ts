// Domain XML from a few facts about a VM: what `create_domxml` prints. Pure: options in, XML out.
//
// Two layers, both zod:
// - DomainSpecSchema: the structured options (typed disks, interfaces, NUMA, boot, Ceph), with
//   every value and cross-option rule checked. buildDomainXml(spec) renders it.
// - CreateDomxmlArgsSchema: the command line's text forms (`--iface vh:150`, `--disk qcow2:/x`,
//   `--ceph-mon [::1]:6789`, `--mem 8g`), parsed into a DomainSpec. Issue paths use the spec's
//   vocabulary (['nics', 2], ['boot', 'initrd'], …) so flagOfIssuePath() can name the flag.
//
// What the XML holds (the original system's shape): KVM unless told, memory in MiB, vcpus,
// virtio disks vda, vdb, … (block/file: cache none, io native; RBD: cache writeback, Ceph's
// advice), virtio NICs on Open vSwitch bridges with a VLAN tag (or Linux bridges), a serial
// console, the startup_signal channel (no <source>: libvirt, then fixup_domxml, picks the path),
// VNC on 127.0.0.1 for `vm NAME vnc`. No uuid and no MAC unless given: fixup_domxml fixes them.
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { z } from 'zod';
import { vmName } from './names.js';
import { sizeMiBSchema } from './size.js';

export const MAX_VCPUS = 4096;
export const MIN_MEMORY_MIB = 1;
/** 16 TiB: more is a typo, not a VM. */
export const MAX_MEMORY_MIB = 16 * 1024 * 1024;
export const STARTUP_SIGNAL_CHANNEL = 'startup_signal';

// ---------------------------------------------------------------------------------------------
// Atoms

/** A whole number given as a number or as decimal digits ("16"), within [min, max]. */
export function countSchema(what: string, min: number, max: number) {
  return z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n)) {
        ctx.addIssue({ code: 'custom', message: `${what} is a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    })
    .pipe(z.number().min(min, `${what} is a whole number from ${min} to ${max}`).max(max, `${what} is a whole number from ${min} to ${max}`));
}

// Control characters (and DEL) never belong in a path, a name or a kernel command line; XML 1.0
// cannot even carry most of them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export const absolutePath = z
  .string()
  .max(4096, 'a path is at most 4096 characters')
  .refine((p) => p.startsWith('/') && p.length > 1, 'must be an absolute path')
  .refine((p) => !CONTROL.test(p), 'a path may not contain control characters')
  .refine(
    (p) => p.slice(1).split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    'a path may not contain empty, "." or ".." components, nor end in "/"',
  );

/** Linux interface names: at most 15 characters; corral keeps to a safe alphabet. */
export const bridgeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, 'a bridge name is 1-15 letters, digits, ".", "_" or "-"');

export const vlanTag = z
  .number()
  .int('a VLAN tag is a whole number')
  .min(1, 'a VLAN tag is between 1 and 4094')
  .max(4094, 'a VLAN tag is between 1 and 4094');

/** A unicast MAC address, normalised to lower case. */
export const macAddress = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, 'a MAC address is six hex pairs separated by ":"')
  .transform((m) => m.toLowerCase())
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, 'a MAC address must be unicast (first octet even)')
  .refine((m) => m !== '00:00:00:00:00:00', 'the all-zero MAC address is not an address');

export const uuid = z.guid('a UUID looks like 8-4-4-4-12 hex digits');

/** Machine types (pc-q35-7.2) and CPU models (Skylake-Server-v4). */
const token = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/, `${what} is 1-64 letters, digits, ".", "_", "+" or "-"`);

export const machineType = token('a machine type');

/**
 * CPU model: host-passthrough, host-model, maximum (QEMU's "max"), a named model (custom,
 * e.g. Skylake-Server), or "default" for no <cpu> element (the hypervisor's default model).
 */
export const cpuModel = token('a CPU model');

/** A libvirt node set: 0-1, 0,2, 0-7,^3. */
export const nodeset = z
  .string()
  .regex(/^(\d+(-\d+)?|\^\d+)(,(\d+(-\d+)?|\^\d+))*$/, 'a NUMA node set looks like 0, 0-1, 0,2 or 0-3,^2')
  .refine(
    (s) =>
      s.split(',').every((part) => {
        const [a, b] = part.replace('^', '').split('-').map(Number);
        return a !== undefined && a < 1024 && (b === undefined || (a <= b && b < 1024));
      }),
    'a NUMA node set has nodes 0-1023 and ranges low-high',
  )
  .refine((s) => s.split(',').some((p) => !p.startsWith('^')), 'a NUMA node set must include a node');

export const kernelCmdline = z
  .string()
  .max(4096, 'a kernel command line is at most 4096 characters')
  .refine((s) => !CONTROL.test(s), 'a kernel command line may not contain control characters');

const cephToken = (what: string) =>
  z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/, `${what} is letters, digits, ".", "_" or "-"`);

export const cephPool = cephToken('a Ceph pool name');
export const cephImage = cephToken('a Ceph image name');
export const cephUser = cephToken('a Ceph user name').refine(
  (u) => !u.startsWith('client.'),
  'give the Ceph user without the "client." prefix (libvirt adds it)',
);

const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME_RE = new RegExp(`^(?=.{1,253}$)${LABEL}(\\.${LABEL})*$`);
export const hostAddress = z
  .string()
  .refine(
    (h) => HOSTNAME_RE.test(h) || z.ipv6().safeParse(h).success,
    'a host is a host name, an IPv4 or an IPv6 address',
  );
export const tcpPort = z.number().int().min(1, 'a port is 1-65535').max(65535, 'a port is 1-65535');

// ---------------------------------------------------------------------------------------------
// The structured options

export const DiskFormatSchema = z.enum(['raw', 'qcow2']);
export type DiskFormat = z.infer<typeof DiskFormatSchema>;

export const DiskSchema = z.discriminatedUnion('type', [
  /** A block device (an LV, an iSCSI LUN, …). */
  z.object({ type: z.literal('block'), path: absolutePath, format: DiskFormatSchema.default('raw') }),
  /** An image file. */
  z.object({ type: z.literal('file'), path: absolutePath, format: DiskFormatSchema.default('raw') }),
  /** A Ceph RBD image; monitors and auth come from DomainSpec.ceph (or the host's ceph.conf). */
  z.object({ type: z.literal('rbd'), pool: cephPool, image: cephImage }),
]);
export type Disk = z.infer<typeof DiskSchema>;

export const NicSchema = z.discriminatedUnion('type', [
  /** A port on an Open vSwitch bridge: access port of one VLAN, trunk of several, or "all". */
  z.object({
    type: z.literal('ovs'),
    bridge: bridgeName,
    vlans: z.union([
      z.literal('all'),
      z
        .array(vlanTag)
        .min(1, 'give at least one VLAN tag, or "all"')
        .refine((v) => new Set(v).size === v.length, 'a VLAN tag is listed twice'),
    ]),
    mac: macAddress.optional(),
  }),
  /** A port on a Linux bridge. */
  z.object({ type: z.literal('bridge'), bridge: bridgeName, mac: macAddress.optional() }),
]);
export type Nic = z.infer<typeof NicSchema>;

export const CephMonitorSchema = z.object({ host: hostAddress, port: tcpPort.optional() });
export type CephMonitor = z.infer<typeof CephMonitorSchema>;

export const CephSchema = z.object({
  monitors: z.array(CephMonitorSchema).default([]),
  auth: z.object({ username: cephUser, secretUuid: uuid }).optional(),
});

export const NumaSchema = z.discriminatedUnion('placement', [
  /** numad places vCPUs and memory. */
  z.object({ placement: z.literal('auto') }),
  /** Memory strictly from these host nodes. */
  z.object({ placement: z.literal('static'), nodeset }),
]);

export const BootSchema = z.object({
  kernel: absolutePath,
  initrd: absolutePath.optional(),
  cmdline: kernelCmdline.optional(),
});

export const DomainSpecSchema = z
  .object({
    name: vmName,
    virtType: z.enum(['kvm', 'qemu']).default('kvm'),
    vcpus: countSchema('the number of vCPUs', 1, MAX_VCPUS),
    /** MiB as a number, or a size text ("8g"; a plain number is MiB). */
    memoryMiB: sizeMiBSchema({ minMiB: MIN_MEMORY_MIB, maxMiB: MAX_MEMORY_MIB }),
    /** Unset: host-passthrough for kvm, the hypervisor's default model for qemu (TCG). */
    cpuModel: cpuModel.optional(),
    machine: machineType.optional(),
    numa: NumaSchema.optional(),
    /** Direct kernel boot; otherwise the guest boots from its first disk. */
    boot: BootSchema.optional(),
    /** In order: the first is vda. */
    disks: z.array(DiskSchema).default([]),
    nics: z.array(NicSchema).default([]),
    ceph: CephSchema.optional(),
    uuid: uuid.optional(),
    startupSignal: z.boolean().default(true),
    vnc: z.boolean().default(true),
  })
  .superRefine((spec, ctx) => {
    if (spec.virtType === 'qemu' && spec.cpuModel === 'host-passthrough') {
      ctx.addIssue({
        code: 'custom',
        path: ['cpuModel'],
        message: 'host-passthrough needs KVM (virt type kvm); TCG (qemu) cannot pass the host CPU through',
      });
    }
    const seenDisks = new Map<string, number>();
    spec.disks.forEach((d, i) => {
      const key = d.type === 'rbd' ? `rbd:${d.pool}/${d.image}` : `path:${d.path}`;
      const first = seenDisks.get(key);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['disks', i], message: `the same disk as disk ${diskTarget(first)}` });
      } else seenDisks.set(key, i);
    });
    const seenMacs = new Set<string>();
    spec.nics.forEach((n, i) => {
      if (n.mac === undefined) return;
      if (seenMacs.has(n.mac)) {
        ctx.addIssue({ code: 'custom', path: ['nics', i, 'mac'], message: `MAC address ${n.mac} is given twice` });
      }
      seenMacs.add(n.mac);
    });
    if (spec.ceph && !spec.disks.some((d) => d.type === 'rbd')) {
      ctx.addIssue({ code: 'custom', path: ['ceph'], message: 'Ceph settings without any RBD disk' });
    }
  });

/** The options as a caller may give them (defaults and text sizes allowed). */
export type DomainSpecInput = z.input<typeof DomainSpecSchema>;
/** The options after validation. */
export type DomainSpec = z.output<typeof DomainSpecSchema>;

// ---------------------------------------------------------------------------------------------
// Rendering

/** The virtio disk name of the Nth disk (0-based): vda … vdz, vdaa, vdab, … */
export function diskTarget(index: number): string {
  let n = index;
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `vd${s}`;
}

function renderDisk(devices: XMLBuilder, disk: Disk, index: number, ceph: DomainSpec['ceph']): void {
  const target = { dev: diskTarget(index), bus: 'virtio' };
  if (disk.type === 'rbd') {
    const el = devices.ele('disk', { type: 'network', device: 'disk' });
    el.ele('driver', { name: 'qemu', type: 'raw', cache: 'writeback' });
    if (ceph?.auth) {
      el.ele('auth', { username: ceph.auth.username }).ele('secret', { type: 'ceph', uuid: ceph.auth.secretUuid });
    }
    const source = el.ele('source', { protocol: 'rbd', name: `${disk.pool}/${disk.image}` });
    for (const mon of ceph?.monitors ?? []) {
      source.ele('host', mon.port === undefined ? { name: mon.host } : { name: mon.host, port: String(mon.port) });
    }
    el.ele('target', target);
    return;
  }
  const el = devices.ele('disk', { type: disk.type, device: 'disk' });
  el.ele('driver', { name: 'qemu', type: disk.format, cache: 'none', io: 'native' });
  el.ele('source', disk.type === 'block' ? { dev: disk.path } : { file: disk.path });
  el.ele('target', target);
}

function renderNic(devices: XMLBuilder, nic: Nic): void {
  const el = devices.ele('interface', { type: 'bridge' });
  if (nic.mac) el.ele('mac', { address: nic.mac });
  el.ele('source', { bridge: nic.bridge });
  if (nic.type === 'ovs') {
    if (nic.vlans !== 'all') {
      const vlan = el.ele('vlan', nic.vlans.length > 1 ? { trunk: 'yes' } : {});
      for (const id of nic.vlans) vlan.ele('tag', { id: String(id) });
    }
    el.ele('virtualport', { type: 'openvswitch' });
  }
  el.ele('model', { type: 'virtio' });
}

function renderCpu(dom: XMLBuilder, spec: DomainSpec): void {
  const model = spec.cpuModel ?? (spec.virtType === 'kvm' ? 'host-passthrough' : 'default');
  switch (model) {
    case 'default':
      return;
    case 'host-passthrough':
    case 'host-model':
    case 'maximum':
      dom.ele('cpu', { mode: model });
      return;
    default:
      dom.ele('cpu', { mode: 'custom', match: 'exact' }).ele('model', { fallback: 'forbid' }).txt(model);
  }
}

/** Validates INPUT (throws z.ZodError) and returns the domain XML, pretty-printed, ending in "\n". */
export function buildDomainXml(input: DomainSpecInput): string {
  const spec = DomainSpecSchema.parse(input);
  const dom = create().ele('domain', { type: spec.virtType });
  dom.ele('name').txt(spec.name);
  if (spec.uuid) dom.ele('uuid').txt(spec.uuid.toLowerCase());
  dom.ele('memory', { unit: 'MiB' }).txt(String(spec.memoryMiB));
  dom.ele('vcpu', { placement: spec.numa?.placement === 'auto' ? 'auto' : 'static' }).txt(String(spec.vcpus));
  if (spec.numa) {
    dom
      .ele('numatune')
      .ele(
        'memory',
        spec.numa.placement === 'auto'
          ? { mode: 'strict', placement: 'auto' }
          : { mode: 'strict', nodeset: spec.numa.nodeset },
      );
  }

  const os = dom.ele('os');
  os.ele('type', spec.machine ? { machine: spec.machine } : {}).txt('hvm');
  if (spec.boot) {
    os.ele('kernel').txt(spec.boot.kernel);
    if (spec.boot.initrd) os.ele('initrd').txt(spec.boot.initrd);
    if (spec.boot.cmdline !== undefined) os.ele('cmdline').txt(spec.boot.cmdline);
  } else {
    os.ele('boot', { dev: 'hd' });
  }
  const features = dom.ele('features');
  features.ele('acpi');
  features.ele('apic');
  renderCpu(dom, spec);
  dom.ele('clock', { offset: 'utc' });
  dom.ele('on_poweroff').txt('destroy');
  dom.ele('on_reboot').txt('restart');
  dom.ele('on_crash').txt('destroy');

  const devices = dom.ele('devices');
  spec.disks.forEach((d, i) => renderDisk(devices, d, i, spec.ceph));
  for (const nic of spec.nics) renderNic(devices, nic);
  devices.ele('serial', { type: 'pty' }).ele('target', { port: '0' });
  devices.ele('console', { type: 'pty' }).ele('target', { type: 'serial', port: '0' });
  if (spec.startupSignal) {
    devices.ele('channel', { type: 'unix' }).ele('target', { type: 'virtio', name: STARTUP_SIGNAL_CHANNEL });
  }
  if (spec.vnc) {
    devices
      .ele('graphics', { type: 'vnc', autoport: 'yes', listen: '127.0.0.1' })
      .ele('listen', { type: 'address', address: '127.0.0.1' });
  }
  return `${dom.end({ headless: true, prettyPrint: true, indent: '  ' })}\n`;
}

// ---------------------------------------------------------------------------------------------
// The command line's text forms

/** `--disk [raw:|qcow2:]PATH`: /dev/… is a block device; *.qcow2 is qcow2; anything else raw. */
export function diskFromText(text: string): z.input<typeof DiskSchema> {
  const m = /^(raw|qcow2):(.*)$/.exec(text);
  const path = m ? (m[2] ?? '') : text;
  const format: DiskFormat = m ? (m[1] as DiskFormat) : /\.qcow2$/i.test(path) ? 'qcow2' : 'raw';
  return { type: path.startsWith('/dev/') ? 'block' : 'file', path, format };
}

export class ArgSyntaxError extends Error {
  override name = 'ArgSyntaxError';
}

/** `--rbd POOL/IMAGE`. */
export function rbdFromText(text: string): z.input<typeof DiskSchema> {
  const parts = text.split('/');
  if (parts.length !== 2) throw new ArgSyntaxError('an RBD disk is POOL/IMAGE');
  return { type: 'rbd', pool: parts[0] ?? '', image: parts[1] ?? '' };
}

function vlansFromText(text: string): number[] | 'all' {
  if (text === 'all') return 'all';
  if (!/^\d+(,\d+)*$/.test(text)) {
    throw new ArgSyntaxError('VLANs are a tag (150), a list of tags (150,151: a trunk) or "all"');
  }
  return text.split(',').map(Number);
}

/**
 * `--iface VLANS` (on the bridge of --ovs) or `--iface BRIDGE:VLANS`, an Open vSwitch port.
 * VLANS: one tag (access port), tags separated by "," (trunk), or "all" (every VLAN, untagged
 * port: what OVS does for a port without a tag, so it must be asked for by name).
 */
export function ovsNicFromText(text: string, defaultBridge: string | undefined): z.input<typeof NicSchema> {
  const colon = text.lastIndexOf(':');
  const bridge = colon >= 0 ? text.slice(0, colon) : defaultBridge;
  const vlans = vlansFromText(colon >= 0 ? text.slice(colon + 1) : text);
  if (bridge === undefined) {
    throw new ArgSyntaxError('which Open vSwitch bridge? give --ovs BRIDGE, or write --iface BRIDGE:VLAN');
  }
  return { type: 'ovs', bridge, vlans };
}

/** `--ceph-mon HOST[:PORT]`, `[IPV6]:PORT`, or a bare IPv6 address. */
export function cephMonitorFromText(text: string): z.input<typeof CephMonitorSchema> {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    return { host: bracketed[1] ?? '', port: bracketed[2] === undefined ? undefined : Number(bracketed[2]) };
  }
  const colons = text.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = text.split(':');
    if (!/^\d+$/.test(port ?? '')) throw new ArgSyntaxError('a monitor is HOST, HOST:PORT or [IPV6]:PORT');
    return { host: host ?? '', port: Number(port) };
  }
  return { host: text };
}

const optionalText = z.string().optional();

/** The flags of `create_domxml`, as text. nics and disks keep their command-line order. */
export const CreateDomxmlArgsSchema = z
  .object({
    name: z.string(),
    cpus: z.string(),
    mem: z.string(),
    virtType: optionalText,
    ovs: optionalText,
    nics: z.array(z.object({ option: z.enum(['iface', 'bridge']), value: z.string() })).default([]),
    disks: z.array(z.object({ option: z.enum(['disk', 'rbd']), value: z.string() })).default([]),
    cephMon: z.array(z.string()).default([]),
    cephUser: optionalText,
    cephSecret: optionalText,
    numa: optionalText,
    numaNodes: optionalText,
    cpuModel: optionalText,
    machine: optionalText,
    kernel: optionalText,
    initrd: optionalText,
    cmdline: optionalText,
    uuid: optionalText,
    mac: z.array(z.string()).default([]),
    startupSignal: z.boolean().default(true),
    vnc: z.boolean().default(true),
  })
  .transform((a, ctx): DomainSpecInput => {
    const fail = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const attempt = <T>(path: (string | number)[], f: () => T): T | undefined => {
      try {
        return f();
      } catch (e) {
        if (!(e instanceof ArgSyntaxError)) throw e;
        fail(path, e.message);
        return undefined;
      }
    };

    const nics = a.nics.map((n, i) =>
      n.option === 'bridge'
        ? ({ type: 'bridge', bridge: n.value } as const)
        : attempt(['nics', i], () => ovsNicFromText(n.value, a.ovs)),
    );
    // --ovs BRIDGE is used by an --iface without a bridge of its own, or by one that names it.
    const ifaces = a.nics.filter((n) => n.option === 'iface');
    const bridgeOf = (v: string) => (v.includes(':') ? v.slice(0, v.lastIndexOf(':')) : a.ovs);
    if (a.ovs !== undefined && !ifaces.some((n) => bridgeOf(n.value) === a.ovs)) {
      const others = ifaces.map((n) => `--iface ${n.value}`).join(', ');
      fail(
        ['ovs'],
        ifaces.length === 0
          ? 'no --iface uses this bridge: add --iface VLAN (or --iface all for every VLAN)'
          : `no --iface uses this bridge (${others} name${ifaces.length === 1 ? 's' : ''} another): drop --ovs, or give --iface VLAN`,
      );
    }
    if (a.mac.length > a.nics.length) {
      const macs = `${a.mac.length} MAC address${a.mac.length === 1 ? '' : 'es'}`;
      const nics = a.nics.length === 0 ? 'no interface' : `${a.nics.length} interface${a.nics.length === 1 ? '' : 's'}`;
      fail(['mac'], `${macs} for ${nics}: the Nth --mac is the Nth --iface/--bridge's`);
    }
    const disks = a.disks.map((d, i) =>
      d.option === 'disk' ? diskFromText(d.value) : attempt(['disks', i], () => rbdFromText(d.value)),
    );
    const monitors = a.cephMon.map((m, i) => attempt(['ceph', 'monitors', i], () => cephMonitorFromText(m)));

    if ((a.cephUser === undefined) !== (a.cephSecret === undefined)) {
      fail(
        ['ceph', 'auth', a.cephUser === undefined ? 'username' : 'secretUuid'],
        'Ceph authentication needs both --ceph-user and --ceph-secret',
      );
    }
    const hasCeph = a.cephMon.length > 0 || a.cephUser !== undefined || a.cephSecret !== undefined;
    if (hasCeph && !a.disks.some((d) => d.option === 'rbd')) {
      fail(['ceph'], 'the --ceph-* options are for --rbd disks, and there is none');
    }

    let numa: DomainSpecInput['numa'];
    if (a.numa !== undefined && a.numaNodes !== undefined) {
      fail(['numa'], '--numa auto and --numa-nodes exclude each other');
    } else if (a.numa !== undefined) {
      if (a.numa === 'auto') numa = { placement: 'auto' };
      else fail(['numa'], 'the only value is "auto" (use --numa-nodes for a node set)');
    } else if (a.numaNodes !== undefined) {
      numa = { placement: 'static', nodeset: a.numaNodes };
    }

    let boot: DomainSpecInput['boot'];
    if (a.kernel !== undefined) {
      boot = { kernel: a.kernel, initrd: a.initrd, cmdline: a.cmdline };
    } else {
      if (a.initrd !== undefined) fail(['boot', 'initrd'], 'needs --kernel');
      if (a.cmdline !== undefined) fail(['boot', 'cmdline'], 'needs --kernel');
    }

    let virtType: 'kvm' | 'qemu' | undefined;
    if (a.virtType === undefined || a.virtType === 'kvm' || a.virtType === 'qemu') virtType = a.virtType;
    else fail(['virtType'], 'the virt type is kvm or qemu');

    return {
      name: a.name,
      virtType,
      vcpus: a.cpus,
      memoryMiB: a.mem,
      cpuModel: a.cpuModel,
      machine: a.machine,
      numa,
      boot,
      disks: disks.filter((d) => d !== undefined),
      nics: nics
        .filter((n) => n !== undefined)
        .map((n, i) => (a.mac[i] === undefined ? n : { ...n, mac: a.mac[i] })),
      ceph: hasCeph
        ? {
            monitors: monitors.filter((m) => m !== undefined),
            auth:
              a.cephUser !== undefined && a.cephSecret !== undefined
                ? { username: a.cephUser, secretUuid: a.cephSecret }
                : undefined,
          }
        : undefined,
      uuid: a.uuid,
      startupSignal: a.startupSignal,
      vnc: a.vnc,
    };
  });

export type CreateDomxmlArgs = z.input<typeof CreateDomxmlArgsSchema>;

/** The flag (and its value, when one) that an issue of either schema is about, for messages. */
export function flagOfIssuePath(path: readonly PropertyKey[], args: CreateDomxmlArgs): string {
  const [head, second, third] = path;
  const withValue = (flag: string, value: unknown) =>
    typeof value === 'string' ? `${flag} ${JSON.stringify(value)}` : flag;
  switch (head) {
    case 'name':
      return withValue('--name', args.name);
    case 'vcpus':
    case 'cpus':
      return withValue('--cpus', args.cpus);
    case 'memoryMiB':
    case 'mem':
      return withValue('--mem', args.mem);
    case 'virtType':
      return withValue('--virt-type', args.virtType);
    case 'cpuModel':
      return withValue('--cpu-model', args.cpuModel);
    case 'machine':
      return withValue('--machine', args.machine);
    case 'uuid':
      return withValue('--uuid', args.uuid);
    case 'ovs':
      return withValue('--ovs', args.ovs);
    case 'mac':
      return '--mac';
    case 'numa':
      return args.numa !== undefined ? withValue('--numa', args.numa) : withValue('--numa-nodes', args.numaNodes);
    case 'boot':
      if (second === 'initrd') return withValue('--initrd', args.initrd);
      if (second === 'cmdline') return withValue('--cmdline', args.cmdline);
      return withValue('--kernel', args.kernel);
    case 'nics': {
      if (third === 'mac') return withValue('--mac', typeof second === 'number' ? args.mac?.[second] : undefined);
      const nic = typeof second === 'number' ? args.nics?.[second] : undefined;
      return nic ? withValue(`--${nic.option}`, nic.value) : '--iface/--bridge';
    }
    case 'disks': {
      const disk = typeof second === 'number' ? args.disks?.[second] : undefined;
      return disk ? withValue(`--${disk.option}`, disk.value) : '--disk/--rbd';
    }
    case 'ceph':
      if (second === 'monitors') {
        return withValue('--ceph-mon', typeof third === 'number' ? args.cephMon?.[third] : undefined);
      }
      if (second === 'auth') {
        return third === 'username'
          ? withValue('--ceph-user', args.cephUser)
          : withValue('--ceph-secret', args.cephSecret);
      }
      return '--ceph-mon/--ceph-user/--ceph-secret';
    default:
      return path.length ? `--${String(head)}` : 'options';
  }
}

/** Parses the flags (throws z.ZodError; paths for flagOfIssuePath) and returns the domain XML. */
export function domainXmlFromArgs(args: CreateDomxmlArgs): string {
  return buildDomainXml(CreateDomxmlArgsSchema.parse(args));
}
