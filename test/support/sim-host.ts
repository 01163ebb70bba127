// A simulated world for the agent's host port (lib/host/agent-port.ts): nodes with a libvirtd that is
// up, down or hung, the domains libvirt runs and their qemu processes, guests that power off on
// ACPI (or ignore it) and send the startup signal (or never do), creates that take a while or hang,
// migrations that succeed or fail midway, the agent's files, and a virtual clock. Every port call
// an agent run makes is written to one log, with the virtual time.
//
// The world also knows the truth the agent can only infer, and reports a VIOLATION line whenever a
// domain runs (not just arrives paused) on two nodes at once (safety rule 5). The scenario runner
// (test/support/agent-scenario.ts) checks the other rules at the end of each run.
//
// Time only moves when every agent run waits on the world: the runner calls settle(), then fires the
// next event (fireNext). Every asynchronous port call resolves through an event, so a loop that
// forgets to sleep cannot spin outside the runner's control.
import { createHash } from 'node:crypto';
import type { CephAuth } from '../../lib/domain/rbd.js';
import type {
  CephSecretOutcome,
  AgentHost,
  Conn,
  CreateOutcome,
  DomainLookup,
  Identity,
  JobProgress,
  LogLevel,
  MigrateOptions,
  MigrateOutcome,
  RemoveOutcome,
  ResourceState,
  SignalAttempt,
} from '../../lib/host/agent-port.js';
import { quickIdentity } from '../../lib/vm/config.js';
import { isQemuFor, namesDomain } from '../../lib/host/procs.js';

/** The virtual clock starts here (epoch ms), so code that takes now() for a real clock sees one. */
export const EPOCH = Date.UTC(2026, 0, 1);

export const seconds = (t: number): string => ((t - EPOCH) / 1000).toFixed(3).padStart(7);

/** A stable uuid for a domain name, so configurations and logs do not change between runs. */
export function uuidFor(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface Guest {
  ignoresAcpi: boolean;
  ignoresTerm: boolean;
  /** Its qemu hangs in the kernel (uninterruptible I/O): no signal ends it, libvirt's destroy fails. */
  unkillable: boolean;
  /** How long the guest takes to power off once asked (ACPI). */
  shutdownMs: number;
  /** When, after qemu started, the guest sends "ready TOKEN"; null: never. */
  signalMs: number | null;
}

export type MigrationScript =
  | { kind: 'ok'; ms: number }
  | { kind: 'hangs' }
  | { kind: 'fails'; ms: number; message: string }
  /** libvirt reports an error after the guest already runs on the target. */
  | { kind: 'fails-after-switchover'; ms: number; message: string };

interface Proc {
  pid: number;
  argv: string[];
  ignoresTerm: boolean;
  unkillable: boolean;
}

interface Domain {
  name: string;
  uuid?: string;
  xml: string;
  state: string;
  pid?: number;
  startedAt: number;
  socket?: string;
  incoming?: boolean;
  powerOff?: Ev;
  job?: MigrationJob;
  /** Called when the domain goes away (its qemu ended). */
  onGone: Set<() => void>;
}

interface MigrationJob {
  /** Ends the job: the outcome decides where the domain is. */
  end(result: 'moved' | 'stays' | 'moved-but-failed', message: string): void;
  ended: boolean;
  startedAt: number;
  /** How long it takes when it goes through (undefined: it hangs). */
  ms?: number;
  /** Bytes of disks it copies (storage migration). */
  diskBytes: number;
}

const MiB = 1024 * 1024;

/** The file disks of domain XML: target → file. */
function fileDisks(xml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of xml.matchAll(/<disk\b[^>]*>([\s\S]*?)<\/disk>/g)) {
    const file = /<source file="([^"]+)"/.exec(m[1]!)?.[1];
    const dev = /<target dev="([^"]+)"/.exec(m[1]!)?.[1];
    if (file && dev) out.set(dev, file);
  }
  return out;
}

const dirOf = (file: string): string => file.slice(0, file.lastIndexOf('/')) || '/';

/** The node a libvirt URI names (qemu+tcp://n2/system → n2), or '' for a local one. */
function uriHost(uri: string): string {
  return /^[a-z0-9+]+:\/\/(?:[^@/]*@)?([^/:]*)/.exec(uri)?.[1] ?? '';
}

interface Ev {
  at: number;
  seq: number;
  fire: () => void;
  /** The agent run waiting on it: its events are skipped once the run is killed or finished. */
  owner?: SimProcess;
  cancelled?: boolean;
}

