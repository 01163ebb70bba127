// corral's cluster in Ganeti's htools text format (`hspace -t FILE`, `hbal -t FILE`, `hroller -t
// FILE`; the format is in htools(1)), and readers for what those tools print. Pure: a cluster view
// in, text out; program output in, values out. lib/host/htools.ts runs the tools.
//
// How corral's cluster maps onto htools' model (docs/htools.md has the measured differences):
// - One node group. Nodes: total memory = the node's `hv_memory` utilization (what Pacemaker
//   places by), memory used by the node itself 0, free memory = total minus the VMs running there,
//   physical cores = the node's `cpu` utilization, node OS vCPUs 0, one spindle, a large equal disk
//   that no instance uses (shared storage does not count against a node's disk in htools).
// - CPUs are counted like Pacemaker's utilization: the policy's vCPU ratio is 1.0, so a node holds
//   at most `cpu` vCPUs (htools refuses when used vCPUs / cores > ratio: the same as Pacemaker's
//   sum of the VMs' `cpu` <= the node's `cpu`). The node OS vCPU field must be 0: htools defaults
//   it to 1, which would take one vCPU off every node.
// - Role: Y (offline) for a node that is down, in standby or in maintenance, or has no capacity set
//   (Pacemaker places nothing there); M (master) for the DC (hroller reboots the master last,
//   which spares an extra DC election); N otherwise. An offline node gets no memory and no cores,
//   as Ganeti's loaders give an offline node, so htools never counts it as room. Ganeti's loaders
//   show a *drained* node as offline with its capacity kept; `standby: 'drained'` does that for
//   standby nodes, but then hspace's N+1 check evacuates onto them (it does not leave offline nodes
//   out), which Pacemaker never does with a standby node. hbal moves instances off offline nodes,
//   as Pacemaker moves VMs off a standby node.
// - Instances: every VM active on a node, disk template `sharedfile` (shared storage: a primary
//   node, no secondary), `running` (`ADMIN_down` when its target-role is Stopped and it is still
//   there: htools then counts its vCPUs but not its memory), its Pacemaker tags as instance tags. A VM that runs nowhere is left out: it has no
//   primary node and Pacemaker's utilization counts nothing for it. A missing size counts 0, as a
//   missing utilization attribute does in Pacemaker.
// - A group-apart that must hold (`--group-apart TAG:never`, a -INFINITY colocation set) becomes
//   an exclusion tag (`apart:TAG`, cluster tag `htools:iextags:apart`). Other placement rules
//   (only-on, pin, avoid, priority, …) have no htools counterpart: they are listed in `unseen`.
// - The instance policy stays out of the way: minimum sizes 0, maximum sizes above every node and
//   VM, template sharedfile, spindle ratio 1.0.
import { CorralError } from '../errors.js';
import type { ClusterView, HostView, VmView } from '../cluster/view.js';

/** The nominal disk of every instance (MiB); shared storage, so no node's disk is used by it. */
const INSTANCE_DISK_MIB = 1024;
/** Every node's disk (MiB): large and equal, so disk never decides anything. */
const NODE_DISK_MIB = 1048576;
/** The exclusion tag prefix for group-apart groups that must hold. */
const APART_PREFIX = 'apart';

const GROUP_NAME = 'default';
const GROUP_UUID = 'corral-group-default';

export interface Size {
  vcpus: number;
  memoryMiB: number;
}

export interface HtoolsOptions {
  /**
   * The instance size of the policy's standard spec (what hspace allocates when it is given no
   * size); the policy's maximum covers it. Default 1 vCPU, 1024 MiB.
   */
  spec?: Size;
  /**
   * MiB added to every node's memory. htools refuses a placement that leaves a node 0 MiB free
   * (Node.addPriEx: free memory <= 0 fails), Pacemaker fills a node to exactly its capacity; 1
   * makes htools accept what Pacemaker accepts. Default 0 (the node as it is).
   */
  memorySlackMiB?: number;
  /**
   * How a node in standby or maintenance appears. 'offline' (default): offline with no memory and
   * no cores, as Ganeti's loaders show an offline node, so nothing in htools counts it as room.
   * 'drained': offline with its capacity kept, as Ganeti's loaders show a drained node; hspace's
   * N+1 check then still evacuates onto it (htools 3.0 GlobalN1.canEvacuateNode does not leave
   * offline nodes out), which Pacemaker never does with a standby node.
   */
  standby?: 'offline' | 'drained';
}

