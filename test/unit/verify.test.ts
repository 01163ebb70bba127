// corral verify's pure parts: the line format and the report's verdict, version compatibility,
// clock skew (the lab's nodes share the host's clock, so the lab test cannot put one node's clock
// off: the rule is proved here), the disks rule, and the CIB rules on recorded CIBs changed the way
// an operator (or an interrupted command) would leave them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { takeSnapshot, type Snapshot } from '../../lib/cluster/snapshot.js';
import { balancerLines, capacityLines, fencingLines, leftoverLines, quorumLines } from '../../lib/ops/verify/cluster.js';
import { diskLines, disksOf, keyringPaths, parseStatFsTerse, parseStatTerse, secretUuids, type PathSeen, type VmDisks } from '../../lib/ops/verify/disks.js';
import { formatLine, makeReport, pass, problem, summaryLine, type CheckLine } from '../../lib/ops/verify/report.js';
import { CLOCK_SKEW_LIMIT_MS, clockLines, majorMinor, parseRfc3339, versionIn, versionLines, type NodeVersions } from '../../lib/ops/verify/rules.js';

const RECORDED = new URL('../fixtures/recorded/', import.meta.url).pathname;
const steadyXml = readFileSync(path.join(RECORDED, 'steady/cib.xml'), 'utf8');
const steadyMon = readFileSync(path.join(RECORDED, 'steady/crm_mon.xml'), 'utf8');

function snap(edit: (xml: string) => string = (x) => x): Promise<Snapshot> {
  return takeSnapshot({ cibXml: edit(steadyXml), crmMonXml: steadyMon });
}

const problems = (lines: CheckLine[]) => lines.filter((l) => !l.ok);

describe('lines and the report', () => {
  it('formats "NODE: what is wrong — fix: what to do", warnings and not-checked marked', () => {
    expect(formatLine(problem('clock', 'n2', 'clock 3.0 s ahead', 'run chrony'))).toBe('n2: clock 3.0 s ahead — fix: run chrony');
    expect(formatLine(problem('kvm', 'n1', 'no KVM', 'load kvm', 'warning'))).toBe('n1: warning: no KVM — fix: load kvm');
    expect(formatLine(problem('disks', 'cluster', "vm-a's disk rbd p/i: not checked", '', 'not-checked'))).toBe("cluster: not checked: vm-a's disk rbd p/i: not checked");
    expect(formatLine(pass('quorum', 'cluster', 'has quorum'))).toBe('cluster: ok: has quorum');
  });

  it('is ok unless a line is an error; warnings and not-checked lines do not count; errors first', () => {
    const warn = makeReport([pass('a', 'n1', 'fine'), problem('kvm', 'n1', 'x', 'y', 'warning'), problem('disks', 'cluster', 'z', '', 'not-checked')]);
    expect(warn.ok).toBe(true);
    const bad = makeReport([pass('a', 'n1', 'fine'), problem('kvm', 'n2', 'x', 'y', 'warning'), problem('clock', 'n3', 'off', 'fix')]);
    expect(bad.ok).toBe(false);
    expect(bad.checks.map((l) => l.severity)).toEqual(['error', 'warning', 'ok']);
    expect(summaryLine(bad)).toBe('NOT verified: 3 checks on 3 nodes: 1 error, 1 warning');
    expect(Object.keys(bad.checks[0] as object)).toEqual(['check', 'node', 'ok', 'severity', 'message', 'fix']);
  });
});

