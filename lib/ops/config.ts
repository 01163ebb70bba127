// corral's settings for the operator's commands: /etc/corral/corral.conf, and which parts of the
// environment may change them.
//
// corral.conf holds "key = value" lines ("#" starts a comment); every key is optional:
//   libvirt_uri  = qemu+ssh://{node}/system         how vm and corral reach a node's libvirt
//   node_command = ssh -o BatchMode=yes -o ConnectTimeout=5 -T {node} --
//                                                   how they run a (fixed) command on a node
//                                                   that libvirt cannot answer for: reading
//                                                   the console log of a VM, `uname -r`
//   access_file  = /etc/corral/access               who may do what (lib/ops/access.ts)
//   audit_log    = /var/log/corral/vm.log           every vm action, one line each
//   move_lifetime = PT1H                            how long `vm NAME migrate` keeps its
//                                                   constraint ("none": until `vm NAME clear`)
//   reboot_command = ssh -o BatchMode=yes -o ConnectTimeout=5 -T {node} -- systemctl reboot
//                                                   how `corral rolling-reboot --exec` reboots
//                                                   a drained node
//   shutdown_drain = yes                            drain this node (VMs leave live) before its
//                                                   cluster stack stops at shutdown or reboot
//                                                   (corral-node.service; "no": do not)
//   shutdown_drain_timeout = 600                    how long that drain may take, in seconds
//                                                   (30 to 1080: the unit's TimeoutStopSec is 20 min)
//   boot_undrain = no                               when the node is back after a shutdown that
//                                                   drained it: "yes" takes it out of standby,
//                                                   "return" also brings its VMs back (live)
//   hook_timeout = 60                               how long each operator hook may run, in
//                                                   seconds (1 to 3600), then it is killed
//                                                   (lib/ops/hooks.ts; the hooks live in the
//                                                   directory hooks/ beside corral.conf)
//   serve_listen = 127.0.0.1:9777                   where `corral serve` answers (/metrics);
//                                                   --listen overrides it
//   serve_tls_cert = /etc/corral/tls/serve.pem      its TLS certificate and key (PEM; the key
//   serve_tls_key = /etc/corral/tls/serve.key       root's only): needed for any address but
//   serve_token_file = /etc/corral/serve.token      loopback, with the bearer token (one line,
//                                                   root-only file) every request must carry
//   ceph_monitors = mon1 mon2 [::1]:6789            create_domxml --rbd: the Ceph monitors its
//                                                   disks name (HOST, HOST:PORT, [IPV6]:PORT);
//                                                   unset: none, QEMU reads the node's ceph.conf
//   ceph_client  = corral                           create_domxml --rbd: the Ceph user (without
//   ceph_secret  = 5b0e8f9a-…                       "client.") and the libvirt secret's uuid its
//                                                   disks authenticate with (both or neither);
//                                                   the agent makes that secret on every node
//                                                   from /etc/ceph/ceph.client.USER.keyring
// Anything else, or a value that does not fit, is an error: vm refuses to run on a broken file.
//
// The environment: CORRAL_LIBVIRT_URI (e.g. qemu+tcp://{node}/system in the lab), CORRAL_ETC (a
// directory used instead of /etc/corral), CIB_file and CIB_shadow (and Pacemaker's CIB_server
// family) are honoured only where they
// cannot widen anyone's rights:
//   - run directly (not through sudo): the caller acts with their own rights anyway;
//   - through sudo only when sudo ran a program that lives in the directory holding CORRAL_ETC,
//     and that directory, CORRAL_ETC and the files read from it belong to root and are writable
//     by nobody else. Only root can have set that up (a wrapper script named in a sudoers rule:
//     the ACL tests do exactly this); a sudo user who manages to pass environment variables gets
//     them ignored, because the program sudo ran for them is /usr/sbin/vm.
// Otherwise they are dropped (also from the environment of every tool vm starts), with a warning;
// CIB_server, CIB_port, CIB_user, CIB_passwd and CIB_encrypted are treated as CIB_file is. "Through
// sudo" here means root acting for a user who is not root: sudo, doas or pkexec (viaSudo), and then
// PATH is also set to a fixed one (sudo's secure_path), whatever the caller's was.
import { CorralError } from '../errors.js';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { LIFETIME_RE } from '../cib/durations.js';
import { NODE_NAME_RE } from '../domain/names.js';
import { cephMonitorFromText } from '../domain/flags.js';
import { CephMonitorSchema } from '../domain/spec.js';

