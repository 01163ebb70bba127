// What every vm action gets: the settings, the caller, the snapshot of the cluster it was chosen
// from, the audit log, and how to talk to the user.
import type { Snapshot } from '../cluster/snapshot.js';
import type { VmView } from '../cluster/view.js';
import type { ClusterPort } from '../host/pacemaker/cluster-port.js';
import type { Virsh } from '../host/virsh.js';
import type { Caller } from './access.js';
import type { AuditLog } from './audit.js';
import { nodeUri, type Config } from './config.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Asks a yes/no question on the terminal; false when there is none. */
  confirm: (question: string) => Promise<boolean>;
  /** stdin and stdout are a terminal. */
  interactive: boolean;
}

export interface ActionOptions {
  yes: boolean;
  wait: boolean;
  json: boolean;
  /** console: print the console log instead of attaching. */
  log: boolean;
  /** console: take the console over from another session. */
  force: boolean;
  /** console --log, log: how many lines (default: all for console --log, 50 for log). */
  lines?: number;
  /** migrate: ISO 8601 duration, or "none". */
  lifetime?: string;
  /** Bound of a wait, seconds (default from the VM's operation timeouts). */
  timeoutSeconds?: number;
}

export interface Context {
  config: Config;
  caller: Caller & { uid?: number; gid?: number };
  snapshot: Snapshot;
  audit: AuditLog;
  io: Io;
  options: ActionOptions;
  /** This host's node name, when it is a cluster node. */
  localNode?: string;
  /** The cluster the waits watch (default: this host's, hostClusterPort). */
  cluster?: ClusterPort;
}

/** libvirt on NODE, through the configured URI template. */
export function virshOn(ctx: Context, node: string, timeoutMs = 30_000): Virsh {
  return { uri: nodeUri(ctx.config.libvirtUri, node), timeoutMs };
}

/** The node a running VM is on, or an error message. */
export function runningNode(vm: VmView): string | { error: string } {
  if (vm.nodes.length === 1 && vm.node && (vm.state === 'running' || vm.state === 'failed')) return vm.node;
  if (vm.nodes.length > 1) return { error: `${vm.name} is active on ${vm.nodes.join(' and ')}; Pacemaker is recovering it` };
  if (vm.state === 'migrating') return { error: `${vm.name} is migrating (from ${vm.node}${vm.migratingTo ? ` to ${vm.migratingTo}` : ''}); try again in a moment` };
  return { error: `${vm.name} is not running (${vm.state})` };
}