type NodeRole = 'M' | 'N' | 'Y';

interface HtoolsNode {
  name: string;
  memoryMiB: number;
  freeMemoryMiB: number;
  cores: number;
  role: NodeRole;
  /** Why the node is offline to htools (role Y). */
  offlineBecause?: string;
}

type InstanceStatus = 'running' | 'ADMIN_down';

interface HtoolsInstance {
  name: string;
  memoryMiB: number;
  vcpus: number;
  status: InstanceStatus;
  node: string;
  tags: string[];
}

export interface HtoolsModel {
  nodes: HtoolsNode[];
  instances: HtoolsInstance[];
  clusterTags: string[];
  /** VMs not in the instance list, and why. */
  omitted: { vm: string; why: string }[];
  /** Placement rules of VMs that htools cannot see (e.g. "only-on n2", "priority 10"). */
  unseen: { vm: string; what: string }[];
  spec: Size;
}

/** A name or tag htools' text format cannot carry (it splits on | and , and lines). */
export class HtoolsInputError extends CorralError {
  readonly kind = 'failed';
  override name = 'HtoolsInputError';
}

function field(kind: string, v: string): string {
  if (v === '' || /[|,\s]/.test(v)) throw new HtoolsInputError(`${kind} "${v}" cannot be written in htools' text format (empty, or contains "|", "," or white space)`);
  return v;
}

function nonNegative(n: number | null): number {
  return n !== null && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** Why a node is offline to htools, and whether its capacity is kept (drained) or not (down). */
function offlineReason(h: HostView): { why: string; keepCapacity: boolean } | undefined {
  if (!h.online) return { why: h.state === 'online' ? 'offline' : h.state, keepCapacity: false };
  if (h.standby) return { why: 'standby', keepCapacity: true };
  if (h.maintenance) return { why: 'maintenance', keepCapacity: true };
  if (h.cpus === null || h.memoryMiB === null) return { why: 'no capacity set (nodecap)', keepCapacity: false };
  return undefined;
}

function unseenRules(vm: VmView): string[] {
  const out: string[] = [];
  for (const c of vm.constraints) {
    if (c.kind === 'group' && c.score !== undefined && /^-INFINITY$/i.test(c.score)) continue; // an exclusion tag
    const what = [c.kind, c.nodes?.join(','), c.other, c.tag, c.score === undefined ? undefined : `score ${c.score}`].filter(Boolean).join(' ');
    out.push(what);
  }
  if (vm.priority !== 0) out.push(`priority ${vm.priority}`);
  return out;
}

/** corral's view of the cluster in htools' terms. */
export function htoolsModel(view: ClusterView, opts: HtoolsOptions = {}): HtoolsModel {
  const slack = nonNegative(opts.memorySlackMiB ?? 0);
  const hosts = [...view.hosts].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true })).map((h) => ({ h, offline: offlineReason(h) }));
  const known = new Set(view.hosts.map((h) => h.name));
  const instances: HtoolsInstance[] = [];
  const omitted: { vm: string; why: string }[] = [];
  const unseen: { vm: string; what: string }[] = [];
  let apart = false;
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name, 'en', { numeric: true });
  for (const vm of [...view.vms].sort(byName)) {
    for (const what of unseenRules(vm)) unseen.push({ vm: vm.name, what });
    if (vm.node === null || !known.has(vm.node)) {
      omitted.push({ vm: vm.name, why: vm.node === null ? `not running (${vm.state})` : `runs on ${vm.node}, which is not a node of the cluster` });
      continue;
    }
    const tags = [...vm.tags];
    for (const c of vm.constraints) {
      if (c.kind === 'group' && c.tag && c.score !== undefined && /^-INFINITY$/i.test(c.score)) {
        tags.push(`${APART_PREFIX}:${c.tag}`);
        apart = true;
      }
    }
    instances.push({
      name: field('VM name', vm.name),
      memoryMiB: nonNegative(vm.memoryMiB),
      vcpus: nonNegative(vm.vcpus),
      status: vm.targetRole !== null && /^stopped$/i.test(vm.targetRole) ? 'ADMIN_down' : 'running',
      node: vm.node,
      tags: [...new Set(tags)].map((t) => field('tag', t)),
    });
  }
  const nodes: HtoolsNode[] = hosts.map(({ h, offline }) => {
    const capacity = !offline || (offline.keepCapacity && opts.standby === 'drained');
    const memoryMiB = capacity ? nonNegative(h.memoryMiB) + slack : 0;
    const used = instances.filter((i) => i.node === h.name && i.status === 'running').reduce((s, i) => s + i.memoryMiB, 0);
    const node: HtoolsNode = {
      name: field('node name', h.name),
      memoryMiB,
      freeMemoryMiB: Math.max(0, memoryMiB - used),
      cores: capacity ? nonNegative(h.cpus) : 0,
      role: offline ? 'Y' : h.dc ? 'M' : 'N',
    };
    if (offline) node.offlineBecause = offline.why;
    return node;
  });
  return {
    nodes,
    instances,
    clusterTags: apart ? [`htools:iextags:${APART_PREFIX}`] : [],
    omitted,
    unseen,
    spec: opts.spec ?? { vcpus: 1, memoryMiB: 1024 },
  };
}