const DEFAULT_ETC = '/etc/corral';
export const DEFAULT_LIBVIRT_URI = 'qemu+ssh://{node}/system';
const DEFAULT_NODE_COMMAND = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-T', '{node}', '--'];
const DEFAULT_AUDIT_LOG = '/var/log/corral/vm.log';
const DEFAULT_MOVE_LIFETIME = 'PT1H';
const DEFAULT_REBOOT_COMMAND = [...DEFAULT_NODE_COMMAND, 'systemctl', 'reboot'];
const DEFAULT_SHUTDOWN_DRAIN_TIMEOUT = 600;
/** corral serve's address: loopback, and a port no well-known exporter uses (ha_cluster_exporter has 9664, node_exporter 9100). */
export const DEFAULT_SERVE_LISTEN = '127.0.0.1:9777';
const DEFAULT_HOOK_TIMEOUT = 60;
/** The bounds of shutdown_drain_timeout: corral-node.service's TimeoutStopSec (1200 s) leaves 2 min to spare. */
export const SHUTDOWN_DRAIN_TIMEOUT_RANGE = [30, 1080] as const;

export class ConfigError extends CorralError {
  readonly kind = 'failed';
  override name = 'ConfigError';
}

/** A libvirt URI template: a qemu driver URI whose host part names {node}. */
const uriTemplate = z
  .string()
  .regex(
    /^qemu(\+(ssh|tcp|tls|libssh|libssh2))?:\/\/[^/?#\s]*\{node\}[^/?#\s]*\/(system|session)(\?[^\s#]*)?$/,
    'expected a qemu URI with {node} as (part of) its host, e.g. qemu+ssh://{node}/system',
  );

/** ISO 8601 duration as crm_resource --lifetime takes it (PT1H, P1D, PT30M), or "none". */
const lifetime = z
  .string()
  .regex(LIFETIME_RE, 'expected an ISO 8601 duration such as PT1H, PT30M, P1D, or "none"');

const absPath = z.string().regex(/^\/[A-Za-z0-9_.\/+-]*$/, 'expected an absolute path of letters, digits and _ . / + -').refine((p) => !p.split('/').includes('..'), 'no ".." in a path');

const nodeCommand = z
  .string()
  .transform((s) => s.trim().split(/\s+/))
  .refine((argv) => argv.some((a) => a.includes('{node}')), 'the node command must name {node}')
  .refine((argv) => argv.every((a) => /^[A-Za-z0-9_.\/:=,@{}+-]+$/.test(a)), 'the node command is words of letters, digits and _ . / : = , @ { } + - (no shell)');

/** ceph_monitors: monitors as create_domxml's --ceph-mon takes them, separated by spaces. */
const cephMonitors = z
  .string()
  .transform((s) => s.trim().split(/\s+/).filter(Boolean))
  .refine(
    (mons) =>
      mons.length > 0 &&
      mons.every((m) => {
        try {
          return CephMonitorSchema.safeParse(cephMonitorFromText(m)).success;
        } catch {
          return false;
        }
      }),
    'expected Ceph monitors separated by spaces, each HOST, HOST:PORT or [IPV6]:PORT',
  );

const fileSchema = z
  .object({
    libvirt_uri: uriTemplate.optional(),
    node_command: nodeCommand.optional(),
    access_file: absPath.optional(),
    audit_log: absPath.optional(),
    move_lifetime: lifetime.optional(),
    reboot_command: nodeCommand.optional(),
    shutdown_drain: z.enum(['yes', 'no'], { error: 'expected yes or no' }).optional(),
    shutdown_drain_timeout: z
      .string()
      .regex(/^\d+$/, 'expected a number of seconds')
      .transform(Number)
      .refine((n) => n >= SHUTDOWN_DRAIN_TIMEOUT_RANGE[0] && n <= SHUTDOWN_DRAIN_TIMEOUT_RANGE[1], `expected ${SHUTDOWN_DRAIN_TIMEOUT_RANGE[0]} to ${SHUTDOWN_DRAIN_TIMEOUT_RANGE[1]} seconds`)
      .optional(),
    boot_undrain: z.enum(['no', 'yes', 'return'], { error: 'expected no, yes or return' }).optional(),
    serve_listen: z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:9777 or [::1]:9777')
      .optional(),
    serve_tls_cert: absPath.optional(),
    serve_tls_key: absPath.optional(),
    serve_token_file: absPath.optional(),
    ceph_monitors: cephMonitors.optional(),
    ceph_client: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'expected a Ceph user name (letters, digits, _ . -)')
      .refine((u) => !u.startsWith('client.'), 'give the Ceph user without "client." (libvirt adds it)')
      .optional(),
    ceph_secret: z
      .string()
      .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'expected the libvirt secret\'s uuid')
      .transform((u) => u.toLowerCase())
      .optional(),
    hook_timeout: z
      .string()
      .regex(/^\d+$/, 'expected a number of seconds')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 3600, 'expected 1 to 3600 seconds')
      .optional(),
  })
  .strict()
  .refine((f) => (f.ceph_client === undefined) === (f.ceph_secret === undefined), { message: 'ceph_client and ceph_secret go together (the Ceph user and the libvirt secret holding its key)', path: ['ceph_client'] });

