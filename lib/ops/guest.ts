// Actions on the guest itself, through libvirt on the node that runs it (the remote URI): the
// reset button, Ctrl+Alt+Del, Alt+SysRq+KEY, the serial console, its continuous log, VNC.
import { CorralError } from '../errors.js';
import { readFile } from 'node:fs/promises';
import { domainFromConfig } from '../cib/config.js';
import { consoleLogFile } from '../domain/console-log.js';
import { CONSOLE_LOG_DIR } from '../domain/fixup.js';
import { runOnNode } from '../host/remote.js';
import * as virsh from '../host/virsh.js';
import { SYSRQ_KEYS } from './actions.js';
import { nodeCommandArgv } from './config.js';
import { runningNode, virshOn, type Context } from './context.js';
import type { VmView } from '../cluster/view.js';

class ActionError extends CorralError {
  readonly kind = 'failed';
  override name = 'ActionError';
}

function nodeOf(vm: VmView): string {
  const n = runningNode(vm);
  if (typeof n !== 'string') throw new ActionError(n.error);
  return n;
}

async function onLibvirt<T>(ctx: Context, node: string, f: (c: virsh.Virsh) => Promise<T>): Promise<T> {
  const c = virshOn(ctx, node);
  try {
    return await f(c);
  } catch (e) {
    if (e instanceof virsh.VirshError && e.unreachable) throw new ActionError(`cannot reach libvirt on ${node} (${c.uri}): ${e.message}`);
    throw new ActionError(`libvirt on ${node}: ${(e as Error).message}`);
  }
}

export async function reset(ctx: Context, vm: VmView): Promise<string> {
  const node = nodeOf(vm);
  await onLibvirt(ctx, node, (c) => virsh.reset(c, vm.name));
  return node;
}

export async function ctrlAltDel(ctx: Context, vm: VmView): Promise<string> {
  const node = nodeOf(vm);
  await onLibvirt(ctx, node, (c) => virsh.sendKey(c, vm.name, ['KEY_LEFTCTRL', 'KEY_LEFTALT', 'KEY_DELETE']));
  return node;
}

export async function sysrq(ctx: Context, vm: VmView, key: string): Promise<string> {
  const code = SYSRQ_KEYS[key];
  if (!code) throw new ActionError(`no SysRq key ${JSON.stringify(key)}`);
  const node = nodeOf(vm);
  await onLibvirt(ctx, node, (c) => virsh.sendKey(c, vm.name, ['KEY_LEFTALT', 'KEY_SYSRQ', code]));
  return node;
}

/** Attaches the user's terminal to the serial console; resolves with virsh's exit code. */
export async function attachConsole(ctx: Context, vm: VmView): Promise<{ node: string; code: number }> {
  const node = nodeOf(vm);
  if (!ctx.io.interactive) throw new ActionError('the console needs a terminal (stdin and stdout); use --log to print the console log');
  ctx.io.err(`Connected to ${vm.name} on ${node}; leave with Ctrl+]\n`);
  const code = await virsh.consoleAttached(virshOn(ctx, node), vm.name, { force: ctx.options.force });
  return { node, code };
}

/**
 * Where the agent keeps VM's console log: console_log_dir/NAME.log (the resource's parameter, else
 * its default; NAME the domain's name, as the agent writes it), whatever a <log file> in the XML
 * says: the agent writes the log only there (lib/vm/prepare.ts), and vm reads as root.
 */
function consoleLogPath(ctx: Context, vm: VmView): string {
  const r = ctx.snapshot.cib.resource(vm.resource);
  let name = vm.name;
  try {
    if (r?.params.config) name = domainFromConfig(r.params.config).name;
  } catch {
    // the VM's name, as the agent would have no domain to start
  }
  return consoleLogFile(name, r?.params.console_log_dir ?? CONSOLE_LOG_DIR);
}

/** The node whose disk holds the newest console log: where it runs, else where it ran last. */
function consoleLogNode(ctx: Context, vm: VmView): string | undefined {
  if (vm.node) return vm.node;
  let best: { node: string; at: number } | undefined;
  for (const s of ctx.snapshot.root.children.find((c) => c.tag === 'status')?.children ?? []) {
    for (const r of s.children.find((c) => c.tag === 'lrm')?.children.find((c) => c.tag === 'lrm_resources')?.children ?? []) {
      if (r.attrs.id !== vm.resource) continue;
      for (const op of r.children) {
        if (!['start', 'migrate_from'].includes(op.attrs.operation ?? '')) continue;
        const at = Number(op.attrs['last-rc-change'] ?? 0);
        if (!best || at > best.at) best = { node: s.attrs.uname ?? '', at };
      }
    }
  }
  return best?.node;
}

/** Prints the continuous console log (its last LINES lines), read on the node that has it. */
export async function printConsoleLog(ctx: Context, vm: VmView): Promise<string> {
  const node = consoleLogNode(ctx, vm);
  if (!node) throw new ActionError(`${vm.name} has not run anywhere the cluster remembers, so it has no console log`);
  const file = consoleLogPath(ctx, vm);
  if (!/^\/[A-Za-z0-9_.\/+-]+$/.test(file) || file.split('/').includes('..')) throw new ActionError(`refusing the console log path ${JSON.stringify(file)}`);
  const lines = ctx.options.lines;
  if (node === ctx.localNode) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new ActionError(`cannot read ${file} on ${node}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    ctx.io.out(lines === undefined ? text : lastLines(text, lines));
    return node;
  }
  const remote = lines === undefined ? ['cat', '--', file] : ['tail', '-n', String(lines), '--', file];
  const r = await runOnNode(nodeCommandArgv(ctx.config.nodeCommand, node, remote), 60_000);
  if (r.exitCode !== 0) throw new ActionError(`cannot read ${file} on ${node} (${r.command.split(' ')[0]} exited ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' / ')}`);
  ctx.io.out(r.stdout.endsWith('\n') || r.stdout === '' ? r.stdout : `${r.stdout}\n`);
  return node;
}

function lastLines(text: string, n: number): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(Math.max(0, lines.length - n)).join('\n') + (lines.length ? '\n' : '');
}

export interface VncInfo {
  vm: string;
  node: string;
  /** The address qemu listens on, as libvirt reports it (127.0.0.1, 0.0.0.0 …). */
  listen: string;
  display: number;
  port: number;
  /** An ssh command that makes it reachable as localhost:PORT here. */
  tunnel: string;
}

export async function vnc(ctx: Context, vm: VmView): Promise<VncInfo> {
  const node = nodeOf(vm);
  const shown = await onLibvirt(ctx, node, (c) => virsh.vncdisplay(c, vm.name));
  const m = /^(.*):(\d+)$/.exec(shown);
  if (!m) throw new ActionError(`${vm.name} has no VNC display${shown ? ` (libvirt says ${JSON.stringify(shown)})` : ''}`);
  const display = Number(m[2]);
  const port = 5900 + display;
  const listen = m[1] || '0.0.0.0';
  const target = listen === '0.0.0.0' || listen === '::' ? 'localhost' : listen;
  return { vm: vm.name, node, listen, display, port, tunnel: `ssh -N -L ${port}:${target}:${port} ${node}` };
}