/** An instance spec of the policy: memory, cpus, disk size, disk count, NIC count, spindle use. */
function ispec(memoryMiB: number, vcpus: number, diskMiB: number, disks: number, nics: number, spindles: number): string {
  return [memoryMiB, vcpus, diskMiB, disks, nics, spindles].join(',');
}

/** The model as htools' text: groups | nodes | instances | cluster tags | policies, one blank line apart. */
function renderHtools(m: HtoolsModel): string {
  const group = `${GROUP_NAME}|${GROUP_UUID}|preferred||`;
  // name|t_mem|n_mem|f_mem|t_dsk|f_dsk|t_cpu|role|group|spindles|tags|excl_stor|free_spindles|nos_cpu|cpu_speed
  const nodes = m.nodes.map((n) => [n.name, n.memoryMiB, 0, n.freeMemoryMiB, NODE_DISK_MIB, NODE_DISK_MIB, n.cores, n.role, GROUP_UUID, 1, '', 'N', 1, 0, '1.0'].join('|'));
  // name|mem|disk|vcpus|status|auto_balance|pnode|snode|template|tags|spindle_use|spindles|forthcoming
  const instances = m.instances.map((i) => [i.name, i.memoryMiB, INSTANCE_DISK_MIB, i.vcpus, i.status, 'Y', i.node, '', 'sharedfile', i.tags.join(','), 1, '-', 'N'].join('|'));
  const maxMem = Math.max(1, m.spec.memoryMiB, ...m.nodes.map((n) => n.memoryMiB), ...m.instances.map((i) => i.memoryMiB));
  const maxCpu = Math.max(1, m.spec.vcpus, ...m.nodes.map((n) => n.cores), ...m.instances.map((i) => i.vcpus));
  const std = ispec(m.spec.memoryMiB, m.spec.vcpus, INSTANCE_DISK_MIB, 1, 1, 1);
  const minmax = `${ispec(0, 0, 0, 0, 0, 0)};${ispec(maxMem, maxCpu, NODE_DISK_MIB, 16, 8, 1)}`;
  const policy = (owner: string) => [owner, std, minmax, 'sharedfile', '1.0', '1.0'].join('|');
  // Each section ends with a newline and sections are separated by one empty line; an empty
  // section is an empty line of its own (htools(1)).
  const section = (lines: string[]) => lines.map((l) => `${l}\n`).join('');
  return [section([group]), section(nodes), section(instances), section(m.clusterTags), section([policy(''), policy(GROUP_NAME)])].join('\n');
}

/** corral's cluster in htools' text format (see the top of this file for the mapping). */
export function htoolsText(view: ClusterView, opts: HtoolsOptions = {}): string {
  return renderHtools(htoolsModel(view, opts));
}

// ---------------------------------------------------------------------------------------------
// Reading what the tools print

