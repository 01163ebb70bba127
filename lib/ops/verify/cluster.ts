// corral verify's checks of what the CIB says: membership, quorum, fencing, capacity, leftovers of
// corral's maintenance commands and the balancer. Pure: a snapshot in, lines out.
import type { Snapshot } from '../../cluster/snapshot.js';
import { ids } from '../../cib/shapes.js';
import { CLUSTER, pass, problem, type CheckLine } from './report.js';

const TRUE = /^(true|on|yes|y|1)$/i;

/** Online, standby, maintenance: one line per node; offline nodes are not checked further. */
export function membershipLines(snap: Snapshot): CheckLine[] {
  return snap.view.hosts.map((h) => {
    if (!h.online) {
      return problem('membership', h.name, `node is ${h.state}: nothing else was checked here`, `start corosync and pacemaker on ${h.name} (or remove it from the cluster); corral hosts shows the nodes`);
    }
    if (h.maintenance) {
      return problem('membership', h.name, 'node is in maintenance: Pacemaker neither monitors nor recovers its resources', `crm_attribute --node ${h.name} --name maintenance --delete`, 'warning');
    }
    return pass('membership', h.name, `online${h.standby ? ', in standby' : ''}${h.dc ? ', the DC' : ''}`);
  });
}

export function quorumLines(snap: Snapshot): CheckLine[] {
  if (snap.view.status.quorum) return [pass('quorum', CLUSTER, 'the cluster has quorum')];
  return [problem('quorum', CLUSTER, 'the cluster has no quorum: Pacemaker starts nothing and, by no-quorum-policy, stops VMs', 'bring the offline nodes back (corral hosts); corosync-quorumtool -s says what is missing')];
}

export interface FenceRegistry {
  /** Devices the local fencer has registered (stonith_admin --list-registered), or null when it could not say. */
  registered: string[] | null;
  /** Why not, when null. */
  why?: string;
}

/**
 * Fencing: stonith-enabled (unset means true), at least one fence device, and every device known
 * to the fencer — registered with this node's fencer, or started according to the CIB's status.
 */
export function fencingLines(snap: Snapshot, reg: FenceRegistry): CheckLine[] {
  const lines: CheckLine[] = [];
  const enabled = snap.cib.options['stonith-enabled'];
  if (enabled !== undefined && !TRUE.test(enabled)) {
    lines.push(
      problem(
        'fencing',
        CLUSTER,
        `stonith-enabled is ${enabled}: a node that fails is not fenced, and its VMs may be started elsewhere while still running there (two writers, a destroyed disk)`,
        'crm_attribute --type crm_config --name stonith-enabled --update true (once a fence device is configured and tested)',
      ),
    );
  }
  const devices = snap.cib.resources.filter((r) => r.kind === 'primitive' && r.class === 'stonith');
  if (devices.length === 0) {
    lines.push(problem('fencing', CLUSTER, 'no fence device is configured', 'configure one for your hardware (e.g. pcs stonith create ipmi-n1 fence_ipmilan …) and test it with stonith_admin --reboot NODE'));
  }
  for (const d of devices) {
    const st = snap.view.status.resources.get(d.id);
    const disabled = /^stopped$/i.test(d.meta['target-role'] ?? '');
    const registered = reg.registered?.includes(d.id) ?? false;
    if (disabled) {
      lines.push(problem('fencing', CLUSTER, `fence device ${d.id} is disabled (target-role Stopped)`, `crm_resource --resource ${d.id} --meta --delete-parameter target-role`));
    } else if (st?.failed || (st?.role !== 'Started' && !registered)) {
      const why = st?.lastFailure?.reason ? `: ${st.lastFailure.reason}` : '';
      const fencer = reg.registered === null ? `the fencer could not be asked (${reg.why ?? 'no answer'})` : 'the fencer has not registered it';
      lines.push(problem('fencing', CLUSTER, `fence device ${d.id} is ${st?.failed ? 'failed' : st?.role.toLowerCase() ?? 'not started'} and ${fencer}${why}`, `check its parameters (stonith_admin --metadata --agent ${d.type ?? 'AGENT'}), then crm_resource --cleanup --resource ${d.id}`));
    } else {
      lines.push(pass('fencing', CLUSTER, `fence device ${d.id} ${registered ? 'registered' : 'started'}`));
    }
  }
  if (lines.every((l) => l.ok) && devices.length) lines.push(pass('fencing', CLUSTER, 'stonith-enabled'));
  return lines;
}

/** Every online node has a capacity (nodecap's utilization cpu and hv_memory). */
export function capacityLines(snap: Snapshot): CheckLine[] {
  return snap.view.hosts
    .filter((h) => h.online)
    .map((h) => {
      const util = snap.cib.node(h.name)?.utilization ?? {};
      const missing = ['cpu', 'hv_memory'].filter((k) => !/^\d+$/.test(util[k] ?? ''));
      if (missing.length === 0) return pass('capacity', h.name, `capacity ${util.cpu} CPUs, ${util.hv_memory} MiB`);
      return problem(
        'capacity',
        h.name,
        `no capacity set (utilization ${missing.join(' and ')}): Pacemaker's placement and corral's N+1 count nothing here`,
        `nodecap ${h.name} (its CPUs and memory, or --cpus N --mem SIZE)`,
      );
    });
}