export class SimNode {
  libvirtd: 'up' | 'down' | 'hangs' = 'up';
  readonly domains = new Map<string, Domain>();
  readonly procs = new Map<number, Proc>();
  /** Creates in flight, by domain name (each holds the domain's create lock). */
  readonly creates = new Map<string, number>();
  readonly createWaiters = new Map<string, Set<() => void>>();
  readonly states = new Map<string, ResourceState>();
  readonly createXml = new Set<string>();
  /** Disk image files on this node (path → bytes), and the directories libvirt has an active storage pool for. */
  readonly files = new Map<string, number>();
  readonly pools = new Set<string>();
  /** libvirt's Ceph secrets here (uuid → client name), and the Ceph users whose key file this node has. */
  readonly cephSecrets = new Map<string, string>();
  readonly cephKeys = new Set<string>();
  createMs = 0;
  createHangs = false;
  createError?: string;
  capsMs = 0;
  /** What keeps QEMU from /dev/kvm here (the step `kvm root-only`). */
  kvmProblem?: string;
  capsReadyAt?: number;
  migration: MigrationScript = { kind: 'ok', ms: 1000 };

  constructor(
    readonly world: SimWorld,
    readonly name: string,
  ) {}

  /** Domain NAME exists here in any form libvirt or the kernel would show. */
  holds(name: string): boolean {
    return this.domains.has(name) || [...this.procs.values()].some((p) => namesDomain(p.argv, { name }));
  }

  startQemu(name: string, uuid: string | undefined): number {
    const { ignoresTerm, unkillable } = this.world.guest(name);
    const pid = this.world.nextPid++;
    const argv = ['/usr/bin/qemu-system-x86_64', '-name', `guest=${name.replace(/,/g, ',,')},debug-threads=on`, '-S'];
    if (uuid) argv.push('-uuid', uuid);
    this.procs.set(pid, { pid, argv, ignoresTerm, unkillable });
    return pid;
  }

  /** Puts domain NAME into libvirt here, running from XML, with a fresh qemu process. */
  addDomain(xml: string, state = 'running', opts: { incoming?: boolean } = {}): Domain {
    const id = quickIdentity(xml);
    if (!id) throw new Error('sim: domain XML without a name');
    // libvirt puts the startup_signal socket where the XML leaves it unset.
    const socket = /name="startup_signal"/.test(xml) ? `/run/libvirt/qemu/channel/${this.world.nextDomainId++}-${id.name}/startup_signal` : undefined;
    const live = socket
      ? xml.replace(/(<channel type="unix">)(\s*<target type="virtio" name="startup_signal"\/>)/, `$1<source mode="bind" path="${socket}"/>$2`)
      : xml;
    const d: Domain = {
      ...id,
      xml: live,
      state,
      startedAt: this.world.now,
      socket,
      incoming: opts.incoming,
      onGone: new Set(),
    };
    if (state !== 'shut off' && state !== 'crashed') d.pid = this.startQemu(id.name, id.uuid);
    this.domains.set(id.name, d);
    this.world.checkOnePlace(id.name);
    return d;
  }

  /** Domain NAME is gone from libvirt here, and its qemu with it. */
  removeDomain(name: string): void {
    const d = this.domains.get(name);
    if (!d) return;
    this.domains.delete(name);
    if (d.pid !== undefined) this.procs.delete(d.pid);
    if (d.powerOff) d.powerOff.cancelled = true;
    for (const f of [...d.onGone]) f();
    if (d.job && !d.job.ended) d.job.end('stays', `domain '${name}' is not running`);
  }

  /** A process ended: libvirt notices when it was a domain's qemu. */
  processEnded(pid: number): void {
    this.procs.delete(pid);
    for (const d of this.domains.values()) if (d.pid === pid) this.removeDomain(d.name);
  }

  endCreate(name: string): void {
    const n = (this.creates.get(name) ?? 1) - 1;
    if (n > 0) this.creates.set(name, n);
    else {
      this.creates.delete(name);
      for (const f of [...(this.createWaiters.get(name) ?? [])]) f();
    }
  }

  /** One line per node for the end of a scenario. */
  summary(): string {
    const parts: string[] = [];
    if (this.libvirtd !== 'up') parts.push(`libvirtd ${this.libvirtd}`);
    for (const d of this.domains.values()) parts.push(`domain ${d.name} ${d.state}${d.pid !== undefined ? ` (qemu ${d.pid})` : ''}`);
    const known = new Set([...this.domains.values()].map((d) => d.pid));
    for (const p of this.procs.values()) if (!known.has(p.pid)) parts.push(`qemu ${p.pid} unknown to libvirt (${p.argv[2]})`);
    for (const [name, n] of this.creates) parts.push(`${n} create of ${name} in flight`);
    for (const s of this.states.values()) parts.push(`${s.resource} recorded: ${s.name} ${s.phase}`);
    for (const [f, size] of this.files) parts.push(`disk ${f} (${Math.round(size / MiB)} MiB)`);
    for (const [uuid, user] of this.cephSecrets) parts.push(`ceph secret ${uuid} of client.${user}`);
    return parts.length ? parts.join('; ') : 'nothing';
  }
}

