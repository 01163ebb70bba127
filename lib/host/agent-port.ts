// The host the agent acts on: every question the agent asks its node and everything it does there
// goes through this one port. Types only, nothing here runs.
//
// It lives in lib/host, the part that acts on the node, so that the real side needs nothing of
// lib/vm; lib/vm (the agent's core) imports it, types only.
//
// Two sides implement it:
// - lib/host/agent-host.ts, the real node: virsh, /proc, signals, files under /run, the clock,
//   ocf logging (its part that needs only node:fs, lib/host/agent-fs.ts, is all the fast paths load);
// - test/support/sim-host.ts, a simulated node for the scenarios in test/scenarios/agent/ (libvirtd
//   down or hung, a create that hangs, a guest that ignores ACPI, a migration that fails midway, a
//   virtual clock).
// The safety rules (DESIGN.md) are properties of lib/vm alone, given this port.

import type { CephAuth } from '../domain/rbd.js';

/** A domain as the agent knows it: its name and, when the configuration has one, its uuid. */
export interface Identity {
  name: string;
  uuid?: string;
}

/** libvirt's answer about one domain. "absent" only when libvirt itself said there is no such domain. */
export type DomainLookup =
  | { kind: 'present'; state: string }
  | { kind: 'absent' }
  | { kind: 'unreachable'; message: string }
  | { kind: 'error'; message: string };

/** A libvirt connection, and how long any single call on it may take at most (safety rule 4). */
export interface Conn {
  uri: string;
  timeoutMs: number;
}

export type CreateOutcome = { ok: true } | { ok: false; message: string };

export interface MigrateOptions {
  destUri: string;
  migrateUri?: string;
  bandwidthMiBs?: number;
  extra?: string[];
  /** Copy these disks (their targets: vda, …) to the destination as part of the move (non-shared storage). */
  copyDisks?: string[];
}

/** How far a running migration job is (virsh domjobinfo), in bytes; undefined where libvirt does not say. */
export interface JobProgress {
  diskProcessed?: number;
  diskTotal?: number;
  memoryProcessed?: number;
  memoryTotal?: number;
  elapsedMs?: number;
}

/** What removing a disk file or volume did: removed, there was none, or why it failed. */
export type RemoveOutcome = { kind: 'removed' } | { kind: 'absent' } | { kind: 'failed'; message: string };

/**
 * What making sure of a Ceph client's libvirt secret did: libvirt had it (present), it was made or
 * given its key again from this node's key file, the node has no key file for the client (no-key),
 * or it failed (libvirt's words).
 */
export type CephSecretOutcome =
  | { kind: 'present' }
  | { kind: 'made' }
  | { kind: 'refreshed' }
  | { kind: 'no-key'; message: string }
  | { kind: 'failed'; message: string };

/** notFound: libvirt said it has no such domain to migrate. */
export type MigrateOutcome = { ok: true } | { ok: false; message: string; notFound: boolean };

/** One attempt to hear the guest's "ready TOKEN" on its startup_signal socket (answered "ack TOKEN"). */
export type SignalAttempt = { kind: 'acked'; token: string } | { kind: 'closed' } | { kind: 'refused'; why: string } | { kind: 'timeout' };

