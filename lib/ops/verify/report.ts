// corral verify's result: one line per check and node, what is wrong and the fix, and the exit
// code they add up to. Pure.
//
// A line for people is "NODE: what is wrong — fix: what to do" (a warning says "warning:" after
// the node, a check that could not be made "not checked:"); NODE is "cluster" for what belongs to
// no one node (fencing, quorum, N+1). --json gives every line, passed ones too, with these fields
// (stable: added to, never renamed): {ok, checks: [{check, node, ok, severity, message, fix}]}.

/**
 * ok: passed; error: wrong, corral verify exits 1; warning: worth knowing, the exit code stays 0
 * (e.g. no KVM where every VM is type qemu); not-checked: nothing here can check it yet (an RBD
 * disk), the exit code stays 0.
 */
export type Severity = 'ok' | 'error' | 'warning' | 'not-checked';

export interface CheckLine {
  /** The check's name (versions, fencing, quorum, clock, migration, console-log, kvm, disks, cpu, capacity, n-plus-one, hints, drain, balancer, membership, node-command). */
  check: string;
  /** The node it is about, or "cluster". */
  node: string;
  ok: boolean;
  severity: Severity;
  message: string;
  /** What to do; empty when ok. */
  fix: string;
}

export interface VerifyReport {
  /** No line is an error. */
  ok: boolean;
  checks: CheckLine[];
}

/** The node name of a line about the whole cluster. */
export const CLUSTER = 'cluster';

export function pass(check: string, node: string, message: string): CheckLine {
  return { check, node, ok: true, severity: 'ok', message, fix: '' };
}

export function problem(check: string, node: string, message: string, fix: string, severity: Exclude<Severity, 'ok'> = 'error'): CheckLine {
  return { check, node, ok: false, severity, message, fix };
}

/** "NODE: what is wrong — fix: what to do" (passed lines: "NODE: ok: what was checked"). */
export function formatLine(l: CheckLine): string {
  const tag = l.severity === 'error' ? '' : l.severity === 'ok' ? 'ok: ' : `${l.severity === 'warning' ? 'warning' : 'not checked'}: `;
  return `${l.node}: ${tag}${l.message}${l.fix ? ` — fix: ${l.fix}` : ''}`;
}

const ORDER: Record<Severity, number> = { error: 0, warning: 1, 'not-checked': 2, ok: 3 };

function byNode(a: string, b: string): number {
  if (a === b) return 0;
  if (a === CLUSTER) return -1;
  if (b === CLUSTER) return 1;
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The report of LINES: sorted by severity, then node, then check (the order given within). */
export function makeReport(lines: readonly CheckLine[]): VerifyReport {
  const checks = lines
    .map((l, i) => ({ l, i }))
    .sort((a, b) => ORDER[a.l.severity] - ORDER[b.l.severity] || byNode(a.l.node, b.l.node) || a.i - b.i)
    .map((x) => x.l);
  return { ok: !checks.some((l) => l.severity === 'error'), checks };
}

/** The last line for people: how many checks on how many nodes, and what came of them. */
export function summaryLine(r: VerifyReport): string {
  const count = (s: Severity) => r.checks.filter((l) => l.severity === s).length;
  const nodes = new Set(r.checks.map((l) => l.node).filter((n) => n !== CLUSTER)).size;
  const [e, w, n] = [count('error'), count('warning'), count('not-checked')];
  const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  const tail = [plural(e, 'error'), plural(w, 'warning'), ...(n ? [`${n} not checked`] : [])].join(', ');
  return `${r.ok ? 'verified' : 'NOT verified'}: ${plural(r.checks.length, 'check')} on ${plural(nodes, 'node')}: ${tail}`;
}
