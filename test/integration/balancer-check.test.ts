// The load balancer asks Pacemaker before it moves a VM (lib/ops/balance.ts checkMove): crm_simulate
// on a copy of the CIB with a preference for the target must migrate the VM there live and leave
// everything else alone. On CIBs of the maintenance scenarios (built with corral's own commands
// and crm_simulate, test/scenarios/maintenance/), no cluster needed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { takeSnapshot } from '../../lib/cluster/snapshot.js';
import { checkMove, decideChecked } from '../../lib/ops/balance.js';
import { DEFAULT_BALANCER, type LoadSample } from '../../lib/plan/balance.js';

const DIR = path.join(path.dirname(new URL(import.meta.url).pathname), '../scenarios/maintenance');
const snapOf = (scenario: string) => takeSnapshot({ cibXml: readFileSync(path.join(DIR, scenario, 'cib.xml'), 'utf8') });

describe('checkMove: Pacemaker as the judge of a balancer move', () => {
  it('a VM free to go migrates live to the node asked for', async () => {
    const snap = await snapOf('drain-simple');
    expect(await checkMove(snap, 'a', 'n1', 'n2')).toBe(true);
    expect(await checkMove(snap, 'a', 'n1', 'n1')).toBe(false); // it is there already
    expect(await checkMove(snap, 'nosuch', 'n1', 'n2')).toBe(false);
  });

  it('a VM that may run only where it is stays (--only-on)', async () => {
    const snap = await snapOf('drain-only-on');
    expect(await checkMove(snap, 'b', 'n1', 'n2')).toBe(false);
    expect(await checkMove(snap, 'a', 'n1', 'n2')).toBe(true);
  });

  it('a VM too big for the target stays (capacity: Pacemaker would not place it)', async () => {
    const snap = await snapOf('drain-capacity');
    expect(await checkMove(snap, 'big', 'n1', 'n2')).toBe(false);
  });

  it('the decision passes over a move Pacemaker refuses and takes the best one it allows', async () => {
    const snap = await snapOf('drain-only-on');
    // n1 hot with a and b; b would relieve it most but may run only on n1
    const sample = (at: number): LoadSample => ({ at, nodes: { n1: { cpus: 2, vms: { a: 0.5, b: 0.9 } }, n2: { cpus: 2, vms: { c: 0.1 } }, n3: { cpus: 2, vms: {} } } });
    const d = await decideChecked([sample(0), sample(30), sample(60)], [], { ...DEFAULT_BALANCER, thresholdPct: 60, holdS: 60, intervalS: 30 }, 60, (vm, from, to) => checkMove(snap, vm, from, to));
    expect(d.move).toMatchObject({ vm: 'a', from: 'n1', to: 'n3' });
  });
});
