// corral verify (Ganeti's gnt-cluster verify): every node checked, one line per thing wrong with
// its fix. The run: one CIB snapshot; then every online node asked in parallel (verify/probe.ts),
// the CPU check (lib/cluster/cpu-check.ts) and N+1 (capacityOf, as corral capacity) beside them;
// then the rules, each a small function in verify/: cluster.ts (what the CIB says), rules.ts
// (versions, clocks), disks.ts, and the node-by-node ones below. Lines and the exit code: verify/report.ts.
import { clusterCpuCheck } from '../cluster/cpu-check.js';
import { hostFacts, type HostFacts, type NodeAccess } from '../cluster/facts.js';
import { mayRunOn } from '../cluster/cpu-models.js';
import { takeSnapshot, type Snapshot } from '../cluster/snapshot.js';
import { corralVms } from '../cib/model.js';
import { domainFromConfig } from '../cib/config.js';
import { registeredFenceDevices } from '../host/pacemaker/fence-registry.js';
import { parseParams } from '../ocf/params.js';
import { transientDomainSpec, type TransientDomainParams } from '../ocf/transient-domain.js';
import { migrationUris } from '../vm/migrate.js';
import { capacityOf } from './maintenance.js';
import { balancerLines, capacityLines, fencingLines, leftoverLines, membershipLines, quorumLines, type FenceRegistry } from './verify/cluster.js';
import { diskLines, disksOf, keyringPaths, secretUuids, type VmDisks } from './verify/disks.js';
import { callLimit } from '../cluster/limit.js';
import { probeNode, type NodeProbe } from './verify/probe.js';
import { CLUSTER, makeReport, pass, problem, type CheckLine, type VerifyReport } from './verify/report.js';
import { clockLines, versionLines } from './verify/rules.js';

export interface VerifyOptions {
  access: NodeAccess;
  /** This corral's version (the node verify runs on). */
  corralVersion: string;
  /** Bound of each call to a node (default 15 s). */
  timeoutMs?: number;
}

const DEFAULT_CONSOLE_DIR = '/var/log/corral/console';

/** A VM's agent parameters as the agent reads them (defaults applied), or undefined when they do not parse. */
function agentParams(params: Record<string, string>): TransientDomainParams | undefined {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(params)) env[`OCF_RESKEY_${k}`] = v;
  const r = parseParams<TransientDomainParams>(transientDomainSpec, env);
  return r.ok ? r.params : undefined;
}

interface MigrationRoute {
  /** The VMs that migrate this way. */
  vms: string[];
  /** The URI that reaches TARGET's libvirt. */
  uri: (target: string) => string;
}

/** The ways the VMs migrate (their migration URIs' templates); without VMs, corral.conf's libvirt_uri. */
function migrationRoutes(snap: Snapshot, access: NodeAccess): MigrationRoute[] {
  const routes = new Map<string, MigrationRoute>();
  for (const vm of corralVms(snap.cib)) {
    const p = agentParams(vm.resource.params);
    if (!p) continue;
    const key = migrationUris(p, '{node}').destUri;
    const r = routes.get(key);
    if (r) r.vms.push(vm.name);
    else routes.set(key, { vms: [vm.name], uri: (t) => migrationUris(p, t).destUri });
  }
  if (routes.size === 0) return [{ vms: [], uri: access.uri }];
  return [...routes.values()];
}

function migrationLines(probes: readonly NodeProbe[], routes: readonly MigrationRoute[]): CheckLine[] {
  const lines: CheckLine[] = [];
  for (const p of probes) {
    if (p.unreachable) continue;
    const bad = p.peers.filter((x) => x.error !== null).sort((a, b) => a.target.localeCompare(b.target, 'en', { numeric: true }));
    for (const b of bad) {
      const route = routes.find((r) => r.uri(b.target) === b.uri);
      const whose = route?.vms.length ? ` (the migration URI of ${route.vms.slice(0, 3).join(', ')}${route.vms.length > 3 ? ' …' : ''})` : " (corral.conf's libvirt_uri: no VM yet)";
      lines.push(
        problem(
          'migration',
          p.node,
          `cannot reach ${b.target}'s libvirt with ${b.uri}${whose}: ${b.error}; a live migration from ${p.node} to ${b.target} would fail`,
          `make libvirtd on ${b.target} accept ${p.node} on that transport (ssh: root's key from ${p.node}; tcp/tls: libvirtd --listen or virtproxyd-${/\+tls:/.test(b.uri) ? 'tls' : 'tcp'}.socket, the firewall); test with virsh -c ${b.uri} version on ${p.node}`,
        ),
      );
    }
    if (bad.length === 0 && p.peers.length) lines.push(pass('migration', p.node, `reaches the libvirt of ${[...new Set(p.peers.map((x) => x.target))].join(', ')} with the migration URI`));
  }
  return lines;
}

