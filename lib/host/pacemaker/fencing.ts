// Fencing as the cluster recorded it (stonith_admin --history).
import { kid, kids, parseXNode } from '../../cib/model.js';
import { failure, tool, type Via } from './tool.js';

export interface FenceEvent {
  action: string;
  target: string;
  /** The node that carried it out (the device's host). */
  executioner?: string;
  /** The node that asked for it. */
  origin?: string;
  client?: string;
  /** success, failed, pending … */
  status: string;
  /** When it completed (ms since the epoch), if it did. */
  completedMs?: number;
}

/** Fencing history of NODE (default: every node), every event, newest first (`stonith_admin --history --verbose`). */
export async function fenceHistory(node = '*', via?: Via): Promise<FenceEvent[]> {
  // --verbose: without it stonith_admin lists one event per target and action, and not
  // necessarily the newest (2.1.5 showed a reboot a minute older than the one just completed).
  const r = await tool(via, 'stonith_admin', ['--history', node, '--verbose', '--output-as=xml']);
  if (r.exitCode !== 0) throw failure('reading the fencing history', r);
  const root = parseXNode(r.stdout);
  const out: FenceEvent[] = [];
  // <list name="fencing history"><fence_event …/></list> (older versions: <fence_history>)
  const events = [...kids(kid(root, 'list'), 'fence_event'), ...kids(kid(root, 'fence_history'), 'fence_event')];
  for (const e of events) {
    const completed = e.attrs.completed ? Date.parse(e.attrs.completed.replace(' ', 'T')) : Number.NaN;
    out.push({
      action: e.attrs.action ?? '',
      target: e.attrs.target ?? '',
      executioner: e.attrs.delegate,
      origin: e.attrs.origin,
      client: e.attrs.client,
      status: e.attrs.status ?? '',
      completedMs: Number.isFinite(completed) ? completed : undefined,
    });
  }
  return out.sort((a, b) => (b.completedMs ?? Number.MAX_SAFE_INTEGER) - (a.completedMs ?? Number.MAX_SAFE_INTEGER));
}
