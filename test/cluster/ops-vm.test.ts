// vm and corral on a real 3-node lab cluster (test/support/ops-lab.ts): run inside the nodes the
// way an operator runs them, checked against what the guests print on their consoles, what
// libvirt runs on each node and what crm_mon says. A running ops lab is reused; the lab is
// destroyed afterwards unless CORRAL_KEEP_LAB is set.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainDoc } from '../../lib/domain/doc.js';
import { clusterExec, clusterStatus, waitClusterIdle, type ClusterLab } from '../../lib/lab/cluster.js';
import { nodeVirsh, restartLibvirtd } from '../../lib/lab/libvirt.js';
import { labDir, type LabNode } from '../../lib/lab/state.js';
import { built, consoleLogOn, destroyOpsLab, domainsOn, ensureVms, inNode, ok, OPS_DIR, opsLab, waitUntil } from '../support/ops-lab.js';
import { requireRoot } from '../support/root.js';

let lab: ClusterLab;

const count = (text: string, re: RegExp) => (text.match(new RegExp(re.source, 'g')) ?? []).length;

function node(name: string): LabNode {
  const n = lab.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name}`);
  return n;
}

async function whereIs(vm: string): Promise<string> {
  const s = await clusterStatus(lab);
  const r = s.resources.get(`vm-${vm}`);
  if (!r || r.nodes.length !== 1) throw new Error(`vm-${vm} is not running on exactly one node (${JSON.stringify(r)})`);
  return r.nodes[0] as string;
}

/** A node other than NAME's. */
async function elsewhere(vm: string): Promise<LabNode> {
  const at = await whereIs(vm);
  return lab.nodes.find((n) => n.name !== at) as LabNode;
}

describe('vm and corral on the lab cluster', () => {
  beforeAll(async () => {
    requireRoot('the vm and corral suite on the lab', 'it runs a lab cluster');
    lab = await opsLab();
    await ensureVms(lab, [{ name: 't-tick', tick: true }, { name: 't-mig' }]);
    await waitClusterIdle(lab, { resources: ['vm-t-tick', 'vm-t-mig'], timeoutMs: 240_000 });
  }, 600_000);

  afterAll(async () => {
    if (!lab) return;
    if (process.env.CORRAL_KEEP_LAB) {
      // Kept for the next run (or a look around): nothing moved, everything started.
      await inNode(lab.nodes[0] as LabNode, 'vm', ['t-*', 'clear', '--yes']).catch(() => undefined);
      await inNode(lab.nodes[0] as LabNode, 'vm', ['t-*', 'start', '--yes', '--no-wait']).catch(() => undefined);
      return;
    }
    await destroyOpsLab();
  }, 120_000);

  it('where names the node crm_mon places the VM on', async () => {
    const r = await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['t-tick', 'where']));
    expect(r.stdout).toBe(await whereIs('t-tick'));
  });

  it('console attaches through the remote URI and shows what the guest prints', async () => {
    const from = await elsewhere('t-tick');
    // virsh console needs a terminal: script(1) gives it one; the session ends by the timeout.
    const r = await inNode(from, 'script', ['-qfec', `${built('vm')} t-tick console`, '/dev/null'], { timeoutMs: 6000, input: '\r' });
    expect(r.stdout).toMatch(new RegExp(`Connected to t-tick on ${await whereIs('t-tick')}`));
    expect(r.stdout).toMatch(/Connected to domain '?t-tick'?/);
    expect(r.stdout).toMatch(/corral-test-guest: tick \d+/);
  });

  it('console without a terminal says so instead of hanging', async () => {
    const r = await inNode(lab.nodes[0] as LabNode, 'vm', ['t-tick', 'console'], { timeoutMs: 20_000 });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/the console needs a terminal/);
  });

  it('console --log prints the continuous log, read on the node that has it or through the node command', async () => {
    const at = await whereIs('t-tick');
    const local = await ok(inNode(node(at), 'vm', ['t-tick', 'console', '--log']));
    const remote = await ok(inNode(await elsewhere('t-tick'), 'vm', ['t-tick', 'console', '--log']));
    for (const r of [local, remote]) {
      expect(r.stdout).toMatch(/corral-test-guest: booted/);
      expect(r.stdout).toMatch(/corral-test-guest: tick \d+/);
    }
    const last3 = await ok(inNode(await elsewhere('t-tick'), 'vm', ['t-tick', 'console', '--log', '--lines', '3']));
    expect(last3.stdout.split('\n')).toHaveLength(3);
  });

  it('sysrq reaches the guest: its kernel answers on the console', async () => {
    const at = await whereIs('t-tick');
    const before = count(await consoleLogOn(lab, at, 't-tick'), /sysrq: HELP/);
    const r = await ok(inNode(await elsewhere('t-tick'), 'vm', ['t-tick', 'sysrq', 'h']));
    expect(r.stdout).toBe(`t-tick: Alt+SysRq+h sent on ${at}`);
    await waitUntil('sysrq help on the console', async () => count(await consoleLogOn(lab, at, 't-tick'), /sysrq: HELP/) > before, 20_000);
  });

  it('reset reboots the guest (a new boot in its console log)', async () => {
    const at = await whereIs('t-tick');
    const boots = count(await consoleLogOn(lab, at, 't-tick'), /corral-test-guest: booted/);
    await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['t-tick', 'reset']));
    await waitUntil('a new boot after reset', async () => count(await consoleLogOn(lab, at, 't-tick'), /corral-test-guest: booted/) > boots, 60_000);
    expect(await whereIs('t-tick')).toBe(at);
  });

  it('ctrlaltdel reaches the guest (its kernel restarts, a new boot follows)', async () => {
    const at = await whereIs('t-tick');
    const log0 = await consoleLogOn(lab, at, 't-tick');
    const restarts = count(log0, /reboot: Restarting system/);
    const boots = count(log0, /corral-test-guest: booted/);
    await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['t-tick', 'ctrlaltdel']));
    await waitUntil(
      'the kernel restarting and booting again',
      async () => {
        const log = await consoleLogOn(lab, at, 't-tick');
        return count(log, /reboot: Restarting system/) > restarts && count(log, /corral-test-guest: booted/) > boots;
      },
      60_000,
    );
  });

  it('migrate moves the VM live through Pacemaker, waits, and says where it went', async () => {
    const from = await whereIs('t-mig');
    const to = lab.nodes.map((n) => n.name).find((n) => n !== from) as string;
    const r = await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['t-mig', 'migrate', to], { timeoutMs: 240_000 }));
    expect(r.stdout).toMatch(new RegExp(`t-mig: running on ${to} \\(the move constraint stays for PT10M\\)$`));
    expect(await whereIs('t-mig')).toBe(to);
    expect(await domainsOn(node(to))).toContain('t-mig');
    expect(await domainsOn(node(from))).not.toContain('t-mig');
    const list = JSON.parse((await ok(inNode(lab.nodes[0] as LabNode, 'corral', ['list', '--json', 't-mig']))).stdout) as { vms: { constraints: { kind: string; nodes: string[] }[] }[] };
    expect(list.vms[0]?.constraints).toContainEqual(expect.objectContaining({ kind: 'moved', nodes: [to] }));
    const c = await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['t-mig', 'clear']));
    expect(c.stdout).toBe('t-mig: removed cli-prefer-vm-t-mig');
  });

  it('migrate without a node moves the VM away each time (a new move replaces the earlier ones)', async () => {
    const n1 = lab.nodes[0] as LabNode;
    const seen: string[] = [await whereIs('t-mig')];
    for (let i = 0; i < 3; i++) {
      const r = await ok(inNode(n1, 'vm', ['t-mig', 'migrate'], { timeoutMs: 240_000 }));
      const at = await whereIs('t-mig');
      expect(at).not.toBe(seen[seen.length - 1]);
      expect(r.stdout).toMatch(new RegExp(`t-mig: running on ${at} `));
      seen.push(at);
    }
    const list = JSON.parse((await ok(inNode(n1, 'corral', ['list', '--json', 't-mig']))).stdout) as { vms: { constraints: { kind: string; nodes: string[] }[] }[] };
    expect(list.vms[0]?.constraints.filter((c) => c.kind === 'banned')).toEqual([expect.objectContaining({ nodes: [seen[2]] })]);
    await ok(inNode(n1, 'vm', ['t-mig', 'clear']));
  });

  it('stop and start go through Pacemaker and wait for the result', async () => {
    const stop = await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['t-mig', 'stop'], { timeoutMs: 240_000 }));
    expect(stop.stdout).toMatch(/t-mig: stopped \(target-role Stopped\)$/);
    for (const n of lab.nodes) expect(await domainsOn(n)).not.toContain('t-mig');
    const start = await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['t-mig', 'start'], { timeoutMs: 240_000 }));
    expect(start.stdout).toMatch(/t-mig: running on n\d$/);
    expect(await domainsOn(node(await whereIs('t-mig')))).toContain('t-mig');
  });

  it("libvirt's own qemu hook (/etc/libvirt/hooks/qemu) fires for corral's transient domains on start, stop and both ends of a live migration", async () => {
    // Per-VM events are libvirt's: README "Hooks". libvirtd looks for its hook scripts when it
    // starts, so the script goes into each node's own /etc/libvirt (the lab's per-node copy) and
    // libvirtd restarts there (the domains keep running). The script only records its arguments
    // (DOMAIN OPERATION SUB-OPERATION EXTRA) and swallows the domain XML libvirt writes to it.
    const hookLog = (n: string) => path.join(labDir(lab.name), 'nodes', n, 'fs/var/log/corral-qemu-hook.log');
    for (const n of lab.nodes) {
      const dir = path.join(labDir(lab.name), 'nodes', n.name, 'fs/etc/libvirt/hooks');
      await mkdir(dir, { recursive: true, mode: 0o755 });
      await writeFile(path.join(dir, 'qemu'), '#!/bin/sh\n/bin/cat > /dev/null\necho "$*" >> /var/log/corral-qemu-hook.log\nexit 0\n', { mode: 0o755 });
      await chmod(path.join(dir, 'qemu'), 0o755);
      await restartLibvirtd(n);
    }
    await waitClusterIdle(lab, { resources: ['vm-t-mig'], timeoutMs: 120_000 });
    const seen = async (n: string) => (await readFile(hookLog(n), 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('t-mig '));
    const clear = async () => {
      for (const n of lab.nodes) await writeFile(hookLog(n.name), '');
    };
    const report: string[] = [];
    const n1 = lab.nodes[0] as LabNode;

    // stop: the node it ran on says stopped and release.
    const ranOn = await whereIs('t-mig');
    await clear();
    await ok(inNode(n1, 'vm', ['t-mig', 'stop'], { timeoutMs: 240_000 }));
    await waitUntil('the release hook after the stop', async () => (await seen(ranOn)).includes('t-mig release end -'), 30_000);
    report.push(`stop on ${ranOn}: ${(await seen(ranOn)).join(' | ')}`);
    expect(await seen(ranOn)).toEqual(['t-mig stopped end -', 't-mig release end -']);

    // start: the node Pacemaker chose says prepare, start, started.
    await clear();
    await ok(inNode(n1, 'vm', ['t-mig', 'start'], { timeoutMs: 240_000 }));
    const startedOn = await whereIs('t-mig');
    await waitUntil('the started hook', async () => (await seen(startedOn)).includes('t-mig started begin -'), 30_000);
    report.push(`start on ${startedOn}: ${(await seen(startedOn)).join(' | ')}`);
    expect(await seen(startedOn)).toEqual(['t-mig prepare begin -', 't-mig start begin -', 't-mig started begin -']);

    // live migration: the target sees migrate, prepare, start, started; the source stopped, release.
    const to = lab.nodes.map((n) => n.name).find((n) => n !== startedOn) as string;
    await clear();
    await ok(inNode(n1, 'vm', ['t-mig', 'migrate', to], { timeoutMs: 240_000 }));
    expect(await whereIs('t-mig')).toBe(to);
    await waitUntil('the release hook on the source', async () => (await seen(startedOn)).includes('t-mig release end -'), 30_000);
    report.push(`migrate, target ${to}: ${(await seen(to)).join(' | ')}`, `migrate, source ${startedOn}: ${(await seen(startedOn)).join(' | ')}`);
    console.log(`libvirt's qemu hook saw:\n  ${report.join('\n  ')}`);
    expect(await seen(to)).toEqual(['t-mig migrate begin -', 't-mig prepare begin -', 't-mig start begin -', 't-mig started begin -']);
    expect(await seen(startedOn)).toEqual(['t-mig stopped end -', 't-mig release end -']);
    for (const n of lab.nodes.filter((x) => x.name !== to && x.name !== startedOn)) expect(await seen(n.name)).toEqual([]);
    await ok(inNode(n1, 'vm', ['t-mig', 'clear']));
  }, 900_000);

  it('an action on several VMs lists them and needs --yes without a terminal', async () => {
    const r = await inNode(lab.nodes[0] as LabNode, 'vm', ['t-*', 'reset']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/"t-\*" matches 2 VMs:/);
    expect(r.stderr).toMatch(/t-mig \(n\d\)/);
    expect(r.stderr).toMatch(/add --yes/);
    const s = await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['n?/t-*', 'where']));
    expect(s.stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['t-mig', 't-tick']);
  });

  it('corral list, hosts and stats show what crm_mon and libvirt say', async () => {
    const n1 = lab.nodes[0] as LabNode;
    const mon = await clusterStatus(lab);
    const list = JSON.parse((await ok(inNode(n1, 'corral', ['list', '--json']))).stdout) as { vms: { name: string; resource: string; state: string; nodes: string[] }[] };
    for (const v of list.vms) {
      const r = mon.resources.get(v.resource);
      expect([v.name, v.state === 'running' ? v.nodes : []]).toEqual([v.name, r?.role === 'Started' ? r.nodes : []]);
    }
    const perNode = Object.fromEntries(await Promise.all(lab.nodes.map(async (n) => [n.name, await domainsOn(n)] as const)));
    const hosts = JSON.parse((await ok(inNode(n1, 'corral', ['hosts', '--json']))).stdout) as { hosts: { name: string; vms: number; vmNames: string[]; libvirt: string; qemu: string; kernel: string }[] };
    for (const h of hosts.hosts) {
      expect([h.name, [...h.vmNames].sort()]).toEqual([h.name, perNode[h.name]]);
      expect(h.libvirt).toMatch(/^9\./);
      expect(h.qemu).toMatch(/^7\.2/);
      expect(h.kernel).toMatch(/^\d+\.\d+/);
    }
    const text = (await ok(inNode(n1, 'corral', ['hosts']))).stdout;
    expect(text).toMatch(new RegExp(`^3 hosts \\(3 online\\), 24 cores, ${list.vms.length} VMs`, 'm'));
    const stats = JSON.parse((await ok(inNode(n1, 'corral', ['stats', '--json', '--interval', '1']))).stdout) as { hosts: { name: string; vms: number; cpuPercent: number }[]; vms: { name: string; node: string; cpuPercent: number; memoryMiB: number }[] };
    for (const n of lab.nodes) {
      expect(stats.vms.filter((v) => v.node === n.name).map((v) => v.name).sort()).toEqual(perNode[n.name]);
    }
    expect(stats.vms.find((v) => v.name === 't-tick')?.memoryMiB).toBe(128);
    expect(stats.hosts.every((h) => h.cpuPercent >= 0 && h.cpuPercent <= 100)).toBe(true);
  });

  it("README's crmsh example works: crm configure primitive … config=\"$(fixup_domxml --one-line FILE)\"", async () => {
    const n1 = lab.nodes[0] as LabNode;
    const xmlFile = path.join(OPS_DIR, 'crm-gum.xml');
    await writeFile(xmlFile, `<domain type="qemu">\n  <name>crmgum</name>\n  <description>Café € 😀 &lt;primitive id="evil"/&gt;</description>\n  <memory unit="MiB">64</memory>\n  <vcpu>1</vcpu>\n  <os><type arch="x86_64">hvm</type></os>\n  <devices/>\n</domain>\n`);
    const oneLine = (await ok(inNode(n1, 'fixup_domxml', ['--no-cib', '--one-line', xmlFile]))).stdout.trim();
    expect(oneLine).not.toContain('\n');
    expect(oneLine).toMatch(/^[\x20-\x7e]+$/);
    const cibFile = path.join(OPS_DIR, 'crm-cib.xml');
    await writeFile(cibFile, (await ok(clusterExec(n1, 'cibadmin', ['--query']))).stdout);
    const env = { CIB_file: cibFile };
    // The same words the shell hands crm for README's line.
    await ok(
      clusterExec(n1, 'crm', ['configure', 'primitive', 'vm-crmgum', 'ocf:corral:TransientDomain', 'params', `config=${oneLine}`, 'migration_transport=tcp', 'meta', 'allow-migrate=true', 'op', 'start', 'timeout=300s', 'op', 'stop', 'timeout=120s', 'op', 'monitor', 'interval=10s', 'timeout=30s'], { env, timeoutMs: 120_000 }),
    );
    const stored = (await ok(clusterExec(n1, 'crm_resource', ['--resource', 'vm-crmgum', '--get-parameter', 'config'], { env }))).stdout.trim();
    expect(stored).toBe(oneLine);
    expect(DomainDoc.parse(stored).root.getElementsByTagName('description')[0]?.textContent).toBe('Café € 😀 <primitive id="evil"/>');
    const resources = (await ok(clusterExec(n1, 'cibadmin', ['--query', '--scope', 'resources'], { env }))).stdout;
    expect(resources).not.toMatch(/<primitive id="evil"/);
  });

  it('edit writes the checked XML back in one CIB change, and Pacemaker restarts the VM with it', async () => {
    // The edit also gives the VM a description with text outside ASCII followed by CIB markup
    // (Pacemaker 2.1.5's own XML writer mis-escapes such values): it must stay text, all the way
    // to the running domain.
    const description = 'Café € 😀"/></nvpair></instance_attributes></primitive><primitive id="evil" class="ocf" provider="heartbeat" type="anything"/>';
    const escaped = description.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/&/g, '\\&');
    const editor = path.join(OPS_DIR, 'editor-160');
    await writeFile(editor, `#!/bin/sh\nexec sed -i -e 's#<memory unit="MiB">128</memory>#<memory unit="MiB">160</memory>#' -e 's#</uuid>#</uuid><description>${escaped}</description>#' "$1"\n`);
    await chmod(editor, 0o755);
    const r = await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['t-mig', 'edit', '--yes'], { env: { EDITOR: editor } }));
    expect(r.stdout).toMatch(/t-mig: domain XML written back; memory 128 → 160 MiB; Pacemaker restarts t-mig/);
    let running = '';
    await waitUntil(
      'libvirt running t-mig with 160 MiB',
      async () => {
        const at = await whereIs('t-mig').catch(() => undefined);
        if (!at) return false;
        const x = await nodeVirsh(node(at), ['dumpxml', 't-mig']);
        running = x.stdout;
        return /<memory unit='KiB'>163840<\/memory>/.test(x.stdout);
      },
      120_000,
      500,
    );
    expect(DomainDoc.parse(running).root.getElementsByTagName('description')[0]?.textContent).toBe(description);
    const resources = (await ok(clusterExec(lab.nodes[0] as LabNode, 'cibadmin', ['--query', '--scope', 'resources'], { timeoutMs: 60_000 }))).stdout;
    expect(resources).not.toMatch(/<primitive id="evil"/);
    let list: { vms: { memoryMiB: number; state: string }[] } = { vms: [] };
    await waitUntil(
      'corral list showing t-mig running (its guest signalled ready)',
      async () => {
        list = JSON.parse((await ok(inNode(lab.nodes[0] as LabNode, 'corral', ['list', '--json', 't-mig']))).stdout) as typeof list;
        return list.vms[0]?.state === 'running';
      },
      120_000,
      500,
    );
    expect(list.vms[0]?.memoryMiB).toBe(160);
    // and back, so the lab stays as it was
    await writeFile(editor, `#!/bin/sh\nexec sed -i -e 's#<memory unit="MiB">160</memory>#<memory unit="MiB">128</memory>#' -e 's#<description>.*</description>##' "$1"\n`);
    await ok(inNode(lab.nodes[0] as LabNode, 'vm', ['t-mig', 'edit', '--yes'], { env: { EDITOR: editor } }));
  });
});
