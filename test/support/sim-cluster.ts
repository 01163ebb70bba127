// The simulated cluster: the cluster port (lib/host/pacemaker/cluster-port.ts) over a CIB file and
// Pacemaker's own scheduler, under a virtual clock. Every sleep of the executor advances the clock
// and lets the cluster work: when the scheduler wants something, one transition runs (crm_simulate
// -x CIB -S -O OUT: the transition executed, its results written into the copy's status), and the
// copy becomes the CIB. Nothing really waits; every decision is Pacemaker's.
//
// CIB changes go through the real cibadmin (CIB_file on the simulated CIB: the patch's version
// check is Pacemaker's own) and crm_verify; snapshots are read as the product reads them.
//
// Faults to inject:
//   fail RSC_TASK_INTERVAL@NODE=RC   crm_simulate --op-fail: that action fails in the first
//                                    transition that runs it (e.g. vm-a_migrate_to_0@n1=1)
//   crash NODE at TRANSITION         NODE fails (crm_simulate --node-fail) as transition N starts
//   no-return NODE                   a reboot of NODE never comes back
//   race before|after WRITE node NODE NAME VALUE|-     another writer changes the CIB just before
//   race before|after WRITE option NAME VALUE|-        (or just after) corral's CIB write WRITE
//   interrupt after WRITE            the command's process dies right after its CIB write WRITE:
//                                    every later call of the port fails (Interrupted) until
//                                    revive(), which lets the cluster run on for a while first
//
// Everything that happens is a line of the log, stamped with the virtual time.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CibDoc } from '../../lib/cib/edit.js';
import { setClusterOption, setNodeAttribute } from '../../lib/cib/nodes.js';
import type { CibVersion } from '../../lib/cib/patch.js';
import { readXml } from '../../lib/xml/read.js';
import type { XNode } from '../../lib/cib/model.js';
import type { ClusterPort } from '../../lib/host/pacemaker/cluster-port.js';
import { verifyCibFile } from '../../lib/host/pacemaker/cib.js';
import { simulate } from '../../lib/host/pacemaker/simulate.js';

const exec = promisify(execFile);

interface Race {
  when: 'before' | 'after';
  write: number;
  kind: 'node' | 'option';
  node?: string;
  name: string;
  value: string | undefined;
}

export interface Faults {
  interrupt: number[];
  opFail: string[];
  crash: { node: string; at: number }[];
  noReturn: string[];
  race: Race[];
}

/** The faults file of a scenario (see the top), one fault a line, "#" starts a comment. */
export function parseFaults(text: string): Faults {
  const f: Faults = { interrupt: [], opFail: [], crash: [], noReturn: [], race: [] };
  for (const raw of text.split('\n')) {
    const w = raw.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    if (!w.length) continue;
    if (w[0] === 'fail' && w[1]) f.opFail.push(w[1]);
    else if (w[0] === 'crash' && w[1] && w[2] === 'at') f.crash.push({ node: w[1], at: Number(w[3]) });
    else if (w[0] === 'no-return' && w[1]) f.noReturn.push(w[1]);
    else if (w[0] === 'interrupt' && w[1] === 'after' && w[2]) f.interrupt.push(Number(w[2]));
    else if (w[0] === 'race' && (w[1] === 'before' || w[1] === 'after') && (w[3] === 'node' || w[3] === 'option')) {
      const node = w[3] === 'node' ? w[4] : undefined;
      const rest = w.slice(w[3] === 'node' ? 5 : 4);
      if (!rest[0] || rest[1] === undefined) throw new Error(`faults: ${raw}`);
      f.race.push({ when: w[1], write: Number(w[2]), kind: w[3], ...(node ? { node } : {}), name: rest[0], value: rest[1] === '-' ? undefined : rest[1] });
    } else throw new Error(`faults: unknown line: ${raw}`);
  }
  return f;
}

/** The virtual clock starts here (2030-01-01): after every operation record of a built CIB. */
const EPOCH_MS = Date.UTC(2030, 0, 1);
/** How long a rebooted node stays away. */
const BOOT_MS = 10_000;