export class SimWorld {
  now = EPOCH;
  nextPid = 1001;
  nextDomainId = 1;
  private seq = 0;
  private queue: Ev[] = [];
  readonly nodes = new Map<string, SimNode>();
  readonly guests = new Map<string, Guest>();
  readonly lines: { at: number; text: string }[] = [];
  readonly violations: string[] = [];
  readonly processes = new Set<SimProcess>();

  constructor(nodeNames: string[] = ['n1', 'n2']) {
    for (const n of nodeNames) this.nodes.set(n, new SimNode(this, n));
  }

  node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`sim: no node ${name}`);
    return n;
  }

  guest(name: string): Guest {
    let g = this.guests.get(name);
    if (!g) this.guests.set(name, (g = { ignoresAcpi: false, ignoresTerm: false, unkillable: false, shutdownMs: 1000, signalMs: 3000 }));
    return g;
  }

  say(who: string, text: string): void {
    this.lines.push({ at: this.now, text: `${who}: ${text}` });
  }

  violation(text: string): void {
    this.violations.push(text);
    this.say('VIOLATION', text);
  }

  /** Safety rule 5: a guest executes on one node at most (an incoming copy waits paused). */
  checkOnePlace(name: string): void {
    const running = [...this.nodes.values()].filter((n) => {
      const d = n.domains.get(name);
      return d !== undefined && d.state === 'running';
    });
    if (running.length > 1) this.violation(`rule 5: ${name} runs on ${running.map((n) => n.name).join(' and ')}`);
  }

  schedule(delayMs: number, fire: () => void, owner?: SimProcess): Ev {
    const ev: Ev = { at: this.now + Math.max(0, delayMs), seq: this.seq++, fire, owner };
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1]!.at > ev.at || (this.queue[i - 1]!.at === ev.at && this.queue[i - 1]!.seq > ev.seq))) i--;
    this.queue.splice(i, 0, ev);
    return ev;
  }

  private live(ev: Ev): boolean {
    return !ev.cancelled && (!ev.owner || ev.owner.running);
  }

  /** The time of the next event that still matters, if any. */
  nextAt(): number | undefined {
    this.queue = this.queue.filter((e) => this.live(e));
    return this.queue[0]?.at;
  }

  /** Advances the clock to the next event and fires it; false when there is none. */
  fireNext(): boolean {
    for (;;) {
      const ev = this.queue.shift();
      if (!ev) return false;
      if (!this.live(ev)) continue;
      this.now = Math.max(this.now, ev.at);
      ev.fire();
      return true;
    }
  }

  /**
   * Lets every agent run go on until it waits on the world again. Throws when a run keeps working
   * outside the simulated host (it would make the log depend on real time).
   */
  async settle(): Promise<void> {
    const started = Date.now();
    for (let turn = 0; ; turn++) {
      await new Promise<void>((r) => (turn < 100 ? setImmediate(r) : setTimeout(r, 1)));
      if (turn >= 1 && [...this.processes].every((p) => !p.running || p.pending > 0)) return;
      if (Date.now() - started > 10_000) {
        const busy = [...this.processes].filter((p) => p.running && p.pending === 0).map((p) => p.who);
        throw new Error(`sim: an agent run works outside the simulated host for 10 s (${busy.join(', ')})`);
      }
    }
  }

  process(node: string, label: string): SimProcess {
    const p = new SimProcess(this, this.node(node), label);
    this.processes.add(p);
    return p;
  }
}

const UNREACHABLE = 'failed to connect to the hypervisor';

function describeLookup(l: DomainLookup | undefined): string {
  if (!l) return 'ok';
  switch (l.kind) {
    case 'present':
      return l.state;
    case 'absent':
      return 'no such domain';
    case 'unreachable':
      return `unreachable (${l.message})`;
    default:
      return `error (${l.message})`;
  }
}

function ownerIn(xml: string): string | undefined {
  return /<corral:resource[^>]*>([^<]*)<\/corral:resource>/.exec(xml)?.[1];
}

/** One agent run on one node: the port the agent's code is given. */
export class SimProcess implements AgentHost {
  /** Port calls waiting on the world. */
  pending = 0;
  running = true;
  killed = false;
  exitReasons: string[] = [];

  constructor(
    readonly world: SimWorld,
    readonly node: SimNode,
    readonly label: string,
  ) {}

  get who(): string {
    return `${this.node.name} ${this.label}`;
  }

  say(text: string): void {
    if (this.running) this.world.say(this.who, text);
  }

  /** Ends this run (it returned, or pacemaker-execd killed it): what it waited on no longer matters. */
  end(killed: boolean): void {
    this.running = false;
    this.killed = killed;
  }

  /** A promise the world resolves after DELAYMS; the value is taken then. */
  private after<T>(delayMs: number, value: () => T): Promise<T> {
    this.pending++;
    return new Promise<T>((resolve, reject) => {
      this.world.schedule(
        delayMs,
        () => {
          this.pending--;
          try {
            resolve(value());
          } catch (e) {
            reject(e as Error);
          }
        },
        this,
      );
    });
  }

