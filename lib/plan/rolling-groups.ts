// The grouping of a rolling reboot (`corral rolling-reboot --groups`): which nodes can be drained,
// rebooted and undrained at the same time. Ganeti's hroller colours a graph of nodes that share
// instances' destinations; with Pacemaker a VM's destination is not fixed (shared storage, no
// secondary), so here Pacemaker decides: each candidate group is put in standby together on a copy
// of the CIB (the same simulation as one node's step of the plan, lib/ops/rolling.ts) and the group
// stands only if that answer is clean.
//
// Pure: the order of the nodes and an oracle in (lib/ops/rolling.ts asks crm_simulate), the groups
// out. The rule for a group of two nodes or more, from what the oracle says of it:
// - every VM on the group's nodes has a destination outside the group: nothing would stop;
// - every move is a live migration;
// - the group's nodes share no destination where that matters: no VM of another node is moved or
//   restarted to make room for the group's VMs (Pacemaker's side effects), which is what two nodes
//   draining onto the same full node cause;
// - N+1 holds with the group drained: any one of the remaining nodes may fail and every VM would
//   still run (a group that breaks it is split: the node that broke it waits for a later group).
// - the cluster keeps quorum while the group reboots: the members that stay (online, standby or
//   not) hold more than half of the votes (one per configured node, Corosync's expected votes);
//   else no-quorum-policy would stop every VM in the cluster. Checked before Pacemaker is asked.
// A node alone is one step of the one-at-a-time plan, accepted as that plan accepts it (its stops
// are shown, and refuse without --force). Nodes that must go alone and last (the DC, the node the
// command runs on) are never grouped.

/** What the oracle says of a group put in standby together (a drain plan and N+1 afterwards). */
export interface GroupAnswer {
  moves: readonly { vm: string; live: boolean }[];
  stops: readonly { vm: string }[];
  /** Actions on VMs of other nodes (moves, restarts to make room). */
  sideEffects: readonly string[];
  /** N+1 with the group drained: true, false, or null when Pacemaker could not say. */
  nPlusOne: boolean | null;
}

/** Why GROUP may not go together, or undefined when it may. */
export function groupRefusal(a: GroupAnswer): string | undefined {
  if (a.stops.length) return `${a.stops.map((s) => s.vm).join(', ')} would stop`;
  const notLive = a.moves.filter((m) => !m.live);
  if (notLive.length) return `${notLive.map((m) => m.vm).join(', ')} would not move live`;
  if (a.sideEffects.length) return `VMs of other nodes would move to make room (${a.sideEffects.join('; ')})`;
  if (a.nPlusOne === false) return 'the cluster would not be N+1 with them drained';
  if (a.nPlusOne === null) return 'Pacemaker could not say whether the cluster stays N+1 with them drained';
  return undefined;
}

/** The cluster's membership: members online now, and the votes of all configured nodes. */
export interface Quorum {
  members: number;
  votes: number;
}

/**
 * Whether the members left with AWAY of them rebooting still hold more than half of the votes. A
 * cluster of two nodes is taken to run Corosync's two_node mode (as corral's clusters do), where
 * the survivor keeps quorum.
 */
export function quorate(q: Quorum, away: number): boolean {
  const left = q.members - away;
  return q.votes === 2 ? left >= 1 : left * 2 > q.votes;
}

export interface GroupOracle<Step> {
  /** Pacemaker's answer for GROUP in standby together, from the state the groups before it leave. */
  check(group: readonly string[]): Promise<GroupAnswer>;
  /** Takes GROUP's turn (the simulated state moves past it) and says what the turn does. */
  commit(group: readonly string[]): Promise<Step>;
}

export interface GroupedPlan<Step> {
  groups: { nodes: string[]; step: Step }[];
  /** Groups tried and refused, with the reason (the last node named is the one left out). */
  split: { nodes: string[]; why: string }[];
}

/**
 * Groups ORDER (the one-at-a-time order) greedily: each group starts with the first node not yet
 * rebooted and takes every later node, in order, with which the group passes groupRefusal. The
 * nodes of LAST go alone at the end, in ORDER's order. A group never takes so many nodes that
 * fewer than MIN_LEFT nodes stay up (N+1 cannot hold on one node; the oracle is not asked), nor
 * so many that the members left would not be quorate (QUORUM; not asked either).
 */
export async function groupNodes<Step>(order: readonly string[], last: ReadonlySet<string>, up: number, oracle: GroupOracle<Step>, minLeft = 2, quorum?: Quorum): Promise<GroupedPlan<Step>> {
  let rest = order.filter((n) => !last.has(n));
  const groups: { nodes: string[]; step: Step }[] = [];
  const split: { nodes: string[]; why: string }[] = [];
  while (rest.length) {
    const group = [rest[0] as string];
    for (const cand of rest.slice(1)) {
      if (up - group.length - 1 < minLeft) {
        split.push({ nodes: [...group, cand], why: `${up - group.length - 1} node${up - group.length - 1 === 1 ? '' : 's'} would stay up: N+1 needs ${minLeft}` });
        break;
      }
      if (quorum && !quorate(quorum, group.length + 1)) {
        const left = quorum.members - group.length - 1;
        split.push({ nodes: [...group, cand], why: `${left} of ${quorum.votes} votes would stay: the cluster would lose quorum (more than half is needed)` });
        break;
      }
      const why = groupRefusal(await oracle.check([...group, cand]));
      if (why) split.push({ nodes: [...group, cand], why });
      else group.push(cand);
    }
    groups.push({ nodes: group, step: await oracle.commit(group) });
    rest = rest.filter((n) => !group.includes(n));
  }
  for (const n of order.filter((x) => last.has(x))) groups.push({ nodes: [n], step: await oracle.commit([n]) });
  return { groups, split };
}
