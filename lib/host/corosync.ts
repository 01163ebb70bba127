// Corosync's own tools (corosync-quorumtool), with a runner so the call works on this host or
// inside a lab node, like lib/host/pacemaker/ does for Pacemaker's. Only reads; nothing is changed.
import { run } from './exec.js';
import type { Via } from './pacemaker/tool.js';

export interface QuorumStatus {
  quorate: boolean;
  /** Node names (or ids when a name is unknown) of the current membership. */
  members: string[];
  totalVotes?: number;
  expectedVotes?: number;
}

/**
 * `corosync-quorumtool -s -p` parsed; undefined while corosync does not answer (not started yet,
 * still forming). Exit 2 of the tool means "answered, not quorate", which is a status too.
 */
export async function quorumStatus(via?: Via): Promise<QuorumStatus | undefined> {
  const timeoutMs = via?.timeoutMs ?? 15_000;
  const args = ['-s', '-p'];
  const r = via?.runner ? await via.runner('corosync-quorumtool', args, { timeoutMs }) : await run('corosync-quorumtool', args, { timeoutMs });
  if (r.exitCode !== 0 && r.exitCode !== 2) return undefined;
  const text = r.stdout;
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(text)?.[1]?.trim();
  const members: string[] = [];
  let inList = false;
  for (const line of text.split('\n')) {
    if (/^\s*Nodeid\s+Votes/.test(line)) {
      inList = true;
      continue;
    }
    if (!inList) continue;
    const cols = line.trim().split(/\s+/);
    if (cols.length >= 3 && /^\d+$/.test(cols[0] ?? '')) members.push(cols[cols.length - 1] === '(local)' ? cols[cols.length - 2]! : cols[cols.length - 1]!);
  }
  const num = (s: string | undefined) => (s !== undefined && /^\d+/.test(s) ? Number.parseInt(s, 10) : undefined);
  return {
    quorate: /^yes/i.test(field('Quorate') ?? ''),
    members,
    totalVotes: num(field('Total votes')),
    expectedVotes: num(field('Expected votes')),
  };
}