/** The ids of corral's temporary hints: prefixes of ids.steer and ids.returnHint. */
const HINT_PREFIXES = [ids.steer('', '').replace(/-+$/, ''), ids.returnHint('').replace(/-+$/, '')];
/** The cluster options corral's maintenance commands keep while they run (lib/cib/nodes.ts, lib/ops/rolling.ts). */
const SAVED_LIMIT = 'corral-saved-migration-limit';
const ROLLING = 'corral-rolling-reboot';

/**
 * What corral's maintenance commands leave only while they run: hints (corral-steer-…,
 * corral-return-…), a borrowed migration-limit, a rolling reboot's progress, a drain's state, and
 * a node in standby that still runs VMs (a drain half done).
 */
export function leftoverLines(snap: Snapshot): CheckLine[] {
  const lines: CheckLine[] = [];
  const rolling = snap.cib.options[ROLLING];
  for (const c of snap.cib.constraints) {
    const id = c.attrs.id ?? '';
    if (!HINT_PREFIXES.some((p) => id.startsWith(`${p}-`))) continue;
    const what = c.attrs.rsc && c.attrs.node ? ` (${c.attrs.rsc} towards ${c.attrs.node}, score ${c.attrs.score ?? '?'})` : '';
    lines.push(
      problem(
        'hints',
        c.attrs.node ?? CLUSTER,
        `corral's placement hint ${id}${what} is left ${rolling ? 'by the rolling reboot under way' : 'over from an interrupted rolling-reboot, rebalance or undrain'}`,
        rolling ? 'let the rolling reboot finish (corral rolling-reboot --resume …)' : `cibadmin --delete --scope constraints --xml-text '<rsc_location id="${id}"/>'`,
        rolling ? 'warning' : 'error',
      ),
    );
  }
  if (snap.cib.options[SAVED_LIMIT] !== undefined && !rolling) {
    lines.push(
      problem(
        'hints',
        CLUSTER,
        `migration-limit is borrowed by an interrupted maintenance command (${SAVED_LIMIT}=${snap.cib.options[SAVED_LIMIT]})`,
        `crm_attribute --type crm_config --name migration-limit ${snap.cib.options[SAVED_LIMIT] === 'unset' ? '--delete' : `--update ${snap.cib.options[SAVED_LIMIT]}`}; crm_attribute --type crm_config --name ${SAVED_LIMIT} --delete`,
      ),
    );
  }
  if (rolling) lines.push(problem('hints', CLUSTER, `a rolling reboot is under way or was interrupted (${ROLLING}=${rolling})`, 'corral rolling-reboot --resume to finish it', 'warning'));
  if (!lines.some((l) => l.check === 'hints')) lines.push(pass('hints', CLUSTER, "no placement hints or borrowed settings of corral's maintenance commands left"));

  for (const h of snap.view.hosts) {
    if (h.drainState === 'draining' || h.drainState === 'interrupted') {
      lines.push(problem('drain', h.name, `a drain is ${h.drainState === 'draining' ? 'under way or was cut off' : 'interrupted'} (corral-drain-state=${h.drainState})`, `corral node drain ${h.name} to finish it, or corral node undrain ${h.name}`));
    } else if (h.standby && h.online && h.vms.length) {
      lines.push(problem('drain', h.name, `in standby and still running ${h.vms.join(', ')}: a drain half done`, `corral node drain ${h.name} (moves them live), or corral node undrain ${h.name}`));
    } else {
      lines.push(pass('drain', h.name, h.drainState === 'drained' ? 'drained' : 'no drain under way'));
    }
  }
  return lines;
}

/** The balancer (ocf:corral:Balancer), when there is one: running, or disabled on purpose; not failed. */
export function balancerLines(snap: Snapshot): CheckLine[] {
  const r = snap.cib.resources.find((x) => x.kind === 'primitive' && x.class === 'ocf' && x.provider === 'corral' && x.type === 'Balancer');
  if (!r) return [pass('balancer', CLUSTER, 'no balancer configured')];
  const st = snap.view.status.resources.get(r.id);
  const disabled = /^stopped$/i.test(r.meta['target-role'] ?? '');
  if (st?.failed || Object.keys(st?.failCounts ?? {}).length) {
    const why = st?.lastFailure ? `: ${st.lastFailure.operation} on ${st.lastFailure.node} failed${st.lastFailure.reason ? ` (${st.lastFailure.reason})` : ''}` : '';
    return [problem('balancer', st?.nodes[0] ?? CLUSTER, `the balancer ${r.id} has failed${why}`, `corral balance status; then crm_resource --cleanup --resource ${r.id}`)];
  }
  if (disabled) return [pass('balancer', CLUSTER, `the balancer ${r.id} is disabled (corral balance enable starts it)`)];
  if (st?.role !== 'Started') return [problem('balancer', CLUSTER, `the balancer ${r.id} is ${st?.role.toLowerCase() ?? 'not started'}`, `crm_resource --why --resource ${r.id} says why; corral balance status`)];
  return [pass('balancer', st.nodes[0] ?? CLUSTER, `the balancer ${r.id} runs`)];
}