describe('versions', () => {
  const node = (n: string, pacemaker: string, libvirt = '9.0.0'): NodeVersions => ({ node: n, corral: '0.1.0', pacemaker, libvirt, qemu: '7.2.0' });

  it('reads major.minor and the version in a --version line', () => {
    expect(majorMinor('2.1.5')).toBe('2.1');
    expect(majorMinor('9.0.0-4+deb12u1')).toBe('9.0');
    expect(majorMinor('x')).toBeNull();
    expect(versionIn('Pacemaker 2.1.5\nWritten by Andrew Beekhof')).toBe('2.1.5');
    expect(versionIn('corral 0.1.0')).toBe('0.1.0');
  });

  it('a patch release apart is compatible; another major.minor is the odd node out, with the fix', () => {
    expect(problems(versionLines([node('n1', '2.1.5'), node('n2', '2.1.6'), node('n3', '2.1.5')]))).toEqual([]);
    const lines = problems(versionLines([node('n1', '2.1.5'), node('n2', '2.0.5'), node('n3', '2.1.6')]));
    expect(lines).toHaveLength(1);
    expect(formatLine(lines[0]!)).toMatch(/^n2: Pacemaker 2\.0\.5 here, 2\.1\.5, 2\.1\.6 on n1, n3: not the same major\.minor — fix: upgrade Pacemaker/);
  });

  it('on a tie the newer release is the cluster\'s; an unknown version is not checked', () => {
    const lines = problems(versionLines([node('n1', '2.1.5', '9.0.0'), node('n2', '2.1.5', '8.0.0')]));
    expect(lines.map((l) => `${l.node} ${l.message.split(' ').slice(0, 2).join(' ')}`)).toEqual(['n2 libvirt 8.0.0']);
    const unknown = versionLines([{ ...node('n1', '2.1.5'), qemu: null }, node('n2', '2.1.5')]);
    expect(problems(unknown).map((l) => l.severity)).toEqual(['not-checked']);
  });
});

describe('clock skew', () => {
  const at = (node: string, offsetMs: number, rttMs = 100) => ({ node, sentMs: 1_000_000, receivedMs: 1_000_000 + rttMs, remoteMs: 1_000_000 + rttMs / 2 + offsetMs });

  it('reads date --rfc-3339=ns', () => {
    expect(parseRfc3339('2024-05-01 12:34:56.123456789+02:00')).toBe(Date.parse('2024-05-01T10:34:56.123Z'));
    expect(parseRfc3339('garbage')).toBeNull();
  });

  it('flags the one node off by minutes, whichever node asks (the median is the cluster\'s time)', () => {
    const lines = clockLines([at('n1', 0), at('n2', 180_000), at('n3', 40)]);
    expect(problems(lines).map(formatLine)).toEqual([
      "n2: clock 180.0 s ahead of the cluster's (the median of 3 nodes, ±0.1 s; limit 2.0 s) — fix: run a time service on n2 and let it synchronise (chrony: chronyc tracking; systemd-timesyncd: timedatectl timesync-status)",
    ]);
    // Asked from n2 (whose clock is off): n1 and n3 seem 180 s behind, and still n2 is the one.
    const fromN2 = clockLines([at('n1', -180_000), at('n2', 0), at('n3', -179_960)]);
    expect(problems(fromN2).map((l) => l.node)).toEqual(['n2']);
    expect(problems(fromN2)[0]?.message).toMatch(/ahead/);
  });

  it('stays quiet within the limit, and counts a slow round trip for the node (the reading can be off by half of it)', () => {
    expect(CLOCK_SKEW_LIMIT_MS).toBe(2000);
    expect(problems(clockLines([at('n1', 0), at('n2', 1900), at('n3', 0)]))).toEqual([]);
    expect(problems(clockLines([at('n1', 0), at('n2', 2500, 2000), at('n3', 0)]))).toEqual([]);
    expect(problems(clockLines([at('n1', 0), at('n2', -2500), at('n3', 0)])).map((l) => l.message)).toEqual([expect.stringMatching(/^clock 2\.5 s behind/)]);
  });
});

