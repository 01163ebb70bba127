// corral rebalance --exec interrupted (Ctrl-C) leaves no constraint behind: the built corral on a
// copy of a scenario's CIB (CIB_file: no cluster carries out the transition, so the first round
// waits for a migration that never comes); once its steering hint is in the CIB, SIGINT. The hint
// must be gone, the command must say so and exit 1.
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corral-rebalance-int-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('Ctrl-C during a round removes its steering hint before corral rebalance exits (exit 1)', async () => {
  const cib = join(dir, 'cib.xml');
  await copyFile(join(ROOT, 'test/scenarios/rebalance/rejoined-empty/cib.xml'), cib);
  const child = spawn(join(ROOT, 'dist/bin/corral'), ['rebalance', '--exec'], { env: { ...process.env, CIB_file: cib } });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!(await readFile(cib, 'utf8')).includes('corral-steer-vm-a-n3') || !/round 1\/2: a n1 → n3/.test(stdout)) {
    if (Date.now() > deadline) throw new Error(`no hint within 60 s: ${stdout}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGINT');
  expect(await exited).toBe(1);
  expect(stdout).toMatch(/SIGINT: removing the hints of the round under way and stopping/);
  expect(await readFile(cib, 'utf8')).not.toMatch(/corral-steer-/);
}, 120_000);

it('--exec refuses while a drain is under way (its hints are of the same kind), and changes nothing', async () => {
  const cib = join(dir, 'draining.xml');
  await copyFile(join(ROOT, 'test/scenarios/rebalance/rejoined-empty/cib.xml'), cib);
  const env = { ...process.env, CIB_file: cib };
  await new Promise<void>((resolve, reject) =>
    spawn('crm_attribute', ['--node', 'n2', '--name', 'corral-drain-state', '--update', 'draining'], { env, stdio: 'ignore' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`crm_attribute exited ${c}`)))),
  );
  const before = await readFile(cib, 'utf8');
  const child = spawn(join(ROOT, 'dist/bin/corral'), ['rebalance', '--exec'], { env });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Refused like any other input that cannot be acted on now: exit 2 (lib/ops/operation.ts's lock).
  expect(await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))).toBe(2);
  expect(stderr).toContain('corral: not now: n2 is being drained; nothing was changed (run corral rebalance --exec again once it is done)');
  expect(await readFile(cib, 'utf8')).toBe(before);
}, 120_000);