/** What the configuration says, one label per element with an id: "n1 standby=on", "cluster migration-limit=4", "location vm-a n2 INFINITY". */
function configItems(xml: string): Map<string, string> {
  const root = readXml(xml, 'the simulated CIB');
  const out = new Map<string, string>();
  const walk = (n: XNode, owner: string) => {
    if (n.tag === 'status') return;
    const id = n.attrs.id;
    if (n.tag === 'node' && n.attrs.uname) owner = n.attrs.uname;
    else if (n.tag === 'crm_config') owner = 'cluster';
    else if (n.tag === 'primitive' && id) owner = id;
    if (id && n.tag === 'nvpair') out.set(id, `${owner} ${n.attrs.name}=${n.attrs.value ?? ''}`);
    else if (id && n.tag === 'rsc_location') {
      // A plain one (node and score), or crm_resource's with a rule (#uname eq NODE, a lifetime).
      const rule = n.children.find((c) => c.tag === 'rule');
      const expr = rule?.children.find((c) => c.tag === 'expression' && c.attrs.attribute === '#uname');
      const until = rule?.children.some((c) => c.tag === 'date_expression') ? ' (with a lifetime)' : '';
      const where = n.attrs.node ?? (expr ? `${expr.attrs.operation === 'ne' ? 'not ' : ''}${expr.attrs.value}` : '?');
      out.set(id, `location ${n.attrs.rsc} ${where} ${n.attrs.score ?? rule?.attrs.score ?? '?'}${until}`);
    }
    else if (id && n.tag.startsWith('rsc_')) out.set(id, `${n.tag} ${id}`);
    for (const c of n.children) walk(c, owner);
  };
  walk(root, '');
  return out;
}

/** What a write changed in the configuration, one short phrase per item. */
function describeChange(before: string, after: string): string {
  const a = configItems(before);
  const b = configItems(after);
  const out: string[] = [];
  for (const [id, v] of b) if (a.get(id) !== v) out.push(`${a.has(id) ? '~' : '+'}${v}`);
  for (const [id, v] of a) if (!b.has(id)) out.push(`-${v}`);
  return out.sort().join(', ') || 'nothing';
}

function versionOf(xml: string): CibVersion {
  const root = /<cib\b[^>]*>/.exec(xml)?.[0] ?? '';
  const num = (name: string) => Number(new RegExp(`\\s${name}="(\\d+)"`).exec(root)?.[1] ?? 0);
  return { adminEpoch: num('admin_epoch'), epoch: num('epoch'), numUpdates: num('num_updates') };
}

/** What every call of the port throws once the command's process is gone (the fault interrupt). */
export class Interrupted extends Error {
  override name = 'Interrupted';
}

export interface SimCluster extends ClusterPort {
  log: string[];
  /** The command's process is gone (interrupt): it says nothing more. */
  dead(): boolean;
  /** A new process: the cluster first runs on for MS of virtual time (nodes come back, transitions end). */
  revive(ms: number): Promise<void>;
  /** The CIB now. */
  xml(): string;
  /** Stops with the removal of the scratch directory. */
  close(): Promise<void>;
}

