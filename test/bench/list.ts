// `corral list` on a generated CIB with 1000 VMs (and hosts, for scale), timed the way a user
// sees it: the built command, a fresh process each time, CIB_file pointing at the CIB. Printed by
// npm run bench (test/bench/run.ts calls benchList) or alone: npx tsx test/bench/list.ts.
//
// The CIB is built from real parts so that it weighs what a real one would:
//   - every VM is domadd's own primitive (lib/cib/shapes.ts) holding a production-sized domain XML
//     (create_domxml --cpus 16 --mem 8g --ovs vh --iface 150 --disk … | fixup_domxml -, renamed);
//   - a tenth are pinned, and 50 groups of four keep apart (--pin, --group-apart);
//   - the status section repeats, per VM and node, the lrm entries Pacemaker wrote for web1 in
//     the recorded lab (test/fixtures/recorded/steady): start + recurring monitor where it runs, a
//     "not running" probe everywhere else, as Pacemaker probes every resource on every node.
// The figure to meet: under 0.5 s wall for 1000 VMs on 8 nodes (medians of BENCH_LIST_RUNS runs).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configForCib } from '../../lib/cib/config.js';
import { apartXml, pinXml, primitiveXml, tagXml } from '../../lib/cib/shapes.js';
import { DomainDoc } from '../../lib/domain/doc.js';
import { run, runOk } from '../../lib/host/exec.js';
import { median } from './common.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = path.join(ROOT, 'dist/bin');
const MEASURE = path.join(ROOT, 'test/bench/measure.mjs');
const RUNS = Number(process.env.BENCH_LIST_RUNS ?? 10);


/** The recorded lrm entries of web1: where it runs, and a probe on a node where it does not. */
async function recordedEntries(): Promise<{ running: string; probe: string; nodeState: string }> {
  const cib = await readFile(path.join(ROOT, 'test/fixtures/recorded/steady/cib.xml'), 'utf8');
  const entries = [...cib.matchAll(/<lrm_resource id="vm-web1"[^>]*>[\s\S]*?<\/lrm_resource>/g)].map((m) => m[0]);
  const running = entries.find((e) => /operation="start"/.test(e));
  const probe = entries.find((e) => /operation="monitor"[^>]*rc-code="7"|rc-code="7"[^>]*operation="monitor"/.test(e) && !/operation="start"/.test(e));
  const nodeState = /<node_state [^>]*>/.exec(cib)?.[0];
  if (!running || !probe || !nodeState) throw new Error('the recorded steady CIB lacks the entries the bench copies');
  return { running, probe, nodeState };
}

export async function generateCib(vms: number, nodes: number): Promise<string> {
  const domain = (await runOk(path.join(BIN, 'fixup_domxml'), ['-'], {
    input: (await runOk(path.join(BIN, 'create_domxml'), ['--name', 'gum', '--cpus', '16', '--mem', '8g', '--ovs', 'vh', '--iface', '150', '--disk', '/dev/vm/gum', '/dev/data/gum'])).stdout,
  })).stdout;
  const template = configForCib(DomainDoc.parse(domain));
  const uuid = /<uuid>([^<]+)<\/uuid>/.exec(template)?.[1] ?? '';
  const macs = [...template.matchAll(/address="(52:54:00:[^"]+)"/g)].map((m) => m[1] as string);
  const rec = await recordedEntries();
  const nodeNames = Array.from({ length: nodes }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);
  const names = Array.from({ length: vms }, (_, i) => `vm${String(i + 1).padStart(4, '0')}`);

  const resources: string[] = [];
  const constraints: string[] = [];
  const tags: string[] = [];
  const lrm = nodeNames.map(() => [] as string[]);
  let call = 10;
  names.forEach((name, i) => {
    const rid = `vm-${name}`;
    let config = template.split('gum').join(name).split(uuid).join(randomUUID());
    for (const [k, mac] of macs.entries()) config = config.split(mac).join(`52:54:01:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:${k.toString(16).padStart(2, '0')}`);
    resources.push(primitiveXml({ id: rid, config, cpu: 2, hvMemoryMiB: 4096, ...(i % 7 === 0 ? { priority: 10 } : {}) }).xml);
    const home = i % nodes;
    if (i % 10 === 0) constraints.push(pinXml(rid, nodeNames[home] as string).xml);
    nodeNames.forEach((node, n) => {
      const entry = (n === home ? rec.running : rec.probe)
        .split('vm-web1')
        .join(rid)
        .replace(/on_node="[^"]*"/g, `on_node="${node}"`)
        .replace(/call-id="\d+"/g, () => `call-id="${call++}"`);
      (lrm[n] as string[]).push(entry);
    });
  });
  for (let g = 0; g < 50 && g * 4 + 4 <= vms; g++) {
    const members = names.slice(g * 4, g * 4 + 4).map((n) => `vm-${n}`);
    tags.push(tagXml(`grp${g}`, members).xml);
    constraints.push(apartXml(`grp${g}`, '-1000').xml);
  }
  const nodeXml = nodeNames
    .map((n, i) => `<node id="${i + 1}" uname="${n}"><utilization id="nodes-${i + 1}-utilization"><nvpair id="nodes-${i + 1}-utilization-cpu" name="cpu" value="256"/><nvpair id="nodes-${i + 1}-utilization-hv_memory" name="hv_memory" value="1048576"/></utilization></node>`)
    .join('\n');
  const states = nodeNames
    .map((n, i) =>
      rec.nodeState.replace(/ id="[^"]*"/, ` id="${i + 1}"`).replace(/uname="[^"]*"/, `uname="${n}"`) +
      `\n<lrm id="${i + 1}"><lrm_resources>\n${(lrm[i] as string[]).join('\n')}\n</lrm_resources></lrm></node_state>`,
    )
    .join('\n');
  return (
    `<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="100" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">\n` +
    `<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">` +
    `<nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="true"/>` +
    `<nvpair id="cib-bootstrap-options-placement-strategy" name="placement-strategy" value="balanced"/>` +
    `</cluster_property_set></crm_config>\n<nodes>\n${nodeXml}\n</nodes>\n<resources>\n${resources.join('\n')}\n</resources>\n` +
    `<constraints>\n${constraints.join('\n')}\n</constraints>\n<tags>\n${tags.join('\n')}\n</tags>\n</configuration>\n` +
    `<status>\n${states}\n</status>\n</cib>\n`
  );
}

