// The tiny test guest of the lab and of the integration tests: a Debian 12 cloud kernel and a
// busybox initramfs whose /init (guest-init.sh) answers corral's startup signal with the shipped
// systemd/corral-startup-signal script and powers off on the ACPI power button. Built once from
// Debian packages and cached under /var/cache/corral/test-guest/KEY, where KEY hashes everything
// that goes into the image besides the packages (the init, the signal script, this recipe).
// testGuestDomainXml() writes a libvirt domain (type qemu: TCG, no KVM needed) that boots it.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from 'xmlbuilder2';
import { debField, downloadDebs, extractDeb, packInitramfs, resolveMetapackage } from '../host/guest-build.js';

export interface TestGuest {
  /** The cache directory holding the image (world-readable: qemu runs as libvirt-qemu). */
  dir: string;
  /** The kernel image (bzImage). */
  kernel: string;
  /** The gzip cpio initramfs. */
  initrd: string;
}

const TEST_GUEST_CACHE = '/var/cache/corral/test-guest';
/**
 * The guest's default memory. Measured under TCG: 72 MiB boots every time, 64 MiB and less never
 * print a single line (the kernel does not start); 96 leaves a margin.
 */
const TEST_GUEST_MEMORY_MIB = 96;

/** Changes the cache key: bump when the recipe below changes what goes into the image. */
const RECIPE = 'test-guest recipe 1';
const KERNEL_META = 'linux-image-cloud-amd64';
const KERNEL_PACKAGE = /^linux-image-6\.1\.\S+-cloud-amd64$/;
/** Loaded by /init in this order; the virtio chain for the ports, evdev + button for ACPI. */
const MODULES: readonly (readonly [name: string, path: string])[] = [
  ['virtio_ring', 'drivers/virtio/virtio_ring.ko'],
  ['virtio', 'drivers/virtio/virtio.ko'],
  ['virtio_pci_modern_dev', 'drivers/virtio/virtio_pci_modern_dev.ko'],
  ['virtio_pci_legacy_dev', 'drivers/virtio/virtio_pci_legacy_dev.ko'],
  ['virtio_pci', 'drivers/virtio/virtio_pci.ko'],
  ['virtio_console', 'drivers/char/virtio_console.ko'],
  ['evdev', 'drivers/input/evdev.ko'],
  ['button', 'drivers/acpi/button.ko'],
];

interface Sources {
  init: string;
  signal: string;
}

/** The source files, found from this module upwards (works from lib/lab and from a bundle). */
async function readSources(): Promise<Sources> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const init = join(dir, 'lib/lab/guest-init.sh');
    const signal = join(dir, 'systemd/corral-startup-signal');
    if (existsSync(init) && existsSync(signal)) {
      return { init: await readFile(init, 'utf8'), signal: await readFile(signal, 'utf8') };
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find lib/lab/guest-init.sh and systemd/corral-startup-signal');
    dir = up;
  }
}

function cacheKey(src: Sources): string {
  const h = createHash('sha256');
  for (const part of [RECIPE, src.init, src.signal]) h.update(`${part.length}:${part}`);
  return h.digest('hex').slice(0, 16);
}

function guestIn(dir: string): TestGuest {
  return { dir, kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.gz') };
}

async function isComplete(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, 'manifest.json'))).isFile();
  } catch {
    return false;
  }
}

let pending: Promise<TestGuest> | undefined;

/**
 * The test guest, built on first use (about half a minute, needs apt's package lists) and cached.
 * Safe against concurrent callers, in this process and in others: each build happens in its own
 * temporary directory that is renamed into place; the first rename wins.
 */
