// Runs one agent scenario (test/scenarios/agent/<case>/steps) against the simulated host
// (sim-host.ts) and returns its log: every port call of every agent run, the world's events, each
// run's exit, and where everything is at the end. The agent runs exactly as the built executable
// does (lib/vm/fast-path.ts, then lib/vm/agent.ts), with the simulated node as its host.
//
// steps, one statement a line ("#" starts a comment), each optionally prefixed with "at TIME" (not
// before that virtual time) and "on NODE" (default n1; the world has nodes n1 and n2):
//
//   config NAME [signal] [log=/PATH]   the resource's configuration: domain NAME (qemu, a serial
//                             console), with a startup_signal channel if "signal", the serial console
//                             logging to /PATH if given; the default is "config gum"
//   config NAME local         storage=local: domain NAME with the file disk /var/lib/libvirt/images/NAME.qcow2 (vda)
//   config NAME rbd           domain NAME on the RBD image corral-vms/NAME (vda), as client.corral
//                             with the libvirt secret RBD_SECRET
//   ceph key USER             this node has /etc/ceph/ceph.client.USER.keyring
//   ceph secret USER          libvirt here has the secret RBD_SECRET of client.USER
//   config broken | config none | config /PATH
//   domain NAME [state=S] [owner=RES|owner=none]   libvirt runs NAME here, as start left it
//   qemu NAME                 a qemu process runs NAME here, unknown to libvirt
//   recorded NAME [resource=RES] [phase=P]         what start recorded for the resource here
//   libvirtd up | down | hangs                     (hangs: every call runs into its timeout)
//   disk PATH [size=SIZE]     a disk image file here (SIZE in MiB, default 256)
//   pool DIR                  libvirt here has an active storage pool for DIR
//   guest NAME ignores ACPI | ignores SIGTERM | never signals | signals after TIME | powers off after TIME
//              | cannot be killed          (its qemu hangs in the kernel: no signal ends it, destroy fails)
//   create takes TIME | create hangs | create fails: MESSAGE
//   capabilities take TIME    libvirt's first probe of the emulator
//   kvm root-only             /dev/kvm exists but libvirt's QEMU cannot open it (not set up by udev)
//   migration takes TIME | migration hangs | migration fails after TIME: MESSAGE
//   migration fails after switchover at TIME: MESSAGE   (the guest runs on the target, virsh reports an error)
//   run ACTION [timeout=T] [interval=T] [target=NODE] [source=NODE] [resource=RES|-] [full] [PARAM=VALUE…] [&]
//                             an agent run, as pacemaker-execd starts it; the next statement waits
//                             for it to end unless it ends with "&"; "full" skips the fast paths
//   kill ACTION               pacemaker-execd kills the run (SIGKILL to its process group)
//
// Besides the log the runner checks the safety rules on the world's truth, after every run:
//   1. a monitor that answers "not running" (7) while the domain is here;
//   2. a stop that succeeds while the domain is here;
//   3. a domain here at the end of the scenario after a stop succeeded (and no start came since);
//   4. a run that does not end within its timeout (it is then killed, as pacemaker-execd would);
//   5. the guest running on two nodes at once (the world checks at every change), a migrate_to
//      that succeeds while the domain is still on the source, a migrate_from that succeeds
//      while it is not on the target;
//   6. an exit code outside OCF's, or a failure without an ocf-exit-reason.
// Each breach is a "VIOLATION rule N" line in the log and in violations.
import { DomainDoc } from '../../lib/domain/doc.js';
import { OCF } from '../../lib/ocf/exit.js';
import { runAction } from '../../lib/vm/agent.js';
import { fastPath } from '../../lib/vm/fast-path.js';
import { transientDomainSpec } from '../../lib/ocf/transient-domain.js';
import { prepareForCreate } from '../../lib/vm/prepare.js';
// Loaded before any run, so that no run waits on the module loader (real time) between port calls.
import '../../lib/vm/start.js';
import '../../lib/vm/stop.js';
import '../../lib/vm/monitor.js';
import '../../lib/vm/migrate.js';
import { EPOCH, seconds, SimWorld, uuidFor, type SimNode, type SimProcess } from './sim-host.js';

export interface ScenarioResult {
  log: string;
  violations: string[];
}