export type ConfigFile = z.infer<typeof fileSchema>;

/** Parses corral.conf text; throws ConfigError naming the line for anything it cannot take. */
export function parseConfigText(text: string, where = 'corral.conf'): ConfigFile {
  const raw: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    const t = line.replace(/(^|\s)#.*$/, '').trim();
    if (!t) return;
    const m = /^([a-z_]+)\s*=\s*(.*)$/.exec(t);
    if (!m) throw new ConfigError(`${where} line ${i + 1}: expected "key = value", found ${JSON.stringify(t)}`);
    if ((m[1] as string) in raw) throw new ConfigError(`${where} line ${i + 1}: ${m[1]} is set twice`);
    raw[m[1] as string] = (m[2] as string).trim();
  });
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `${where}: unknown setting ${i.keys.join(', ')}` : `${where}: ${i.path.join('.')}: ${i.message}`)).join('\n'));
  }
  return r.data;
}

/** Who runs us, as far as trust decisions go. */
export interface Invocation {
  /** The real uid (and, when known, the effective uid and the real gid). */
  uid: number;
  euid?: number;
  gid?: number;
  env: Readonly<Record<string, string | undefined>>;
}

export function currentInvocation(): Invocation {
  return { uid: process.getuid?.() ?? -1, euid: process.geteuid?.() ?? -1, gid: process.getgid?.() ?? -1, env: process.env };
}

/**
 * Run as root for someone other than root: through sudo (SUDO_USER, SUDO_UID), doas (DOAS_USER)
 * or pkexec (PKEXEC_UID). lib/ops/caller.ts then names that caller, or refuses when it cannot.
 */
export function viaSudo(inv: Invocation): boolean {
  const e = inv.env;
  return (
    inv.uid === 0 &&
    ((e.SUDO_USER !== undefined && e.SUDO_USER !== 'root') ||
      (e.DOAS_USER !== undefined && e.DOAS_USER !== 'root') ||
      (e.PKEXEC_UID !== undefined && e.PKEXEC_UID !== '0'))
  );
}

/** The PATH every program vm starts as root for a user is looked up in (Debian's sudo secure_path). */
const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface FileOwner {
  uid: number;
  mode: number;
  isDirectory: boolean;
}

export type StatFn = (p: string) => Promise<FileOwner | undefined>;

export const statFile: StatFn = async (p) => {
  try {
    const s = await stat(p);
    return { uid: s.uid, mode: s.mode, isDirectory: s.isDirectory() };
  } catch {
    return undefined;
  }
};

