// Installs the built executables on this host (or under $DESTDIR, for packaging):
//   dist/agents/NAME → /usr/lib/ocf/resource.d/corral/NAME   (ocf:corral:NAME)
//   dist/bin/NAME    → /usr/sbin/NAME
//   dist/fence/NAME  → /usr/sbin/NAME                          (stonith:NAME, where pacemaker-fenced looks)
//   systemd/corral-node(-undrain).service → /usr/lib/systemd/system/ (drain at shutdown; not enabled)
//   systemd/corral-startup-signal(.service) → /usr/share/corral/guest/ (to copy into guests)
// The Debian package (npm run deb, debian/corral.install) lays them out the same way.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { runDevScript } from './needs.js';

const root = new URL('../..', import.meta.url).pathname;
const dest = process.env.DESTDIR ?? '';

function install(from: string, toDir: string, mode: number): void {
  const dir = join(dest, toDir);
  mkdirSync(dir, { recursive: true });
  const target = join(dir, from.slice(from.lastIndexOf('/') + 1));
  // Copy, then rename: an agent Pacemaker runs at this moment never sees a half-written file.
  copyFileSync(from, `${target}.new`);
  chmodSync(`${target}.new`, mode);
  renameSync(`${target}.new`, target);
  console.log(`installed ${target}`);
}

function files(dir: string): string[] {
  const d = join(root, dir);
  return existsSync(d) ? readdirSync(d).filter((n) => !n.endsWith('.json')).map((n) => join(d, n)) : [];
}

// A failure (permission denied: run as root, or set DESTDIR) is one line and exit 1, not a trace.
await runDevScript('install-host', async () => {
  const agents = files('dist/agents');
  if (agents.length === 0) {
    console.error('install-host: nothing built; run npm run build first');
    process.exit(1);
  }
  for (const f of agents) install(f, '/usr/lib/ocf/resource.d/corral', 0o755);
  for (const f of files('dist/bin')) install(f, '/usr/sbin', 0o755);
  for (const f of files('dist/fence')) install(f, '/usr/sbin', 0o755);
  for (const unit of ['corral-node.service', 'corral-node-undrain.service']) install(join(root, 'systemd', unit), '/usr/lib/systemd/system', 0o644);
  install(join(root, 'systemd/corral-startup-signal'), '/usr/share/corral/guest', 0o755);
  install(join(root, 'systemd/corral-startup-signal.service'), '/usr/share/corral/guest', 0o644);
});
