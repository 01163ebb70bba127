// What a dev script (npm run deb, npm run bench, scripts/dev/man.ts, install-host) needs from this
// machine, checked before it starts, and how it ends when something fails: one line per problem,
// the Debian packages to install and the apt-get line that does it, exit 1, never a Node stack
// trace. A program is found the way spawn finds it: an executable file of that name in a
// directory of PATH (spawn's ENOENT is what a missing one gave before: dpkg's line, then a trace).
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A program a dev script runs, and the Debian package that has it. */
export interface Need {
  program: string;
  pkg: string;
}

/** npm run deb: dpkg-buildpackage, and debhelper for debian/rules (Build-Depends: debhelper-compat 13). */
export const DEB_NEEDS: readonly Need[] = [
  { program: 'dpkg-buildpackage', pkg: 'dpkg-dev' },
  { program: 'dh', pkg: 'debhelper' },
];

/** npm run bench: the lab (Pacemaker, Corosync, libvirt, QEMU in namespaces) and the tools it compares with. */
const BENCH_LAB_NEEDS: readonly Need[] = [
  { program: 'pacemakerd', pkg: 'pacemaker' },
  { program: 'crm_simulate', pkg: 'pacemaker-cli-utils' },
  { program: 'corosync', pkg: 'corosync' },
  { program: 'libvirtd', pkg: 'libvirt-daemon-system' },
  { program: 'virsh', pkg: 'libvirt-clients' },
  { program: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { program: 'qemu-img', pkg: 'qemu-utils' },
  { program: 'xmllint', pkg: 'libxml2-utils' },
  { program: 'socat', pkg: 'socat' },
  { program: 'tini', pkg: 'tini' },
  { program: 'cpio', pkg: 'cpio' },
  { program: 'busybox', pkg: 'busybox-static' },
  { program: 'ip', pkg: 'iproute2' },
];
const HTOOLS: readonly Need[] = [
  { program: 'hbal', pkg: 'ganeti-htools' },
  { program: 'hspace', pkg: 'ganeti-htools' },
  { program: 'hroller', pkg: 'ganeti-htools' },
];

/** What the bench's part ONLY (BENCH_ONLY; undefined: every part) runs. */
export function benchNeeds(only: string | undefined): Need[] {
  const htools = !only || only === 'maintenance' || only === 'rebalance';
  return [...BENCH_LAB_NEEDS, ...(htools ? HTOOLS : [])];
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The NEEDS whose program is not in SEARCH (a PATH). */
function missingPrograms(needs: readonly Need[], search: string = process.env.PATH ?? ''): Need[] {
  const dirs = search.split(delimiter).filter(Boolean);
  return needs.filter((n) => !dirs.some((d) => executable(join(d, n.program))));
}

/** Ends the script: LINES on stderr, each "SCRIPT: line", then exit 1. */
function fail(script: string, lines: readonly string[]): never {
  process.stderr.write(lines.map((l) => `${script}: ${l}\n`).join(''));
  process.exit(1);
}

/** Where root's PATH has programs that a user's PATH often lacks. */
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/**
 * Before SCRIPT starts: when a program of NEEDS is not found, a line naming each missing one and
 * its package, the apt-get line that installs them all, and exit 1. One that is installed in an
 * sbin directory outside PATH is named as such (run as root, or add the directory to PATH).
 */
export function requirePrograms(script: string, needs: readonly Need[]): void {
  const notFound = missingPrograms(needs);
  if (notFound.length === 0) return;
  const missing = missingPrograms(notFound, SBIN.join(delimiter));
  const elsewhere = notFound.filter((n) => !missing.includes(n));
  const lines: string[] = [];
  if (missing.length) {
    const pkgs = [...new Set(missing.map((m) => m.pkg))];
    lines.push(`missing: ${missing.map((m) => `${m.program} (Debian package ${m.pkg})`).join(', ')}`);
    lines.push(`install them with: sudo apt-get install ${pkgs.join(' ')}`);
  }
  if (elsewhere.length) {
    const where = (n: Need) => SBIN.find((d) => executable(join(d, n.program))) ?? '?';
    lines.push(`not in PATH: ${elsewhere.map((n) => `${n.program} (in ${where(n)})`).join(', ')}; run it as root, or add that directory to PATH`);
  }
  fail(script, lines);
}

/** What went wrong, in one line: a program that could not be started is named as such. */
function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { path?: string; spawnargs?: string[] };
  if (err?.code === 'ENOENT' && typeof err.syscall === 'string' && err.syscall.startsWith('spawn')) return `${err.path ?? 'a program'} is not installed (or not in PATH)`;
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0] ?? message;
}

/** Runs SCRIPT's MAIN; an error ends it with one line (no stack trace) and exit 1. */
export async function runDevScript(script: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    fail(script, [describe(e)]);
  }
}
