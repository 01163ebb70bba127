// What libvirt prints about a node and its domains (virsh version, nodeinfo, nodecpustats,
// nodememstats, capabilities, domstats --raw), read into numbers. Pure: lib/host/virsh.ts runs
// virsh, this reads its output.
import { z } from 'zod';
import { kid, parseXNode } from '../cib/model.js';

/** "key: value" or "key = value" lines (virsh's tabular outputs). */
function keyValues(text: string, sep: ':' | '=' = ':'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(sep);
    if (i <= 0) continue;
    out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export interface LibvirtVersions {
  libvirt: string | null;
  qemu: string | null;
}

/** `virsh version --daemon`: the daemon's libvirt and the running hypervisor's version. */
export function parseVersion(text: string): LibvirtVersions {
  const kv = keyValues(text);
  const daemon = kv['Running against daemon'] ?? /libvirt (\S+)/.exec(kv['Using library'] ?? '')?.[1] ?? null;
  const hv = /^QEMU (\S+)$/i.exec(kv['Running hypervisor'] ?? '')?.[1] ?? null;
  return { libvirt: daemon, qemu: hv };
}

export interface NodeInfo {
  cpus: number | null;
  memoryMiB: number | null;
  mhz: number | null;
}

export function parseNodeinfo(text: string): NodeInfo {
  const kv = keyValues(text);
  const num = (v: string | undefined) => {
    const m = /^(\d+)/.exec(v ?? '');
    return m ? Number(m[1]) : null;
  };
  const kib = num(kv['Memory size']);
  return { cpus: num(kv['CPU(s)']), memoryMiB: kib === null ? null : Math.floor(kib / 1024), mhz: num(kv['CPU frequency']) };
}

/** `virsh nodecpustats` / `nodememstats`: name → number (ns or KiB). */
export function parseCounters(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(keyValues(text))) {
    const m = /^(\d+)/.exec(v);
    if (m) out[k] = Number(m[1]);
  }
  return out;
}

const domStatSchema = z.record(z.string(), z.string());

export interface DomainCounters {
  name: string;
  /** libvirt's state number (1 = running). */
  state: number | null;
  /** Total CPU time in ns. */
  cpuTimeNs: number | null;
  vcpus: number | null;
  /** Memory the guest has (balloon.current, KiB) and the qemu process's resident set (KiB). */
  memoryKiB: number | null;
  rssKiB: number | null;
  blockReadBytes: number;
  blockWriteBytes: number;
  netRxBytes: number;
  netTxBytes: number;
}

/** `virsh domstats --raw`: one block per domain ("Domain: 'NAME'" then "  key=value" lines). */
export function parseDomstats(text: string): DomainCounters[] {
  const out: DomainCounters[] = [];
  const blocks: { name: string; kv: Record<string, string> }[] = [];
  for (const line of text.split('\n')) {
    const head = /^Domain: '(.*)'\s*$/.exec(line);
    if (head) {
      blocks.push({ name: head[1] as string, kv: {} });
      continue;
    }
    const cur = blocks[blocks.length - 1];
    const i = line.indexOf('=');
    if (cur && i > 0) cur.kv[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  for (const b of blocks) {
    const kv = domStatSchema.parse(b.kv);
    const n = (k: string): number | null => {
      const v = kv[k];
      return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
    };
    const sum = (prefix: 'block' | 'net', field: string): number => {
      const count = n(`${prefix}.count`) ?? 0;
      let s = 0;
      for (let i = 0; i < count; i++) s += n(`${prefix}.${i}.${field}`) ?? 0;
      return s;
    };
    out.push({
      name: b.name,
      state: n('state.state'),
      cpuTimeNs: n('cpu.time'),
      vcpus: n('vcpu.current'),
      memoryKiB: n('balloon.current') ?? n('balloon.maximum'),
      rssKiB: n('balloon.rss'),
      blockReadBytes: sum('block', 'rd.bytes'),
      blockWriteBytes: sum('block', 'wr.bytes'),
      netRxBytes: sum('net', 'rx.bytes'),
      netTxBytes: sum('net', 'tx.bytes'),
    });
  }
  return out;
}
