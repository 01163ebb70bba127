// Builds the CIB snapshot of every scenario folder from its spec.txt, with corral's own commands
// (create_domxml, domadd, nodecap on a CIB file) and Pacemaker's scheduler (crm_simulate starts the
// VMs where the spec puts them, so the status section holds real operation records and digests):
//
//   npm run build && npx tsx test/scenarios/build.ts [FOLDER...]
//
// spec.txt, one line each ("#" starts a comment):
//   nodes n1 n2 n3 [cpu=8] [mem=2048]     the nodes and their capacity (nodecap)
//   vm NAME [cpu=1] [mem=256] [on=NODE] [-- DOMADD OPTIONS]   a VM, started on NODE
//   standby NODE                           NODE is in standby (its VMs left it)
//   offline NODE                           NODE is down (and was never up)
//   stickiness N                           resource-stickiness (default 100)
//   failed NAME                            NAME's monitor failed where it runs (fail count 1, restarted)
//   drained NODE                           NODE was drained by corral: standby, and its VMs recorded
//   dc NODE                                NODE is the DC (the CIB's dc-uuid)
//   standby-now NODE                       NODE was just put in standby: its VMs are still there (not settled)
//   meta NAME KEY=VALUE                    a meta attribute of VM NAME (e.g. allow-migrate=false)
// The folder's cib.xml is written; the spec stays the readable source.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CibDoc } from '../../lib/cib/edit.js';
import { DRAINED_ATTR, setNodeAttribute } from '../../lib/cib/nodes.js';
import { render } from '../../lib/cib/render.js';
import { emptyCib } from '../support/empty-cib.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const HERE = new URL('.', import.meta.url).pathname;

interface Spec {
  nodes: string[];
  cpu: number;
  mem: number;
  vms: { name: string; cpu: number; mem: number; on?: string; options: string[] }[];
  standby: string[];
  offline: string[];
  stickiness: number;
  failed: string[];
  drained: string[];
  dc?: string;
  meta: { vm: string; key: string; value: string }[];
  standbyNow: string[];
}

function parse(text: string): Spec {
  const spec: Spec = { nodes: [], cpu: 8, mem: 2048, vms: [], standby: [], offline: [], stickiness: 100, failed: [], drained: [], meta: [], standbyNow: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const cut = line.indexOf(' -- ');
    const head = cut < 0 ? line : line.slice(0, cut);
    const options = cut < 0 ? [] : line.slice(cut + 4).trim().split(/\s+/).filter(Boolean);
    const words = head.split(/\s+/);
    const kv = (k: string, d: number) => Number(words.find((w) => w.startsWith(`${k}=`))?.slice(k.length + 1) ?? d);
    switch (words[0]) {
      case 'nodes':
        spec.nodes = words.slice(1).filter((w) => !w.includes('='));
        spec.cpu = kv('cpu', 8);
        spec.mem = kv('mem', 2048);
        break;
      case 'vm': {
        const on = words.find((w) => w.startsWith('on='))?.slice(3);
        spec.vms.push({ name: words[1] as string, cpu: kv('cpu', 1), mem: kv('mem', 256), ...(on ? { on } : {}), options });
        break;
      }
      case 'standby':
        spec.standby.push(...words.slice(1));
        break;
      case 'offline':
        spec.offline.push(...words.slice(1));
        break;
      case 'stickiness':
        spec.stickiness = Number(words[1]);
        break;
      case 'failed':
        spec.failed.push(...words.slice(1));
        break;
      case 'drained':
        spec.drained.push(...words.slice(1));
        break;
      case 'dc':
        spec.dc = words[1];
        break;
      case 'standby-now':
        spec.standbyNow.push(...words.slice(1));
        break;
      case 'meta': {
        const [key, value] = (words[2] ?? '').split('=');
        if (!key || value === undefined) throw new Error(`meta NAME KEY=VALUE: ${line}`);
        spec.meta.push({ vm: words[1] as string, key, value });
        break;
      }
      default:
        throw new Error(`unknown line: ${line}`);
    }
  }
  return spec;
}