describe('disks', () => {
  const xml = (disks: string) => `<domain type="qemu"><name>a</name><memory>1</memory><devices>${disks}</devices></domain>`;
  const file = '<disk type="file" device="disk"><source file="/srv/a.img"/><target dev="vda"/></disk>';
  const rbd = '<disk type="network" device="disk"><source protocol="rbd" name="pool/a"/><target dev="vdb"/></disk>';
  const cdrom = '<disk type="file" device="cdrom"><target dev="hdc"/></disk>';

  it('lists file and block paths, RBD images and other kinds; an empty CD-ROM is no disk', () => {
    expect(disksOf(xml(file + rbd + cdrom))).toEqual([
      { kind: 'file', source: '/srv/a.img' },
      { kind: 'rbd', source: 'pool/a' },
    ]);
    expect(disksOf('<not xml')).toEqual([]);
  });

  const vm: VmDisks = { vm: 'a', nodes: ['n1', 'n2'], otherNodes: ['n3'], disks: [{ kind: 'file', source: '/srv/a.img' }, { kind: 'rbd', source: 'pool/a' }] };
  const shared: PathSeen = { kind: 'file', identity: 'inode:803:12', fsType: 'ef53' };

  it('a disk missing on a node the VM may run on is an error there; RBD is not checked', () => {
    const lines = diskLines([vm], (n) => (n === 'n2' ? { kind: 'missing' } : n === 'n3' ? { kind: 'missing' } : shared));
    expect(problems(makeReport(lines).checks).map(formatLine)).toEqual([
      "n2: a's disk /srv/a.img is missing here (a may run on n1, n2) — fix: make /srv/a.img available on n2 (mount the shared storage, log in to the iSCSI target, activate the volume), or keep a off n2 (domadd --replace --only-on …)",
      "cluster: not checked: a's disk rbd pool/a: an RBD disk without <auth>",
    ]);
    expect(lines.filter((l) => l.ok).map((l) => l.node)).toEqual(['n1']);
  });

  it('the same file everywhere (one identity, or a network file system) is shared; a local copy elsewhere is a warning', () => {
    expect(problems(diskLines([vm], () => shared)).filter((l) => l.severity !== 'not-checked')).toEqual([]);
    const local = (id: string): PathSeen => ({ kind: 'file', identity: id, fsType: 'ef53' });
    const lines = problems(diskLines([vm], (n) => local(`inode:803:${n}`))).filter((l) => l.severity === 'warning');
    expect(lines.map((l) => l.node)).toEqual(['cluster', 'n3']);
    expect(lines[1]?.message).toMatch(/exists here, on local storage, though a may not run here/);
    const nfs = (id: string): PathSeen => ({ kind: 'file', identity: id, fsType: '6969' });
    expect(problems(diskLines([vm], (n) => nfs(`inode:29:${n}`))).filter((l) => l.severity === 'warning')).toEqual([]);
  });

  it('an RBD disk with <auth>: the user\'s key file on every node it may run on (an error where missing), the libvirt secret there (a warning where the agent has not made it yet)', () => {
    const uuid = '5b0e8f9a-2c1d-4e3f-8a7b-6c5d4e3f2a1b';
    const withAuth = `<disk type="network" device="disk"><auth username="corral"><secret type="ceph" uuid="${uuid.toUpperCase()}"/></auth><source protocol="rbd" name="corral-vms/a"/><target dev="vda"/></disk>`;
    const disks = disksOf(xml(withAuth));
    expect(disks).toEqual([{ kind: 'rbd', source: 'corral-vms/a', auth: { username: 'corral', secretUuid: uuid } }]);
    const v: VmDisks = { vm: 'a', nodes: ['n1', 'n2', 'n3'], otherNodes: [], disks };
    expect(keyringPaths([v])).toEqual(['/etc/ceph/ceph.client.corral.keyring']);
    expect(secretUuids([v])).toEqual([uuid]);
    const lines = diskLines(
      [v],
      (n, p) => (p === '/etc/ceph/ceph.client.corral.keyring' ? (n === 'n2' ? { kind: 'missing' } : shared) : undefined),
      (n) => (n === 'n3' ? false : true),
    );
    expect(problems(makeReport(lines).checks).map(formatLine)).toEqual([
      "n2: a's RBD disk corral-vms/a needs client.corral's key here, and /etc/ceph/ceph.client.corral.keyring is missing: the agent cannot make its libvirt secret, so a can neither start nor arrive here (a may run on n1, n2, n3) — fix: copy the key file to n2 (root's, mode 0600), or keep a off n2 (domadd --replace --only-on …)",
      `n3: warning: a's RBD disk corral-vms/a: libvirt here has no secret ${uuid} (client.corral) yet; the agent makes it from /etc/ceph/ceph.client.corral.keyring at its next probe or start here — fix: crm_resource --refresh --resource vm-a --node n3 (a probe makes it now)`,
    ]);
    expect(lines.filter((l) => l.ok).map((l) => l.node)).toEqual(['n1', 'n3']);
  });

  it('reads stat -L -t and stat -L -f -t', () => {
    const seen = parseStatTerse('/srv/a.img 1048576 2048 81a4 0 0 803 1234 1 0 0 1 2 3 0 4096\n/dev/loop0 0 0 61b0 0 6 5 85 1 7 0 1 2 3 0 4096\n/tmp 4096 8 41ed 0 0 803 2 1 0 0 1 2 3 0 4096');
    expect(seen.get('/srv/a.img')).toEqual({ kind: 'file', identity: 'inode:803:1234' });
    expect(seen.get('/dev/loop0')).toEqual({ kind: 'block', identity: 'block:7:0' });
    expect(seen.get('/tmp')).toEqual({ kind: 'other' });
    expect(parseStatFsTerse('/srv/a.img 9c5b1e0c8c0f0a2b 255 ef53 4096 4096 100 50 40 10 5').get('/srv/a.img')).toBe('ef53');
  });
});

