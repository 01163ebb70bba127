// A VM's facts as create_domxml takes them, as zod schemas: the atoms (paths, bridge names, VLAN
// tags, MACs, node sets, Ceph names …) and the structured options (typed disks, interfaces, NUMA,
// boot, Ceph) with every value and cross-option rule checked. Pure. Rendered into domain XML by
// lib/domain/render.ts; the command line's text forms are lib/domain/flags.ts.
import { z } from 'zod';
import { vmName } from './names.js';
import { sizeMiBSchema } from './size.js';

export const MAX_VCPUS = 4096;
const MIN_MEMORY_MIB = 1;
/** 16 TiB: more is a typo, not a VM. */
const MAX_MEMORY_MIB = 16 * 1024 * 1024;
export const STARTUP_SIGNAL_CHANNEL = 'startup_signal';

// ---------------------------------------------------------------------------------------------
// Atoms

/** A whole number given as a number or as decimal digits ("16"), within [min, max]. */
function countSchema(what: string, min: number, max: number) {
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

const absolutePath = z
  .string()
  .max(4096, 'a path is at most 4096 characters')
  .refine((p) => p.startsWith('/') && p.length > 1, 'must be an absolute path')
  .refine((p) => !CONTROL.test(p), 'a path may not contain control characters')
  .refine(
    (p) => p.slice(1).split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    'a path may not contain empty, "." or ".." components, nor end in "/"',
  );

/** Linux interface names: at most 15 characters; corral keeps to a safe alphabet. */
const bridgeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, 'a bridge name is 1-15 letters, digits, ".", "_" or "-"');

const vlanTag = z
  .number()
  .int('a VLAN tag is a whole number')
  .min(1, 'a VLAN tag is between 1 and 4094')
  .max(4094, 'a VLAN tag is between 1 and 4094');

/** A unicast MAC address, normalised to lower case. */
const macAddress = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, 'a MAC address is six hex pairs separated by ":"')
  .transform((m) => m.toLowerCase())
  .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0, 'a MAC address must be unicast (first octet even)')
  .refine((m) => m !== '00:00:00:00:00:00', 'the all-zero MAC address is not an address');

const uuid = z.guid('a UUID looks like 8-4-4-4-12 hex digits');

/** Machine types (pc-q35-7.2) and CPU models (Skylake-Server-v4). */
const token = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/, `${what} is 1-64 letters, digits, ".", "_", "+" or "-"`);

const machineType = token('a machine type');

/**
 * CPU model: host-passthrough, host-model, maximum (QEMU's "max"), a named model (custom,
 * e.g. Skylake-Server), or "default" for no <cpu> element (the hypervisor's default model).
 */
const cpuModel = token('a CPU model');

/** A libvirt node set: 0-1, 0,2, 0-7,^3. */
const nodeset = z
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

const kernelCmdline = z
  .string()
  .max(4096, 'a kernel command line is at most 4096 characters')
  .refine((s) => !CONTROL.test(s), 'a kernel command line may not contain control characters');

const cephToken = (what: string) =>
  z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/, `${what} is letters, digits, ".", "_" or "-"`);

const cephPool = cephToken('a Ceph pool name');
const cephImage = cephToken('a Ceph image name');
const cephUser = cephToken('a Ceph user name').refine(
  (u) => !u.startsWith('client.'),
  'give the Ceph user without the "client." prefix (libvirt adds it)',
);

const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME_RE = new RegExp(`^(?=.{1,253}$)${LABEL}(\\.${LABEL})*$`);
const hostAddress = z
  .string()
  .refine(
    (h) => HOSTNAME_RE.test(h) || z.ipv6().safeParse(h).success,
    'a host is a host name, an IPv4 or an IPv6 address',
  );
const tcpPort = z.number().int().min(1, 'a port is 1-65535').max(65535, 'a port is 1-65535');

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

// ---------------------------------------------------------------------------------------------
// The structured options

const DiskFormatSchema = z.enum(['raw', 'qcow2']);
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

const CephSchema = z.object({
  monitors: z.array(CephMonitorSchema).default([]),
  auth: z.object({ username: cephUser, secretUuid: uuid }).optional(),
});

const NumaSchema = z.discriminatedUnion('placement', [
  /** numad places vCPUs and memory. */
  z.object({ placement: z.literal('auto') }),
  /** Memory strictly from these host nodes. */
  z.object({ placement: z.literal('static'), nodeset }),
]);

const BootSchema = z.object({
  kernel: absolutePath,
  initrd: absolutePath.optional(),
  cmdline: kernelCmdline.optional(),
});

export const DomainSpecSchema = z
  .object({
    name: vmName,
    virtType: z.enum(['kvm', 'qemu']).default('kvm'),
    /**
     * bios: SeaBIOS (libvirt's default, no <os firmware>). efi: UEFI (OVMF), chosen by libvirt from
     * the host's firmware descriptors (/usr/share/qemu/firmware/*.json), without Secure Boot.
     */
    firmware: z.enum(['bios', 'efi']).default('bios'),
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