/** The unit-less size argument of hspace's --standard-alloc/--tiered-alloc: DISK,RAM,CPU (MiB). */
export function allocSpec(size: Size): string {
  return `${INSTANCE_DISK_MIB},${size.memoryMiB},${size.vcpus}`;
}

interface TieredSpec {
  memoryMiB: number;
  diskMiB: number;
  vcpus: number;
  spindles: number;
  count: number;
}

export interface HspaceResult {
  /** Every HTS_ key (without the prefix) and its value, unquoted. */
  values: Record<string, string>;
  /** hspace finished its computation (HTS_OK=1); otherwise no value may be relied upon. */
  ok: boolean;
  /** How many instances of the standard size it placed (HTS_ALLOC_INSTANCES, or ALLOC_COUNT). */
  allocated: number | null;
  /** Why the next one failed (FAILN1, FAILMEM, FAILCPU, FAILDISK, …), when it says. */
  failReason: string | null;
  /** Failure counts per reason for the last attempt (ALLOC_FAIL*_CNT), e.g. {FAILN1: 3}. */
  failCounts: Record<string, number>;
  /** The tiered allocation's specs and counts (HTS_TSPEC), largest first. */
  tiered: TieredSpec[];
  initialScore: number | null;
  finalScore: number | null;
}

function num(v: string | undefined): number | null {
  if (v === undefined || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Reads `hspace --machine-readable` output: HTS_KEY=value lines (values may be single-quoted). */
export function parseHspace(stdout: string): HspaceResult {
  const values: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^HTS_([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2] as string;
    if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) v = v.slice(1, -1);
    values[m[1] as string] = v;
  }
  const failCounts: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) {
    const m = /^ALLOC_(FAIL[A-Z0-9]*)_CNT$/.exec(k);
    const n = num(v);
    if (m && n !== null) failCounts[m[1] as string] = n;
  }
  const tiered: TieredSpec[] = [];
  for (const item of (values.TSPEC ?? '').split(/\s+/).filter(Boolean)) {
    const m = /^(\d+),(\d+),(\d+)(?:,(\d+))?=(\d+)$/.exec(item);
    if (m) tiered.push({ memoryMiB: Number(m[1]), diskMiB: Number(m[2]), vcpus: Number(m[3]), spindles: Number(m[4] ?? 1), count: Number(m[5]) });
  }
  return {
    values,
    ok: values.OK === '1',
    allocated: num(values.ALLOC_INSTANCES ?? values.ALLOC_COUNT),
    failReason: values.ALLOC_FAIL_REASON ?? null,
    failCounts,
    tiered,
    initialScore: num(values.INI_SCORE),
    finalScore: num(values.FIN_SCORE),
  };
}

export interface HbalStep {
  step: number;
  instance: string;
  /** Primary (and secondary) node before, e.g. ["n1"] or ["n1", "n2"]. */
  from: string[];
  to: string[];
  /** The cluster score after this step. */
  score: number;
  /** hbal's action code, e.g. "fa:n2" (failover/migrate to n2), "f r:n3", "r:n3 f". */
  actions: string;
}

interface HbalCommand {
  jobset: number;
  /** The command's words, e.g. ["gnt-instance", "migrate", "-f", "-n", "n2", "a"]. */
  words: string[];
  instance: string;
  /** The node named by -n, if any. */
  target: string | null;
}

export interface HbalResult {
  nodes: number | null;
  instances: number | null;
  initialScore: number | null;
  /** The score at the end (the initial one when no move improves it). */
  finalScore: number | null;
  steps: HbalStep[];
  /** With -C: the commands, by jobset. */
  commands: HbalCommand[];
}

