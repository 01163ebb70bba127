// Operator hooks through the built commands on a CIB file (CIB_file, test/fixtures/recorded/steady:
// db1 runs on n3, ns1 and web2 on n2, ns2 and web1 on n1), with CORRAL_ETC pointing at a scratch
// directory whose hooks/ holds the hooks: a node-drain pre hook vetoes the drain (exit 1, its
// reason printed, the CIB file unchanged), a dry run shows the pre hook the plan's nodes and VMs,
// post hooks see CORRAL_NODES and CORRAL_VMS once the change is made, and a hook that is not
// root's vetoes too.
import { execFile } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { corralOnCib } from '../support/corral-on-cib.js';
import { requireRoot } from '../support/root.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const STEADY = path.join(ROOT, 'test/fixtures/recorded/steady/cib.xml');
let dir: string;
let cib: string;
let etc: string;

const trace = () => path.join(dir, 'trace');
const traced = async () => (await readFile(trace(), 'utf8').catch(() => '')).split('\n').filter(Boolean);

/** A hook NAME in hooks/POINT.d that appends a line (its environment) to the trace, then runs BODY. */
async function hook(point: string, name: string, body = 'exit 0'): Promise<string> {
  const d = path.join(etc, 'hooks', point);
  await mkdir(d, { recursive: true, mode: 0o755 });
  const file = path.join(d, name);
  await writeFile(file, `#!/bin/sh\necho "${point}/${name} $CORRAL_OPERATION [$CORRAL_NODES] [$CORRAL_VMS] dry=$CORRAL_DRY_RUN user=$CORRAL_USER result=$CORRAL_RESULT" >> ${trace()}\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

/** The built command (dist/bin) on the CIB file, as corralOnCib runs corral. */
function command(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'dist/bin', name), args, { env: { ...process.env, CIB_file: cib }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  requireRoot('the hooks integration test', 'hooks must belong to root');
  dir = await mkdtemp(path.join(tmpdir(), 'corral-hooks-it-'));
  await chmod(dir, 0o755);
  etc = path.join(dir, 'etc');
  // corralOnCib passes this process's environment on: the commands read corral.conf and hooks/ there.
  process.env.CORRAL_ETC = etc;
});
afterAll(async () => {
  delete process.env.CORRAL_ETC;
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await rm(etc, { recursive: true, force: true });
  await rm(trace(), { force: true });
  await mkdir(etc, { mode: 0o755 });
  await writeFile(path.join(etc, 'corral.conf'), `audit_log = ${path.join(dir, 'audit.log')}\n`, { mode: 0o644 });
  cib = path.join(dir, 'cib.xml');
  await copyFile(STEADY, cib);
});

describe('hooks around corral and domdel, on a CIB file', () => {
  it('a node-drain pre hook that fails vetoes the drain: exit 1, its first line as the reason, the CIB unchanged', async () => {
    await hook('node-drain-pre.d', '10-window', 'echo "n3 is outside its maintenance window (ticket CHG-42)"\necho more detail\nexit 1');
    await hook('node-drain-pre.d', '20-later');
    await hook('node-drain-post.d', '10-post');
    const before = await readFile(cib);
    const r = await corralOnCib(cib, ['node', 'drain', 'n3']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('corral: vetoed by hook node-drain-pre.d/10-window (exit status 1): n3 is outside its maintenance window (ticket CHG-42); nothing was done\n');
    expect((await readFile(cib)).equals(before), 'the CIB file changed').toBe(true);
    expect(await traced()).toEqual(['node-drain-pre.d/10-window node-drain [n3] [db1] dry=0 user=root result=']);
    const audit = await readFile(path.join(dir, 'audit.log'), 'utf8');
    expect(audit).toMatch(/user=root action="hook node-drain-pre.d\/10-window" vm=db1 result=refused detail="exit status 1: n3 is outside its maintenance window \(ticket CHG-42\)"/);
  });

  it('a dry run runs the pre hooks with CORRAL_DRY_RUN=1 and the plan\'s nodes and VMs, and no post hook', async () => {
    await hook('node-drain-pre.d', '10');
    await hook('node-drain-post.d', '10');
    const r = await corralOnCib(cib, ['node', 'drain', 'n1', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('dry run: nothing was changed');
    expect(await traced()).toEqual(['node-drain-pre.d/10 node-drain [n1] [ns2 web1] dry=1 user=root result=']);
    // …and a veto in a dry run says the real run would be refused.
    await hook('node-drain-pre.d', '20-no', 'echo "not today"; exit 1');
    const vetoed = await corralOnCib(cib, ['node', 'drain', 'n1', '--dry-run', '--json']);
    expect(vetoed.code).toBe(1);
    expect(vetoed.stdout).toBe('');
    expect(vetoed.stderr).toMatch(/vetoed by hook node-drain-pre.d\/20-no \(exit status 1\): not today/);
  });

  it('undrain: the pre and post hooks see the node; the change is made', async () => {
    // n3 drained by hand in the file: standby, with the drain's record.
    const drained = (await readFile(cib, 'utf8')).replace('<node id="3" uname="n3">', '<node id="3" uname="n3"><instance_attributes id="nodes-n3"><nvpair id="nodes-n3-standby" name="standby" value="on"/></instance_attributes>');
    expect(drained).toContain('nodes-n3-standby');
    await writeFile(cib, drained);
    await hook('node-undrain-pre.d', '10');
    await hook('node-undrain-post.d', '10');
    const r = await corralOnCib(cib, ['node', 'undrain', 'n3']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(cib, 'utf8')).not.toContain('nodes-n3-standby');
    expect(await traced()).toEqual(['node-undrain-pre.d/10 node-undrain [n3] [] dry=0 user=root result=', 'node-undrain-post.d/10 node-undrain [n3] [] dry=0 user=root result=ok']);
  });

  it('domdel --force of a running VM: the post hook sees CORRAL_VMS and CORRAL_NODES (where it ran) once it is gone', async () => {
    await hook('domdel-pre.d', '10');
    await hook('domdel-post.d', '10', `grep -c '<primitive id="vm-db1"' ${cib} >> ${trace()}; true`);
    const r = await command('domdel', ['--force', 'db1']);
    expect(r.code, r.stderr).toBe(0);
    expect(await traced()).toEqual(['domdel-pre.d/10 domdel [n3] [db1] dry=0 user=root result=', 'domdel-post.d/10 domdel [n3] [db1] dry=0 user=root result=ok', '0']);
  });

  it('a post hook that fails is reported on stderr and changes neither the result nor the exit code', async () => {
    await hook('domdel-post.d', '10-ticket', 'echo "ticket system unreachable"; exit 5');
    const r = await command('domdel', ['--force', 'web2']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('domdel: hook domdel-post.d/10-ticket failed (exit status 5): ticket system unreachable; the domdel stands as done\n');
    expect(await readFile(cib, 'utf8')).not.toContain('<primitive id="vm-web2"');
  });

  it('a pre hook that is not root\'s vetoes (fail loudly rather than skip it); nothing changes', async () => {
    const f = await hook('domdel-pre.d', '10-check');
    await chown(f, 1000, 1000);
    const before = await readFile(cib);
    const r = await command('domdel', ['--force', 'db1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^domdel: hook domdel-pre.d\/10-check refused: .*10-check is owned by uid 1000, not root; nothing was done/m);
    expect((await readFile(cib)).equals(before)).toBe(true);
    expect(await traced()).toEqual([]);
  });
});
