// The rebalance planner as scenario folders (test/scenarios/rebalance/<case>/): spec.txt says
// in a few lines what the cluster is, cib.xml is that cluster (built by test/scenarios/build.ts with
// corral's commands and crm_simulate), crm_mon.txt is how Pacemaker shows it, cmd is the corral
// command, expected.json its exit code, JSON output and messages. Every plan's rounds were checked
// with crm_simulate on a copy of the CIB (rejected moves are listed); the CIB file must be left
// byte-identical.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const HERE = join(ROOT, 'test/scenarios/rebalance');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corral-scenarios-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(file: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const cases = (await readdir(HERE, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe('rebalance scenarios', () => {
  it('there are at least 10 of them', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  it.each(cases)('%s', async (name) => {
    const folder = join(HERE, name);
    const cib = join(dir, `${name}.xml`);
    await copyFile(join(folder, 'cib.xml'), cib);
    const before = await readFile(cib);
    // The snapshot is what the folder says it is.
    const mon = await run('crm_mon', ['--one-shot', '--inactive', '--exclude=times'], { CIB_file: cib });
    expect(mon.stdout.trim()).toBe((await readFile(join(folder, 'crm_mon.txt'), 'utf8')).trim());

    const cmd = (await readFile(join(folder, 'cmd'), 'utf8')).trim().split(/\s+/);
    const expected = JSON.parse(await readFile(join(folder, 'expected.json'), 'utf8')) as { exit: number; output?: unknown; stderr?: string[] };
    const r = await run(join(ROOT, 'dist/bin/corral'), cmd, { CIB_file: cib });
    expect(r.code, r.stderr).toBe(expected.exit);
    if (expected.output !== undefined) expect(JSON.parse(r.stdout)).toEqual(expected.output);
    expect(r.stderr.trim().split('\n').filter(Boolean)).toEqual(expected.stderr ?? []);
    expect((await readFile(cib)).equals(before), 'the CIB file changed').toBe(true);
  });
});