/** Reads hbal's output (with or without -C). */
export function parseHbal(stdout: string): HbalResult {
  const lines = stdout.split('\n');
  let nodes: number | null = null;
  let instances: number | null = null;
  let initialScore: number | null = null;
  let finalScore: number | null = null;
  const steps: HbalStep[] = [];
  const commands: HbalCommand[] = [];
  let jobset = 0;
  let inCommands = false;
  for (const raw of lines) {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^Loaded (\d+) nodes?, (\d+) instances?/.exec(line))) {
      nodes = Number(m[1]);
      instances = Number(m[2]);
    } else if ((m = /^Initial score: ([\d.eE+-]+)/.exec(line))) {
      initialScore = Number(m[1]);
    } else if ((m = /^Cluster score improved from ([\d.eE+-]+) to ([\d.eE+-]+)/.exec(line))) {
      finalScore = Number(m[2]);
    } else if (!inCommands && (m = /^(\d+)\.\s+(\S+)\s+(\S+)\s+=>\s+(\S+)\s+([\d.eE+-]+)\s+a=(.*)$/.exec(line))) {
      steps.push({ step: Number(m[1]), instance: m[2] as string, from: (m[3] as string).split(':'), to: (m[4] as string).split(':'), score: Number(m[5]), actions: (m[6] as string).trim() });
    } else if (/^Commands to run/.test(line)) {
      inCommands = true;
    } else if (inCommands && (m = /^echo jobset (\d+)/.exec(line))) {
      jobset = Number(m[1]);
    } else if (inCommands && /^gnt-instance\s/.test(line)) {
      const words = line.split(/\s+/);
      const n = words.indexOf('-n');
      commands.push({ jobset, words, instance: words.at(-1) as string, target: n >= 0 ? (words[n + 1] ?? null) : null });
    }
  }
  if (finalScore === null) finalScore = steps.at(-1)?.score ?? initialScore;
  return { nodes, instances, initialScore, finalScore, steps, commands };
}

/** Where each instance ends after hbal's steps (instance → primary node), given where they started. */
export function hbalEndPlacement(start: ReadonlyMap<string, string>, steps: readonly HbalStep[]): Map<string, string> {
  const out = new Map(start);
  for (const s of steps) out.set(s.instance, s.to[0] as string);
  return out;
}

export interface RebootGroup {
  nodes: string[];
  /** With --print-moves: where each affected instance would go while the group reboots. */
  moves: { instance: string; to: string }[];
}

/** Reads hroller's output: a quoted title, then one line per reboot group (comma-separated nodes). */
export function parseHroller(stdout: string): RebootGroup[] {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const title = lines[0]?.trim() ?? '';
  const body = /^'.*'$/.test(title) ? lines.slice(1) : lines;
  // --one-step-only prints the first group one node per line.
  if (/^'First Reboot Group'$/.test(title)) return [{ nodes: body.map((l) => l.trim()), moves: [] }];
  const groups: RebootGroup[] = [];
  for (const l of body) {
    if (/^\s/.test(l) && groups.length) {
      const [instance, to] = l.trim().split(/\s+/);
      if (instance && to) groups.at(-1)?.moves.push({ instance, to });
    } else {
      groups.push({ nodes: l.trim().split(',').filter(Boolean), moves: [] });
    }
  }
  return groups;
}

/**
 * VIEW with the VMs of PLACEMENT (VM name → node, or null: stopped) moved there, the hosts'
 * allocation recomputed: an end state (hbal's, or a corral plan's) to write with htoolsText and
 * score with hbal. VMs not in PLACEMENT stay where they are.
 */
export function placeVms(view: ClusterView, placement: ReadonlyMap<string, string | null>): ClusterView {
  const vms = view.vms.map((v) => {
    if (!placement.has(v.name)) return v;
    const node = placement.get(v.name) ?? null;
    return { ...v, node, nodes: node ? [node] : [], migratingTo: null, state: node ? ('running' as const) : v.state === 'running' ? ('stopped' as const) : v.state };
  });
  const hosts = view.hosts.map((h) => {
    const here = vms.filter((v) => v.nodes.includes(h.name));
    const allocCpus = here.reduce((s, v) => s + (v.vcpus ?? 0), 0);
    const allocMemoryMiB = here.reduce((s, v) => s + (v.memoryMiB ?? 0), 0);
    return {
      ...h,
      vms: here.map((v) => v.name),
      allocCpus,
      allocMemoryMiB,
      freeCpus: h.cpus === null ? null : h.cpus - allocCpus,
      freeMemoryMiB: h.memoryMiB === null ? null : h.memoryMiB - allocMemoryMiB,
    };
  });
  return { ...view, vms, hosts, byResource: new Map(vms.map((v) => [v.resource, v])) };
}