function nodeCommandLines(probes: readonly NodeProbe[]): CheckLine[] {
  return probes.map((p) =>
    p.unreachable
      ? problem('node-command', p.node, `the node command cannot run anything here: ${p.unreachable}; its clock, versions, console log directory and disks were not checked`, `make node_command in corral.conf work from here to ${p.node} (ssh: root's key, BatchMode)`)
      : pass('node-command', p.node, 'the node command runs commands here'),
  );
}

function consoleLines(probes: readonly NodeProbe[]): CheckLine[] {
  const lines: CheckLine[] = [];
  for (const p of probes) {
    if (p.unreachable) continue;
    const missing = [...p.dirs].filter(([, ok]) => ok === false).map(([d]) => d);
    for (const d of missing) {
      lines.push(problem('console-log', p.node, `the console log directory ${d} is missing: libvirt cannot start or receive a VM here`, `mkdir -p ${d} on ${p.node} (the agent also makes it on its next probe: crm_resource --refresh)`));
    }
    if (!missing.length && p.dirs.size) lines.push(pass('console-log', p.node, `console log directory ${[...p.dirs.keys()].join(', ')} present`));
  }
  return lines;
}

/** A node without KVM: an error when a VM of type kvm may run there, else a warning (every VM is type qemu: TCG, slow but working). */
function kvmLines(probes: readonly NodeProbe[], kvmVms: (node: string) => string[]): CheckLine[] {
  const lines: CheckLine[] = [];
  for (const p of probes) {
    if (p.kvm === null) continue;
    if (p.kvm) {
      lines.push(pass('kvm', p.node, 'libvirt offers KVM'));
      continue;
    }
    const need = kvmVms(p.node);
    const fix = 'enable virtualization in the firmware, load kvm_intel or kvm_amd, make /dev/kvm root:kvm 0660 (Debian\'s udev rule), then restart libvirtd';
    lines.push(
      need.length
        ? problem('kvm', p.node, `libvirt offers no KVM here (/dev/kvm absent or not usable), and ${need.slice(0, 3).join(', ')}${need.length > 3 ? ' …' : ''} (type kvm) may run here: they cannot start`, fix)
        : problem('kvm', p.node, 'libvirt offers no KVM here (/dev/kvm absent or not usable): every VM here is type qemu and runs under TCG emulation, many times slower', fix, 'warning'),
    );
  }
  return lines;
}

function libvirtLines(facts: readonly HostFacts[]): CheckLine[] {
  return facts
    .filter((f) => f.libvirt === null)
    .map((f) => problem('libvirt', f.node, `libvirt does not answer here: ${f.problems.join('; ') || 'no version'}`, `start libvirtd on ${f.node}, and check corral.conf's libvirt_uri reaches it from here`));
}

function cpuLines(cpu: Awaited<ReturnType<typeof clusterCpuCheck>>, asked: readonly string[]): CheckLine[] {
  const lines: CheckLine[] = cpu.warnings.map((w) =>
    problem('cpu', w.node, `${w.vm}'s CPU (${w.cpu}${w.from ? ` of ${w.from}` : ''}) is not available here: ${w.reason}`, `give ${w.vm} a CPU model every node it may run on provides (create_domxml --cpu MODEL), or keep it off ${w.node} (domadd --replace --only-on …)`),
  );
  for (const p of cpu.problems) lines.push(problem('cpu', p.node, `the CPU check could not ask libvirt: ${p.message}`, '', 'not-checked'));
  for (const node of asked) {
    if (!lines.some((l) => l.node === node)) lines.push(pass('cpu', node, 'every VM that may run here gets its CPU'));
  }
  return lines;
}

async function nPlusOneLines(snap: Snapshot): Promise<CheckLine[]> {
  const r = await capacityOf(snap);
  const lines: CheckLine[] = [];
  for (const n of r.nodes) {
    if (n.ifFails.errors) lines.push(problem('n-plus-one', n.name, `Pacemaker could not say what a failure of ${n.name} stops: ${n.ifFails.errors.join('; ')}`, '', 'not-checked'));
    else if (n.ifFails.stopped.length) {
      lines.push(problem('n-plus-one', n.name, `if ${n.name} fails, ${n.ifFails.stopped.join(', ')} stay stopped: the cluster is not N+1`, 'add capacity (nodecap), make room, or relax those VMs\' constraints; corral capacity shows the whole answer'));
    }
  }
  if (r.nPlusOne) lines.push(pass('n-plus-one', CLUSTER, 'N+1: if any one node fails, every running VM runs elsewhere'));
  return lines;
}

