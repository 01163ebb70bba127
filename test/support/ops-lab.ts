// The lab of the operator-command tests (test/cluster/ops-*.test.ts) and of the recordings in
// test/fixtures/recorded/: a 3-node cluster (lib/lab/cluster.ts) with a few tiny test guests added
// the way an operator adds them (fixup_domxml, domadd, inside a node), and `vm` / `corral` run
// inside a node with the lab's settings: libvirt over qemu+tcp, and a node command that reads a
// node's files through the lab's state directory (the lab has no ssh; on real clusters ssh does
// this, see lib/ops/config.ts).
import { chmod, copyFile, mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../../lib/host/exec.js';
import { installCorral } from '../../lib/lab/boot.js';
import { clusterExec, createClusterLab, destroyClusterLab, loadClusterLab, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import { nodeVirsh } from '../../lib/lab/libvirt.js';
import { nodeRunning } from '../../lib/lab/node.js';
import { labDir, type LabNode } from '../../lib/lab/state.js';
import { LabWatcher } from '../../lib/lab/watch.js';
import { ensureTestGuest, testGuestDomainXml, type TestGuestDomainOptions } from '../../lib/lab/test-guest.js';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const OPS_LAB = { name: process.env.CORRAL_OPS_LAB ?? 'ops', subnet: process.env.CORRAL_OPS_SUBNET ?? '10.213.91' };
/** Root-owned files every node can read (the nodes see the host's /var/cache/corral). */
export const OPS_DIR = '/var/cache/corral/it/ops';
export const OPS_ETC = path.join(OPS_DIR, 'etc');

/** Kernel switches of the test guests: every SysRq function, and Ctrl+Alt+Del reboots at once
 *  (the kernel prints "reboot: Restarting system"), so both show in the console log. */
const GUEST_SYSCTLS = ['sysctl.kernel.sysrq=1', 'sysctl.kernel.ctrl-alt-del=1'];

export interface OpsVm {
  name: string;
  /** domadd options (placement). */
  domadd?: string[];
  memoryMiB?: number;
  tick?: boolean;
  /** A CPU burner in the guest (lib/lab/test-guest.ts). */
  burn?: TestGuestDomainOptions['burn'];
}

/** corral.conf for vm/corral inside the lab's nodes. */
export async function writeOpsEtc(lab: ClusterLab): Promise<string> {
  await mkdir(OPS_ETC, { recursive: true, mode: 0o755 });
  await copyBuild();
  for (const d of ['/var/cache/corral', '/var/cache/corral/it', OPS_DIR, OPS_ETC]) await chmod(d, 0o755);
  const helper = path.join(ROOT, 'test/support/lab-node-command.mjs');
  await writeFile(
    path.join(OPS_ETC, 'corral.conf'),
    `# written by test/support/ops-lab.ts for lab ${lab.name}\n` +
      'libvirt_uri = qemu+tcp://{node}/system\n' +
      `node_command = ${process.execPath} ${helper} ${labDir(lab.name)} {node}\n` +
      'move_lifetime = PT10M\n',
    { mode: 0o644 },
  );
  return OPS_ETC;
}

/** The environment vm and corral get in the lab's nodes. */
export function opsEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { CORRAL_ETC: OPS_ETC, ...extra };
}

const CORRAL_COMMANDS = new Set(['vm', 'corral', 'domadd', 'domdel', 'fixup_domxml', 'create_domxml', 'nodecap']);

/** Where the tests run corral's commands from: a copy of this build's dist/bin (see copyBuild). */
export const OPS_BIN = path.join(OPS_DIR, 'bin');

/**
 * Copies this build's commands to OPS_BIN, which the nodes see. Not dist/bin itself: a build
 * started meanwhile (npm run build empties dist/ first) would pull it away mid-test. Not the
 * lab's /usr/sbin either: that is an overlay of what was installed when the lab was created, and
 * replacing files under a running lab is not reliably seen inside the nodes.
 */
export async function copyBuild(): Promise<void> {
  await mkdir(OPS_BIN, { recursive: true, mode: 0o755 });
  for (const f of await readdir(path.join(ROOT, 'dist/bin'))) {
    const tmp = path.join(OPS_BIN, `.${f}.new`);
    await copyFile(path.join(ROOT, 'dist/bin', f), tmp);
    await chmod(tmp, 0o755);
    await rename(tmp, path.join(OPS_BIN, f));
  }
}

/** This build's executable of a corral command, as copied by copyBuild. */
export function built(command: string): string {
  return CORRAL_COMMANDS.has(command) ? path.join(OPS_BIN, command) : command;
}

/** Runs a command (vm, corral, domadd … from this build) inside NODE with the lab's settings. */
export function inNode(node: LabNode, command: string, args: readonly string[], opts: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  return clusterExec(node, built(command), args, { timeoutMs: opts.timeoutMs ?? 120_000, env: opsEnv(opts.env), ...(opts.input !== undefined ? { input: opts.input } : {}) });
}

export async function ok(r: RunResult | Promise<RunResult>): Promise<RunResult> {
  const x = await r;
  if (x.exitCode !== 0) throw new Error(`${x.command} exited ${x.exitCode}:\n${x.stderr}\n${x.stdout}`);
  return x;
}

/** The ops lab, up: the running one when its nodes are up (with this build installed), else a fresh one. */
export async function opsLab(log: (s: string) => void = () => undefined): Promise<ClusterLab> {
  try {
    const lab = await loadClusterLab(OPS_LAB.name);
    if ((await Promise.all(lab.nodes.map(nodeRunning))).every(Boolean)) {
      await installCorral(lab); // the agent: Pacemaker runs it from the nodes' OCF directory
      await waitClusterIdle(lab, { timeoutMs: 60_000 });
      await writeOpsEtc(lab);
      return lab;
    }
  } catch {
    // none, or broken: make a fresh one
  }
  await destroyClusterLab(OPS_LAB.name).catch(() => undefined);
  const lab = await createClusterLab({ name: OPS_LAB.name, nodes: 3, subnet: OPS_LAB.subnet, log, timeoutMs: 300_000 });
  await writeOpsEtc(lab);
  return lab;
}

/** Adds VMS (test guests) with fixup_domxml and domadd, run in the lab's first node. */
export async function addVms(lab: ClusterLab, vms: readonly OpsVm[]): Promise<void> {
  const guest = await ensureTestGuest();
  const n1 = lab.nodes[0] as LabNode;
  await mkdir(path.join(OPS_DIR, 'domains'), { recursive: true, mode: 0o755 });
  for (const vm of vms) {
    const file = path.join(OPS_DIR, 'domains', `${vm.name}.xml`);
    await writeFile(
      file,
      testGuestDomainXml({ name: vm.name, guest, memoryMiB: vm.memoryMiB ?? 128, tick: vm.tick ?? false, extraCmdline: GUEST_SYSCTLS, ...(vm.burn ? { burn: vm.burn } : {}) }),
      { mode: 0o644 },
    );
    await ok(inNode(n1, 'fixup_domxml', ['-i', file]));
    // The lab's libvirtd listens on TCP without auth (no ssh between lab nodes): live migration
    // goes over qemu+tcp.
    await ok(inNode(n1, 'domadd', ['--param', 'migration_transport=tcp', ...(vm.domadd ?? []), file]));
  }
}

export async function destroyOpsLab(): Promise<void> {
  await destroyClusterLab(OPS_LAB.name);
}

/** Adds those of VMS that are not in the cluster yet (tests reuse a running lab). */
export async function ensureVms(lab: ClusterLab, vms: readonly OpsVm[]): Promise<void> {
  const r = await ok(inNode(lab.nodes[0] as LabNode, 'corral', ['list', '--json']));
  const have = new Set((JSON.parse(r.stdout) as { vms: { name: string }[] }).vms.map((v) => v.name));
  await addVms(lab, vms.filter((v) => !have.has(v.name)));
}

/** The continuous console log of VM as NODE keeps it (read on the host, through the lab's files). */
export async function consoleLogOn(lab: ClusterLab, node: string, vm: string): Promise<string> {
  return readFile(path.join(labDir(lab.name), 'nodes', node, 'fs/var/log/corral/console', `${vm}.log`), 'utf8').catch(() => '');
}

/** How often the test guest VM booted, counted over every node's console log (one line a boot). */
export async function bootsOf(lab: ClusterLab, vm: string): Promise<number> {
  const logs = await Promise.all(lab.nodes.map((n) => consoleLogOn(lab, n.name, vm)));
  return logs.reduce((n, text) => n + text.split('corral-test-guest: booted').length - 1, 0);
}

/** The domains libvirt runs on NODE (its own view, asked inside the node). */
export async function domainsOn(node: LabNode): Promise<string[]> {
  const r = await nodeVirsh(node, ['list', '--name']);
  if (r.exitCode !== 0) throw new Error(`virsh list on ${node.name}: ${r.stderr}`);
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean).sort();
}

export { waitFor as waitUntil } from './agent-lab.js';

/** Once LAB is idle, a watcher of its safety invariants, started (a lab test's set-up ends so). */
export async function watchWhenIdle(lab: ClusterLab): Promise<LabWatcher> {
  await waitClusterIdle(lab, { timeoutMs: 120_000 });
  const watcher = new LabWatcher(lab);
  watcher.start();
  return watcher;
}

/** A lab test's end: its watcher stopped, its lab removed (kept with CORRAL_KEEP_LAB=1). */
export async function endLabTest(lab: ClusterLab | undefined, watcher: LabWatcher | undefined): Promise<void> {
  await watcher?.stop();
  if (lab && !process.env.CORRAL_KEEP_LAB) await destroyClusterLab(lab.name);
}
