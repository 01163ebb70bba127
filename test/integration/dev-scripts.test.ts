// The dev scripts on a machine that lacks what they run (issue 17, item 9): npm run deb without
// dpkg-dev and debhelper, the bench without the lab's programs, a dpkg-buildpackage that fails,
// install-host that cannot write. Each names what is missing (the Debian package and the apt-get
// line that installs it) or what failed, in lines of its own, exits 1, and prints no Node stack
// trace. PATH is cut down to a directory that holds only node (and, where a test says so, a
// stand-in program).
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const TSX = join(ROOT, 'node_modules/.bin/tsx');
let dir: string;
let bin: string;

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Nothing of this process's environment but HOME and what the test names.
    execFile(TSX, args, { cwd: ROOT, env: { HOME: dir, ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const STACK = /^\s+at /m;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corral-dev-scripts-'));
  bin = join(dir, 'bin');
  await mkdir(bin);
  // Only node: tsx's `#!/usr/bin/env node` finds it here, and nothing else.
  await symlink(await realpath(process.execPath), join(bin, 'node'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('npm run deb without dpkg-dev and debhelper: names them and the apt-get line, exit 1, no trace', async () => {
  const r = await run([join(ROOT, 'scripts/dev/deb.ts')], { PATH: `/nonexistent:${bin}` });
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr).toContain('npm run deb: missing: dpkg-buildpackage (Debian package dpkg-dev), dh (Debian package debhelper)');
  expect(r.stderr).toContain('npm run deb: install them with: sudo apt-get install dpkg-dev debhelper');
  expect(r.stderr.trim().split('\n')).toHaveLength(2);
  expect(r.stdout).toBe('');
});

it('npm run deb with dpkg-buildpackage but no debhelper: names debhelper alone', async () => {
  const only = join(dir, 'only-dpkg');
  await mkdir(only, { recursive: true });
  await writeFile(join(only, 'dpkg-buildpackage'), '#!/bin/sh\nexit 0\n');
  await chmod(join(only, 'dpkg-buildpackage'), 0o755);
  const r = await run([join(ROOT, 'scripts/dev/deb.ts')], { PATH: `/nonexistent:${only}:${bin}` });
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr).toContain('npm run deb: missing: dh (Debian package debhelper)');
  expect(r.stderr).toContain('npm run deb: install them with: sudo apt-get install debhelper');
});

it('npm run deb whose dpkg-buildpackage fails: dpkg\'s own line, then one line of ours, exit 1, no trace', async () => {
  const fake = join(dir, 'fake-dpkg');
  await mkdir(fake, { recursive: true });
  await writeFile(join(fake, 'dpkg-buildpackage'), '#!/bin/sh\necho "dpkg-checkbuilddeps: error: Unmet build dependencies: debhelper-compat (= 13)" >&2\nexit 3\n');
  await writeFile(join(fake, 'dh'), '#!/bin/sh\nexit 0\n');
  for (const p of ['dpkg-buildpackage', 'dh']) await chmod(join(fake, p), 0o755);
  const r = await run([join(ROOT, 'scripts/dev/deb.ts')], { PATH: `/nonexistent:${fake}:${bin}` });
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(STACK);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toContain('dpkg-checkbuilddeps: error: Unmet build dependencies: debhelper-compat (= 13)');
  expect(lines.at(-1)).toBe('npm run deb: dpkg-buildpackage -b -us -uc --no-sign exited 3');
}, 240_000);

it('npm run bench without the lab\'s programs: names each and its package, the apt-get line, exit 1, no trace', async () => {
  const r = await run([join(ROOT, 'test/bench/run.ts')], { PATH: `/nonexistent:${bin}`, BENCH_ONLY: 'rebalance' });
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr).toMatch(/^npm run bench: missing: .*virsh \(Debian package libvirt-clients\).*hbal \(Debian package ganeti-htools\)/m);
  expect(r.stderr).toMatch(/^npm run bench: install them with: sudo apt-get install .*libvirt-clients.* ganeti-htools$/m);
  // A program installed in an sbin directory that PATH lacks (pacemakerd: /usr/sbin) is named as such, not as missing.
  expect(r.stderr).toMatch(/^npm run bench: not in PATH: .*pacemakerd \(in \/(usr\/)?sbin\).*; run it as root, or add that directory to PATH$/m);
  expect(r.stdout).toBe('');
});

it('install-host that cannot write where it installs: one line, exit 1, no trace', async () => {
  // DESTDIR is a regular file: nothing can be made under it (needs npm run build first, as npm test does).
  const file = join(dir, 'not-a-directory');
  await writeFile(file, '');
  const r = await run([join(ROOT, 'scripts/dev/install-host.ts')], { PATH: `/nonexistent:${bin}`, DESTDIR: file });
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(`install-host: ENOTDIR: not a directory, mkdir '${file}/usr/lib/ocf/resource.d/corral'`);
});
