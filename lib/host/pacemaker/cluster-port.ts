// The cluster port: everything an executor (drain, undrain, rebalance --exec, rolling reboot, the
// load balancer's moves) does to the cluster, behind one interface — read the CIB (the snapshot's
// text), ask whether Pacemaker is done, change the CIB (lib/cib/change.ts's CibPort: patches that
// carry standby, hints, records, migration-limit), run the scheduler on a copy, mark and reboot a
// node, ask a node's libvirt, the requests about one resource that `vm` makes (target-role and
// other meta attributes, a move or its clearing, a cleanup), and the clock (now, sleep). Executors watch through lib/ops/wait.ts
// and build snapshots with lib/cluster/snapshot.ts from query().
//
// The real side is hostClusterPort() below (the live cluster, or CIB_file); the simulated side,
// Pacemaker's own scheduler on a CIB file under a virtual clock with faults to inject, is
// test/support/sim-cluster.ts.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CibPort } from '../../cib/change.js';
import { startDetached } from '../remote.js';
import { version } from '../virsh.js';
import { hostCibPort, queryCib } from './cib.js';
import { simulate, type Simulation } from './simulate.js';
import { cleanupResource, clearResource, moveResource, refreshResource, setResourceMeta, type MoveOptions } from './resources.js';
import { clusterSettled, getTransientNodeAttribute, setTransientNodeAttribute } from './status.js';

/** What `vm` asks of Pacemaker about one resource (crm_resource: lib/host/pacemaker/resources.ts). */
export interface ResourceRequests {
  setMeta(id: string, name: string, value: string): Promise<void>;
  move(id: string, opts: MoveOptions): Promise<void>;
  clear(id: string): Promise<void>;
  cleanup(id: string): Promise<void>;
  /** Its history forgotten on every node and probed afresh (crm_resource --refresh). */
  refresh(id: string): Promise<void>;
}

interface SimulateCopyOptions {
  /** Nodes that fail before computing (crm_simulate --node-fail). */
  nodesFailed?: readonly string[];
  /** Also return the CIB as it is after the simulated transition (crm_simulate --save-output). */
  output?: boolean;
}

export interface ClusterPort {
  /** The whole CIB now, configuration and status (cibadmin --query; with CIB_file, the file). */
  query(): Promise<string>;
  /** Whether Pacemaker has settled now: the DC idle, the scheduler wanting nothing (clusterSettled). */
  settled(): Promise<boolean>;
  /** What a CIB change (lib/cib/change.ts changeCib) needs: read, verify, patch, version, lock. */
  cib: CibPort;
  /** The scheduler on a copy of the CIB CIBXML (crm_simulate --simulate); the copy's state after, when asked. */
  simulate(cibXml: string, opts?: SimulateCopyOptions): Promise<{ sim: Simulation; after?: string }>;
  /** Sets a node attribute that Pacemaker forgets when NODE leaves the cluster (lifetime reboot). */
  setNodeMark(node: string, name: string, value: string): Promise<void>;
  /** That attribute, or undefined when it is not set (e.g. the node rebooted since). */
  getNodeMark(node: string, name: string): Promise<string | undefined>;
  /** Starts ARGV (reboot_command for NODE) on its own: it goes on when this process ends. */
  reboot(node: string, argv: readonly string[]): Promise<void>;
  /** Whether libvirt on NODE (at URI) answers. */
  libvirtAnswers(node: string, uri: string): Promise<boolean>;
  /** Requests about one resource (vm start, stop, migrate, clear, priority). */
  resources: ResourceRequests;
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Where the reboot command's own output goes (it runs on its own, see startDetached). */
const REBOOT_LOG = '/var/log/corral/reboot-command.log';

/** crm_simulate on a private copy of CIBXML. */
async function simulateCopy(cibXml: string, opts: SimulateCopyOptions = {}): Promise<{ sim: Simulation; after?: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'corral-plan-'));
  try {
    const file = join(dir, 'cib.xml');
    await writeFile(file, cibXml, { mode: 0o600 });
    const out = join(dir, 'after.xml');
    const sim = await simulate(file, { ...(opts.nodesFailed ? { nodesFailed: opts.nodesFailed } : {}), ...(opts.output ? { saveOutput: out } : {}) });
    return opts.output ? { sim, after: await readFile(out, 'utf8') } : { sim };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The cluster this host is part of (or CIB_file), through Pacemaker's tools. */
export function hostClusterPort(): ClusterPort {
  return {
    query: () => queryCib({ fromFile: true }),
    settled: () => clusterSettled(),
    cib: hostCibPort(),
    simulate: simulateCopy,
    setNodeMark: (node, name, value) => setTransientNodeAttribute(node, name, value),
    getNodeMark: (node, name) => getTransientNodeAttribute(node, name),
    reboot: async (_node, argv) => void (await startDetached(argv, REBOOT_LOG)),
    libvirtAnswers: (_node, uri) =>
      version({ uri, timeoutMs: 10_000 }).then(
        () => true,
        () => false,
      ),
    resources: { setMeta: (id, name, value) => setResourceMeta(id, name, value), move: (id, opts) => moveResource(id, opts), clear: (id) => clearResource(id), cleanup: (id) => cleanupResource(id), refresh: (id) => refreshResource(id) },
    now: () => Date.now(),
    sleep: (ms) => sleep(ms),
  };
}