const CODE_NAMES = new Map<number, string>(Object.entries(OCF).map(([k, v]) => [v, `OCF_${k}`]));

/** "5s", "500ms", "1.5s", "2min" in milliseconds. */
export function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|min)$/.exec(text);
  if (!m) throw new Error(`not a duration: "${text}" (expected e.g. 500ms, 5s, 2min)`);
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, min: 60_000 }[m[2] as 'ms' | 's' | 'min']);
}

/** The libvirt secret of the RBD scenarios' client.corral. */
const RBD_SECRET = '5b0e8f9a-2c1d-4e3f-8a7b-6c5d4e3f2a1b';

export function configXml(name: string, signal = false, log?: string, localDisk?: string, rbd = false): string {
  const disk = localDisk
    ? `<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="${localDisk}"/><target dev="vda" bus="virtio"/></disk>`
    : rbd
      ? `<disk type="network" device="disk"><driver name="qemu" type="raw" cache="writeback"/><auth username="corral"><secret type="ceph" uuid="${RBD_SECRET}"/></auth><source protocol="rbd" name="corral-vms/${name}"/><target dev="vda" bus="virtio"/></disk>`
      : '';
  const channel = signal ? '<channel type="unix"><target type="virtio" name="startup_signal"/></channel>' : '';
  const logEl = log ? `<log file="${log}" append="on"/>` : '';
  return (
    `<domain type="qemu"><name>${name}</name><uuid>${uuidFor(name)}</uuid><memory unit="MiB">128</memory>` +
    `<os><type arch="x86_64">hvm</type></os><devices>${disk}<serial type="pty"><target port="0"/>${logEl}</serial>${channel}</devices></domain>`
  );
}

/** Where a local scenario domain's disk is. */
const localDisk = (name: string): string => `/var/lib/libvirt/images/${name}.qcow2`;

interface Run {
  proc: SimProcess;
  node: SimNode;
  action: string;
  startedAt: number;
  timeoutMs: number;
  done: boolean;
}

interface Step {
  line: string;
  at?: number;
  node: string;
  body: string;
}

function parseSteps(text: string): Step[] {
  const steps: Step[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const m = /^(?:at (\S+) )?(?:on (\S+) )?(.+)$/.exec(line)!;
    steps.push({ line, at: m[1] ? duration(m[1]) : undefined, node: m[2] ?? 'n1', body: m[3]! });
  }
  return steps;
}

function options(text: string): { flags: Set<string>; values: Map<string, string> } {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  for (const t of text.trim().split(/\s+/).filter(Boolean)) {
    const eq = t.indexOf('=');
    if (eq > 0) values.set(t.slice(0, eq), t.slice(eq + 1));
    else flags.add(t);
  }
  return { flags, values };
}

class Scenario {
  readonly world = new SimWorld();
  readonly runs: Run[] = [];
  config: string | undefined = configXml('gum');
  /** The resource's domain: the name in its last usable configuration. */
  domain = 'gum';
  signal = false;
  /** storage=local, with the disk localDisk(domain). */
  local = false;
  /** An RBD disk with <auth> (configXml's rbd). */
  rbd = false;
  /** Nodes where a stop of the domain succeeded, and no start came since. */
  readonly stoppedOn = new Set<SimNode>();