/** A simulated cluster starting from the CIB CIBXML, with FAULTS. */
export async function simCluster(cibXml: string, faults: Faults = parseFaults('')): Promise<SimCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'corral-sim-'));
  const file = join(dir, 'cib.xml');
  let xml = cibXml;
  let clock = EPOCH_MS;
  let transitions = 0;
  let writes = 0;
  let files = 0;
  const log: string[] = [];
  const opFail = [...faults.opFail];
  const races = [...faults.race];
  /** The races due around write N (each happens once). */
  const due = (when: Race['when'], n: number): Race[] => {
    const now = races.filter((r) => r.when === when && r.write === n);
    for (const r of now) races.splice(races.indexOf(r), 1);
    return now;
  };
  const marks = new Map<string, string>();
  const downs = new Map<string, number>(); // node → when it comes back (Infinity: never)
  const wants = new Map<string, boolean>();
  const stamp = () => `[${((clock - EPOCH_MS) / 1000).toFixed(1).padStart(6)}s]`;
  const say = (line: string) => log.push(`${stamp()} ${line}`);

  async function save(text: string): Promise<void> {
    xml = text;
    await writeFile(file, xml);
  }
  await save(xml);

  async function scratch(text: string): Promise<string> {
    const f = join(dir, `copy-${files++}.xml`);
    await writeFile(f, text, { mode: 0o600 });
    return f;
  }

  /** Runs crm_simulate -S on the CIB with EXTRA; the CIB becomes its output. Returns its text output. */
  async function transition(extra: string[]): Promise<string> {
    const out = join(dir, `out-${files++}.xml`);
    const wallBefore = Math.floor(Date.now() / 1000) - 2;
    const r = await exec('crm_simulate', ['--simulate', '--quorum', 'true', '--xml-file', file, '--save-output', out, ...extra], { maxBuffer: 1 << 26 }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`crm_simulate failed: ${e.stderr || e.message}`);
    });
    // Operation records carry the wall clock; the cluster lives on the virtual one: what this run
    // wrote (a time within it) is moved to now on the virtual clock.
    const wallAfter = Math.floor(Date.now() / 1000) + 2;
    const fresh = (v: string) => Number(v) >= wallBefore && Number(v) <= wallAfter;
    const at = String(Math.floor(clock / 1000));
    const text = (await readFile(out, 'utf8'))
      .replace(/(last-rc-change|last-run)="(\d+)"/g, (m, k: string, v: string) => (fresh(v) ? `${k}="${at}"` : m))
      .replace(/(name="last-failure-[^"]*" value=")(\d+)"/g, (m, k: string, v: string) => (fresh(v) ? `${k}${at}"` : m));
    await save(text);
    return r.stdout;
  }

  /** Whether the scheduler wants any action on the CIB as it is. */
  async function wantsAction(): Promise<boolean> {
    const known = wants.get(xml);
    if (known !== undefined) return known;
    const sim = await simulate(await scratch(xml));
    const answer = sim.actions.length > 0;
    wants.set(xml, answer);
    return answer;
  }

  /** The work of the sleepers so far, one after the other. */
  let working: Promise<void> = Promise.resolve();
  /** When a sleep of MS from now ends. */
  const sleptFrom = (ms: number) => clock + ms;

  /** Whatever is due: nodes coming back, then at most one transition. */
  async function work(): Promise<void> {
    for (const [node, upAt] of [...downs]) {
      if (upAt > clock) continue;
      downs.delete(node);
      await transition(['--node-up', node]);
      say(`${node} is back in the cluster`);
    }
    const crash = faults.crash.filter((c) => c.at === transitions + 1);
    if (!crash.length && !(await wantsAction())) return;
    transitions++;
    const extra: string[] = [];
    for (const c of crash) {
      extra.push('--node-fail', c.node);
      for (const k of [...marks.keys()]) if (k.startsWith(`${c.node}\u0000`)) marks.delete(k);
      say(`${c.node} crashes`);
    }
    for (const f of opFail) extra.push('--op-fail', f);
    const out = await transition(extra);
    const actions = [...out.matchAll(/\* Resource action:\s+(\S+)\s+(\S+) on (\S+)/g)].map((m) => ({ rsc: m[1] as string, task: m[2] as string, node: m[3] as string }));
    const summary = out.split('Transition Summary:')[1]?.split('Executing Cluster Transition:')[0] ?? '';
    const lines = summary
      .split('\n')
      .map((l) => l.replace(/^\s*\*\s*/, '').replace(/\s+/g, ' ').trim())
      .filter(Boolean);
    say(`transition ${transitions}: ${lines.join('; ') || 'no resource action'}`);
    for (const f of [...opFail]) {
      const m = /^(.+)_([a-z_]+)_(\d+)@([^=]+)=(\d+)$/.exec(f);
      if (m && actions.some((a) => a.rsc === m[1] && a.task === m[2] && a.node === m[4])) {
        opFail.splice(opFail.indexOf(f), 1);
        say(`  ${m[1]} ${m[2]} on ${m[4]} fails (rc ${m[5]})`);
      }
    }
  }

  /** Another writer's change (a race), written straight to the CIB file. */
  async function otherWriter(r: Race): Promise<void> {
    const cd = CibDoc.parse(xml);
    if (r.kind === 'node') setNodeAttribute(cd, r.node as string, r.name, r.value);
    else setClusterOption(cd, r.name, r.value);
    const v = versionOf(xml);
    await save(cd.toXml().replace(/(<cib\b[^>]*\sepoch=")(\d+)"/, `$1${v.epoch + 1}"`));
    say(`another writer: ${r.kind === 'node' ? `${r.node} ` : ''}${r.name}=${r.value ?? '(removed)'}`);
  }

  const run = (f: string, args: readonly string[], o: { timeoutMs: number; input?: string }) =>
    new Promise<{ exitCode: number; stdout: string; stderr: string; command: string; timedOut: boolean; failedToStart: boolean }>((resolve) => {
      const child = execFile(f, [...args], { env: { ...process.env, CIB_file: file }, timeout: o.timeoutMs, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ exitCode: code, stdout, stderr, command: [f, ...args].join(' '), timedOut: false, failedToStart: false });
      });
      if (o.input !== undefined) child.stdin?.end(o.input);
      else child.stdin?.end();
    });

  /** crm_resource ARGS on the simulated CIB, said as WHAT. */
  async function request(what: string, args: string[]): Promise<void> {
    alive();
    const before = xml;
    const r = await run('crm_resource', args, { timeoutMs: 60_000 });
    if (r.exitCode !== 0) throw new Error(`crm_resource ${args.join(' ')} failed: ${r.stderr.trim()}`);
    xml = await readFile(file, 'utf8');
    say(`request: ${what}: ${describeChange(before, xml)}`);
  }

  let dead = false;
  const alive = () => {
    if (dead) throw new Interrupted('the command was interrupted');
  };

  /** What Pacemaker's cleanup and refresh do to a resource: its operation history and fail counts go, so it is probed. */
  const forget = async (id: string, what: string): Promise<void> => {
    alive();
    const esc = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await save(xml.replace(new RegExp(`<lrm_resource id="${esc}"[\\s\\S]*?</lrm_resource>`, 'g'), '').replace(new RegExp(`<nvpair [^>]*name="(fail-count|last-failure)-${esc}(#[^"]*)?"[^>]*/>`, 'g'), ''));
    say(`request: ${what} ${id}`);
  };
  const port: SimCluster = {
    log,
    dead: () => dead,
    revive: async (ms) => {
      dead = false;
      if (ms > 0) say(`the cluster runs on for ${ms / 1000} s`);
      for (let t = 0; t < ms; t += 1000) {
        clock += 1000;
        await work();
      }
    },
    xml: () => xml,
    close: () => rm(dir, { recursive: true, force: true }),
    query: async () => (alive(), xml),
    settled: async () => (alive(), !(await wantsAction())),
    cib: {
      query: async () => xml,
      verify: async (text) => verifyCibFile(await scratch(text)),
      version: async () => versionOf(xml),
      lock: async () => async () => {},
      patch: async (patch) => {
        alive();
        const n = writes + 1;
        for (const r of due('before', n)) await otherWriter(r);
        const before = xml;
        const r = await run('cibadmin', ['--patch', '--xml-pipe'], { timeoutMs: 60_000, input: patch });
        if (r.exitCode === 103 || /older than existing configuration/i.test(r.stderr)) {
          say(`CIB write ${n} refused: the CIB changed since it was read`);
          return 'conflict';
        }
        if (r.exitCode !== 0) throw new Error(`cibadmin --patch failed: ${r.stderr.trim()}`);
        writes = n;
        xml = await readFile(file, 'utf8');
        say(`CIB write ${n}: ${describeChange(before, xml)}`);
        for (const x of due('after', n)) await otherWriter(x);
        if (faults.interrupt.includes(n)) {
          dead = true;
          say(`the command is interrupted after CIB write ${n}`);
        }
        return 'applied';
      },
    },
    simulate: async (text, opts = {}) => {
      alive();
      const out = join(dir, `sim-${files++}.xml`);
      const sim = await simulate(await scratch(text), { ...(opts.nodesFailed ? { nodesFailed: opts.nodesFailed } : {}), ...(opts.output ? { saveOutput: out } : {}) });
      return opts.output ? { sim, after: await readFile(out, 'utf8') } : { sim };
    },
    setNodeMark: async (node, name, value) => (alive(), void marks.set(`${node}\u0000${name}`, value)),
    getNodeMark: async (node, name) => (alive(), marks.get(`${node}\u0000${name}`)),
    reboot: async (node, argv) => {
      alive();
      say(`reboot ${node}: ${argv.join(' ')}`);
      for (const k of [...marks.keys()]) if (k.startsWith(`${node}\u0000`)) marks.delete(k);
      await transition(['--node-down', node]);
      const never = faults.noReturn.includes(node);
      downs.set(node, never ? Number.POSITIVE_INFINITY : clock + BOOT_MS);
      say(`${node} is down${never ? ' (and will not come back)' : ''}`);
    },
    libvirtAnswers: async (node) => (alive(), !downs.has(node)),
    // vm's requests: crm_resource itself on the CIB file (a move's lifetime is on the real clock,
    // as crm_simulate reads date rules); a cleanup, which crm_resource will not do on a file, is
    // what Pacemaker's does: the resource's operation history and fail counts go, so it is probed.
    resources: {
      setMeta: async (id, name, value) => request(`${id} ${name}=${value}`, ['--resource', id, '--meta', '--set-parameter', name, '--parameter-value', value]),
      move: async (id, o) => request(`move ${id}${o.node ? ` to ${o.node}` : ''}${o.lifetime ? ` for ${o.lifetime}` : ''}`, ['--move', '--resource', id, ...(o.node ? ['--node', o.node] : []), ...(o.lifetime ? ['--lifetime', o.lifetime] : [])]),
      clear: async (id) => request(`clear ${id}`, ['--clear', '--resource', id]),
      cleanup: async (id) => forget(id, 'cleanup'),
      // Pacemaker's refresh forgets the history on every node; so does the simulated cleanup.
      refresh: async (id) => forget(id, 'refresh'),
    },
    now: () => clock,
    // Sleepers may wait side by side (a group's nodes coming back): each wakes at its own time
    // (the clock never runs back nor adds up their waits), and what is due is done once, in turn.
    sleep: async (ms) => {
      alive();
      clock = Math.max(clock, sleptFrom(ms));
      const run = working.then(work);
      working = run.catch(() => undefined);
      await run;
    },
  };
  return port;
}
