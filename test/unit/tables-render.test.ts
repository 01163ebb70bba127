// corral list/hosts/stats: rendering, JSON field names, and libvirt's recorded outputs read into
// numbers (test/fixtures/recorded/libvirt, from the same moment as steady/).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatMemory, formatRate, renderTable } from '../../lib/cluster/format.js';
import type { NodeSample } from '../../lib/cluster/facts.js';
import { parseCounters, parseDomstats, parseNodeinfo, parseVersion } from '../../lib/cluster/libvirt.js';
import { hostCpu, hostCpuName } from '../../lib/cluster/cpu-models.js';
import { parseCib, statusOf } from '../../lib/cluster/snapshot.js';
import { computeRates, hostCpuPercent } from '../../lib/cluster/stats.js';
import { hostRows, hostsJson, hostsText, hostTotals, listJson, listText, statsJson, statsText, totalsLine } from '../../lib/cluster/tables.js';
import { buildView } from '../../lib/cluster/view.js';

const REC = path.join(new URL('../fixtures/recorded', import.meta.url).pathname);
const read = (f: string) => readFileSync(path.join(REC, f), 'utf8');
const NODES = ['n1', 'n2', 'n3'];

async function steady() {
  const xml = read('steady/cib.xml');
  const { root, cib } = parseCib(xml);
  return buildView(cib, await statusOf(xml, root, cib, { crmMonXml: read('steady/crm_mon.xml') }));
}

function sample(node: string, round: number, at: number): NodeSample {
  return {
    node,
    at,
    domains: parseDomstats(read(`libvirt/${node}-domstats-${round}.txt`)),
    cpu: parseCounters(read(`libvirt/${node}-nodecpustats-${round}.txt`)),
    memory: parseCounters(read(`libvirt/${node}-nodememstats-${round}.txt`)),
    problems: [],
  };
}

describe('table rendering', () => {
  it('aligns columns, right-aligns numbers, trims trailing blanks', () => {
    const t = renderTable(
      [
        { header: 'NAME', value: (r: { n: string; v: number }) => r.n },
        { header: 'N', value: (r) => String(r.v), right: true },
        { header: 'LAST', value: () => '' },
      ],
      [
        { n: 'a', v: 1 },
        { n: 'long', v: 100 },
      ],
    );
    expect(t).toBe('NAME    N  LAST\na       1\nlong  100\n');
  });

  it('formats memory and rates the way the totals line reads', () => {
    expect([formatMemory(512), formatMemory(8192), formatMemory(82124), formatMemory(null), formatMemory(-1536)]).toEqual(['512M', '8.0G', '80.2G', '-', '-1.5G']);
    expect([formatRate(0), formatRate(812), formatRate(12_600), formatRate(4 * 1024 * 1024)]).toEqual(['0', '812B/s', '12.3K/s', '4.0M/s']);
  });
});

describe('corral list on the recorded cluster', () => {
  it('shows one line per VM with node, state, size, priority, tags and constraints', async () => {
    const text = listText((await steady()).vms);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+NODE\s+STATE\s+VCPUS\s+MEMORY\s+PRIO\s+TAGS\s+CONSTRAINTS$/);
    expect(lines).toHaveLength(7);
    expect(lines.find((l) => l.startsWith('db1 '))).toMatch(/^db1\s+n3\s+running\s+1\s+256M\s+20\s+-\s+pin:n3$/);
    expect(lines.find((l) => l.startsWith('off1 '))).toMatch(/^off1\s+-\s+disabled\s+1\s+128M\s+0\s+-\s+-$/);
    expect(lines.find((l) => l.startsWith('ns1 '))).toMatch(/only:n1,n2/);
    expect(lines.find((l) => l.startsWith('web2 '))).toMatch(/\bweb\s+group:web$/);
  });

  it('--json keeps its field names', async () => {
    const j = listJson((await steady()).vms, 'cib');
    expect(Object.keys(j)).toEqual(['source', 'vms']);
    expect(Object.keys(j.vms[0] as object)).toEqual([
      'name',
      'resource',
      'state',
      'node',
      'nodes',
      'migratingTo',
      'targetRole',
      'managed',
      'vcpus',
      'memoryMiB',
      'priority',
      'tags',
      'constraints',
      'failCounts',
      'localDisksOn',
    ]);
    expect(JSON.parse(JSON.stringify(j)).vms.find((v: { name: string }) => v.name === 'db1').constraints[0]).toMatchObject({ kind: 'pin', nodes: ['n3'] });
  });
});

