// The agent's safety rules as scenario folders (test/scenarios/agent/<case>/): `steps` says in a few
// lines what the node is like and what Pacemaker asks of the agent, `expected.log` is everything
// the agent did on the (simulated) node and how each run ended. The runner
// (test/support/agent-scenario.ts) also checks the rules on the simulated world's truth, so a
// case fails on a VIOLATION line even if someone rewrote its expected log.
//
// CORRAL_SCENARIO_WRITE=1 npx vitest run test/scenarios/agent.test.ts writes the logs anew (read the
// diff before committing it). The real side of the port is proven by test/integration/transient-domain.test.ts.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../support/agent-scenario.js';

const HERE = join(new URL('.', import.meta.url).pathname, 'agent');
const cases = (await readdir(HERE, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const write = Boolean(process.env.CORRAL_SCENARIO_WRITE);

describe('agent scenarios (simulated host)', () => {
  it('cover every safety rule of the agent', async () => {
    const rules = new Set<string>();
    for (const c of cases) for (const m of (await readFile(join(HERE, c, 'steps'), 'utf8')).matchAll(/^# rules? ([\d, ]+)/gm)) m[1]!.split(/[, ]+/).forEach((r) => rules.add(r));
    expect([...rules].sort()).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it.each(cases)('%s', async (name) => {
    const folder = join(HERE, name);
    const r = await runScenario(await readFile(join(folder, 'steps'), 'utf8'));
    const file = join(folder, 'expected.log');
    expect(r.violations, r.log).toEqual([]);
    if (write) await writeFile(file, r.log);
    else if (!existsSync(file)) {
      await writeFile(file, r.log);
      throw new Error(`${name} had no expected.log: written now; read it, then commit it`);
    }
    expect(r.log).toBe(await readFile(file, 'utf8'));
  });
});