  exec(s: Step): Run | undefined {
    const node = this.world.node(s.node);
    const b = s.body;
    let m: RegExpExecArray | null;
    if ((m = /^run (\S+)(.*?)(\s+&)?$/.exec(b))) return this.start(node, m[1]!, m[2]!);
    if ((m = /^kill (\S+)$/.exec(b))) {
      const run = this.runs.find((r) => !r.done && r.node === node && r.proc.label === m![1]);
      if (!run) throw new Error(`${s.line}: no ${m[1]} runs on ${node.name}`);
      this.kill(run, 'killed (SIGKILL to its process group)');
      return undefined;
    }
    if (s.at !== undefined) this.world.say(node.name, b);
    if ((m = /^config (.+)$/.exec(b))) {
      const v = m[1]!.trim();
      if (v === 'none') this.config = undefined;
      else if (v === 'broken') this.config = `<domain type="qemu"><name>${this.domain}</name><devices>`;
      else if (v.startsWith('/')) this.config = v;
      else {
        const [name, ...rest] = v.split(/\s+/);
        this.domain = name!;
        this.signal = rest.includes('signal');
        this.local = rest.includes('local');
        this.rbd = rest.includes('rbd');
        this.config = configXml(this.domain, this.signal, rest.find((r) => r.startsWith('log='))?.slice(4), this.local ? localDisk(this.domain) : undefined, this.rbd);
      }
    } else if ((m = /^domain (\S+)(.*)$/.exec(b))) {
      const name = m[1]!;
      const o = options(m[2]!);
      const owner = o.values.get('owner') ?? `vm-${name}`;
      const base = DomainDoc.parse(configXml(name, name === this.domain && this.signal, undefined, name === this.domain && this.local ? localDisk(name) : undefined, name === this.domain && this.rbd));
      const xml = owner === 'none' ? base.toXml() : prepareForCreate(base, { consoleLogDir: '/var/log/corral/console', resource: owner }).xml;
      node.addDomain(xml, o.values.get('state')?.replace(/-/g, ' ') ?? 'running');
    } else if ((m = /^qemu (\S+)$/.exec(b))) {
      node.startQemu(m[1]!, uuidFor(m[1]!));
    } else if ((m = /^recorded (\S+)(.*)$/.exec(b))) {
      const o = options(m[2]!);
      const resource = o.values.get('resource') ?? `vm-${m[1]}`;
      node.states.set(resource, { resource, name: m[1]!, uuid: uuidFor(m[1]!), phase: (o.values.get('phase') ?? 'running') as 'running' });
    } else if ((m = /^disk (\S+)(.*)$/.exec(b))) {
      node.files.set(m[1]!, Number(options(m[2]!).values.get('size') ?? 256) * 1024 * 1024);
    } else if ((m = /^ceph (key|secret) (\S+)$/.exec(b))) {
      if (m[1] === 'key') node.cephKeys.add(m[2]!);
      else node.cephSecrets.set(RBD_SECRET, m[2]!);
    } else if ((m = /^pool (\S+)$/.exec(b))) {
      node.pools.add(m[1]!);
    } else if ((m = /^libvirtd (up|down|hangs)$/.exec(b))) {
      node.libvirtd = m[1] as 'up' | 'down' | 'hangs';
    } else if ((m = /^guest (\S+) (.+)$/.exec(b))) {
      const g = this.world.guest(m[1]!);
      const what = m[2]!;
      let t: RegExpExecArray | null;
      if (what === 'ignores ACPI') g.ignoresAcpi = true;
      else if (what === 'ignores SIGTERM') g.ignoresTerm = true;
      else if (what === 'cannot be killed') g.unkillable = true;
      else if (what === 'never signals') g.signalMs = null;
      else if ((t = /^signals after (\S+)$/.exec(what))) g.signalMs = duration(t[1]!);
      else if ((t = /^powers off after (\S+)$/.exec(what))) g.shutdownMs = duration(t[1]!);
      else throw new Error(`${s.line}: unknown guest behaviour`);
    } else if ((m = /^create (takes (\S+)|hangs|fails: (.+))$/.exec(b))) {
      if (m[2]) node.createMs = duration(m[2]);
      else if (m[1] === 'hangs') node.createHangs = true;
      else node.createError = m[3]!;
    } else if (b === 'kvm root-only') {
      node.kvmProblem = '/dev/kvm is crw------- uid 0 gid 0: libvirt\'s QEMU (group kvm) cannot open it';
    } else if ((m = /^capabilities take (\S+)$/.exec(b))) {
      node.capsMs = duration(m[1]!);
    } else if ((m = /^migration (takes (\S+)|hangs|fails after (\S+): (.+)|fails after switchover at (\S+): (.+))$/.exec(b))) {
      if (m[2]) node.migration = { kind: 'ok', ms: duration(m[2]) };
      else if (m[1] === 'hangs') node.migration = { kind: 'hangs' };
      else if (m[3]) node.migration = { kind: 'fails', ms: duration(m[3]), message: m[4]! };
      else node.migration = { kind: 'fails-after-switchover', ms: duration(m[5]!), message: m[6]! };
    } else {
      throw new Error(`unknown step: ${s.line}`);
    }
    return undefined;
  }

