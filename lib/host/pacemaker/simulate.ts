// The scheduler on a CIB file (crm_simulate): where resources would go, and what it would do to
// get there. No resource agent is run; the file is not changed. When the scheduler cannot answer
// (its transition is invalid, the CIB is not one it can read), Pacemaker's own errors are said
// (SimulationError, a check that could not be answered: exit code 3).
import { CorralError } from '../../errors.js';
import { kid, kids, parseXNode, type XNode } from '../../cib/model.js';
import { failure, tool, type Via } from './tool.js';
import type { RunResult } from '../exec.js';

export interface SimulateOptions {
  /** Nodes to bring online before computing (crm_simulate --node-up). */
  nodesUp?: readonly string[];
  /** Nodes to take offline (cleanly, as after a shutdown) before computing (crm_simulate --node-down). */
  nodesDown?: readonly string[];
  /**
   * Nodes that fail before computing (crm_simulate --node-fail): lost uncleanly, fenced, and what
   * ran there recovered elsewhere — what happens when a node dies.
   */
  nodesFailed?: readonly string[];
  /** Pretend the cluster has quorum (default true). */
  quorum?: boolean;
  /** Also write the CIB with the simulated status to this file (crm_simulate --save-output). */
  saveOutput?: string;
  /** Also write the transition graph to this file (crm_simulate --save-graph). */
  saveGraph?: string;
}

/** What the scheduler decided for a resource, as crm_simulate's summary says it (start, stop, move, migrate, restart …). */
interface SimulatedAction {
  action: string;
  resource: string;
  /** Where it goes (start, move, migrate) or is (stop, restart). */
  node?: string;
  /** Where it comes from (move, migrate, restart). */
  source?: string;
  /** Why, when crm_simulate says (e.g. "required vm-db start"). */
  reason?: string;
}

export interface Simulation {
  /** resource id → the nodes it runs on after the simulated transition ([] = stopped) */
  placement: Map<string, string[]>;
  /** The transition summary, one entry per resource action. */
  actions: SimulatedAction[];
  /** crm_simulate's XML output */
  xml: string;
}

/**
 * Pacemaker's scheduler could not answer (e.g. "An invalid transition was produced"): its own
 * errors, as crm_simulate's XML output lists them. A check that meets it could not answer.
 */
export class SimulationError extends CorralError {
  readonly kind = 'unanswered';
  override name = 'SimulationError';
  constructor(
    /** Pacemaker's error lines, in its order. */
    readonly errors: readonly string[],
    /** crm_simulate's exit code, when it is one run that failed. */
    exitCode?: number,
  ) {
    super(`Pacemaker's scheduler could not answer: ${errors.join('; ')}${exitCode === undefined ? '' : ` (crm_simulate exited ${exitCode})`}`);
  }
}

/** The errors crm_simulate's XML output (--output-as=xml) lists in its status, [] when none or not XML. */
function simulateErrors(r: RunResult): string[] {
  if (!r.stdout.trimStart().startsWith('<')) return [];
  try {
    const errors = kid(kid(parseXNode(r.stdout), 'status'), 'errors');
    return kids(errors, 'error').map((e) => e.text.trim()).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Runs the scheduler on the CIB in FILE and simulates the resulting transition
 * (`crm_simulate --simulate`); FILE is not changed. No resource agent is run.
 */
export async function simulate(file: string, opts: SimulateOptions = {}, via?: Via): Promise<Simulation> {
  const args = ['--simulate', '--xml-file', file, '--quorum', opts.quorum === false ? 'false' : 'true'];
  for (const n of opts.nodesUp ?? []) args.push('--node-up', n);
  for (const n of opts.nodesDown ?? []) args.push('--node-down', n);
  for (const n of opts.nodesFailed ?? []) args.push('--node-fail', n);
  if (opts.saveOutput !== undefined) args.push('--save-output', opts.saveOutput);
  if (opts.saveGraph !== undefined) args.push('--save-graph', opts.saveGraph);
  const r = await tool(via, 'crm_simulate', [...args, '--output-as=xml']);
  if (r.exitCode !== 0) {
    const errors = r.timedOut || r.failedToStart ? [] : simulateErrors(r);
    throw errors.length ? new SimulationError(errors, r.exitCode) : failure('simulating the cluster', r);
  }
  const root = parseXNode(r.stdout);
  const placement = new Map<string, string[]>();
  const collect = (resources: XNode | undefined): void => {
    for (const c of resources?.children ?? []) {
      if (c.tag === 'resource') {
        placement.set(c.attrs.id ?? '', kids(c, 'node').map((n) => n.attrs.name ?? ''));
      } else {
        collect(c); // group, clone, bundle
      }
    }
  };
  collect(kid(kid(root, 'revised_cluster_status'), 'resources'));
  const actions = kids(kid(root, 'actions'), 'rsc_action').map((a) => {
    const out: SimulatedAction = { action: a.attrs.action ?? '', resource: a.attrs.resource ?? '' };
    for (const k of ['node', 'source', 'reason'] as const) if (a.attrs[k] !== undefined) out[k] = a.attrs[k];
    return out;
  });
  return { placement, actions, xml: r.stdout };
}
