// `corral list | hosts | stats`: the cluster at a glance, as tables or --json. Registered by
// scripts/corral.ts; the work is in lib/cluster/ (snapshot, view, facts, stats, tables).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { clusterCpuCheck } from '../../cluster/cpu-check.js';
import { hostFacts, sampleNode, type NodeAccess } from '../../cluster/facts.js';
import { takeSnapshot } from '../../cluster/snapshot.js';
import { printable } from '../../cluster/format.js';
import { computeRates } from '../../cluster/stats.js';
import { hostRows, hostsJson, hostsText, hostTotals, listJson, listText, statsJson, statsText } from '../../cluster/tables.js';
import { localNodeName } from '../../host/pacemaker/status.js';
import { loadConfig, nodeCommandArgv, nodeUri } from '../../ops/config.js';
import { matches, parseVmPattern } from '../../ops/patterns.js';
import { UsageError } from '../errors.js';

const out = (s: string) => process.stdout.write(s);
const json = (v: unknown) => out(`${JSON.stringify(v, null, 2)}\n`);

export async function nodeAccess(): Promise<NodeAccess> {
  const config = await loadConfig();
  for (const w of config.warnings) process.stderr.write(`corral: warning: ${w}\n`);
  const localNode = await localNodeName().catch(() => undefined);
  return {
    uri: (n) => nodeUri(config.libvirtUri, n),
    command: (n, argv) => nodeCommandArgv(config.nodeCommand, n, argv),
    ...(localNode ? { localNode } : {}),
  };
}

export function registerTables(program: Command): void {
  program
    .command('list')
    .alias('vms')
    .description('Every VM: node, state, vCPUs, memory, priority, tags, constraints (one CIB query).')
    .argument('[pattern]', "only these VMs: a name glob ('*web*') or NODE/NAME globs ('hv17/*')")
    .option('--json', 'machine-readable output (stable field names)')
    .option('--crm-mon', "let crm_mon compute the status (slower; Pacemaker's own reading)")
    .addHelpText(
      'after',
      `
STATE is running, stopped, disabled (target-role Stopped), starting, stopping, migrating,
failed or unknown; "(failures)" marks VMs with fail counts (see vm NAME status).
CONSTRAINTS: pin:NODE only:NODES prefer:NODE(SCORE) avoid:NODE moved:NODE ban:NODE
apart:VM with:VM group:TAG after:VM before:VM rule:ID set:ID order:ID; "(timed)" moves and
bans expire. With CIB_file=PATH it reads that file instead of the cluster.`,
    )
    .action(async (pattern: string | undefined, o: { json?: boolean; crmMon?: boolean }) => {
      const p = pattern === undefined ? undefined : parseVmPattern(pattern);
      const snap = await takeSnapshot({ crmMon: o.crmMon === true });
      const vms = p ? snap.view.vms.filter((v) => matches(p, v)) : snap.view.vms;
      if (o.json) json(listJson(vms, snap.view.status.source));
      else out(listText(vms));
    });

  program
    .command('hosts')
    .description(
      "Every node: state, capacity, allocated, free, VMs, libvirt/qemu/kernel versions, CPU model; a warning for each VM whose CPU a node it may run on cannot provide.",
    )
    .option('--json', 'machine-readable output (stable field names)')
    .option('--no-facts', 'only what the CIB says (no libvirt round trips)')
    .addHelpText(
      'after',
      `
Capacity is the node's utilization (cpu, hv_memory: see nodecap), what Pacemaker places VMs by;
without it, what libvirt reports. USED is what the VMs running there ask for. Versions and the
CPU model come from each online node's libvirt (libvirt_uri in /etc/corral/corral.conf), the
kernel through node_command; all nodes are asked in parallel. "*" marks the DC.

CPU check: a live migration needs the target to provide the guest's CPU. For each VM, every node
it may run on (all nodes, narrowed by --only-on, bans and -INFINITY scores; not by --pin, a
preference: the VM fails over elsewhere and migrates back) is asked by its libvirt: a named model
with virsh hypervisor-cpu-compare; host-model (create_domxml's default for KVM) by comparing each
node's host-model CPU (virsh domcapabilities) on the others, as a migration from that node would
need; host-passthrough by the host CPUs (vendor, model, features), which must not differ. Each VM
a node cannot serve is a "warning:" line naming the VM, the node and libvirt's reason (cpuWarnings
in --json; null with --no-facts). Offline nodes are not asked.`,
    )
    .action(async (o: { json?: boolean; facts: boolean }) => {
      const snap = await takeSnapshot();
      let facts: Awaited<ReturnType<typeof hostFacts>>[] = [];
      let cpu: Awaited<ReturnType<typeof clusterCpuCheck>> | null = null;
      if (o.facts) {
        const access = await nodeAccess();
        facts = await Promise.all(snap.view.hosts.filter((h) => h.online).map((h) => hostFacts(h.name, access)));
        cpu = await clusterCpuCheck(snap.cib, snap.view, facts, access);
        // What the CPU check could not ask is the asked node's problem, beside its other ones.
        for (const p of cpu.problems) facts.find((f) => f.node === p.node)?.problems.push(`CPU check: ${p.message}`);
      }
      const rows = hostRows(snap.view, facts);
      const totals = hostTotals(snap.view, rows);
      if (o.json) json(hostsJson(rows, totals, cpu?.warnings ?? null));
      else {
        out(hostsText(rows, totals, cpu?.warnings ?? []));
        for (const f of facts) for (const pr of f.problems) process.stderr.write(`corral: ${printable(`${f.node}: ${pr}`)}\n`);
        for (const n of cpu?.notAsked ?? []) process.stderr.write(`corral: ${printable(`${n.node}: CPU check: not asked, ${n.why}`)}\n`);
      }
    });

  program
    .command('stats')
    .description('Live CPU, memory, disk and network rates per host and per VM (domstats from every node in parallel).')
    .option('--json', 'machine-readable output (stable field names)')
    .option('--interval <seconds>', 'time between the two readings the rates come from', '2')
    .addHelpText('after', '\nVM CPU is in % of one core; host CPU in % of all cores. Disk and network of a host are the sums of its VMs.')
    .action(async (o: { json?: boolean; interval: string }) => {
      if (!/^\d+(\.\d+)?$/.test(o.interval) || Number(o.interval) <= 0 || Number(o.interval) > 300) {
        throw new UsageError(`--interval ${JSON.stringify(o.interval)}: expected seconds, more than 0 and at most 300 (e.g. 2 or 0.5)`);
      }
      const seconds = Number(o.interval);
      const snap = await takeSnapshot();
      const access = await nodeAccess();
      const nodes = snap.view.hosts.filter((h) => h.online).map((h) => h.name);
      const first = await Promise.all(nodes.map((n) => sampleNode(n, access)));
      await sleep(seconds * 1000);
      const second = await Promise.all(nodes.map((n) => sampleNode(n, access)));
      const { hosts, vms } = computeRates(first, second);
      if (o.json) json(statsJson(seconds, hosts, vms));
      else {
        out(statsText(hosts, vms));
        for (const h of hosts) for (const pr of h.problems) process.stderr.write(`corral: ${printable(`${h.node}: ${pr}`)}\n`);
      }
    });
}
