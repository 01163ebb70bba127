// Odd node names (issue 17, item 7) on the built corral and Pacemaker's own tools: a copy of the
// rolling-reboot scenario's CIB whose nodes are called "-S", "n3;touch x" and "n‮evil" (with a
// right-to-left override, U+202E). rolling-reboot plans on it (crm_simulate on CIB copies that
// carry its steering hints) with no Relax-NG error; the constraints corral writes for such nodes
// pass crm_verify; corral list and corral hosts show the override escaped, never as it is, while
// --json keeps the names exact; nothing changes the CIB file.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CibDoc } from '../../lib/cib/edit.js';
import { setNodeAttribute } from '../../lib/cib/nodes.js';
import { hintXml, ids, onlyOnXml } from '../../lib/cib/shapes.js';
import { applySteering } from '../../lib/ops/maintenance.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const RLO = '\u202e';
const NODES = { n1: '-S', n2: 'n3;touch x', n3: `n${RLO}evil` };
let dir: string;
let cib: string;
let before: string;

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
const corral = (args: string[]) => run(join(ROOT, 'dist/bin/corral'), args, { CIB_file: cib });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corral-odd-names-'));
  let xml = await readFile(join(ROOT, 'test/scenarios/maintenance/rolling-three/cib.xml'), 'utf8');
  for (const [plain, odd] of Object.entries(NODES)) {
    const n = xml.split(`uname="${plain}"`).length - 1;
    expect(n, `uname="${plain}" in the scenario's CIB`).toBe(2); // <node> and <node_state>
    xml = xml.split(`uname="${plain}"`).join(`uname="${odd}"`);
  }
  cib = join(dir, 'cib.xml');
  await writeFile(cib, xml);
  before = xml;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('rolling-reboot plans every node of odd names, with no Relax-NG error, and changes nothing', async () => {
  const r = await corral(['rolling-reboot']);
  expect(r.stderr).not.toMatch(/Relax-NG|validity error/);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^rolling reboot of .+ \(in this order\)$/m);
  for (const n of Object.values(NODES)) expect(r.stdout).toContain(`  ${n === NODES.n3 ? 'n\\u202eevil' : n}`);
  const json = await corral(['rolling-reboot', '--json']);
  expect(json.code, json.stderr).toBe(0);
  // JSON keeps the names exact (JSON escapes what it needs, and U+202E is not among it).
  expect(json.stdout).toContain(`"n${RLO}evil"`);
  const { plan } = JSON.parse(json.stdout) as { plan: { order: string[]; migrations: number } };
  expect([...plan.order].sort()).toEqual(Object.values(NODES).sort());
  expect(plan.order.at(-1)).toBe('-S'); // the DC, last
  expect(plan.migrations).toBe(8); // as in the scenario with plain names
  expect(await readFile(cib, 'utf8')).toBe(before);
}, 240_000);

it('the constraints corral writes for such nodes (steering, return and only-on hints, node attributes) pass crm_verify', async () => {
  const cd = CibDoc.parse(before);
  const nodes = Object.values(NODES);
  applySteering(cd, nodes.map((node) => ({ rid: 'vm-a', node, score: '1000' })));
  for (const node of nodes) setNodeAttribute(cd, node, 'standby', 'on');
  cd.append(cd.section('constraints'), hintXml(ids.returnHint('vm-b'), 'vm-b', NODES.n3, 'INFINITY'));
  cd.append(cd.section('constraints'), onlyOnXml('vm-c', nodes));
  const file = join(dir, 'with-constraints.xml');
  await writeFile(file, cd.toXml());
  const ids_ = [...cd.toXml().matchAll(/ id="([^"]*)"/g)].map((m) => m[1] as string);
  expect(ids_.filter((id) => id.startsWith('corral-steer-vm-a-'))).toHaveLength(3);
  const v = await run('crm_verify', ['-x', file]);
  expect(v.stderr).not.toMatch(/Relax-NG|validity error/);
  expect(v.code, v.stderr).toBe(0);
  // And removing the steering finds them again by the same ids.
  applySteering(cd, nodes.map((node) => ({ rid: 'vm-a', node, score: '1000' })), true);
  expect(cd.toXml()).not.toContain('corral-steer-');
}, 60_000);

it('corral list and corral hosts show the bidi override escaped; --json keeps the name exact', async () => {
  const list = await corral(['list']);
  expect(list.code, list.stderr).toBe(0);
  expect(list.stdout).not.toContain(RLO);
  expect(list.stdout).toMatch(/^e +n\\u202eevil +running/m);
  expect(list.stdout).toMatch(/^c +n3;touch x +running/m);

  const hosts = await corral(['hosts']);
  expect(hosts.code, hosts.stderr).toBe(0);
  expect(hosts.stdout + hosts.stderr).not.toContain(RLO);
  expect(hosts.stdout).toMatch(/^n\\u202eevil +online/m);
  expect(hosts.stdout).toMatch(/^-S\* +online/m);
  // corral puts none of these names into a libvirt URI: one line each, named, escaped.
  expect(hosts.stderr).toContain('corral: n\\u202eevil: libvirt: refusing the node name "n\\u202eevil"');

  const json = JSON.parse((await corral(['list', '--json'])).stdout) as { vms: { name: string; node: string }[] };
  expect(json.vms.find((v) => v.name === 'e')?.node).toBe(NODES.n3);
  expect(await readFile(cib, 'utf8')).toBe(before);
}, 120_000);

it('a message line naming such a node shows it escaped', async () => {
  const r = await corral(['rolling-reboot', '--nodes', `ghost${RLO}x`]);
  expect(r.code).toBe(2);
  expect(r.stderr).not.toContain(RLO);
  expect(r.stderr).toContain('ghost\\u202ex');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}, 60_000);