export function ensureTestGuest(): Promise<TestGuest> {
  pending ??= ensure().catch((e: unknown) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

async function ensure(): Promise<TestGuest> {
  const src = await readSources();
  const dir = join(TEST_GUEST_CACHE, cacheKey(src));
  if (await isComplete(dir)) return guestIn(dir);

  await mkdir(TEST_GUEST_CACHE, { recursive: true });
  for (const d of ['/var/cache/corral', TEST_GUEST_CACHE]) await chmod(d, 0o755);
  const tmp = join(TEST_GUEST_CACHE, `.build-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { mode: 0o755 });
  try {
    await build(tmp, src);
    try {
      await rename(tmp, dir);
    } catch (e) {
      // Another builder got there first (the target exists and is not empty): use theirs.
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await isComplete(dir))) throw e;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await removeStaleBuilds();
  return guestIn(dir);
}

/** Leftovers of builds that died: older than an hour (a build takes seconds). */
async function removeStaleBuilds(): Promise<void> {
  // Not by pid: a builder in another pid namespace (a lab node) has a pid we cannot check.
  for (const name of await readdir(TEST_GUEST_CACHE)) {
    if (!name.startsWith('.build-')) continue;
    const path = join(TEST_GUEST_CACHE, name);
    try {
      if (Date.now() - (await stat(path)).mtimeMs > 3_600_000) await rm(path, { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
  }
}

async function build(out: string, src: Sources): Promise<void> {
  const started = Date.now();
  const work = join(out, 'work');
  const debs = join(work, 'debs');
  await mkdir(debs, { recursive: true });
  const kernelPackage = await resolveMetapackage(KERNEL_META, KERNEL_PACKAGE);
  const [kernelDeb, busyboxDeb] = await downloadDebs([kernelPackage, 'busybox-static'], debs);
  const kernelX = join(work, 'kernel');
  const busyboxX = join(work, 'busybox');
  await extractDeb(kernelDeb!, kernelX);
  await extractDeb(busyboxDeb!, busyboxX);

  const release = kernelPackage.replace(/^linux-image-/, '');
  const root = join(work, 'root');
  for (const d of ['bin', 'dev', 'etc', 'lib/modules', 'proc', 'run', 'sys', 'tmp', 'usr/lib/corral']) {
    await mkdir(join(root, d), { recursive: true, mode: 0o755 });
  }
  await copyFile(join(busyboxX, 'bin/busybox'), join(root, 'bin/busybox'));
  await chmod(join(root, 'bin/busybox'), 0o755);
  const moduleDir = join(kernelX, 'lib/modules', release, 'kernel');
  for (const [name, path] of MODULES) {
    // Debian 12 ships modules uncompressed (CONFIG_MODULE_COMPRESS_NONE); all of these are modules.
    await copyFile(join(moduleDir, path), join(root, 'lib/modules', `${name}.ko`));
  }
  await writeFile(join(root, 'lib/modules/load-order'), MODULES.map(([n]) => n).join('\n') + '\n');
  await writeFile(join(root, 'init'), src.init, { mode: 0o755 });
  await writeFile(join(root, 'usr/lib/corral/corral-startup-signal'), src.signal, { mode: 0o755 });
  await packInitramfs(root, join(out, 'initrd.gz'));
  await copyFile(join(kernelX, 'boot', `vmlinuz-${release}`), join(out, 'vmlinuz'));

  const manifest = {
    kernelPackage,
    kernelVersion: await debField(kernelDeb!, 'Version'),
    busyboxVersion: await debField(busyboxDeb!, 'Version'),
    modules: MODULES.map(([n]) => n),
    builtAt: new Date().toISOString(),
    buildSeconds: (Date.now() - started) / 1000,
  };
  await rm(work, { recursive: true, force: true });
  for (const f of ['vmlinuz', 'initrd.gz']) await chmod(join(out, f), 0o644);
  // Written last: its presence marks a complete image.
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o644 });
}

export interface TestGuestDomainOptions {
  name: string;
  uuid?: string;
  /** The image from ensureTestGuest(). */
  guest: TestGuest;
  /** Default TEST_GUEST_MEMORY_MIB. */
  memoryMiB?: number;
  /** Declare the startup_signal channel (default true). */
  signal?: boolean;
  /** The guest never sends the startup signal (corral.signal=never). */
  neverSignal?: boolean;
  /** The guest waits this many seconds before it starts signalling (corral.signal_delay=N). */
  signalDelaySeconds?: number;
  /** The guest ignores the ACPI power button (corral.acpi=ignore). */
  ignoreAcpi?: boolean;
  /** The guest prints "corral-test-guest: tick N" every second (corral.tick=1). */
  tick?: boolean;
  /**
   * A CPU burner in the guest (corral.burn=PERCENT of its vCPU; with cycle, on ON seconds and off
   * OFF seconds, phased by the guest's uptime; afterSeconds: starts that long after boot).
   */
  burn?: { percent: number; cycle?: readonly [number, number]; afterSeconds?: number };
  /** Keep the serial console's output in this file (virtlogd must run), appending. */
  consoleLog?: string;
  /** Network interfaces (none by default); the test guest itself does not configure them. */
  interfaces?: readonly ({ bridge: string; mac?: string } | { network: string; mac?: string })[];
  /** More kernel command line words. */
  extraCmdline?: readonly string[];
}

/** A libvirt domain XML that boots the test guest under TCG with a serial console. */
export function testGuestDomainXml(opts: TestGuestDomainOptions): string {
  const cmdline = ['console=ttyS0'];
  if (opts.neverSignal) cmdline.push('corral.signal=never');
  if (opts.signalDelaySeconds !== undefined) {
    if (!Number.isInteger(opts.signalDelaySeconds) || opts.signalDelaySeconds < 0) {
      throw new RangeError(`signalDelaySeconds must be a whole number >= 0, not ${opts.signalDelaySeconds}`);
    }
    cmdline.push(`corral.signal_delay=${opts.signalDelaySeconds}`);
  }
  if (opts.ignoreAcpi) cmdline.push('corral.acpi=ignore');
  if (opts.tick) cmdline.push('corral.tick=1');
  if (opts.burn) {
    const { percent, cycle, afterSeconds } = opts.burn;
    const whole = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;
    if (!whole(percent, 1, 100)) throw new RangeError(`burn.percent must be a whole number from 1 to 100, not ${percent}`);
    if (cycle && !(whole(cycle[0], 1, 86400) && whole(cycle[1], 1, 86400))) throw new RangeError(`burn.cycle must be two whole numbers of seconds, not ${cycle.join('/')}`);
    if (afterSeconds !== undefined && !whole(afterSeconds, 0, 86400)) throw new RangeError(`burn.afterSeconds must be a whole number of seconds, not ${afterSeconds}`);
    cmdline.push(`corral.burn=${percent}`);
    if (cycle) cmdline.push(`corral.burn_cycle=${cycle[0]}/${cycle[1]}`);
    if (afterSeconds) cmdline.push(`corral.burn_after=${afterSeconds}`);
  }
  cmdline.push(...(opts.extraCmdline ?? []));

  const doc = create({ version: '1.0' });
  const domain = doc.ele('domain', { type: 'qemu' });
  domain.ele('name').txt(opts.name);
  if (opts.uuid !== undefined) domain.ele('uuid').txt(opts.uuid);
  domain.ele('memory', { unit: 'MiB' }).txt(String(opts.memoryMiB ?? TEST_GUEST_MEMORY_MIB));
  domain.ele('vcpu').txt('1');
  const os = domain.ele('os');
  os.ele('type', { arch: 'x86_64' }).txt('hvm');
  os.ele('kernel').txt(resolve(opts.guest.kernel));
  os.ele('initrd').txt(resolve(opts.guest.initrd));
  os.ele('cmdline').txt(cmdline.join(' '));
  domain.ele('features').ele('acpi');
  domain.ele('on_poweroff').txt('destroy');
  domain.ele('on_reboot').txt('restart');
  domain.ele('on_crash').txt('destroy');
  const devices = domain.ele('devices');
  const serial = devices.ele('serial', { type: 'pty' });
  if (opts.consoleLog !== undefined) serial.ele('log', { file: resolve(opts.consoleLog), append: 'on' });
  serial.ele('target', { port: '0' });
  devices.ele('console', { type: 'pty' }).ele('target', { type: 'serial', port: '0' });
  if (opts.signal ?? true) {
    devices.ele('channel', { type: 'unix' }).ele('target', { type: 'virtio', name: 'startup_signal' });
  }
  for (const i of opts.interfaces ?? []) {
    const iface = 'bridge' in i ? devices.ele('interface', { type: 'bridge' }) : devices.ele('interface', { type: 'network' });
    if ('bridge' in i) iface.ele('source', { bridge: i.bridge });
    else iface.ele('source', { network: i.network });
    if (i.mac !== undefined) iface.ele('mac', { address: i.mac });
    iface.ele('model', { type: 'virtio' });
  }
  devices.ele('controller', { type: 'usb', model: 'none' });
  devices.ele('memballoon', { model: 'none' });
  return doc.end({ prettyPrint: true, headless: true }) + '\n';
}