  /** A promise the world resolves when SETTLE is called (by a world event). */
  private waitFor<T>(arm: (settle: (v: T) => void) => void): Promise<T> {
    this.pending++;
    return new Promise<T>((resolve) => {
      let done = false;
      arm((v) => {
        if (done) return;
        done = true;
        this.pending--;
        if (this.running) resolve(v);
      });
    });
  }

  /** A libvirt call: down answers at once that it cannot connect, hung answers at the call's timeout. */
  private libvirt<T>(c: Conn, what: string, answer: () => T, failure: (message: string) => T, shown: (v: T) => string, node: SimNode = this.node): Promise<T> {
    if (node.libvirtd !== 'hangs') {
      return this.after(0, () => {
        const v = node.libvirtd === 'up' ? answer() : failure(UNREACHABLE);
        this.say(`${what} → ${shown(v)}`);
        return v;
      });
    }
    this.say(`${what} …`);
    return this.after(c.timeoutMs, () => {
      const v = failure('virsh timed out');
      this.say(`${what} → ${shown(v)} after ${(c.timeoutMs / 1000).toFixed(1)} s`);
      return v;
    });
  }

  private thrown(message: string): never {
    throw new Error(message);
  }

  // libvirt ------------------------------------------------------------------------------------

  domstate(c: Conn, name: string): Promise<DomainLookup> {
    // A URI that names another node asks that node's libvirt (a peer, as a migration reaches it).
    const host = /^[a-z0-9+]+:\/\/(?:[^@/]*@)?([^/:]*)/.exec(c.uri)?.[1] ?? '';
    const peer = host && host !== this.node.name ? this.world.nodes.get(host) : undefined;
    if (host && host !== this.node.name && !peer) {
      return this.after(0, () => {
        const v: DomainLookup = { kind: 'unreachable', message: `${UNREACHABLE}; unable to connect to server at '${host}:16509': Name or service not known` };
        this.say(`domstate ${name} at ${host} → ${describeLookup(v)}`);
        return v;
      });
    }
    const n = peer ?? this.node;
    return this.libvirt<DomainLookup>(
      c,
      peer ? `domstate ${name} at ${host}` : `domstate ${name}`,
      () => {
        const d = n.domains.get(name);
        return d ? { kind: 'present', state: d.state } : { kind: 'absent' };
      },
      (message) => ({ kind: 'unreachable', message }),
      describeLookup,
      n,
    );
  }

  listNames(c: Conn): Promise<string[]> {
    return this.libvirt<string[] | Error>(
      c,
      'list domains',
      () => [...this.node.domains.keys()].sort(),
      (message) => new Error(message),
      (v) => (v instanceof Error ? `error (${v.message})` : v.length ? v.join(', ') : 'none'),
    ).then((v) => (v instanceof Error ? this.thrown(v.message) : v));
  }

  dumpxml(c: Conn, name: string): Promise<string> {
    return this.libvirt<string | Error>(
      c,
      `dumpxml ${name}`,
      () => this.node.domains.get(name)?.xml ?? new Error(`failed to get domain '${name}'`),
      (message) => new Error(message),
      (v) => (v instanceof Error ? `error (${v.message})` : `its XML (${ownerIn(v) ? `owner ${ownerIn(v)}` : 'no owner'})`),
    ).then((v) => (v instanceof Error ? this.thrown(v.message) : v));
  }

  domcapabilities(c: Conn, _platform: object, timeoutMs: number): Promise<void> {
    const n = this.node;
    if (n.libvirtd !== 'up') {
      return this.libvirt<Error>({ ...c, timeoutMs }, 'domcapabilities', () => new Error(UNREACHABLE), (m) => new Error(m), (v) => `error (${v.message})`).then((e) =>
        this.thrown(e.message),
      );
    }
    // The first call probes the emulator (slow on a fresh libvirtd); libvirt caches the answer.
    n.capsReadyAt ??= this.world.now + n.capsMs;
    const wait = n.capsReadyAt - this.world.now;
    if (wait <= 0) return this.after(0, () => void this.say('domcapabilities → ok'));
    this.say('domcapabilities …');
    if (wait <= timeoutMs) return this.after(wait, () => void this.say('domcapabilities → ok'));
    return this.after(timeoutMs, () => {
      this.say(`domcapabilities → error (virsh timed out) after ${(timeoutMs / 1000).toFixed(1)} s`);
      return this.thrown('virsh timed out');
    });
  }