/** What the agent remembers on a node between actions (gone with a reboot, as are the domains). */
export interface ResourceState extends Identity {
  resource: string;
  phase: 'starting' | 'running' | 'migrating';
  since?: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'err' | 'crit';

/**
 * What the fast paths (the steady-state monitor, the stop of a domain that is not here) need: on
 * the real node, answered from files under /run and /proc alone, with no program and no library.
 */
export interface FastHost {
  /** The qemu process libvirt recorded for ID (its pid file), if alive and really running ID. */
  libvirtPid(id: Identity): number | undefined;
  /** libvirt keeps live state of domain NAME on this node (it runs, or is arriving, here). */
  libvirtKeeps(name: string): boolean;
  /** A create of NAME is in flight (a start, maybe killed since, still waits for libvirt). */
  createInFlight(name: string): boolean;
  /** Some process on this node, whatever its program, names domain NAME the way libvirt does. */
  anyProcessNaming(name: string): boolean;
  /** Forgets what start recorded for RESOURCE. */
  clearState(resource: string): void;
  /** Removes the XML a create of NAME was given. */
  removeCreateXml(name: string): void;
}

export interface AgentHost extends FastHost {
  // libvirt. Each call is bounded by c.timeoutMs unless it says otherwise.
  domstate(c: Conn, name: string): Promise<DomainLookup>;
  /** Names of all domains libvirt has. Throws (with libvirt's words) when it does not answer. */
  listNames(c: Conn): Promise<string[]>;
  /** The live domain XML. Throws when libvirt does not show it. */
  dumpxml(c: Conn, name: string): Promise<string>;
  /** Makes libvirt probe and cache the emulator's capabilities (slow on a fresh libvirtd). Throws on failure. */
  domcapabilities(c: Conn, platform: { virttype?: string; emulator?: string; arch?: string; machine?: string }, timeoutMs: number): Promise<void>;
  /**
   * Creates transient domain NAME from XML, holding NAME's create lock until libvirt answered. Not
   * bounded: the create runs on in its own session if our process is killed, and keeps the lock.
   */
  create(c: Conn, name: string, xml: string): Promise<CreateOutcome>;
  /** Waits until no create of NAME holds its lock; false if that did not happen within timeoutMs. */
  waitCreateDone(name: string, timeoutMs: number): Promise<boolean>;
  /** Asks the guest to shut down: undefined when libvirt accepted, else what it said. */
  shutdown(c: Conn, name: string, mode: string | undefined): Promise<DomainLookup | undefined>;
  /** Ends the domain at once: undefined when libvirt did it, else what it said. */
  destroy(c: Conn, name: string): Promise<DomainLookup | undefined>;
  /** Live migration, bounded by timeoutMs; never throws. */
  migrate(c: Conn, name: string, o: MigrateOptions, timeoutMs: number): Promise<MigrateOutcome>;
  /** True when libvirt took the limit (a migration of NAME is running). */
  setMaxDowntime(c: Conn, name: string, ms: number): Promise<boolean>;
  /** Aborts NAME's running job (a migration); libvirt then keeps the domain on the source. */
  jobAbort(c: Conn, name: string): Promise<void>;
  /** How far NAME's running job is; undefined when there is none or libvirt does not answer. Never throws. */
  jobProgress(c: Conn, name: string): Promise<JobProgress | undefined>;
  /**
   * Makes sure the libvirt at C (a migration target) has an active storage pool for directory DIR,
   * so that a storage migration creates its disk files there: an existing one (started if
   * inactive, refreshed) or a transient dir pool made now. Resolves with the pool's name; throws
   * with libvirt's words when it cannot.
   */
  ensureDirPool(c: Conn, dir: string): Promise<string>;
  /** Removes the disk file PATH through the libvirt at C (a migration target), if it has one. Never throws. */
  removeVolume(c: Conn, path: string): Promise<RemoveOutcome>;
  /**
   * Makes sure the libvirt at C has the secret AUTH names, made from this node's key file for the
   * Ceph user (/etc/ceph/ceph.client.NAME.keyring) when it has none, and with REFRESH given that
   * key again when it has one. The key is never an argument of any program. Never throws.
   */
  cephSecret(c: Conn, auth: CephAuth, refresh: boolean): Promise<CephSecretOutcome>;
  /** What keeps libvirt's QEMU from using /dev/kvm on this node (one line with the fix), or undefined. */
  kvmProblem(): string | undefined;
  /** libvirt's client is installed. */
  virshInstalled(): Promise<boolean>;

  // Pacemaker.
  /** The other nodes Pacemaker counts as members of the cluster (not SELF); none (and a warning) when it does not answer within TIMEOUTMS. */
  peers(self: string | undefined, timeoutMs: number): Promise<string[]>;
  /** Asks Pacemaker to probe RESOURCE on NODE again (crm_resource --refresh); never throws, logs. */
  reprobe(resource: string, node: string, timeoutMs: number): Promise<void>;

  // The guest.
  /** Listens on the startup_signal socket PATH until the guest says "ready TOKEN" or UNTILMS (epoch ms) passes. */
  startupSignal(path: string, untilMs: number): Promise<SignalAttempt>;

  // Processes: evidence from the kernel rather than from libvirt.
  /** PIDs of every qemu process on this node that runs domain ID. */
  qemuProcesses(id: Identity): number[];
  kill(pid: number, signal: 'SIGTERM' | 'SIGKILL'): void;
  /** The process runs (a zombie does not). */
  isAlive(pid: number): boolean;

  // Files.
  readState(resource: string): ResourceState | undefined;
  writeState(s: ResourceState): void;
  /** Creates directory PATH (and its parents) if missing. Throws when it cannot. */
  ensureDir(path: string): void;
  /** The size in bytes of disk image PATH on this node (a regular file or a block device), undefined when it is not here. */
  diskSize(path: string): number | undefined;
  /** Removes the disk image file PATH on this node. Never throws. */
  removeDisk(path: string): RemoveOutcome;

  // The clock.
  now(): number;
  /** Resolves after MS milliseconds, or as soon as SIGNAL aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;

  // What the agent says.
  log(level: LogLevel, message: string): void;
  /** Tells Pacemaker why the action failed (`ocf-exit-reason:` on stderr), and logs it. */
  exitReason(reason: string): void;
  /** Text on standard output (meta-data) or standard error (usage). */
  print(text: string, stream?: 'stdout' | 'stderr'): void;
  /** Waits until every log line has been handed over. */
  flush(): Promise<void>;
}
