// Why the agent's start asks the other nodes (lib/vm/start.ts): the scheduler input that Pacemaker
// 2.1.5 wrote in the rebalance lab test (test/cluster/rebalance.test.ts, "the target goes to standby
// midway"). r1 went n2 → n3, back n3 → n2, then n2 → n3 again; n3 went to standby while that last
// migrate_to ran, and it returned success: the guest ran on n3. The scheduler, reading n3's older
// migrate_from of the same pair as this migration's, plans a restart on n2 and no stop on n3 — a
// second copy, were the start not refused. When a Pacemaker that gets this right is installed,
// this test says so (then the agent's check is a second line of defence, not the only one).
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const FIXTURE = new URL('../fixtures/pacemaker/lost-migration.xml', import.meta.url).pathname;

it('Pacemaker 2.1.5 plans a start of r1 on the source and no stop on the target it migrated to', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'corral-lost-migration-'));
  try {
    const cib = path.join(dir, 'cib.xml');
    await copyFile(FIXTURE, cib);
    const { stdout } = await promisify(execFile)('crm_simulate', ['--xml-file', cib, '--simulate'], { env: { ...process.env, CIB_file: cib } });
    const actions = stdout.split('\n').filter((l) => /Resource action: +vm-r1 /.test(l)).map((l) => l.replace(/.*Resource action: +/, '').replace(/\s+/g, ' ').trim());
    expect(actions).toContain('vm-r1 start on n2');
    expect(actions.filter((a) => a.includes('on n3'))).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
