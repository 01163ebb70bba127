// The load balancer's decisions (lib/plan/balance.ts) as scenario folders:
// test/scenarios/balance/<case>/input.txt — settings, samples, earlier moves, what Pacemaker
// refuses — and expected.txt, what `corral balance status` prints for that moment. Read one to
// see a rule: a case is a few lines anyone can check by hand.
//
// input.txt, one statement a line ('#' starts a comment):
//   settings threshold=80 hold=60 interval=20 cooldown=600 moves-per-hour=6 min-gain=10 margin=10 [nodes=a,b] [vms=x,y]
//   sample AT  NODE/CPUS VM=CORES ... | NODE/CPUS ...      (AT in seconds; CORES used since the last sample)
//   moved VM FROM TO at AT
//   deny VM NODE                                          (Pacemaker would not place VM on NODE)
//   now AT                                                (default: the last sample's time)
//   list                                                  (also print the moves `corral balance status` lists)
//   record VM FROM TO                                     (also print the record after moving VM at NOW)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BALANCER, decideBalancer, describeBalancer, recentMoves, recordAfter, type BalancerMove, type LoadSample, type BalancerSettings } from '../../lib/plan/balance.js';

const DIR = path.join(path.dirname(new URL(import.meta.url).pathname), 'balance');

const KEYS: Record<string, keyof BalancerSettings> = {
  threshold: 'thresholdPct',
  hold: 'holdS',
  interval: 'intervalS',
  cooldown: 'cooldownS',
  'moves-per-hour': 'maxMovesPerHour',
  'min-gain': 'minGainPct',
  margin: 'marginPct',
  nodes: 'nodes',
  vms: 'vms',
};

interface Input {
  settings: BalancerSettings;
  samples: LoadSample[];
  moves: BalancerMove[];
  deny: Set<string>;
  now: number | undefined;
  list: boolean;
  record: Omit<BalancerMove, 'at'> | undefined;
}

function parse(text: string): Input {
  const settings: Record<string, unknown> = { ...DEFAULT_BALANCER };
  const samples: LoadSample[] = [];
  const moves: BalancerMove[] = [];
  const deny = new Set<string>();
  let now: number | undefined;
  let list = false;
  let record: Input['record'];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [word, ...rest] = line.split(/\s+/);
    if (word === 'settings') {
      for (const kv of rest) {
        const [k, v] = kv.split('=') as [string, string];
        const key = KEYS[k];
        if (!key) throw new Error(`unknown setting ${k}`);
        settings[key] = key === 'nodes' || key === 'vms' ? v.split(',') : Number(v);
      }
    } else if (word === 'sample') {
      const at = Number(rest[0]);
      const nodes: LoadSample['nodes'] = {};
      for (const part of rest.slice(1).join(' ').split('|')) {
        const [head, ...vms] = part.trim().split(/\s+/);
        const [node, cpus] = (head as string).split('/') as [string, string];
        nodes[node] = { cpus: Number(cpus), vms: Object.fromEntries(vms.map((v) => v.split('=')).map(([n, c]) => [n as string, Number(c)])) };
      }
      samples.push({ at, nodes });
    } else if (word === 'moved') {
      const [vm, from, to, , at] = rest as [string, string, string, string, string];
      moves.push({ vm, from, to, at: Number(at) });
    } else if (word === 'deny') {
      deny.add(`${rest[0]} ${rest[1]}`);
    } else if (word === 'now') {
      now = Number(rest[0]);
    } else if (word === 'list') {
      list = true;
    } else if (word === 'record') {
      const [vm, from, to] = rest as [string, string, string];
      record = { vm, from, to };
    } else {
      throw new Error(`unknown statement: ${line}`);
    }
  }
  return { settings: settings as unknown as BalancerSettings, samples, moves, deny, now, list, record };
}

const cases = readdirSync(DIR).sort();

describe('load balancer decisions (test/scenarios/balance)', () => {
  it('has the cases the rules need', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });
  for (const c of cases) {
    it(c, () => {
      const input = parse(readFileSync(path.join(DIR, c, 'input.txt'), 'utf8'));
      const now = input.now ?? input.samples[input.samples.length - 1]?.at ?? 0;
      const d = decideBalancer(input.samples, input.moves, input.settings, now, (vm, node) => !input.deny.has(`${vm} ${node}`));
      const lines = describeBalancer(d);
      const said = (ms: readonly BalancerMove[]) => ms.map((m) => `${m.vm} ${m.from} → ${m.to} at ${m.at}`).join(', ') || 'none';
      if (input.list) lines.push(`listed: ${said(recentMoves(input.moves, now))}`);
      if (input.record) lines.push(`on record after moving ${input.record.vm}: ${said(recordAfter({ ...input.record, at: now }, input.moves))}`);
      const got = `${lines.join('\n')}\n`;
      const file = path.join(DIR, c, 'expected.txt');
      if (process.env.CORRAL_WRITE_EXPECTED) writeFileSync(file, got);
      expect(got).toBe(readFileSync(file, 'utf8'));
    });
  }
});