  create(_c: Conn, name: string, xml: string): Promise<CreateOutcome> {
    const n = this.node;
    n.createXml.add(name);
    n.creates.set(name, (n.creates.get(name) ?? 0) + 1);
    // libvirt's answer; the lock is let go only after it (flock ends when virsh create has returned).
    const outcome = (): CreateOutcome => {
      if (n.libvirtd !== 'up') return { ok: false, message: UNREACHABLE };
      if (n.createError) return { ok: false, message: n.createError };
      if (n.domains.has(name)) return { ok: false, message: `operation failed: domain '${name}' already exists` };
      const d = n.addDomain(xml);
      return d.pid !== undefined ? { ok: true } : { ok: false, message: 'qemu did not start' };
    };
    const shown = (o: CreateOutcome) => (o.ok ? 'ok' : `failed (${o.message})`);
    if (n.libvirtd === 'down' || (n.createMs === 0 && !n.createHangs && n.libvirtd === 'up')) {
      return this.after(0, () => {
        const o = outcome();
        this.say(`create ${name} → ${shown(o)}`);
        n.endCreate(name);
        return o;
      });
    }
    // The create runs in its own session: it completes (and lets go of the lock) even after our run was killed.
    this.say(`create ${name} …`);
    return this.waitFor<CreateOutcome>((settle) => {
      if (n.createHangs || n.libvirtd === 'hangs') return; // never answers; the lock stays held
      this.world.schedule(n.createMs, () => {
        const o = outcome();
        if (this.running) this.say(`create ${name} → ${shown(o)}`);
        else this.world.say(n.name, `the create of ${name} that ${this.label} left in flight completes: ${shown(o)}`);
        n.endCreate(name);
        settle(o);
      });
    });
  }

  waitCreateDone(name: string, timeoutMs: number): Promise<boolean> {
    const n = this.node;
    if (!n.creates.has(name)) {
      return this.after(0, () => {
        this.say(`wait for the create lock of ${name} → free`);
        return true;
      });
    }
    this.say(`wait for the create lock of ${name} …`);
    return this.waitFor<boolean>((settle) => {
      const waiters = n.createWaiters.get(name) ?? new Set();
      n.createWaiters.set(name, waiters);
      const free = () => {
        waiters.delete(free);
        timer.cancelled = true;
        this.say(`wait for the create lock of ${name} → free`);
        settle(true);
      };
      waiters.add(free);
      const timer = this.world.schedule(
        timeoutMs,
        () => {
          waiters.delete(free);
          this.say(`wait for the create lock of ${name} → still held after ${(timeoutMs / 1000).toFixed(1)} s`);
          settle(false);
        },
        this,
      );
    });
  }

  shutdown(c: Conn, name: string, _mode: string | undefined): Promise<DomainLookup | undefined> {
    return this.libvirt<DomainLookup | undefined>(
      c,
      `shutdown ${name}`,
      () => {
        const d = this.node.domains.get(name);
        if (!d) return { kind: 'absent' };
        const g = this.world.guest(name);
        if (!g.ignoresAcpi && !g.unkillable && !d.powerOff && d.state === 'running') {
          d.powerOff = this.world.schedule(g.shutdownMs, () => {
            d.powerOff = undefined;
            this.world.say(this.node.name, `the guest of ${name} powers off`);
            this.node.removeDomain(name);
          });
        }
        return undefined;
      },
      (message) => ({ kind: 'unreachable', message }),
      describeLookup,
    );
  }

  destroy(c: Conn, name: string): Promise<DomainLookup | undefined> {
    return this.libvirt<DomainLookup | undefined>(
      c,
      `destroy ${name}`,
      () => {
        const d = this.node.domains.get(name);
        if (!d) return { kind: 'absent' };
        const p = d.pid !== undefined ? this.node.procs.get(d.pid) : undefined;
        if (p?.unkillable) return { kind: 'error', message: `Failed to terminate process ${p.pid} with SIGKILL: Device or resource busy` };
        this.node.removeDomain(name);
        return undefined;
      },
      (message) => ({ kind: 'unreachable', message }),
      describeLookup,
    );
  }

