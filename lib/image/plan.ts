// mk_debian_installer's plan: what the command line asks for, checked and normalized (pure: text
// in, a plan or one message per problem out). lib/ops/installer.ts carries it out.
import { CorralError } from '../errors.js';
import { MiB, parseSizeMiB, SizeError } from '../domain/size.js';

/** The Debian releases mk_debian_installer knows (debootstrap's script and the installer's suite). */
export const SUITES = ['bullseye', 'bookworm', 'trixie', 'sid'] as const;
export type Suite = (typeof SUITES)[number];

/** The smallest disk it writes: a minimal Debian with a kernel, GRUB and room to breathe. */
const MIN_DISK_MIB = 2048;
/** The EFI system partition with --uefi. */
export const ESP_MIB = 256;
/** Installer mode: the boot partition that holds the installer's kernel, initrd and preseed. */
export const DI_BOOT_MIB = 512;

const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

export type Boot = 'bios' | 'uefi';

export type Network = { kind: 'dhcp'; dns: string[] } | { kind: 'static'; address: string; prefix: number; gateway?: string; dns: string[] };

export interface ImagePlan {
  mode: 'debootstrap' | 'installer';
  suite: Suite;
  mirror: string;
  hostname: string;
  boot: Boot;
  network: Network;
  /** Extra Debian packages (--packages). */
  packages: string[];
  /** Size of an image file to create (--size), MiB. */
  sizeMiB?: number;
}

/** Bad input: one line naming the flag and what is allowed. */
export class PlanError extends CorralError {
  readonly kind = 'refused';
  override name = 'PlanError';
}

export interface PlanInput {
  di?: string;
  suite?: string;
  mirror?: string;
  hostname?: string;
  uefi?: boolean;
  ip?: string;
  gateway?: string;
  dns?: string;
  packages?: string;
  size?: string;
}

const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** An IPv4 address a.b.c.d, or undefined. */
function ipv4(text: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : undefined;
}

function checkHostname(text: string): string {
  const name = text.toLowerCase();
  const labels = name.split('.');
  if (name.length > 253 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[0] ?? '')) {
    throw new PlanError(
      `--hostname ${JSON.stringify(text)}: a host name is letters, digits and inner hyphens, 1 to 63 of them, optionally followed by .domain (e.g. gum or gum.example.org)`,
    );
  }
  return name;
}

