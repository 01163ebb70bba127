// The runner of the planners' scenario folders (test/scenarios/<planner>/<case>/): spec.txt says
// in a few lines what the cluster is, cib.xml is that cluster (built by test/scenarios/build.ts with
// corral's commands and crm_simulate), crm_mon.txt is how Pacemaker shows it, cmd is the corral
// command, expected.json its exit code, JSON output and messages. corral runs on the CIB file
// (CIB_file), whose bytes must stay as they were.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

function run(file: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A describe block with one test per folder under test/scenarios/PLANNER, and one that there are at least MIN. */
export async function cibScenarios(planner: string, min: number): Promise<void> {
  const here = join(ROOT, 'test/scenarios', planner);
  const cases = (await readdir(here, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  let dir: string;

  describe(`${planner} scenarios`, () => {
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'corral-scenarios-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it(`there are at least ${min} of them`, () => {
      expect(cases.length).toBeGreaterThanOrEqual(min);
    });

    it.each(cases)('%s', async (name) => {
      const folder = join(here, name);
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
}