interface Timed {
  wallMs: number;
  cpuMs: number;
}

async function measure(cmd: string, args: string[], env: Record<string, string>, n = RUNS): Promise<Timed> {
  const r = await runOk(process.execPath, [MEASURE, String(n), cmd, ...args], { env, timeoutMs: 600_000 });
  const runs = JSON.parse(r.stdout) as (Timed & { code: number; stderr: string })[];
  const bad = runs.find((x) => x.code !== 0);
  if (bad) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${bad.code}: ${bad.stderr}`);
  return { wallMs: median(runs.map((x) => x.wallMs)), cpuMs: median(runs.map((x) => x.cpuMs)) };
}

export async function benchList(): Promise<boolean> {
  if (!existsSync(path.join(BIN, 'corral'))) throw new Error('run npm run build first');
  const dir = await mkdtemp(path.join(tmpdir(), 'corral-bench-list-'));
  // A copy of the command: a build started meanwhile empties dist/.
  const corral = path.join(dir, 'corral');
  await copyFile(path.join(BIN, 'corral'), corral);
  await chmod(corral, 0o755);
  try {
    console.log(`\ncorral list on generated CIBs (CIB_file; a fresh process per run; medians of ${RUNS})`);
    console.log(`${'VMs'.padStart(6)}${'nodes'.padStart(7)}${'CIB MB'.padStart(8)}  ${'list wall'.padStart(10)}${'cpu'.padStart(7)}  ${'--json'.padStart(8)}  ${'| cibadmin -Q'.padStart(13)}${'crm_mon'.padStart(9)}`);
    let met = true;
    for (const [vms, nodes] of [
      [1000, 8],
      [1000, 16],
      [200, 8],
    ] as const) {
      const file = path.join(dir, `cib-${vms}-${nodes}.xml`);
      await writeFile(file, await generateCib(vms, nodes));
      const env = { CIB_file: file };
      const check = await run(corral, ['list'], { env, timeoutMs: 60_000 });
      const rows = check.stdout.split('\n').length - 1;
      if (check.exitCode !== 0 || rows !== vms || !/running/.test(check.stdout)) throw new Error(`corral list on ${file} printed ${rows} rows (exit ${check.exitCode}): ${check.stderr}`);
      const list = await measure(corral, ['list'], env);
      const json = await measure(corral, ['list', '--json'], env);
      const cib = await measure('cibadmin', ['--query'], env, 3);
      const mon = await measure('crm_mon', ['--one-shot', '--inactive', '--output-as=xml'], env, 3);
      const mb = (await readFile(file)).length / 1e6;
      const f = (x: number) => x.toFixed(0);
      console.log(
        `${String(vms).padStart(6)}${String(nodes).padStart(7)}${mb.toFixed(1).padStart(8)}  ${`${f(list.wallMs)} ms`.padStart(10)}${f(list.cpuMs).padStart(7)}  ${`${f(json.wallMs)} ms`.padStart(8)}  ${`| ${f(cib.wallMs)} ms`.padStart(13)}${`${f(mon.wallMs)} ms`.padStart(9)}`,
      );
      if (vms === 1000 && nodes === 8 && list.wallMs >= 500) met = false;
    }
    console.log('cibadmin -Q and crm_mon on the same file, for scale: what the query alone costs on the Pacemaker side.');
    console.log(`goal: corral list on 1000 VMs (8 nodes) under 500 ms: ${met ? 'met' : 'NOT met'}`);
    return met;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchList().then(
    (ok) => {
      process.exitCode = ok ? 0 : 1;
    },
    (e: unknown) => {
      console.error(`bench list: ${(e as Error).stack ?? e}`);
      process.exit(2);
    },
  );
}