  env(node: SimNode, action: string, opts: string): NodeJS.ProcessEnv {
    const spec = transientDomainSpec.actions.find((a) => a.name === (action === 'status' ? 'monitor' : action));
    const env: Record<string, string> = {
      OCF_ROOT: '/usr/lib/ocf',
      OCF_RESOURCE_INSTANCE: `vm-${this.domain}`,
      OCF_RESOURCE_TYPE: 'TransientDomain',
      OCF_RESKEY_migration_transport: 'tcp',
      OCF_RESKEY_CRM_meta_timeout: String(spec ? duration(spec.timeout) : 20_000),
    };
    if (this.config !== undefined) env.OCF_RESKEY_config = this.config;
    if (this.local) env.OCF_RESKEY_storage = 'local';
    if (action === 'monitor' || action === 'status') env.OCF_RESKEY_CRM_meta_interval = '10000';
    const o = options(opts);
    for (const f of o.flags) {
      if (f === 'full') env.CORRAL_MONITOR_FULL = '1';
      else throw new Error(`unknown run option ${f}`);
    }
    for (const [k, v] of o.values) {
      if (k === 'timeout') env.OCF_RESKEY_CRM_meta_timeout = String(duration(v));
      else if (k === 'interval') env.OCF_RESKEY_CRM_meta_interval = v === '0' ? '0' : String(duration(v));
      else if (k === 'target') {
        env.OCF_RESKEY_CRM_meta_migrate_target = v;
        env.OCF_RESKEY_CRM_meta_migrate_source ??= node.name;
      } else if (k === 'source') {
        env.OCF_RESKEY_CRM_meta_migrate_source = v;
        env.OCF_RESKEY_CRM_meta_migrate_target ??= node.name;
      } else if (k === 'resource') {
        if (v === '-') delete env.OCF_RESOURCE_INSTANCE;
        else env.OCF_RESOURCE_INSTANCE = v;
      } else if (/^(OCF_|HA_)/.test(k)) env[k] = v;
      else env[`OCF_RESKEY_${k}`] = v;
    }
    return env;
  }

  start(node: SimNode, action: string, opts: string): Run {
    const env = this.env(node, action, opts);
    const busy = this.runs.filter((r) => !r.done && r.node === node && r.action === action).length;
    const proc = this.world.process(node.name, busy ? `${action}#${busy + 1}` : action);
    const run: Run = { proc, node, action, startedAt: this.world.now, timeoutMs: Number(env.OCF_RESKEY_CRM_meta_timeout), done: false };
    this.runs.push(run);
    if (action === 'start' || action === 'migrate_from') this.stoppedOn.delete(node);
    const go = async (): Promise<{ code: number; fast: boolean }> =>
      fastPath(action, env, proc) ? { code: 0, fast: true } : { code: await runAction(action, env, proc), fast: false };
    go().then(
      (r) => this.finish(run, r.code, r.fast),
      (e: unknown) => {
        proc.say(`threw ${(e as Error).stack ?? e}`);
        this.finish(run, -1, false);
      },
    );
    // pacemaker-execd's own timeout.
    this.world.schedule(run.timeoutMs, () => {
      if (run.done) return;
      this.world.violation(`rule 4: ${proc.who} did not end within its timeout of ${run.timeoutMs / 1000} s`);
      this.kill(run, 'killed at its timeout by pacemaker-execd');
    });
    return run;
  }

  kill(run: Run, why: string): void {
    run.proc.say(why);
    run.done = true;
    run.proc.end(true);
  }

