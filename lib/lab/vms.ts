// VMs of the test guest in a lab cluster, made the way an operator makes them: create_domxml,
// fixup_domxml and domadd, run inside a node (where the lab installed them). The domain XML files
// live in the lab's state directory (STATE/LAB/vms/NAME.xml), which every node sees. Also where a
// VM's qemu runs and what its console log says, read from the nodes.
import { CorralError } from '../errors.js';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../host/exec.js';
import { clusterExec, type ClusterLab } from './cluster.js';
import { nodePath, nodeProcesses, nodeRunning } from './node.js';
import type { LabNode } from './state.js';
import type { TestGuest } from './test-guest.js';
import { domainNameOf } from '../host/procs.js';

export interface LabVmSpec {
  name: string;
  guest: TestGuest;
  memoryMiB?: number;
  /** The guest prints "corral-test-guest: tick N" every second (default true). */
  tick?: boolean;
  /** The guest waits this long before it signals ready. */
  signalDelaySeconds?: number;
  /** domadd placement options, as given on its command line (e.g. ['--after', 'db']). */
  domadd?: readonly string[];
}

class LabCommandError extends CorralError {
  readonly kind = 'failed';
  override name = 'LabCommandError';
  constructor(readonly result: RunResult) {
    super(`${result.command.split(' ')[0]} exited ${result.exitCode}: ${(result.stderr || result.stdout).trim().split('\n').slice(-4).join(' / ')}`);
  }
}

async function ok(r: Promise<RunResult>): Promise<RunResult> {
  const res = await r;
  if (res.exitCode !== 0) throw new LabCommandError(res);
  return res;
}

export function vmXmlPath(lab: ClusterLab, name: string): string {
  return path.join(lab.dir, 'vms', `${name}.xml`);
}

/** The create_domxml arguments of a test-guest VM (TCG, kernel boot, serial console). */
export function createDomxmlArgs(spec: LabVmSpec, file: string): string[] {
  const cmdline = ['console=ttyS0'];
  if (spec.tick ?? true) cmdline.push('corral.tick=1');
  if (spec.signalDelaySeconds !== undefined) cmdline.push(`corral.signal_delay=${spec.signalDelaySeconds}`);
  return [
    '--name', spec.name, '--cpus', '1', '--mem', `${spec.memoryMiB ?? 128}m`, '--virt-type', 'qemu',
    '--kernel', spec.guest.kernel, '--initrd', spec.guest.initrd, '--cmdline', cmdline.join(' '), '--no-vnc',
    '-o', file,
  ];
}

/** Writes the VM's stable domain XML (create_domxml, fixup_domxml -i, inside NODE); returns its path. */
export async function writeLabVmXml(lab: ClusterLab, node: LabNode, spec: LabVmSpec): Promise<string> {
  const file = vmXmlPath(lab, spec.name);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await ok(clusterExec(node, 'create_domxml', createDomxmlArgs(spec, file)));
  await ok(clusterExec(node, 'fixup_domxml', ['-i', file]));
  return file;
}

/**
 * Writes the VM's XML (create_domxml, fixup_domxml -i) and adds it to the cluster (domadd with
 * migration_transport=tcp, which lab nodes need, plus spec.domadd), all inside NODE. Returns
 * domadd's report.
 */
export async function addLabVm(lab: ClusterLab, node: LabNode, spec: LabVmSpec): Promise<string> {
  return domaddLabVm(node, await writeLabVmXml(lab, node, spec), spec.domadd ?? []);
}

/** domadd of an XML file writeLabVmXml() made, with the lab's agent parameters. */
export async function domaddLabVm(node: LabNode, file: string, domaddArgs: readonly string[] = []): Promise<string> {
  const r = await ok(clusterExec(node, 'domadd', ['--param', 'migration_transport=tcp', ...domaddArgs, file]));
  return r.stdout.trim();
}

/** Removes the VM from the cluster (domdel --force: Pacemaker stops it once it is gone). */
export async function removeLabVm(node: LabNode, name: string): Promise<string> {
  return (await ok(clusterExec(node, 'domdel', ['--force', name], { timeoutMs: 180_000 }))).stdout.trim();
}

export interface QemuProcess {
  node: string;
  /** Host PID. */
  pid: number;
  vm: string;
  /** Started as a live migration's target (`-incoming`). */
  incoming: boolean;
}

/** The qemu processes of every powered-on node, as the kernel sees them. */
export async function labQemus(lab: ClusterLab): Promise<QemuProcess[]> {
  const out: QemuProcess[] = [];
  for (const n of lab.nodes) {
    if (!(await nodeRunning(n))) continue;
    for (const p of await nodeProcesses(n).catch(() => [])) {
      if (!p.comm.startsWith('qemu-system')) continue;
      const vm = domainNameOf(p.cmdline);
      if (vm !== undefined) out.push({ node: n.name, pid: p.pid, vm, incoming: p.cmdline.includes('-incoming') });
    }
  }
  return out;
}

/** VM NAME's continuous console log on NODE ('' when it has none). */
export async function labConsoleLog(node: LabNode, name: string): Promise<string> {
  return readFile(await nodePath(node, `/var/log/corral/console/${name}.log`), 'utf8').catch(() => '');
}

/** The tick numbers ("corral-test-guest: tick N") in a console log text. */
export function ticks(log: string): number[] {
  return Array.from(log.matchAll(/corral-test-guest: tick (\d+)/g), (m) => Number(m[1]));
}
