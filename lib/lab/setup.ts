// What `corral lab up` makes sure of before it starts a lab: the Debian packages the lab needs
// and, when corral runs from its source tree, an up-to-date build.
import { existsSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPackages, missingPackages } from '../host/apt.js';
import { npmBuild } from '../host/npm.js';

/** Debian 12 packages the lab runs on (the same as .ci/run installs for the tests). */
const LAB_PACKAGES = [
  'pacemaker', 'pacemaker-cli-utils', 'corosync', 'crmsh', 'resource-agents',
  'libvirt-daemon-system', 'libvirt-clients', 'qemu-system-x86', 'qemu-utils',
  'libxml2-utils', 'socat', 'tini', 'cpio', 'busybox-static', 'iproute2', 'procps', 'util-linux', 'kmod',
] as const;

/** Installs the lab's missing packages; returns what was installed. */
export async function ensurePackages(log: (line: string) => void = () => undefined): Promise<string[]> {
  const missing = await missingPackages(LAB_PACKAGES);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) throw new Error(`missing packages (${missing.join(' ')}) and not root: install them or run as root`);
  log(`installing ${missing.join(' ')} (apt-get)`);
  await installPackages(missing);
  return missing;
}

/** The corral source tree this code runs from (a checkout with scripts/dev/build.ts), if any. */
function sourceTree(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(path.join(dir, 'scripts/dev/build.ts'))) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'corral') return dir;
      } catch {
        // not ours
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

const SOURCE_DIRS = ['agents', 'lib', 'scripts', 'cib-templates', 'systemd'];
const BUILT = ['dist/bin/corral', 'dist/agents/TransientDomain', 'dist/fence/fence_corral_lab'];

async function newestMtime(p: string): Promise<number> {
  const s = await stat(p).catch(() => undefined);
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let max = 0;
  for (const e of await readdir(p)) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    max = Math.max(max, await newestMtime(path.join(p, e)));
  }
  return max;
}

/** True when ROOT's dist/ is missing an executable or older than a source file. */
async function buildIsStale(root: string): Promise<boolean> {
  let oldest = Number.POSITIVE_INFINITY;
  for (const f of BUILT) {
    const s = await stat(path.join(root, f)).catch(() => undefined);
    if (!s) return true;
    oldest = Math.min(oldest, s.mtimeMs);
  }
  let newest = await newestMtime(path.join(root, 'package.json'));
  for (const d of SOURCE_DIRS) newest = Math.max(newest, await newestMtime(path.join(root, d)));
  return newest > oldest;
}

/** From a source tree: rebuilds corral when its build is stale. Returns whether it built. */
export async function ensureBuilt(log: (line: string) => void = () => undefined): Promise<boolean> {
  const root = sourceTree();
  if (root === undefined || !existsSync(path.join(root, 'node_modules'))) return false;
  if (!(await buildIsStale(root))) return false;
  log('building corral (npm run build)');
  await npmBuild(root);
  return true;
}
