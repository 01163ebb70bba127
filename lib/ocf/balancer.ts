// ocf:corral:Balancer's parameters: the single table behind its meta-data, its validation and the
// `corral balance run` flags the agent starts (lib/ops/balancer-resource.ts), and behind
// `corral balance enable` (lib/cli/corral/balance.ts), which writes them as the resource's
// instance attributes.
import { z } from 'zod';
import { DEFAULT_BALANCER as D } from '../plan/balance.js';
import type { AgentSpec } from './params.js';

export interface BalancerParams {
  interval: number;
  threshold: number;
  hold: number;
  cooldown: number;
  max_moves_per_hour: number;
  min_gain: number;
  margin: number;
  nodes: string | undefined;
  vms: string | undefined;
  dry_run: boolean;
  corral: string;
  log_file: string;
}

const range = (lo: number, hi: number) => z.number().int().min(lo, `at least ${lo}`).max(hi, `at most ${hi}`);
const names = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*(,[A-Za-z0-9][A-Za-z0-9_.-]*)*$/, 'names separated by commas');
const absolute = z.string().regex(/^\/[^\0]*$/, 'an absolute path');

/** Each numeric parameter: the `corral balance run` flag it becomes. */
export const BALANCER_FLAGS: Readonly<Record<string, string>> = {
  interval: '--interval',
  threshold: '--threshold',
  hold: '--hold',
  cooldown: '--cooldown',
  max_moves_per_hour: '--max-moves-per-hour',
  min_gain: '--min-gain',
  margin: '--margin',
  nodes: '--nodes',
  vms: '--vms',
};

export const balancerSpec: AgentSpec = {
  name: 'Balancer',
  version: '0.1.0',
  shortdesc: "corral's load balancer: moves VMs off nodes that stay hot",
  longdesc:
    'Runs corral balance run on the node where Pacemaker places it (one instance in the cluster; it fails over like ' +
    'any resource). Every interval it reads each VM\'s CPU use from libvirt on every node; when a node stays above the ' +
    'threshold for the whole hold time, it moves the VM whose move relieves that node most to the node with the most ' +
    'room, by a live migration through Pacemaker that leaves no constraint behind, if crm_simulate says Pacemaker ' +
    'would make exactly that move. Never on a single sample, never a VM within its cooldown, never more moves in an ' +
    'hour than the cap. Every decision and every reason not to act is logged with its numbers (log_file); corral ' +
    'balance status shows what it sees and what it did lately.',
  params: [
    { name: 'interval', type: 'integer', default: String(D.intervalS), shortdesc: 'Seconds between samples', longdesc: 'How often every VM\'s CPU use is read (libvirt domstats on every node).', schema: range(2, 3600) },
    { name: 'threshold', type: 'integer', default: String(D.thresholdPct), shortdesc: 'Hot above this share of CPUs (%)', longdesc: "A node is hot when its VMs use more than this share of its CPUs (its utilization cpu, as nodecap set it).", schema: range(1, 100) },
    { name: 'hold', type: 'integer', default: String(D.holdS), shortdesc: 'Seconds a node must stay hot', longdesc: 'A VM moves off a node only when its samples have been above the threshold, without a break, for at least this many seconds.', schema: range(1, 86400) },
    { name: 'cooldown', type: 'integer', default: String(D.cooldownS), shortdesc: 'Seconds a moved VM stays', longdesc: 'A VM moved by the balancer is not moved again for this long (kept in the CIB, so it survives a failover).', schema: range(0, 7 * 86400) },
    { name: 'max_moves_per_hour', type: 'integer', default: String(D.maxMovesPerHour), shortdesc: 'Moves in any hour, at most', longdesc: 'The cap on moves in any 3600 seconds.', schema: range(0, 1000) },
    { name: 'min_gain', type: 'integer', default: String(D.minGainPct), shortdesc: 'Points a move must relieve', longdesc: "A move must lower the hot node's load by at least this many percentage points.", schema: range(0, 100) },
    { name: 'margin', type: 'integer', default: String(D.marginPct), shortdesc: 'Points the target stays below the threshold', longdesc: 'After a move the target must stay this many points below the threshold, so that it does not become the next hot node.', schema: range(0, 100) },
    { name: 'nodes', type: 'string', shortdesc: 'Nodes it may touch (default all)', longdesc: 'Comma-separated node names: it moves VMs only off and onto these.', schema: names },
    { name: 'vms', type: 'string', shortdesc: 'VMs it may move (default all)', longdesc: 'Comma-separated VM names (as corral list prints them): it moves only these.', schema: names },
    { name: 'dry_run', type: 'boolean', default: 'false', shortdesc: 'Decide only', longdesc: 'Log every decision, move nothing.' },
    { name: 'corral', type: 'string', default: '/usr/sbin/corral', shortdesc: 'The corral command', longdesc: 'Path of the corral executable the agent runs.', schema: absolute },
    { name: 'log_file', type: 'string', default: '/var/log/corral/balancer.log', shortdesc: 'Where decisions are logged', longdesc: 'Every decision and move, a line each, appended.', schema: absolute },
  ],
  actions: [
    { name: 'start', timeout: '30s' },
    { name: 'stop', timeout: '30s' },
    { name: 'monitor', timeout: '20s', interval: '30s' },
    { name: 'meta-data', timeout: '5s' },
    { name: 'validate-all', timeout: '10s' },
  ],
};
