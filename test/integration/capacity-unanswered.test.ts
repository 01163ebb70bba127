// `corral capacity` (the built dist/bin/corral) on the project's own recorded CIB
// (test/fixtures/recorded/steady, CIB_file): N+1 is answered, and where Pacemaker's scheduler cannot
// answer, corral says so with Pacemaker's own reason and exit code 3 — never 1, which means "not
// N+1" — and still answers for the other nodes. The CIB file is never changed.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corralOnCib } from '../support/corral-on-cib.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const STEADY = path.join(ROOT, 'test/fixtures/recorded/steady/cib.xml');
let dir: string;

const corral = corralOnCib;

/** A copy of the recorded steady CIB in the scratch directory, changed by EDIT. */
async function steadyCopy(name: string, edit: (xml: string) => string = (x) => x): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, edit(await readFile(STEADY, 'utf8')));
  return file;
}

/**
 * The recorded cluster without fencing: when n2 fails, Pacemaker 2.1.5 plans ns2's live migration
 * off n1 after ns1's start on n1 (ns2 is ordered after ns1), and ns1's start after room is made on
 * n1 (ns2 gone: they avoid each other) — a transition that cannot complete. crm_simulate says "An
 * invalid transition was produced". (With fencing, ns2 is stopped and started instead, and it works.)
 */
const noFencing = (xml: string) => xml.replace('name="stonith-enabled" value="true"', 'name="stonith-enabled" value="false"');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'corral-capacity-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('corral capacity: an answer, a "no", or "could not answer"', () => {
  it('the recorded cluster (3 nodes, fencing) is answered: N+1 holds, exit 0', async () => {
    const cib = await steadyCopy('steady.xml');
    const before = await readFile(cib);
    const r = await corral(cib, ['capacity']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('if n2 fails: every VM runs elsewhere\n');
    expect(r.stdout).toContain('N+1: yes\n');
    expect((await readFile(cib)).equals(before), 'the CIB file changed').toBe(true);
  });

  it("a node whose failure Pacemaker cannot simulate: exit 3, Pacemaker's reason, the other nodes answered", async () => {
    const cib = await steadyCopy('no-fencing.xml', noFencing);
    const before = await readFile(cib);
    const r = await corral(cib, ['capacity']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual(['corral: if n2 fails: Pacemaker could not say: Transition failed: terminated; An invalid transition was produced']);
    expect(r.stdout).toContain('if n1 fails: every VM runs elsewhere\n');
    expect(r.stdout).toContain('if n2 fails: Pacemaker could not say\n');
    expect(r.stdout).toContain('if n3 fails: every VM runs elsewhere\n');
    expect(r.stdout).toContain('N+1: could not answer (n2)\n');
    expect((await readFile(cib)).equals(before), 'the CIB file changed').toBe(true);
  });

  it('--json: nPlusOne null and the node carries Pacemaker\'s errors; room for more is not guessed', async () => {
    const cib = await steadyCopy('no-fencing-json.xml', noFencing);
    const r = await corral(cib, ['capacity', '--json', '--size', '1,128m']);
    expect(r.code, r.stderr).toBe(3);
    const j = JSON.parse(r.stdout) as { nodes: { name: string; ifFails: { stopped: string[]; errors?: string[] } }[]; nPlusOne: boolean | null; fit: { count: number | null } };
    expect(j.nPlusOne).toBeNull();
    expect(j.nodes.find((n) => n.name === 'n2')?.ifFails.errors).toContain('An invalid transition was produced');
    expect(j.nodes.filter((n) => n.ifFails.errors === undefined).map((n) => n.name)).toEqual(['n1', 'n3']);
    expect(j.fit.count).toBeNull();
  });

  it('a "no" stays a "no" (exit 1) even when another node could not be answered', async () => {
    // db1 may run only on n3 (its pin made a requirement): if n3 fails, it stays stopped.
    const cib = await steadyCopy('no-fencing-pinned.xml', (x) => noFencing(x).replace('<rsc_location id="vm-db1-pin" rsc="vm-db1" node="n3" score="INFINITY"/>', '<rsc_location id="vm-db1-pin" rsc="vm-db1" node="n3" score="INFINITY"/><rsc_location id="vm-db1-only-n3" rsc="vm-db1"><rule id="vm-db1-only-n3-rule" score="-INFINITY"><expression id="vm-db1-only-n3-expr" attribute="#uname" operation="ne" value="n3"/></rule></rsc_location>'));
    const r = await corral(cib, ['capacity']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('if n3 fails: db1 would stay stopped\n');
    expect(r.stdout).toContain('N+1: no\n');
    expect(r.stderr).toContain('corral: if n2 fails: Pacemaker could not say: ');
  });

  it('a cluster that cannot be read is "could not answer" (3), not "no" (1)', async () => {
    const r = await corral(path.join(dir, 'not-there.xml'), ['capacity']);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([`corral: reading the CIB file ${dir}/not-there.xml failed: no such file`]);
  });

  it('--help names the exit codes a monitoring check needs', async () => {
    const r = await corral(STEADY, ['capacity', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/0 N\+1 holds .*; 1 N\+1 does not hold .*; 2 bad input, nothing asked; 3 could not answer/);
  });
});
