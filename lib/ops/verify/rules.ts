// corral verify's rules that need no cluster: version compatibility and clock skew. Pure.
import { pass, problem, type CheckLine } from './report.js';

// ---------------------------------------------------------------------------------------------
// Versions

export interface NodeVersions {
  node: string;
  corral: string | null;
  pacemaker: string | null;
  libvirt: string | null;
  qemu: string | null;
}

const PROGRAMS = [
  { key: 'corral', name: 'corral', fix: 'install the same corral package on every node (apt install corral=VERSION)' },
  { key: 'pacemaker', name: 'Pacemaker', fix: 'upgrade Pacemaker on every node to one release (a rolling upgrade: corral rolling-reboot)' },
  { key: 'libvirt', name: 'libvirt', fix: 'install one libvirt release on every node (libvirt-daemon-system), then restart libvirtd there' },
  { key: 'qemu', name: 'QEMU', fix: 'install one QEMU release on every node (qemu-system-x86); running guests keep the old one until restarted or migrated' },
] as const;

/** "2.1.5" → "2.1", "9.0.0-4+deb12u1" → "9.0"; null for anything without a major.minor. */
export function majorMinor(version: string): string | null {
  const m = /^(\d+)\.(\d+)/.exec(version.trim());
  return m ? `${Number(m[1])}.${Number(m[2])}` : null;
}

function compareMajorMinor(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number) as [number, number];
  const [b1, b2] = b.split('.').map(Number) as [number, number];
  return a1 - b1 || a2 - b2;
}

/**
 * Versions are compatible when their major.minor is the same (a patch release between nodes is
 * what a rolling upgrade passes through). The release most nodes run (the newest on a tie) is the
 * cluster's; every node with another gets a line. A version that could not be read is not checked.
 */
export function versionLines(nodes: readonly NodeVersions[]): CheckLine[] {
  const lines: CheckLine[] = [];
  const wrong = new Set<string>();
  for (const p of PROGRAMS) {
    const known = nodes.filter((n) => n[p.key] !== null);
    const groups = new Map<string, string[]>();
    for (const n of known) {
      const mm = majorMinor(n[p.key] as string) ?? (n[p.key] as string);
      groups.set(mm, [...(groups.get(mm) ?? []), n.node]);
    }
    const ranked = [...groups].sort((a, b) => b[1].length - a[1].length || compareMajorMinor(b[0], a[0]));
    const cluster = ranked[0]?.[0];
    for (const n of nodes) {
      const v = n[p.key];
      if (v === null) {
        lines.push(problem('versions', n.node, `${p.name}'s version could not be read here`, '', 'not-checked'));
        continue;
      }
      const mm = majorMinor(v) ?? v;
      if (mm === cluster) continue;
      wrong.add(n.node);
      const others = known.filter((o) => (majorMinor(o[p.key] as string) ?? o[p.key]) === cluster);
      const theirs = [...new Set(others.map((o) => o[p.key] as string))].join(', ');
      lines.push(
        problem('versions', n.node, `${p.name} ${v} here, ${theirs} on ${others.map((o) => o.node).join(', ')}: not the same major.minor`, p.fix.replace('VERSION', theirs.split(', ')[0] ?? '')),
      );
    }
  }
  for (const n of nodes) {
    if (wrong.has(n.node) || PROGRAMS.some((p) => n[p.key] === null)) continue;
    lines.push(pass('versions', n.node, `corral ${n.corral}, Pacemaker ${n.pacemaker}, libvirt ${n.libvirt}, QEMU ${n.qemu}: compatible with every node`));
  }
  return lines;
}

/** The version in `pacemakerd --version`'s first line ("Pacemaker 2.1.5"), or in `corral --version` ("corral 0.1.0"). */
export function versionIn(text: string): string | null {
  return /^\S+\s+v?(\d+\.\d+[^\s]*)/.exec(text.trim())?.[1] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Clocks

/**
 * Why 2 s: a node that keeps time (NTP, chrony, systemd-timesyncd) is within milliseconds of the
 * others, so anything over a second or two is a node whose time service is not working, and it
 * only gets worse. It matters to corral because Pacemaker evaluates time-based rules — the
 * lifetime of `vm NAME migrate`'s and the maintenance commands' constraints, date expressions —
 * by the DC's clock, the fencing history and every log line are stamped with the local one, and
 * TLS (migration over qemu+tls) and Ceph (whose monitors warn at 0.05 s) refuse peers far off.
 */
export const CLOCK_SKEW_LIMIT_MS = 2000;

/** One reading of a node's clock: when it was asked and answered (by our clock), and what it said. */
export interface ClockSample {
  node: string;
  sentMs: number;
  receivedMs: number;
  remoteMs: number;
}

/** `date --rfc-3339=ns` ("2024-05-01 12:34:56.123456789+02:00") in ms since the epoch, or null. */
export function parseRfc3339(text: string): number | null {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text.trim());
  if (!m) return null;
  const frac = (m[3] ?? '').padEnd(3, '0').slice(0, 3);
  const t = Date.parse(`${m[1]}T${m[2]}.${frac}${m[4]}`);
  return Number.isFinite(t) ? t : null;
}

/**
 * Each node's clock against the cluster's: its offset from our clock (what it said minus the
 * middle of the round trip), less the median offset of all nodes (so that one node off is that
 * node, whichever node verify runs on). A node is off when that exceeds LIMITMS by more than what
 * the readings themselves can be wrong by: half its own round trip, and half the longest of the
 * others' (the median is made of them).
 */
export function clockLines(samples: readonly ClockSample[], limitMs = CLOCK_SKEW_LIMIT_MS): CheckLine[] {
  if (samples.length === 0) return [];
  const offsets = samples.map((s) => ({ node: s.node, offset: s.remoteMs - (s.sentMs + s.receivedMs) / 2, uncertainty: Math.max(0, s.receivedMs - s.sentMs) / 2 }));
  const sorted = offsets.map((o) => o.offset).sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  const seconds = (ms: number) => `${(Math.abs(ms) / 1000).toFixed(1)} s`;
  return offsets.map((o) => {
    const skew = o.offset - median;
    const error = o.uncertainty + Math.max(0, ...offsets.filter((x) => x !== o).map((x) => x.uncertainty));
    const within = `±${seconds(error)}`;
    if (Math.abs(skew) - error <= limitMs) return pass('clock', o.node, `clock within ${seconds(skew)} of the cluster's (${within}; limit ${seconds(limitMs)})`);
    return problem(
      'clock',
      o.node,
      `clock ${seconds(skew)} ${skew > 0 ? 'ahead of' : 'behind'} the cluster's (the median of ${offsets.length} nodes, ${within}; limit ${seconds(limitMs)})`,
      `run a time service on ${o.node} and let it synchronise (chrony: chronyc tracking; systemd-timesyncd: timedatectl timesync-status)`,
    );
  });
}