/** Owned by root and writable by nobody else. */
function rootOnly(s: FileOwner | undefined): boolean {
  return s !== undefined && s.uid === 0 && (s.mode & 0o022) === 0;
}

/**
 * Whether the environment's overrides may be used: run directly, or through sudo with a program
 * root placed next to the override directory (see the head of this file). Returns the reason
 * when not.
 */
export async function trustEnvironment(inv: Invocation, statFn: StatFn = statFile): Promise<{ trusted: boolean; why?: string }> {
  if (!viaSudo(inv)) return { trusted: true };
  if (inv.env.SUDO_USER === undefined) return { trusted: false, why: `run through ${inv.env.DOAS_USER !== undefined ? 'doas' : 'pkexec'}` };
  const etc = inv.env.CORRAL_ETC;
  const program = inv.env.SUDO_COMMAND?.split(' ')[0];
  if (!etc || !program || !path.isAbsolute(etc) || !path.isAbsolute(program)) return { trusted: false, why: 'run through sudo' };
  const dir = path.dirname(path.normalize(etc));
  if (path.dirname(path.normalize(program)) !== dir) return { trusted: false, why: `run through sudo, and ${program} does not live next to ${etc}` };
  for (const p of [dir, path.normalize(etc), path.normalize(program)]) {
    if (!rootOnly(await statFn(p))) return { trusted: false, why: `run through sudo, and ${p} is not owned by root and writable only by root` };
  }
  if (!(await statFn(path.normalize(etc)))?.isDirectory) return { trusted: false, why: `run through sudo, and ${etc} is not a directory` };
  return { trusted: true };
}

export interface Config {
  /** Where corral.conf and (by default) access live. */
  etcDir: string;
  libvirtUri: string;
  nodeCommand: string[];
  accessFile: string;
  auditLog: string;
  /** For `vm NAME migrate`: an ISO 8601 duration, or undefined for "until cleared". */
  moveLifetime: string | undefined;
  /** How `corral rolling-reboot --exec` reboots a node ({node} in it). */
  rebootCommand: string[];
  /** corral-node.service: drain this node at shutdown, within this many seconds. */
  shutdownDrain: boolean;
  shutdownDrainTimeout: number;
  /** corral-node.service at boot, after a shutdown that drained the node. */
  bootUndrain: 'no' | 'yes' | 'return';
  /** How long each operator hook may run (seconds); lib/ops/hooks.ts. */
  hookTimeout: number;
  /** corral serve: where it listens (HOST:PORT), its TLS certificate and key, its bearer token's file. */
  serveListen: string;
  serveTlsCert: string | undefined;
  serveTlsKey: string | undefined;
  serveTokenFile: string | undefined;
  /** create_domxml --rbd's defaults: monitors (none: the node's ceph.conf), the Ceph user and its libvirt secret. */
  ceph: { monitors: string[]; client?: string; secret?: string };
  /** The environment overrides were honoured. */
  trustedEnv: boolean;
  /** Things the user should know (overrides ignored). */
  warnings: string[];
}

// CIB_server, CIB_port, CIB_user, CIB_passwd and CIB_encrypted point Pacemaker's tools at another
// CIB (a remote one, with credentials), as CIB_file and CIB_shadow do at a file.
const OVERRIDES = ['CORRAL_ETC', 'CORRAL_LIBVIRT_URI', 'CIB_file', 'CIB_shadow', 'CIB_server', 'CIB_port', 'CIB_user', 'CIB_passwd', 'CIB_encrypted'] as const;

/**
 * The settings in effect for INV: corral.conf (from CORRAL_ETC when trusted) and the trusted
 * environment. Untrusted overrides are removed from ENV (which is process.env by default, so the
 * CIB tools vm starts do not see them either).
 */
