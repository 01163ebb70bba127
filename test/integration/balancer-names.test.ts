// `corral balance enable|status` (the built dist/bin/corral) on a copy of the recorded CIB
// (test/fixtures/recorded/steady, CIB_file): --nodes and --vms name what the cluster has, or are
// refused with one line each (exit 2) and nothing is written; status documents a check's exit codes.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corralOnCib } from '../support/corral-on-cib.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const STEADY = path.join(ROOT, 'test/fixtures/recorded/steady/cib.xml');
let dir: string;

const corral = corralOnCib;

async function copy(name: string): Promise<string> {
  const file = path.join(dir, name);
  await copyFile(STEADY, file);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'corral-balance-names-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('corral balance: names the cluster does not have', () => {
  it('enable --nodes nosuch --vms ghost: one line each naming them, exit 2, the CIB unchanged', async () => {
    const cib = await copy('enable-bad.xml');
    const before = await readFile(cib);
    const r = await corral(cib, ['balance', 'enable', '--nodes', 'n1,nosuch', '--vms', 'ghost,web1']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'corral: --nodes "n1,nosuch": the cluster has no node nosuch (nodes: n1, n2, n3)',
      'corral: --vms "ghost,web1": the cluster has no VM ghost (VMs: db1, ns1, ns2, off1, web1, web2)',
    ]);
    expect(r.stdout).toBe('');
    expect((await readFile(cib)).equals(before), 'the CIB file changed').toBe(true);
  });

  it('enable with names the cluster has is written', async () => {
    const cib = await copy('enable-good.xml');
    const r = await corral(cib, ['balance', 'enable', '--nodes', 'n1,n2', '--vms', 'web1,web2', '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const xml = await readFile(cib, 'utf8');
    expect(xml).toMatch(/<primitive id="corral-balancer"[^>]*type="Balancer"/);
    expect(xml).toMatch(/name="nodes" value="n1,n2"/);
    expect(xml).toMatch(/name="vms" value="web1,web2"/);
  });

  it('status --nodes nosuch is refused (exit 2) before any node is read', async () => {
    const r = await corral(await copy('status.xml'), ['balance', 'status', '--nodes', 'nosuch', '--seconds', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['corral: --nodes "nosuch": the cluster has no node nosuch (nodes: n1, n2, n3)']);
  });

  it("status --help names a check's exit codes and the clock skew it allows", async () => {
    const r = await corral(STEADY, ['balance', 'status', '--help']);
    expect(r.code).toBe(0);
    const text = r.stdout.replace(/\s+/g, ' ');
    expect(text).toMatch(/0 no move wanted; 1 a move would be made; 2 bad input, nothing asked; 3 could not answer/);
    expect(text).toContain('more than 5 minutes ahead');
  });
});