/** Checks the cluster; throws (exit 3) only when it cannot be read at all. */
export async function verifyCluster(opts: VerifyOptions): Promise<VerifyReport> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const access: NodeAccess = { ...opts.access, timeoutMs };
  const snap = await takeSnapshot();
  const { view } = snap;
  const online = view.hosts.filter((h) => h.online).map((h) => h.name);
  const all = view.hosts.map((h) => h.name);

  // What each VM needs of the nodes it may run on.
  const vms = corralVms(snap.cib);
  const allowed = new Map(view.vms.map((v) => [v.name, mayRunOn(v, all)]));
  const vmDisks: VmDisks[] = vms.map((vm) => {
    const nodes = allowed.get(vm.name) ?? all;
    return { vm: vm.name, nodes, otherNodes: all.filter((n) => !nodes.includes(n)), disks: disksOf(vm.config) };
  });
  const dirs = [...new Set(vms.map((vm) => agentParams(vm.resource.params)?.console_log_dir ?? DEFAULT_CONSOLE_DIR))];
  if (dirs.length === 0) dirs.push(DEFAULT_CONSOLE_DIR);
  const paths = [...new Set([...vmDisks.flatMap((v) => v.disks.filter((d) => d.kind === 'file' || d.kind === 'block').map((d) => d.source)), ...keyringPaths(vmDisks)])];
  const secrets = secretUuids(vmDisks);
  const routes = migrationRoutes(snap, access);
  const kvmVmsOn = (node: string) =>
    vms
      .filter((vm) => (allowed.get(vm.name) ?? all).includes(node))
      .filter((vm) => {
        try {
          return vm.config !== undefined && domainFromConfig(vm.config).type === 'kvm';
        } catch {
          return false;
        }
      })
      .map((vm) => vm.name);

  // Calls through the node command in flight at once, over all nodes: each is a program started
  // here (ssh), and a cluster of many nodes must not start hundreds together.
  const limit = callLimit(8);
  const [probes, facts, registry, nPlusOne] = await Promise.all([
    Promise.all(
      online.map((node) =>
        probeNode(
          node,
          access,
          {
            dirs,
            paths,
            secrets,
            peers: online.filter((t) => t !== node).flatMap((t) => [...new Set(routes.map((r) => r.uri(t)))].map((uri) => ({ target: t, uri }))),
            corralVersion: opts.corralVersion,
            limit,
          },
          timeoutMs,
        ),
      ),
    ),
    Promise.all(online.map((n) => hostFacts(n, access))),
    registeredFenceDevices({ timeoutMs }).then(
      (registered): FenceRegistry => ({ registered }),
      (e: Error): FenceRegistry => ({ registered: null, why: e.message }),
    ),
    nPlusOneLines(snap).catch((e: Error) => [problem('n-plus-one', CLUSTER, `Pacemaker could not answer: ${e.message}`, '', 'not-checked')]),
  ]);
  const cpu = await clusterCpuCheck(snap.cib, view, facts, access).catch((e: Error) => ({ warnings: [], problems: [{ node: CLUSTER, vm: null, message: e.message }], calls: 0, notAsked: [] }));

  const byNode = new Map(probes.map((p) => [p.node, p]));
  const lines: CheckLine[] = [
    ...membershipLines(snap),
    ...quorumLines(snap),
    ...fencingLines(snap, registry),
    ...nodeCommandLines(probes),
    ...libvirtLines(facts),
    ...versionLines(
      probes
        .filter((p) => !p.unreachable)
        .map((p) => {
          const f = facts.find((x) => x.node === p.node);
          return { node: p.node, corral: p.corral, pacemaker: p.pacemaker, libvirt: f?.libvirt ?? null, qemu: f?.qemu ?? null };
        }),
    ),
    ...clockLines(probes.flatMap((p) => (p.clock ? [p.clock] : []))),
    ...migrationLines(probes, routes),
    ...consoleLines(probes),
    ...kvmLines(probes, kvmVmsOn),
    ...diskLines(
      vmDisks.map((v) => ({ ...v, nodes: v.nodes.filter((n) => online.includes(n)), otherNodes: v.otherNodes.filter((n) => online.includes(n)) })),
      (node, path) => {
        const p = byNode.get(node);
        return p && !p.unreachable ? p.paths.get(path) : undefined;
      },
      (node, uuid) => byNode.get(node)?.secrets.get(uuid),
    ),
    ...cpuLines(cpu, facts.filter((f) => f.libvirt !== null).map((f) => f.node)),
    ...capacityLines(snap),
    ...nPlusOne,
    ...leftoverLines(snap),
    ...balancerLines(snap),
  ];
  return makeReport(lines);
}