export async function loadConfig(inv: Invocation = currentInvocation(), statFn: StatFn = statFile): Promise<Config> {
  const warnings: string[] = [];
  const trust = await trustEnvironment(inv, statFn);
  const env = inv.env as Record<string, string | undefined>;
  if (!trust.trusted) {
    const ignored = OVERRIDES.filter((k) => env[k] !== undefined);
    if (ignored.length) warnings.push(`ignoring ${ignored.join(', ')} (${trust.why})`);
    for (const k of ignored) delete env[k];
  }
  // A PATH the user chose (sudo keeps it under !secure_path) would pick the programs vm runs as root.
  if (viaSudo(inv)) env.PATH = ROOT_PATH;
  const etcDir = (trust.trusted && env.CORRAL_ETC) || DEFAULT_ETC;
  if (!path.isAbsolute(etcDir)) throw new ConfigError(`CORRAL_ETC must be an absolute path, not ${etcDir}`);
  const confPath = path.join(etcDir, 'corral.conf');
  let file: ConfigFile = {};
  let text: string | undefined;
  try {
    text = await readFile(confPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`cannot read ${confPath}: ${(e as Error).message}`);
  }
  if (text !== undefined) {
    if (viaSudo(inv) && !rootOnly(await statFn(confPath))) throw new ConfigError(`${confPath} must belong to root and be writable only by root`);
    file = parseConfigText(text, confPath);
  }
  let libvirtUri = file.libvirt_uri ?? DEFAULT_LIBVIRT_URI;
  if (trust.trusted && env.CORRAL_LIBVIRT_URI) {
    const r = uriTemplate.safeParse(env.CORRAL_LIBVIRT_URI);
    if (!r.success) throw new ConfigError(`CORRAL_LIBVIRT_URI: ${r.error.issues[0]?.message}`);
    libvirtUri = r.data;
  }
  const ml = file.move_lifetime ?? DEFAULT_MOVE_LIFETIME;
  return {
    etcDir,
    libvirtUri,
    nodeCommand: file.node_command ?? DEFAULT_NODE_COMMAND,
    accessFile: file.access_file ?? path.join(etcDir, 'access'),
    auditLog: file.audit_log ?? DEFAULT_AUDIT_LOG,
    moveLifetime: ml === 'none' ? undefined : ml,
    rebootCommand: file.reboot_command ?? DEFAULT_REBOOT_COMMAND,
    shutdownDrain: (file.shutdown_drain ?? 'yes') === 'yes',
    shutdownDrainTimeout: file.shutdown_drain_timeout ?? DEFAULT_SHUTDOWN_DRAIN_TIMEOUT,
    bootUndrain: file.boot_undrain ?? 'no',
    hookTimeout: file.hook_timeout ?? DEFAULT_HOOK_TIMEOUT,
    serveListen: file.serve_listen ?? DEFAULT_SERVE_LISTEN,
    serveTlsCert: file.serve_tls_cert,
    serveTlsKey: file.serve_tls_key,
    serveTokenFile: file.serve_token_file,
    ceph: { monitors: file.ceph_monitors ?? [], ...(file.ceph_client !== undefined && file.ceph_secret !== undefined ? { client: file.ceph_client, secret: file.ceph_secret } : {}) },
    trustedEnv: trust.trusted,
    warnings,
  };
}

/** The libvirt URI of NODE. */
export function nodeUri(template: string, node: string): string {
  if (!NODE_NAME_RE.test(node)) throw new ConfigError(`refusing the node name ${JSON.stringify(node)}`);
  return template.split('{node}').join(node);
}

/** A command template (node_command, reboot_command) with {node} filled in. */
export function commandFor(template: readonly string[], node: string): string[] {
  if (!NODE_NAME_RE.test(node)) throw new ConfigError(`refusing the node name ${JSON.stringify(node)}`);
  return template.map((a) => a.split('{node}').join(node));
}

/** The argv that runs ARGV on NODE through the node command. */
export function nodeCommandArgv(template: readonly string[], node: string, argv: readonly string[]): string[] {
  if (!NODE_NAME_RE.test(node)) throw new ConfigError(`refusing the node name ${JSON.stringify(node)}`);
  for (const a of argv) {
    // The remote side may hand these to a shell (ssh does): plain words only.
    if (!/^[A-Za-z0-9_.\/=:,+-]+$/.test(a)) throw new ConfigError(`refusing to send ${JSON.stringify(a)} to a node`);
  }
  return [...template.map((a) => a.split('{node}').join(node)), ...argv];
}