  migrate(c: Conn, name: string, o: MigrateOptions, timeoutMs: number): Promise<MigrateOutcome> {
    const n = this.node;
    const what = `migrate ${name} to ${o.destUri}`;
    const fail = (message: string, notFound = false): MigrateOutcome => ({ ok: false, message, notFound });
    const shown = (r: MigrateOutcome) => (r.ok ? 'ok' : `failed (${r.message})`);
    const now = (r: MigrateOutcome) =>
      this.after(0, () => {
        this.say(`${what} → ${shown(r)}`);
        return r;
      });
    if (n.libvirtd !== 'up') return this.libvirt({ ...c, timeoutMs }, what, () => fail(UNREACHABLE), (m) => fail(m), shown);
    const d = n.domains.get(name);
    if (!d || d.incoming) return now(fail(`failed to get domain '${name}'`, true));
    const host = /^[a-z0-9+]+:\/\/(?:[^@/]*@)?([^/:]*)/.exec(o.destUri)?.[1] ?? '';
    const target = this.world.nodes.get(host);
    if (!target) return now(fail(`${UNREACHABLE}; unable to connect to server at '${host}:16509': Name or service not known`));
    if (target.libvirtd !== 'up') return now(fail(`${UNREACHABLE}; unable to connect to server at '${host}:16509': Connection refused`));
    if (target.domains.has(name)) return now(fail(`operation failed: domain '${name}' already exists on ${host}`));
    const script = n.migration;
    // A storage migration: libvirt creates each missing target file in the pool that holds its directory.
    const copies = [...fileDisks(d.xml)].filter(([dev]) => o.copyDisks?.includes(dev)).map(([, file]) => file);
    for (const file of copies) {
      if (target.files.has(file)) continue;
      if (!target.pools.has(dirOf(file))) return now(fail(`Requested operation is not valid: Storage pool for target path '${dirOf(file)}' not found on ${host}`));
    }
    const diskBytes = copies.reduce((sum, f) => sum + (n.files.get(f) ?? 0), 0);
    this.say(`${what}${o.copyDisks?.length ? ` copying ${o.copyDisks.join(',')}` : ''} …`);
    for (const file of copies) {
      if (target.files.has(file)) continue;
      target.files.set(file, 0);
      this.world.say(target.name, `libvirt creates ${file} (${Math.round((n.files.get(file) ?? 0) / MiB)} MiB) for the copy`);
    }
    const incoming = target.addDomain(d.xml, 'paused', { incoming: true });
    return this.waitFor<MigrateOutcome>((settle) => {
      const events: { cancelled?: boolean }[] = [];
      const job: MigrationJob = {
        startedAt: this.world.now,
        ms: script.kind === 'hangs' ? undefined : script.ms,
        diskBytes,
        ended: false,
        end: (result, message) => {
          if (job.ended) return;
          job.ended = true;
          d.job = undefined;
          for (const e of events) e.cancelled = true;
          if (result === 'stays') {
            target.removeDomain(name);
            // What was copied so far stays in the target's files (libvirt does not remove them).
            for (const f of copies) if (target.files.has(f)) target.files.set(f, Math.round((n.files.get(f) ?? 0) * Math.min(1, (this.world.now - job.startedAt) / (job.ms ?? Infinity)) || 0));
          } else {
            for (const f of copies) target.files.set(f, n.files.get(f) ?? 0);
            n.removeDomain(name);
            incoming.state = 'running';
            incoming.incoming = false;
            this.world.checkOnePlace(name);
          }
          const r: MigrateOutcome = result === 'moved' ? { ok: true } : fail(message);
          if (this.running) this.say(`${what} → ${shown(r)}`);
          else this.world.say(n.name, `the migration of ${name} ends: ${result === 'stays' ? `still on ${n.name}` : `now on ${target.name}`}`);
          settle(r);
        },
      };
      d.job = job;
      // The migration itself is libvirt's: it goes on whatever happens to our run.
      if (script.kind === 'ok') events.push(this.world.schedule(script.ms, () => job.end('moved', '')));
      else if (script.kind === 'fails') events.push(this.world.schedule(script.ms, () => job.end('stays', script.message)));
      else if (script.kind === 'fails-after-switchover') events.push(this.world.schedule(script.ms, () => job.end('moved-but-failed', script.message)));
      // virsh is killed at its timeout; libvirt then cancels the job it drove.
      events.push(this.world.schedule(timeoutMs, () => job.end('stays', 'virsh timed out'), this));
    });
  }

  setMaxDowntime(c: Conn, name: string, ms: number): Promise<boolean> {
    return this.libvirt(
      c,
      `set the maximum downtime of ${name} to ${ms} ms`,
      () => this.node.domains.get(name)?.job !== undefined,
      () => false,
      (v) => (v ? 'ok' : 'refused'),
    );
  }

  jobAbort(c: Conn, name: string): Promise<void> {
    return this.libvirt(
      c,
      `abort the job of ${name}`,
      () => {
        const job = this.node.domains.get(name)?.job;
        // The job ends right after this answer, as libvirt rolls the migration back.
        if (job) this.world.schedule(0, () => job.end('stays', 'operation aborted: migration out job: canceled by client'));
        return job ? 'ok' : 'no job';
      },
      () => 'failed',
      (v) => v,
    ).then(() => undefined);
  }

  jobProgress(c: Conn, name: string): Promise<JobProgress | undefined> {
    return this.libvirt<JobProgress | undefined>(
      c,
      `job of ${name}`,
      () => {
        const job = this.node.domains.get(name)?.job;
        if (!job) return undefined;
        const part = job.ms ? Math.min(1, (this.world.now - job.startedAt) / job.ms) : 0.5;
        return { diskProcessed: Math.round(job.diskBytes * part), diskTotal: job.diskBytes, memoryProcessed: Math.round(128 * MiB * part), memoryTotal: 128 * MiB, elapsedMs: this.world.now - job.startedAt };
      },
      () => undefined,
      (v) => (v ? `disks ${Math.round((v.diskProcessed ?? 0) / MiB)} of ${Math.round((v.diskTotal ?? 0) / MiB)} MiB` : 'no job'),
    );
  }