/** Every problem with INPUT as one line each, or the plan. */
export function makePlan(input: PlanInput): ImagePlan {
  const problems: string[] = [];
  const attempt = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (e instanceof CorralError) problems.push(e.message);
      else throw e;
      return undefined;
    }
  };

  const suiteText = input.suite ?? 'bookworm';
  const suite = (SUITES as readonly string[]).includes(suiteText) ? (suiteText as Suite) : undefined;
  if (!suite) problems.push(`--suite ${JSON.stringify(suiteText)}: the suite is one of ${SUITES.join(', ')}`);

  const mirror = (input.mirror ?? DEFAULT_MIRROR).replace(/\/+$/, '');
  if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~%\/-]*)?$/.test(mirror)) {
    problems.push(`--mirror ${JSON.stringify(input.mirror)}: a mirror is an http:// or https:// URL, e.g. ${DEFAULT_MIRROR}`);
  }

  const hostname = attempt(() => checkHostname(input.hostname ?? 'debian')) ?? 'debian';

  const dns: string[] = [];
  if (input.dns !== undefined) {
    for (const d of input.dns.split(',')) {
      if (ipv4(d.trim())) dns.push(d.trim());
      else problems.push(`--dns ${JSON.stringify(input.dns)}: name servers are IPv4 addresses separated by commas, e.g. 10.0.0.53,10.0.0.54`);
    }
  }
  let network: Network = { kind: 'dhcp', dns };
  if (input.ip !== undefined) {
    const m = /^([0-9.]+)\/(\d{1,2})$/.exec(input.ip);
    const prefix = Number(m?.[2]);
    if (!m || !ipv4(m[1] as string) || prefix < 1 || prefix > 32) {
      problems.push(`--ip ${JSON.stringify(input.ip)}: the address is IPv4 with its prefix length, e.g. 192.0.2.10/24`);
    } else {
      network = { kind: 'static', address: m[1] as string, prefix, dns };
    }
  }
  if (input.gateway !== undefined) {
    if (input.ip === undefined) problems.push('--gateway needs --ip (without --ip the network is configured by DHCP)');
    else if (!ipv4(input.gateway)) problems.push(`--gateway ${JSON.stringify(input.gateway)}: the gateway is an IPv4 address, e.g. 192.0.2.1`);
    else if (network.kind === 'static') network = { ...network, gateway: input.gateway };
  }

  const packages: string[] = [];
  if (input.packages !== undefined) {
    for (const p of input.packages.split(',').map((s) => s.trim())) {
      if (PACKAGE.test(p)) {
        if (!packages.includes(p)) packages.push(p);
      } else {
        problems.push(`--packages ${JSON.stringify(input.packages)}: Debian package names (lower case, digits, + - .) separated by commas, e.g. vim,curl`);
        break;
      }
    }
  }

  let sizeMiB: number | undefined;
  if (input.size !== undefined) {
    try {
      sizeMiB = parseSizeMiB(input.size);
      if (sizeMiB < MIN_DISK_MIB) problems.push(`--size ${JSON.stringify(input.size)}: the disk must hold at least ${MIN_DISK_MIB / 1024} GiB, e.g. --size 4g`);
    } catch (e) {
      if (!(e instanceof SizeError)) throw e;
      problems.push(`--size ${JSON.stringify(input.size)}: a size is a number with a unit, e.g. 4g or 4096m (a plain number is MiB)`);
    }
  }

  if (problems.length) throw new PlanError([...new Set(problems)].join('\n'));
  return {
    mode: input.di !== undefined ? 'installer' : 'debootstrap',
    suite: suite as Suite,
    mirror,
    hostname,
    boot: input.uefi ? 'uefi' : 'bios',
    network,
    packages,
    ...(sizeMiB !== undefined ? { sizeMiB } : {}),
  };
}

/** Refuses a disk of SIZEBYTES that cannot hold the system. */
export function checkDiskSize(disk: string, sizeBytes: number): void {
  if (sizeBytes < MIN_DISK_MIB * MiB) {
    const have = (sizeBytes / MiB).toFixed(0);
    throw new PlanError(`${disk} holds ${have} MiB; the disk must hold at least ${MIN_DISK_MIB / 1024} GiB`);
  }
}

/**
 * An SSH public key file's text, checked: one key per line ("TYPE BASE64 [comment]"), comments and
 * blank lines allowed. Returns the keys, one per line.
 */
export function checkSshKeys(file: string, text: string): string {
  const keys: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!/^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [\x20-\x7e]*)?$/.test(line)) {
      throw new PlanError(`--ssh-key ${JSON.stringify(file)}: not an SSH public key file (a line like "ssh-ed25519 AAAA… comment"; give the .pub file)`);
    }
    keys.push(line);
  }
  if (keys.length === 0) throw new PlanError(`--ssh-key ${JSON.stringify(file)}: the file holds no key`);
  return `${keys.join('\n')}\n`;
}

/** A root password file's first line, checked. */
export function checkPassword(file: string, text: string): string {
  const pw = text.split('\n')[0] ?? '';
  if (pw === '' || /[\x00-\x1f\x7f]/.test(pw)) {
    throw new PlanError(`--root-password-file ${JSON.stringify(file)}: the password is the file's first line, not empty, without control characters`);
  }
  return pw;
}

/** The Debian mirror of an apt configuration (sources.list one-line entries or deb822 .sources), the first that is not the security archive. */
export function mirrorFromApt(texts: readonly string[]): string | undefined {
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const t = line.trim();
      let urls: string[] = [];
      const one = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(t);
      if (one) urls = [one[1] as string];
      const deb822 = /^URIs:\s*(.+)$/i.exec(t);
      if (deb822) urls = (deb822[1] as string).split(/\s+/);
      for (const u of urls) {
        if (/^https?:\/\//.test(u) && !/security/.test(u)) return u.replace(/\/+$/, '');
      }
    }
  }
  return undefined;
}
