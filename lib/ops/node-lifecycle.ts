// What corral-node.service does on a hypervisor (systemd/corral-node.service):
//   at shutdown or reboot (its stop, ordered before Pacemaker, Corosync and libvirt stop): drain this
//   node, so that its VMs leave by live migration instead of being stopped with the node;
//   at boot (corral-node-undrain.service), when corral.conf says so: undrain the node that a
//   shutdown drained, and with "return" bring its VMs back.
// Every step says what it does on stdout (the journal, under systemd). A drain that cannot finish
// in shutdown_drain_timeout is left as it is: the node stays in standby, and when Pacemaker stops
// next it moves or stops what is still there, as it would without corral (see README).
import { setTimeout as sleep } from 'node:timers/promises';
import { DRAIN_REASON_ATTR } from '../cib/nodes.js';
import { configNodes } from '../cluster/view.js';
import { takeSnapshot, type Snapshot } from '../cluster/snapshot.js';
import { localNodeName } from '../host/pacemaker/status.js';
import { systemState } from '../host/systemd.js';
import type { Config } from './config.js';
import { MaintenanceInputError } from './maintenance.js';
import { runOperation, type OperationIo } from './operation.js';
import { drainOperation } from './operations/drain.js';
import { undrainOperation } from './operations/undrain.js';

/** The reason a drain at shutdown records on the node (corral-drain-reason). */
const SHUTDOWN_REASON = 'shutdown';

export interface LifecycleIo {
  log: (line: string) => void;
}

/** The runner's words as the unit's lines (the journal): everything through LOG. */
function lifecycleIo(log: (line: string) => void): OperationIo {
  const lines = (text: string) => text.replace(/\n$/, '').split('\n').forEach((l) => log(l));
  return { out: lines, err: lines, json: (v) => log(JSON.stringify(v)) };
}

/** How the command was started: by systemd (INVOCATION_ID is set for a unit's processes) or by hand. */
export function underSystemd(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return !!env.INVOCATION_ID;
}

/**
 * Whether a stop of corral-node.service should drain the node: always when run by hand; under
 * systemd only when the system is going down ("stopping"): a package upgrade or removal, or
 * `systemctl stop corral-node`, stops the unit too, and must not empty the node.
 */
export function shouldDrainOnStop(drainEnabled: boolean, bySystemd: boolean, state: string | undefined): { drain: boolean; why: string } {
  if (!drainEnabled) return { drain: false, why: 'shutdown_drain = no in corral.conf' };
  if (!bySystemd) return { drain: true, why: 'run by hand' };
  if (state === 'stopping') return { drain: true, why: 'the system is shutting down' };
  return { drain: false, why: `the unit was stopped while the system is ${state ?? 'in an unknown state'} (a package upgrade or removal, or systemctl stop), not shut down` };
}

function nodeAttrs(snap: Snapshot, node: string): Record<string, string> {
  return configNodes(snap.cib).find((n) => n.uname === node)?.attrs ?? {};
}

/**
 * The stop of corral-node.service: drains this node within TIMEOUT seconds. Returns the exit
 * code: 0 drained (or nothing to do), 1 the drain did not finish or could not be done.
 */
export async function onShutdown(cfg: Pick<Config, 'shutdownDrain' | 'shutdownDrainTimeout'>, io: LifecycleIo, opts: { timeoutSeconds?: number; dryRun?: boolean } = {}): Promise<number> {
  const { log } = io;
  const bySystemd = underSystemd();
  const decision = shouldDrainOnStop(cfg.shutdownDrain, bySystemd, bySystemd ? await systemState() : undefined);
  if (!decision.drain) {
    log(`not draining: ${decision.why}`);
    return 0;
  }
  const timeout = opts.timeoutSeconds ?? cfg.shutdownDrainTimeout;
  const node = await localNodeName();
  if (!node) {
    log('not draining: this machine is not a cluster node, or its Pacemaker is not running (crm_node --name has no answer)');
    return 0;
  }
  let snap: Snapshot;
  try {
    snap = await takeSnapshot();
  } catch (e) {
    log(`cannot drain ${node}: the cluster does not answer (${(e as Error).message}); Pacemaker moves or stops its VMs when it stops`);
    return 1;
  }
  const host = snap.view.hosts.find((h) => h.name === node);
  if (!host?.online) {
    log(`not draining: ${node} is not online in the cluster`);
    return 0;
  }
  if (host.standby) {
    log(`not draining: ${node} is in standby already${nodeAttrs(snap, node)[DRAIN_REASON_ATTR] ? '' : ' (drained by hand: it stays drained after the reboot)'}`);
    return 0;
  }
  log(`draining ${node} before its cluster stack stops (${decision.why}; at most ${timeout} s)`);
  // corral node drain NODE --force through the runner, without the maintenance lock and the hooks:
  // the machine goes down either way, and the VMs that cannot run elsewhere stop with it (standby
  // stops them cleanly, Pacemaker's stop: ACPI, then destroy) while the rest leave.
  let run;
  try {
    run = await runOperation(drainOperation({ nodes: [node], reason: SHUTDOWN_REASON, timeoutMs: timeout * 1000, unlocked: true }), { dryRun: opts.dryRun === true, force: true, json: false, io: lifecycleIo(log), snapshot: snap });
  } catch (e) {
    if (e instanceof MaintenanceInputError) {
      log(`cannot drain ${node}: ${e.message}; Pacemaker stops its VMs when it stops`);
      return 1;
    }
    throw e;
  }
  const r = run.result;
  if (!r || r.ok) return 0;
  log(`${node} is not fully drained${r.remaining.length ? ` (still here: ${r.remaining.join(', ')})` : ''}: it stays in standby, and Pacemaker moves or stops what is left when it stops`);
  return 1;
}


/**
 * corral-node-undrain.service at boot: when boot_undrain is yes or return and the last shutdown
 * drained this node, waits (at most WAIT seconds) until the node is online, then undrains it.
 * A node drained by hand stays drained. Returns the exit code.
 */
export async function onBoot(cfg: Pick<Config, 'bootUndrain'>, io: LifecycleIo, opts: { waitSeconds?: number; pollMs?: number } = {}): Promise<number> {
  const { log } = io;
  if (cfg.bootUndrain === 'no') {
    log('boot_undrain = no in corral.conf: a node drained at shutdown stays drained until corral node undrain');
    return 0;
  }
  const deadline = Date.now() + (opts.waitSeconds ?? 600) * 1000;
  let node: string | undefined;
  let snap: Snapshot | undefined;
  let waited = '';
  for (;;) {
    node ??= await localNodeName();
    if (node) {
      snap = await takeSnapshot().catch(() => undefined);
      const host = snap?.view.hosts.find((h) => h.name === node);
      if (host?.online) break;
      waited = `${node} is not online in the cluster`;
    } else waited = 'Pacemaker does not answer here (crm_node --name)';
    if (Date.now() >= deadline) {
      log(`not undrained: ${waited} after ${opts.waitSeconds ?? 600} s`);
      return 1;
    }
    await sleep(opts.pollMs ?? 2000);
  }
  if (nodeAttrs(snap as Snapshot, node)[DRAIN_REASON_ATTR] !== SHUTDOWN_REASON) {
    log(`${node}: not drained by a shutdown; left as it is`);
    return 0;
  }
  const wantReturn = cfg.bootUndrain === 'return';
  log(`undraining ${node} (boot_undrain = ${cfg.bootUndrain})`);
  const run = await runOperation(undrainOperation({ node, returnVms: wantReturn }), { dryRun: false, force: false, json: false, io: lifecycleIo(log), snapshot: snap as Snapshot });
  return run.code;
}