  /** The node whose libvirt URI C names (a migration target), or this one. */
  private nodeOf(c: Conn): SimNode | undefined {
    const host = uriHost(c.uri);
    return host && host !== this.node.name ? this.world.nodes.get(host) : this.node;
  }

  ensureDirPool(c: Conn, dir: string): Promise<string> {
    const n = this.nodeOf(c);
    const name = `corral${dir.replace(/[^A-Za-z0-9_.]+/g, '-')}`;
    if (!n) return this.after(0, () => this.thrown(`${UNREACHABLE}; unable to connect to server at '${uriHost(c.uri)}:16509'`));
    return this.libvirt<string | Error>(
      c,
      `storage pool for ${dir} at ${n.name}`,
      () => {
        const had = n.pools.has(dir);
        n.pools.add(dir);
        return had ? `${name} (active)` : `${name} (made)`;
      },
      (m) => new Error(m),
      (v) => (v instanceof Error ? `error (${v.message})` : v),
      n,
    ).then((v) => (v instanceof Error ? this.thrown(v.message) : v.split(' ')[0]!));
  }

  cephSecret(c: Conn, auth: CephAuth, refresh: boolean): Promise<CephSecretOutcome> {
    const n = this.nodeOf(c);
    if (!n) return this.after(0, () => ({ kind: 'failed', message: UNREACHABLE }) as CephSecretOutcome);
    return this.libvirt<CephSecretOutcome>(
      c,
      `ceph secret ${auth.secretUuid} of client.${auth.username} at ${n.name}${refresh ? ' (refresh)' : ''}`,
      () => {
        const had = n.cephSecrets.has(auth.secretUuid);
        if (had && !refresh) return { kind: 'present' };
        // The key comes from this node's key file, wherever the secret is made.
        if (!this.node.cephKeys.has(auth.username)) return had ? { kind: 'present' } : { kind: 'no-key', message: `/etc/ceph/ceph.client.${auth.username}.keyring: no such file` };
        n.cephSecrets.set(auth.secretUuid, auth.username);
        return { kind: had ? 'refreshed' : 'made' };
      },
      (message) => ({ kind: 'failed', message }),
      (v) => ('message' in v ? `${v.kind} (${v.message})` : v.kind),
      n,
    );
  }

  removeVolume(c: Conn, path: string): Promise<RemoveOutcome> {
    const n = this.nodeOf(c);
    if (!n) return this.after(0, () => ({ kind: 'failed', message: UNREACHABLE }) as RemoveOutcome);
    return this.libvirt<RemoveOutcome>(
      c,
      `remove volume ${path} at ${n.name}`,
      () => (n.files.delete(path) ? { kind: 'removed' } : { kind: 'absent' }),
      (message) => ({ kind: 'failed', message }),
      (v) => (v.kind === 'failed' ? `failed (${v.message})` : v.kind),
      n,
    );
  }

  virshInstalled(): Promise<boolean> {
    return this.after(0, () => {
      this.say('virsh installed → yes');
      return true;
    });
  }

  // Pacemaker ----------------------------------------------------------------------------------

  peers(self: string | undefined, _timeoutMs: number): Promise<string[]> {
    return this.after(0, () => {
      const v = [...this.world.nodes.keys()].filter((n) => n !== (self ?? this.node.name)).sort();
      this.say(`cluster members besides ${self ?? this.node.name} → ${v.join(', ') || 'none'}`);
      return v;
    });
  }

  reprobe(resource: string, node: string, _timeoutMs: number): Promise<void> {
    return this.after(0, () => this.say(`crm_resource --refresh ${resource} on ${node}`));
  }

  // the guest ----------------------------------------------------------------------------------

  startupSignal(path: string, untilMs: number): Promise<SignalAttempt> {
    const d = [...this.node.domains.values()].find((x) => x.socket === path && x.pid !== undefined);
    const shown = (a: SignalAttempt) => (a.kind === 'acked' ? `ready ${a.token}, answered ack` : a.kind === 'refused' ? `refused (${a.why})` : a.kind);
    const what = `listen on the startup signal socket of ${d?.name ?? path}`;
    if (!d) {
      return this.after(0, () => {
        const a: SignalAttempt = { kind: 'refused', why: 'connect ENOENT' };
        this.say(`${what} → ${shown(a)}`);
        return a;
      });
    }
    const g = this.world.guest(d.name);
    const readyAt = g.signalMs === null ? undefined : d.startedAt + g.signalMs;
    const answer: SignalAttempt = readyAt !== undefined && readyAt <= untilMs ? { kind: 'acked', token: `${d.name}-boot-${d.pid}` } : { kind: 'timeout' };
    const at = answer.kind === 'acked' ? readyAt! : untilMs;
    if (at <= this.world.now) {
      return this.after(0, () => {
        this.say(`${what} → ${shown(answer)}`);
        return answer;
      });
    }
    this.say(`${what} …`);
    return this.waitFor<SignalAttempt>((settle) => {
      let finished = false;
      const done = (a: SignalAttempt) => {
        if (finished) return;
        finished = true;
        d.onGone.delete(gone);
        ev.cancelled = true;
        this.say(`${what} → ${shown(a)}`);
        settle(a);
      };
      const gone = () => this.world.schedule(0, () => done({ kind: 'closed' }), this);
      d.onGone.add(gone);
      const ev = this.world.schedule(at - this.world.now, () => done(answer), this);
    });
  }