describe('what the CIB says', () => {
  const setOption = (name: string, value: string) => (x: string) => x.replace(/(<cluster_property_set id="cib-bootstrap-options">)/, `$1<nvpair id="t-${name}" name="${name}" value="${value}"/>`);

  it('the recorded steady cluster passes: quorum, fencing, capacity, no leftovers, no balancer', async () => {
    const s = await snap();
    expect(problems([...quorumLines(s), ...fencingLines(s, { registered: ['fence-lab'] }), ...capacityLines(s), ...leftoverLines(s), ...balancerLines(s)])).toEqual([]);
  });

  it('fencing disabled, and a fence device the fencer does not have and the status does not show started', async () => {
    const off = await snap((x) => x.replace(/(name="stonith-enabled" value=)"true"/, '$1"false"'));
    expect(problems(fencingLines(off, { registered: ['fence-lab'] })).map((l) => l.message)).toEqual([expect.stringMatching(/^stonith-enabled is false: a node that fails is not fenced/)]);
    const none = await snap((x) => x.replace(/<primitive id="fence-lab"[\s\S]*?<\/primitive>/, ''));
    expect(problems(fencingLines(none, { registered: [] })).map((l) => l.message)).toEqual(['no fence device is configured']);
  });

  it('a node without capacity', async () => {
    const s = await snap((x) => x.replace(/<utilization id="nodes-2-utilization">[\s\S]*?<\/utilization>/, ''));
    expect(problems(capacityLines(s)).map(formatLine)).toEqual([expect.stringMatching(/^n2: no capacity set \(utilization cpu and hv_memory\).* — fix: nodecap n2/)]);
  });

  it('leftover hints and a borrowed migration-limit', async () => {
    const hint = '<rsc_location id="corral-steer-vm-web1-n2" rsc="vm-web1" node="n2" score="100"/>';
    const s = await snap((x) => setOption('corral-saved-migration-limit', 'unset')(x.replace('<constraints>', `<constraints>${hint}`)));
    const lines = problems(leftoverLines(s));
    expect(lines.map(formatLine)).toEqual([
      "n2: corral's placement hint corral-steer-vm-web1-n2 (vm-web1 towards n2, score 100) is left over from an interrupted rolling-reboot, rebalance or undrain — fix: cibadmin --delete --scope constraints --xml-text '<rsc_location id=\"corral-steer-vm-web1-n2\"/>'",
      'cluster: migration-limit is borrowed by an interrupted maintenance command (corral-saved-migration-limit=unset) — fix: crm_attribute --type crm_config --name migration-limit --delete; crm_attribute --type crm_config --name corral-saved-migration-limit --delete',
    ]);
  });
});
