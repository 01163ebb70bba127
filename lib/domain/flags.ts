// The command line's text forms of create_domxml (`--iface vh:150`, `--disk qcow2:/x`,
// `--ceph-mon [::1]:6789`, `--mem 8g`), parsed into a DomainSpec (lib/domain/spec.ts) and rendered
// (lib/domain/render.ts). Issue paths use the spec's vocabulary (['nics', 2], ['boot', 'initrd'],
// …) so flagOfIssuePath() can name the flag. Pure.
import { CorralError } from '../errors.js';
import { z } from 'zod';
import { buildDomainXml } from './render.js';
import { CephMonitorSchema, DiskSchema, NicSchema, type DiskFormat, type DomainSpecInput } from './spec.js';

/** `--disk [raw:|qcow2:]PATH`: /dev/… is a block device; *.qcow2 is qcow2; anything else raw. */
export function diskFromText(text: string): z.input<typeof DiskSchema> {
  const m = /^(raw|qcow2):(.*)$/.exec(text);
  const path = m ? (m[2] ?? '') : text;
  const format: DiskFormat = m ? (m[1] as DiskFormat) : /\.qcow2$/i.test(path) ? 'qcow2' : 'raw';
  return { type: path.startsWith('/dev/') ? 'block' : 'file', path, format };
}

class ArgSyntaxError extends CorralError {
  readonly kind = 'refused';
  override name = 'ArgSyntaxError';
}

/** `--rbd POOL/IMAGE`. */
function rbdFromText(text: string): z.input<typeof DiskSchema> {
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
const CreateDomxmlArgsSchema = z
  .object({
    name: z.string(),
    cpus: z.string(),
    mem: z.string(),
    virtType: optionalText,
    firmware: optionalText,
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

    let firmware: 'bios' | 'efi' | undefined;
    if (a.firmware === undefined || a.firmware === 'bios' || a.firmware === 'efi') firmware = a.firmware;
    else fail(['firmware'], 'the firmware is bios or efi (UEFI, e.g. an image made with mk_debian_installer --uefi)');

    return {
      name: a.name,
      virtType,
      firmware,
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
    case 'firmware':
      return withValue('--firmware', args.firmware);
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

/** create_domxml --rbd's defaults (corral.conf: ceph_monitors, ceph_client, ceph_secret). */
export interface CephDefaults {
  monitors: readonly string[];
  client?: string;
  secret?: string;
}

/**
 * ARGS with the Ceph settings they leave out taken from DEFAULTS, when they have an --rbd disk:
 * the monitors when no --ceph-mon is given, the user and secret when neither --ceph-user nor
 * --ceph-secret is (one of them alone stays the error it is).
 */
export function withCephDefaults(args: CreateDomxmlArgs, defaults: CephDefaults): CreateDomxmlArgs {
  if (!args.disks?.some((d) => d.option === 'rbd')) return args;
  const out = { ...args };
  if (!args.cephMon?.length && defaults.monitors.length) out.cephMon = [...defaults.monitors];
  if (args.cephUser === undefined && args.cephSecret === undefined && defaults.client && defaults.secret) {
    out.cephUser = defaults.client;
    out.cephSecret = defaults.secret;
  }
  return out;
}

/** Parses the flags (throws z.ZodError; paths for flagOfIssuePath) and returns the domain XML. */
export function domainXmlFromArgs(args: CreateDomxmlArgs): string {
  return buildDomainXml(CreateDomxmlArgsSchema.parse(args));
}