  finish(run: Run, code: number, fast: boolean): void {
    if (run.done) return; // killed: whatever it would have said, nobody hears it
    const { proc, node, action } = run;
    proc.say(`exit ${code} ${CODE_NAMES.get(code) ?? '(not an OCF exit code)'}${fast ? ' (fast path)' : ''}`);
    run.done = true;
    proc.end(false);
    const monitor = action === 'monitor' || action === 'status';
    const took = this.world.now - run.startedAt;
    if (took >= run.timeoutMs) this.world.violation(`rule 4: ${proc.who} took ${took / 1000} s, its timeout is ${run.timeoutMs / 1000} s`);
    if (!CODE_NAMES.has(code)) this.world.violation(`rule 6: ${proc.who} exited ${code}`);
    else if (code !== OCF.SUCCESS && code !== OCF.ERR_UNIMPLEMENTED && !(monitor && code === OCF.NOT_RUNNING) && proc.exitReasons.length === 0) {
      this.world.violation(`rule 6: ${proc.who} failed (${code}) without an ocf-exit-reason`);
    }
    if (monitor && code === OCF.NOT_RUNNING && node.holds(this.domain)) {
      this.world.violation(`rule 1: ${proc.who} reported "not running" while ${this.domain} is on ${node.name}`);
    }
    if (action === 'migrate_to' && code === OCF.SUCCESS && node.holds(this.domain)) {
      this.world.violation(`rule 5: ${proc.who} succeeded while ${this.domain} is still on ${node.name}`);
    }
    if (action === 'migrate_from' && code === OCF.SUCCESS && !node.holds(this.domain)) {
      this.world.violation(`rule 5: ${proc.who} succeeded while ${this.domain} is not on ${node.name}`);
    }
    if (action === 'stop' && code === OCF.SUCCESS) {
      if (node.holds(this.domain)) this.world.violation(`rule 2: ${proc.who} succeeded while ${this.domain} is on ${node.name}`);
      this.stoppedOn.add(node);
    }
  }
}

function format(lines: { at: number; text: string }[]): string[] {
  const out: string[] = [];
  // A line (or a block of up to 4 lines) repeated back to back is shown once, with a count.
  for (let i = 0; i < lines.length; ) {
    let best: { period: number; times: number } | undefined;
    for (let period = 1; period <= 4; period++) {
      let times = 1;
      while (
        i + (times + 1) * period <= lines.length &&
        lines.slice(i + times * period, i + (times + 1) * period).every((l, k) => l.text === lines[i + k]!.text)
      ) {
        times++;
      }
      if (times >= 3) {
        best = { period, times };
        break;
      }
    }
    const period = best?.period ?? 1;
    for (const l of lines.slice(i, i + period)) out.push(`${seconds(l.at)} ${l.text}`);
    if (best) {
      const last = lines[i + best.times * period - 1]!;
      const what = period === 1 ? 'the line' : `the ${period} lines`;
      out.push(`${' '.repeat(8)}… ${what} above ${best.times - 1} more time${best.times > 2 ? 's' : ''}, the last at ${seconds(last.at).trim()}`);
    }
    i += period * (best?.times ?? 1);
  }
  return out;
}

export async function runScenario(stepsText: string): Promise<ScenarioResult> {
  const sc = new Scenario();
  const { world } = sc;
  const steps = parseSteps(stepsText);
  let next = 0;
  let foreground: Run | undefined;
  const woken = new Set<number>();
  for (let guard = 0; ; guard++) {
    if (guard > 100_000 || world.now - EPOCH > 3_600_000) throw new Error('scenario runs away (over 100000 events or an hour of virtual time)');
    await world.settle();
    while (next < steps.length && !(foreground && !foreground.done)) {
      const s = steps[next]!;
      if (s.at !== undefined && world.now < EPOCH + s.at) {
        if (!woken.has(next)) world.schedule(EPOCH + s.at - world.now, () => undefined);
        woken.add(next);
        break;
      }
      next++;
      const run = sc.exec(s);
      if (run && !/\s&$/.test(s.body)) foreground = run;
      await world.settle();
    }
    const busy = sc.runs.some((r) => !r.done);
    if (next >= steps.length && !busy) break;
    if (!world.fireNext()) throw new Error('scenario stuck: runs wait on nothing');
  }
  // What is still under way in the world (a create in flight, a guest powering off) runs its course.
  for (let k = 0; world.fireNext(); k++) {
    if (k > 10_000) throw new Error('the world does not come to rest');
    await world.settle();
  }
  for (const node of sc.stoppedOn) {
    if (node.holds(sc.domain)) world.violation(`rule 3: ${sc.domain} is on ${node.name} after a stop there succeeded`);
  }
  const end = [...world.nodes.values()].map((n) => `end ${n.name}: ${n.summary()}`);
  return { log: [...format(world.lines), ...end].join('\n') + '\n', violations: world.violations };
}