  // processes ----------------------------------------------------------------------------------

  qemuProcesses(id: Identity): number[] {
    const pids = [...this.node.procs.values()].filter((p) => isQemuFor(p.argv, id)).map((p) => p.pid);
    this.say(`qemu processes of ${id.name} → ${pids.length ? pids.join(', ') : 'none'}`);
    return pids;
  }

  kill(pid: number, signal: 'SIGTERM' | 'SIGKILL'): void {
    const p = this.node.procs.get(pid);
    const effect = !p ? 'no such process' : p.unkillable || (signal === 'SIGTERM' && p.ignoresTerm) ? 'ignored' : 'it ends';
    this.say(`kill -${signal.slice(3)} ${pid} → ${effect}`);
    if (effect === 'it ends') this.node.processEnded(pid);
  }

  isAlive(pid: number): boolean {
    const alive = this.node.procs.has(pid);
    this.say(`process ${pid} alive → ${alive ? 'yes' : 'no'}`);
    return alive;
  }

  // fast paths ---------------------------------------------------------------------------------

  libvirtPid(id: Identity): number | undefined {
    const d = this.node.domains.get(id.name);
    const p = d?.pid !== undefined ? this.node.procs.get(d.pid) : undefined;
    const pid = p && isQemuFor(p.argv, id) ? p.pid : undefined;
    this.say(`libvirt's pid file of ${id.name} → ${pid ?? 'none'}`);
    return pid;
  }

  libvirtKeeps(name: string): boolean {
    const keeps = this.node.domains.has(name);
    this.say(`libvirt keeps state of ${name} → ${keeps ? 'yes' : 'no'}`);
    return keeps;
  }

  createInFlight(name: string): boolean {
    const held = this.node.creates.has(name);
    this.say(`create lock of ${name} held → ${held ? 'yes' : 'no'}`);
    return held;
  }

  anyProcessNaming(name: string): boolean {
    const any = [...this.node.procs.values()].some((p) => namesDomain(p.argv, { name }));
    this.say(`a process names ${name} → ${any ? 'yes' : 'no'}`);
    return any;
  }

  // files --------------------------------------------------------------------------------------

  readState(resource: string): ResourceState | undefined {
    const s = this.node.states.get(resource);
    this.say(`read what ${resource} recorded → ${s ? `${s.name} ${s.phase}` : 'nothing'}`);
    return s;
  }

  writeState(s: ResourceState): void {
    this.say(`record ${s.resource}: ${s.name} ${s.phase}`);
    this.node.states.set(s.resource, { resource: s.resource, name: s.name, ...(s.uuid ? { uuid: s.uuid } : {}), phase: s.phase });
  }

  clearState(resource: string): void {
    this.say(`forget ${resource}`);
    this.node.states.delete(resource);
  }

  removeCreateXml(name: string): void {
    this.node.createXml.delete(name);
  }

  kvmProblem(): string | undefined {
    return this.node.kvmProblem; // what the agent makes of it shows in its log
  }

  ensureDir(_path: string): void {
    /* directories always exist in the simulation */
  }

  diskSize(path: string): number | undefined {
    const size = this.node.files.get(path);
    this.say(`disk ${path} here → ${size === undefined ? 'no' : `${Math.round(size / MiB)} MiB`}`);
    return size;
  }

  removeDisk(path: string): RemoveOutcome {
    const had = this.node.files.delete(path);
    this.say(`remove ${path} → ${had ? 'removed' : 'absent'}`);
    return had ? { kind: 'removed' } : { kind: 'absent' };
  }

  // the clock ----------------------------------------------------------------------------------

  now(): number {
    return this.world.now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    this.pending++;
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.pending--;
        resolve();
      };
      const ev = this.world.schedule(ms, finish, this);
      signal?.addEventListener(
        'abort',
        () => {
          ev.cancelled = true;
          finish();
        },
        { once: true },
      );
    });
  }

  // output -------------------------------------------------------------------------------------

  log(level: LogLevel, message: string): void {
    if (level === 'debug') return;
    this.say(`${{ info: 'INFO', warn: 'WARNING', err: 'ERROR', crit: 'CRIT' }[level]}: ${message}`);
  }

  exitReason(reason: string): void {
    this.exitReasons.push(reason);
    this.say(`ocf-exit-reason:${reason}`);
  }

  print(text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    const lines = text.split('\n').filter(Boolean);
    this.say(`${stream}: ${lines[0] ?? ''}${lines.length > 1 ? ` … (${lines.length} lines)` : ''}`);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}