describe('libvirt outputs as recorded', () => {
  it('versions, CPU model and node info', () => {
    for (const n of NODES) {
      const v = parseVersion(read(`libvirt/${n}-version.txt`));
      expect(v.libvirt).toMatch(/^9\.0\.\d+$/);
      expect(v.qemu).toMatch(/^7\.2\.\d+$/);
      expect(hostCpuName(hostCpu(read(`libvirt/${n}-capabilities.xml`)))).toMatch(/\S/);
      const info = parseNodeinfo(read(`libvirt/${n}-nodeinfo.txt`));
      expect(info.cpus).toBeGreaterThan(0);
      expect(info.memoryMiB).toBeGreaterThan(100);
    }
  });

  it('domstats lists exactly the VMs the CIB places on that node', async () => {
    const v = await steady();
    for (const n of NODES) {
      const names = parseDomstats(read(`libvirt/${n}-domstats-1.txt`)).map((d) => d.name).sort();
      expect(names).toEqual(v.vms.filter((x) => x.node === n).map((x) => x.name).sort());
    }
  });

  it('rates from two readings: CPU within one core per vCPU, memory as configured', () => {
    const first = NODES.map((n) => sample(n, 1, 0));
    const second = NODES.map((n) => sample(n, 2, 2000));
    const { hosts, vms } = computeRates(first, second);
    expect(hosts.map((h) => h.node)).toEqual(NODES);
    expect(vms.length).toBe(5);
    for (const r of vms) {
      expect(r.cpuPercent).not.toBeNull();
      expect(r.cpuPercent as number).toBeGreaterThanOrEqual(0);
      expect(r.cpuPercent as number).toBeLessThanOrEqual(100 * (r.vcpus ?? 1) + 5);
      expect([128, 256]).toContain(r.memoryMiB);
    }
    for (const h of hosts) {
      expect(h.cpuPercent as number).toBeGreaterThanOrEqual(0);
      expect(h.cpuPercent as number).toBeLessThanOrEqual(100);
      expect(h.memoryUsedMiB as number).toBeLessThan(h.memoryTotalMiB as number);
    }
    // Each VM's CPU is the growth of its recorded cpu.time (ns) over the 2 s between readings.
    for (const r of vms) {
      const cpuTime = (round: number) => {
        const text = read(`libvirt/${r.node}-domstats-${round}.txt`);
        const block = text.split(/^Domain: /m).find((b) => b.startsWith(`'${r.name}'`))!;
        return Number(/^\s*cpu\.time=(\d+)$/m.exec(block)![1]);
      };
      expect(r.cpuPercent as number).toBeCloseTo(((cpuTime(2) - cpuTime(1)) / 2e9) * 100, 1);
    }
    const text = statsText(hosts, vms);
    expect(text).toMatch(/^HOST\s+CPU\s+MEM-USED\s+MEMORY\s+VMS/);
    expect(text).toMatch(/\nVM\s+HOST\s+CPU\s+VCPUS\s+MEMORY\s+RSS/);
    expect(Object.keys(statsJson(2, hosts, vms))).toEqual(['intervalSeconds', 'hosts', 'vms']);
  });

  it('host CPU share: busy time over all time between two readings', () => {
    expect(hostCpuPercent({ user: 0, system: 0, idle: 0, iowait: 0 }, { user: 30, system: 10, idle: 50, iowait: 10 })).toBeCloseTo(40);
    expect(hostCpuPercent(null, { user: 1, system: 1, idle: 1, iowait: 1 })).toBeNull();
  });
});

describe('corral hosts on the recorded cluster', () => {
  it('has capacity, allocation, free, VM count per node, the versions, and a totals line', async () => {
    const v = await steady();
    const facts = NODES.map((n) => ({
      node: n,
      ...parseVersion(read(`libvirt/${n}-version.txt`)),
      kernel: '6.1.0-test',
      hostCpu: hostCpu(read(`libvirt/${n}-capabilities.xml`)),
      ...parseNodeinfo(read(`libvirt/${n}-nodeinfo.txt`)),
      problems: [],
    }));
    const rows = hostRows(v, facts);
    const totals = hostTotals(v, rows);
    expect(totalsLine(totals)).toBe('3 hosts (3 online), 24 cores, 6 VMs (5 running); 5 vCPUs allocated; memory 5.3G free of 6.0G');
    const text = hostsText(rows, totals);
    expect(text.split('\n')[0]).toMatch(/^HOST\s+STATE\s+DRAIN\s+VMS\s+CPUS\s+CPU-USED\s+CPU-FREE\s+MEMORY\s+MEM-USED\s+MEM-FREE\s+LIBVIRT\s+QEMU\s+KERNEL\s+CPU-MODEL$/);
    expect(text).toMatch(/\bn\d\*\s+online\s/); // the DC
    const j = hostsJson(rows, totals);
    expect(Object.keys(j.hosts[0] as object)).toEqual([
      'name',
      'id',
      'state',
      'dc',
      'cpus',
      'cpusAllocated',
      'cpusFree',
      'memoryMiB',
      'memoryAllocatedMiB',
      'memoryFreeMiB',
      'capacitySource',
      'vms',
      'vmNames',
      'libvirt',
      'qemu',
      'kernel',
      'cpuModel',
      'problems',
      'standby',
      'drainState',
      'owes',
      'owedVms',
    ]);
    expect(j.hosts.every((h) => h.capacitySource === 'utilization' && h.kernel === '6.1.0-test')).toBe(true);
    expect(j.hosts.reduce((s, h) => s + h.vms, 0)).toBe(5);
  });
});
