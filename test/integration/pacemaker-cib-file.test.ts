// lib/host/pacemaker/ on a CIB file (CIB_file): one query with options, one move with options,
// each checked against what Pacemaker's own tools then find in the file. No cluster runs.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cib, kid, kids, parseXNode } from '../../lib/cib/model.js';
import { queryCib } from '../../lib/host/pacemaker/cib.js';
import { clearResource, moveResource } from '../../lib/host/pacemaker/resources.js';

const SOURCE = new URL('../scenarios/maintenance/drain-simple/cib.xml', import.meta.url).pathname;
let dir: string;
let cib: string;
let before: string | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'corral-pcmk-'));
  cib = path.join(dir, 'cib.xml');
  await copyFile(SOURCE, cib);
  before = process.env.CIB_file;
  process.env.CIB_file = cib;
});

afterEach(async () => {
  if (before === undefined) delete process.env.CIB_file;
  else process.env.CIB_file = before;
  await rm(dir, { recursive: true, force: true });
});

const primitives = (xml: string) => new Cib(parseXNode(xml)).resources.map((r) => r.id);

describe('queryCib on a CIB file', () => {
  it('through cibadmin, or with fromFile the file itself: the same CIB', async () => {
    const viaTool = await queryCib();
    const fromFile = await queryCib({ fromFile: true });
    expect(fromFile).toBe(await readFile(cib, 'utf8'));
    expect(primitives(viaTool)).toEqual(['vm-a', 'vm-b', 'vm-c', 'vm-d', 'vm-e']);
    expect(primitives(fromFile)).toEqual(primitives(viaTool));
  });

  it('one section with scope', async () => {
    const root = parseXNode(await queryCib({ scope: 'resources' }));
    expect(root.tag).toBe('resources');
    expect(kids(root, 'primitive').map((p) => p.attrs.id)).toEqual(['vm-a', 'vm-b', 'vm-c', 'vm-d', 'vm-e']);
  });

  it('a CIB file that is not there: one line naming it', async () => {
    process.env.CIB_file = path.join(dir, 'nope.xml');
    await expect(queryCib({ fromFile: true })).rejects.toThrow(`reading the CIB file ${dir}/nope.xml failed: no such file`);
  });
});

describe('moveResource on a CIB file', () => {
  it('leaves a cli-prefer constraint for the node that expires, which clearResource removes', async () => {
    await moveResource('vm-a', { node: 'n2', lifetime: 'PT30M' });
    const loc = kids(kid(new Cib(parseXNode(await queryCib())).configuration, 'constraints'), 'rsc_location').find((c) => c.attrs.id === 'cli-prefer-vm-a');
    const rule = kid(loc, 'rule');
    expect(kid(rule, 'expression')?.attrs).toMatchObject({ attribute: '#uname', operation: 'eq', value: 'n2' });
    expect(kid(rule, 'date_expression')?.attrs.operation).toBe('lt');
    await clearResource('vm-a');
    expect(await readFile(cib, 'utf8')).not.toContain('cli-prefer-vm-a');
  });
});