function run(file: string, args: string[], env: Record<string, string> = {}, input?: string): string {
  return execFileSync(file, args, { env: { ...process.env, ...env }, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

function simulate(from: string, to: string, extra: string[] = []): string {
  return run('crm_simulate', ['--simulate', '--quorum', 'true', '--xml-file', from, '--save-output', to, ...extra]);
}

export function buildScenario(folder: string): void {
  const spec = parse(readFileSync(join(folder, 'spec.txt'), 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'corral-scenario-'));
  try {
    const cib = join(dir, 'cib.xml');
    writeFileSync(
      cib,
      emptyCib(spec.nodes, { stickiness: spec.stickiness }),
    );
    const env = { CIB_file: cib };
    for (const n of spec.nodes) run(join(ROOT, 'dist/bin/nodecap'), [n, '--cpus', String(spec.cpu), '--mem', `${spec.mem}m`], env);
    for (const vm of spec.vms) {
      const xml = run(join(ROOT, 'dist/bin/create_domxml'), ['--name', vm.name, '--cpus', String(vm.cpu), '--mem', `${vm.mem}m`, '--virt-type', 'qemu', '--bridge', 'br0']);
      run(join(ROOT, 'dist/bin/domadd'), [...vm.options, '-'], env, xml);
    }
    for (const m of spec.meta) run('crm_resource', ['--resource', `vm-${m.vm}`, '--meta', '--set-parameter', m.key, '--parameter-value', m.value], env);
    // Start each VM where the spec says: temporary INFINITY locations, one simulated transition.
    const place = CibDoc.parse(readFileSync(cib, 'utf8'));
    for (const vm of spec.vms.filter((v) => v.on)) {
      place.append(place.section('constraints'), render('<rsc_location id="{{id}}" rsc="{{rsc}}" node="{{node}}" score="INFINITY"/>', { id: `scenario-place-${vm.name}`, rsc: `vm-${vm.name}`, node: vm.on as string }));
    }
    writeFileSync(cib, place.toXml());
    const up = spec.nodes.filter((n) => !spec.offline.includes(n)).flatMap((n) => ['--node-up', n]);
    const placed = join(dir, 'placed.xml');
    simulate(cib, placed, up);
    const settled = CibDoc.parse(readFileSync(placed, 'utf8'));
    for (const vm of spec.vms.filter((v) => v.on)) settled.remove(settled.byId(`scenario-place-${vm.name}`) as Element);
    for (const n of spec.standby) setNodeAttribute(settled, n, 'standby', 'on');
    for (const n of spec.drained) {
      setNodeAttribute(settled, n, 'standby', 'on');
      setNodeAttribute(settled, n, DRAINED_ATTR, spec.vms.filter((v) => v.on === n).map((v) => v.name).join(' '));
      setNodeAttribute(settled, n, 'corral-drain-state', 'drained');
    }
    writeFileSync(placed, settled.toXml());
    let current = placed;
    for (const vm of spec.failed) {
      const node = spec.vms.find((v) => v.name === vm)?.on;
      const next = join(dir, `failed-${vm}.xml`);
      simulate(current, next, ['--op-inject', `vm-${vm}_monitor_10000@${node}=7`]);
      current = next;
    }
    const final = join(folder, 'cib.xml');
    simulate(current, final);
    if (spec.dc) {
      const id = spec.nodes.indexOf(spec.dc) + 1;
      if (id < 1) throw new Error(`dc ${spec.dc}: no such node`);
      writeFileSync(final, readFileSync(final, 'utf8').replace(/<cib /, `<cib dc-uuid="${id}" `));
    }
    // Settled: one more run wants nothing.
    const again = run('crm_simulate', ['--simulate', '--quorum', 'true', '--xml-file', final]);
    const summary = again.split('Transition Summary:')[1]?.split('Executing Cluster Transition:')[0]?.trim() ?? '';
    if (summary) throw new Error(`${folder}: the snapshot is not settled:\n${summary}`);
    for (const n of spec.standbyNow) run('crm_attribute', ['--node', n, '--name', 'standby', '--update', 'on'], { CIB_file: final });
    const mon = run('crm_mon', ['--one-shot', '--inactive', '--exclude=times'], { CIB_file: final });
    writeFileSync(join(folder, 'crm_mon.txt'), `${mon.trim()}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const wanted = process.argv.slice(2);
  const folders = wanted.length ? wanted : readdirSync(HERE, { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('spec.txt')).map((p) => join(HERE, p, '..'));
  for (const f of folders) {
    if (!existsSync(join(f, 'spec.txt'))) throw new Error(`${f} has no spec.txt`);
    buildScenario(f);
    process.stdout.write(`built ${f}\n`);
  }
}
