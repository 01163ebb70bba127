// What corral verify asks each node, all nodes in parallel, every call bounded: through the node
// command (ssh by default; lib/ops/config.ts) for what only the node can say — its clock, its
// Pacemaker's and corral's versions, the console log directories, what it sees at each disk's
// path, and whether it reaches every other node's libvirt with the migration URI (virsh run ON
// that node, as the agent's migrate_to will) — and through its libvirt URI for libvirt's and
// QEMU's versions and whether it offers KVM. The node verify runs on is asked directly.
import type { NodeAccess } from '../../cluster/facts.js';
import type { RunResult } from '../../host/exec.js';
import { runOnNode } from '../../host/remote.js';
import * as virsh from '../../host/virsh.js';
import { parseStatFsTerse, parseStatTerse, type PathSeen } from './disks.js';
import { parseRfc3339, versionIn, type ClockSample } from './rules.js';

interface Peer {
  target: string;
  uri: string;
  /** Why virsh could not reach it; null when it did. */
  error: string | null;
}

export interface NodeProbe {
  node: string;
  /** Why the node command could not run anything there; null when it could. */
  unreachable: string | null;
  clock: ClockSample | null;
  corral: string | null;
  pacemaker: string | null;
  /** Console log directory → it exists (null: could not tell). */
  dirs: Map<string, boolean | null>;
  /** Disk path → what the node sees there; absent: could not tell. */
  paths: Map<string, PathSeen>;
  peers: Peer[];
  /** libvirt secret uuid → libvirt here has it (null: libvirt did not answer). */
  secrets: Map<string, boolean | null>;
  /** libvirt's capabilities offer domains of type kvm; null when libvirt did not answer. */
  kvm: boolean | null;
}

export interface ProbeRequest {
  /** Console log directories to look for. */
  dirs: readonly string[];
  /** Disk paths (and the RBD users' key files) to stat. */
  paths: readonly string[];
  /** libvirt secrets (uuids) to look for in the node's libvirt. */
  secrets: readonly string[];
  /** Other nodes and the URI to reach each one's libvirt with (the migration URIs). */
  peers: readonly { target: string; uri: string }[];
  /** This corral's version, for the node verify runs on. */
  corralVersion: string;
  /** Runs a call through the node command when there is room (a bound on the calls in flight across all nodes). */
  limit: <T>(call: () => Promise<T>) => Promise<T>;
}

/** A failed run through the node command that says nothing about the node: it was not reached. */
function unreached(r: RunResult): string | null {
  if (r.failedToStart) return `cannot run ${r.command.split(' ')[0]}: ${r.stderr.trim()}`;
  if (r.timedOut) return `no answer within the time allowed (${r.command.split(' ').slice(0, 3).join(' ')} …)`;
  if (r.exitCode === 255) return (r.stderr || r.stdout).trim().split('\n').pop() || 'the node command exited 255 (ssh: the node could not be reached)';
  return null;
}

function firstLine(r: RunResult): string {
  return (r.stderr || r.stdout).replace(/^error: /gm, '').trim().split('\n').filter(Boolean).join('; ') || `exit ${r.exitCode}`;
}

/** Asks NODE what REQ wants to know, each call bounded by TIMEOUTMS. */
export async function probeNode(node: string, access: NodeAccess, req: ProbeRequest, timeoutMs: number): Promise<NodeProbe> {
  const local = node === access.localNode;
  const run = async (argv: readonly string[]): Promise<RunResult> => (local ? runOnNode(argv, timeoutMs) : req.limit(() => runOnNode(access.command(node, argv), timeoutMs)));
  const probe: NodeProbe = { node, unreachable: null, clock: null, corral: null, pacemaker: null, dirs: new Map(), paths: new Map(), peers: [], secrets: new Map(), kvm: null };

  const libvirt = (async () => {
    try {
      const caps = await virsh.capabilities({ uri: access.uri(node), timeoutMs });
      probe.kvm = /<domain\s+type=['"]kvm['"]/.test(caps);
    } catch {
      probe.kvm = null; // the libvirt facts say why
    }
    for (const uuid of req.secrets) {
      probe.secrets.set(uuid, await virsh.secretXml({ uri: access.uri(node), timeoutMs }, uuid).then((x) => x !== undefined, () => null));
    }
  })();

  // The clock first: it also tells whether the node command reaches the node at all. Its round
  // trip is timed from when the call starts, not from when it waited for room.
  let sentMs = Date.now();
  let date: RunResult;
  try {
    const argv = ['date', '--rfc-3339=ns'];
    date = await (local ? (f: () => Promise<RunResult>) => f() : req.limit)(() => {
      sentMs = Date.now();
      return runOnNode(local ? argv : access.command(node, argv), timeoutMs);
    });
  } catch (e) {
    probe.unreachable = (e as Error).message;
    await libvirt;
    return probe;
  }
  const receivedMs = Date.now();
  probe.unreachable = unreached(date);
  if (probe.unreachable) {
    await libvirt;
    return probe;
  }
  const remoteMs = parseRfc3339(date.stdout);
  probe.clock = remoteMs === null ? null : { node, sentMs, receivedMs, remoteMs };

  const tasks: Promise<void>[] = [libvirt];
  tasks.push(
    (async () => {
      const r = await run(['pacemakerd', '--version']);
      probe.pacemaker = r.exitCode === 0 ? versionIn(r.stdout) : null;
    })(),
    (async () => {
      if (local) {
        probe.corral = req.corralVersion;
        return;
      }
      const r = await run(['corral', '--version']);
      probe.corral = r.exitCode === 0 ? versionIn(r.stdout) : null;
    })(),
  );
  for (const dir of req.dirs) {
    tasks.push(
      (async () => {
        const r = await run(['test', '-d', dir]).catch(() => undefined);
        probe.dirs.set(dir, r === undefined || unreached(r) ? null : r.exitCode === 0);
      })(),
    );
  }
  if (req.paths.length) {
    tasks.push(
      (async () => {
        const [st, fs] = await Promise.all([run(['stat', '-L', '-t', '--', ...req.paths]), run(['stat', '-L', '-f', '-t', '--', ...req.paths])]);
        if (unreached(st)) return;
        const seen = parseStatTerse(st.stdout);
        const types = parseStatFsTerse(fs.stdout);
        for (const p of req.paths) {
          const s = seen.get(p);
          if (s) probe.paths.set(p, { ...s, ...(types.has(p) ? { fsType: types.get(p) } : {}) });
          else if (new RegExp(`'${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': No such file or directory`).test(st.stderr)) probe.paths.set(p, { kind: 'missing' });
        }
      })().catch(() => undefined),
    );
  }
  for (const peer of req.peers) {
    tasks.push(
      (async () => {
        let error: string | null;
        if (local) {
          error = await virsh.version({ uri: peer.uri, timeoutMs }).then(
            () => null,
            (e: Error) => e.message,
          );
        } else {
          // timeout(1) on the node: virsh there must not outlive our bound (a firewall that drops).
          const seconds = String(Math.max(1, Math.floor(timeoutMs / 1000) - 2));
          const r = await run(['timeout', seconds, 'virsh', '-q', '-c', peer.uri, 'version', '--daemon']);
          error = r.exitCode === 0 ? null : r.exitCode === 124 ? `virsh did not answer within ${seconds} s` : firstLine(r);
        }
        probe.peers.push({ ...peer, error });
      })().catch((e: Error) => {
        probe.peers.push({ ...peer, error: e.message });
      }),
    );
  }
  await Promise.all(tasks);
  return probe;
}
