// ocf:corral:TransientDomain against real libvirtd + qemu in two lab nodes: the life cycle,
// the startup signal, the safety rules (no false "not running", stop after a killed start,
// stop with a broken configuration) and live migration.
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTestGuest, testGuestDomainXml, type TestGuest, type TestGuestDomainOptions } from '../../lib/lab/test-guest.js';
import { rm } from 'node:fs/promises';
import { createLab, destroyLab } from '../../lib/lab/create.js';
import { nodeVirsh, restartLibvirtd, startLibvirtAll, stopLibvirtd } from '../../lib/lab/libvirt.js';
import { nodePath } from '../../lib/lab/node.js';
import type { LabNode } from '../../lib/lab/state.js';
import { AGENT, agent, agentEnv, consoleLog, domState, killGroupsOf, qemuPids, sharedFile, uuid, waitFor } from '../support/agent-lab.js';

const LAB = 'it-agent';
let guest: TestGuest;
let a: LabNode;
let b: LabNode;

function xml(name: string, o: Partial<TestGuestDomainOptions> = {}): string {
  return testGuestDomainXml({ name, uuid: uuid(), guest, ...o });
}

async function gone(node: LabNode, name: string): Promise<boolean> {
  return (await domState(node, name)) === undefined && (await qemuPids(node, name)).length === 0;
}

beforeAll(async () => {
  expect(existsSync(AGENT), 'npm run build first').toBe(true);
  guest = await ensureTestGuest();
  await destroyLab(LAB);
  const lab = await createLab({ name: LAB, nodes: ['ta1', 'ta2'], subnet: '10.213.78' });
  [a, b] = lab.nodes as [LabNode, LabNode];
  await startLibvirtAll(lab.nodes);
}, 600_000);

afterAll(async () => {
  await destroyLab(LAB);
}, 120_000);

describe('life cycle', () => {
  const name = 'td-life';
  let env: Record<string, string>;

  it('start returns only after the guest signalled ready, and the domain runs transient', async () => {
    env = agentEnv('vm-td-life', xml(name, { tick: true }), 60_000);
    const r = await agent(a, 'start', env);
    expect(r.code, r.stderr).toBe(0);
    expect(await domState(a, name)).toBe('running');
    const persistent = await nodeVirsh(a, ['dominfo', name]);
    expect(persistent.stdout).toMatch(/Persistent:\s+no/);
    // The guest prints its acknowledgement right after reading our ack.
    await waitFor('ack in the console log', async () => (await consoleLog(a, name)).includes('startup signal acknowledged'), 3000);
    expect(await consoleLog(a, name)).toContain('corral-test-guest: booted');
  });

  it('monitor and probe report running', async () => {
    expect((await agent(a, 'monitor', env)).code).toBe(0);
    expect((await agent(a, 'monitor', { ...env, OCF_RESKEY_CRM_meta_interval: '0' })).code).toBe(0);
    expect((await agent(a, 'monitor', { ...env, CORRAL_MONITOR_FULL: '1' })).code).toBe(0);
  });

  it('a second start succeeds and leaves exactly one qemu process', async () => {
    const r = await agent(a, 'start', env);
    expect(r.code, r.stderr).toBe(0);
    expect(await qemuPids(a, name)).toHaveLength(1);
  });

  it('stop shuts the guest down gracefully; the domain and its qemu are gone', async () => {
    const r = await agent(a, 'stop', env);
    expect(r.code, r.stderr).toBe(0);
    expect(await gone(a, name)).toBe(true);
    expect(r.stderr).toContain('asked the guest');
    expect(r.stderr).not.toContain('virsh destroy');
  });

  it('monitor and probe of the stopped domain report not running (7)', async () => {
    expect((await agent(a, 'monitor', env)).code).toBe(7);
    expect((await agent(a, 'monitor', { ...env, OCF_RESKEY_CRM_meta_interval: '0' })).code).toBe(7);
  });

  it('a second stop succeeds', async () => {
    expect((await agent(a, 'stop', env)).code).toBe(0);
  });

  it('the console log survives a restart: appended, not truncated', async () => {
    const before = await consoleLog(a, name);
    expect((await agent(a, 'start', env)).code).toBe(0);
    expect((await agent(a, 'stop', { ...env, OCF_RESKEY_force_stop: 'true' })).code).toBe(0);
    const after = await consoleLog(a, name);
    expect(after.startsWith(before)).toBe(true);
    expect(after.split('corral-test-guest: booted').length - 1).toBe(2);
  });
});

describe('startup signal', () => {
  it('start waits for a guest that signals late', async () => {
    const name = 'td-late';
    const env = agentEnv('vm-td-late', xml(name, { signalDelaySeconds: 4 }), 60_000);
    const r = await agent(a, 'start', env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeGreaterThan(4000);
    expect((await agent(a, 'stop', env)).code).toBe(0);
  });

  it('start fails within its timeout when the guest never signals, and leaves no domain', async () => {
    const name = 'td-silent';
    const env = agentEnv('vm-td-silent', xml(name, { neverSignal: true }), 15_000);
    const r = await agent(a, 'start', env);
    expect(r.code).toBe(1);
    expect(r.reason).toMatch(/startup signal/);
    expect(r.ms).toBeLessThan(15_000);
    expect(await gone(a, name)).toBe(true);
  });

  it('startup_signal=false starts without waiting', async () => {
    const name = 'td-nowait';
    const env = agentEnv('vm-td-nowait', xml(name, { neverSignal: true }), 30_000, { OCF_RESKEY_startup_signal: 'false' });
    const r = await agent(a, 'start', env);
    expect(r.code, r.stderr).toBe(0);
    expect(await domState(a, name)).toBe('running');
    expect((await agent(a, 'stop', { ...env, OCF_RESKEY_force_stop: '1' })).code).toBe(0);
    expect(await gone(a, name)).toBe(true);
  });
});

describe('safety', () => {
  it('a stop during a start that waits for the signal leaves no domain, and the start fails', async () => {
    const name = 'td-race';
    const env = agentEnv('vm-td-race', xml(name, { neverSignal: true }), 60_000);
    const starting = agent(a, 'start', env);
    await waitFor('the domain to exist', async () => (await domState(a, name)) === 'running', 20_000);
    const stop = await agent(a, 'stop', { ...env, OCF_RESKEY_CRM_meta_timeout: '30000' });
    expect(stop.code, stop.stderr).toBe(0);
    const s = await starting;
    expect(s.code).not.toBe(0);
    await sleep(2000);
    expect(await gone(a, name)).toBe(true);
  });

  it('a stop after a start killed in the middle of virsh create waits for the create and removes the domain', async () => {
    // An emulator that takes 5 s to start stands in for a slow first create (capability probe).
    const slow = await sharedFile('slow-qemu', '#!/bin/sh\nsleep 5\nexec /usr/bin/qemu-system-x86_64 "$@"\n', 0o755);
    const name = 'td-killed';
    const domainXml = xml(name, { signal: false }).replace('<devices>', `<devices>\n    <emulator>${slow}</emulator>`);
    const env = agentEnv('vm-td-killed', domainXml, 60_000);
    // Probe the wrapper's capabilities once so the create itself is what is slow.
    await nodeVirsh(a, ['domcapabilities', '--emulator', slow, '--virttype', 'qemu'], 60_000);
    const starting = agent(a, 'start', env);
    await waitFor("virsh create to run", () => nodeProcessesHave(a, ["virsh", "create"]), 20_000, 100);
    await sleep(1000);
    // What pacemaker-execd does on a timeout: SIGKILL to the agent's process group.
    expect(await killGroupsOf(a, [AGENT, 'start'])).toBeGreaterThan(0);
    await starting;
    expect(await domState(a, name)).toBeUndefined(); // the create is still in flight
    const stop = await agent(a, 'stop', { ...env, OCF_RESKEY_CRM_meta_timeout: '30000' });
    expect(stop.code, stop.stderr).toBe(0);
    // Once the create that was in flight is over, no domain may be left.
    await waitFor('the in-flight create to end', async () => !(await nodeProcessesHave(a, ['virsh', 'create'])), 30_000);
    await sleep(1000);
    expect(await gone(a, name)).toBe(true);
  });

  it('monitor never reports "not running" while libvirtd is down or restarting', async () => {
    const name = 'td-libvirtd';
    const env = agentEnv('vm-td-libvirtd', xml(name), 60_000);
    expect((await agent(a, 'start', env)).code).toBe(0);
    await stopLibvirtd(a);
    const full = { ...env, CORRAL_MONITOR_FULL: '1' };
    expect((await agent(a, 'monitor', full)).code).toBe(0);
    expect((await agent(a, 'monitor', env)).code).toBe(0);
    const restarting = restartLibvirtd(a);
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await agent(a, 'monitor', full)).code);
    await restarting;
    for (let i = 0; i < 3; i++) codes.push((await agent(a, 'monitor', full)).code);
    expect(codes.every((c) => c === 0), `monitor codes ${codes.join(',')}`).toBe(true);
    expect((await agent(a, 'stop', env)).code).toBe(0);
    expect(await gone(a, name)).toBe(true);
  });

  it('broken XML: start is a configuration error, stop succeeds, a probe that finds no domain of it says "not running"', async () => {
    const env = agentEnv('vm-td-broken', '<domain type="qemu"><name>td-broken</name><devices>', 20_000);
    const start = await agent(a, 'start', env);
    expect(start.code).toBe(6);
    expect(start.reason).toMatch(/invalid domain XML/);
    expect((await agent(a, 'stop', env)).code).toBe(0);
    // libvirt listed every domain and none is this resource's: evidence enough for a probe.
    expect((await agent(a, 'monitor', { ...env, OCF_RESKEY_CRM_meta_interval: '0' })).code).toBe(7);
    // A recurring monitor of a resource that could not be started again reports the configuration.
    expect((await agent(a, 'monitor', { ...env, OCF_RESKEY_CRM_meta_interval: '10000' })).code).toBe(6);
    const notDomain = await agent(a, 'start', agentEnv('vm-td-broken', '<cib/>', 20_000));
    expect(notDomain.code).toBe(6);
  });

  it('a running domain whose configuration became broken is still stopped', async () => {
    const name = 'td-orphan';
    const env = agentEnv('vm-td-orphan', xml(name, { signal: false }), 60_000);
    expect((await agent(a, 'start', env)).code).toBe(0);
    const broken = { ...env, OCF_RESKEY_config: '<domain><name>' };
    expect((await agent(a, 'monitor', broken)).code).toBe(0);
    expect((await agent(a, 'stop', broken)).code).toBe(0);
    expect(await gone(a, name)).toBe(true);
  });

  it('config=/dev/zero under a running domain: refused at once, the domain still reported and stopped', async () => {
    const name = 'td-zero';
    const env = agentEnv('vm-td-zero', xml(name, { signal: false }), 60_000);
    expect((await agent(a, 'start', env)).code).toBe(0);
    const zero = { ...env, OCF_RESKEY_config: '/dev/zero' };
    const validate = await agent(a, 'validate-all', zero);
    expect(validate.code).toBe(6);
    expect(validate.reason).toBe('the domain XML file /dev/zero is a character device, not a regular file');
    expect(validate.ms).toBeLessThan(5000);
    expect((await agent(a, 'monitor', zero)).code).toBe(0);
    expect((await agent(a, 'monitor', { ...zero, OCF_RESKEY_CRM_meta_interval: '0' })).code).toBe(0);
    const stop = await agent(a, 'stop', zero);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await gone(a, name)).toBe(true);
    expect((await agent(a, 'monitor', { ...zero, OCF_RESKEY_CRM_meta_interval: '0' })).code).toBe(7);
    // On a node that never ran it, a probe with the same config says "not running" too.
    expect((await agent(b, 'monitor', { ...zero, OCF_RESKEY_CRM_meta_interval: '0' })).code).toBe(7);
  });

  it('with a broken configuration and nothing recorded, stop finds the domain by its owner metadata', async () => {
    const name = 'td-owner';
    const env = agentEnv('vm-td-owner', xml(name, { signal: false }), 60_000);
    expect((await agent(a, 'start', env)).code).toBe(0);
    await rm(await nodePath(a, '/run/corral/TransientDomain/vm-td-owner.json'));
    const stop = await agent(a, 'stop', { ...env, OCF_RESKEY_config: '<domain><name>' });
    expect(stop.code, stop.stderr).toBe(0);
    expect(await gone(a, name)).toBe(true);
  });

  it('a guest that ignores ACPI is destroyed before the stop timeout', async () => {
    const name = 'td-deaf';
    const env = agentEnv('vm-td-deaf', xml(name, { ignoreAcpi: true }), 60_000);
    expect((await agent(a, 'start', env)).code).toBe(0);
    const stop = await agent(a, 'stop', { ...env, OCF_RESKEY_CRM_meta_timeout: '12000' });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.ms).toBeLessThan(12_000);
    expect(await gone(a, name)).toBe(true);
  });
});

describe('live migration', () => {
  const name = 'td-mig';
  let env: Record<string, string>;

  it('migrate_to + migrate_from move the running guest; it is in exactly one place and keeps running', async () => {
    env = agentEnv('vm-td-mig', xml(name, { tick: true }), 60_000);
    expect((await agent(a, 'start', env)).code).toBe(0);
    await waitFor('a few ticks', async () => /tick 3\b/.test(await consoleLog(a, name)), 15_000);
    // Pacemaker probes every resource on every node before it places anything.
    expect((await agent(b, 'monitor', { ...env, OCF_RESKEY_CRM_meta_interval: '0' })).code).toBe(7);
    const to = await agent(a, 'migrate_to', { ...env, OCF_RESKEY_CRM_meta_migrate_source: a.name, OCF_RESKEY_CRM_meta_migrate_target: b.name });
    expect(to.code, to.stderr).toBe(0);
    const from = await agent(b, 'migrate_from', { ...env, OCF_RESKEY_CRM_meta_migrate_source: a.name, OCF_RESKEY_CRM_meta_migrate_target: b.name });
    expect(from.code, from.stderr).toBe(0);
    expect(await gone(a, name)).toBe(true);
    expect(await domState(b, name)).toBe('running');
    expect(await qemuPids(b, name)).toHaveLength(1);
    expect((await agent(b, 'monitor', env)).code).toBe(0);
    expect((await agent(a, 'monitor', env)).code).toBe(7);
    // The guest did not reboot: its ticks continue on the target's console log.
    const lastOnA = Math.max(...[...(await consoleLog(a, name)).matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
    await waitFor('ticks on the target', async () => {
      const ticks = [...(await consoleLog(b, name)).matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
      return ticks.some((t) => t > lastOnA);
    }, 10_000);
    expect(await consoleLog(b, name)).not.toContain('corral-test-guest: booted');
  });

  it('a migration to an unreachable node fails and leaves the domain where it was', async () => {
    const to = await agent(b, 'migrate_to', { ...env, OCF_RESKEY_CRM_meta_timeout: '20000', OCF_RESKEY_CRM_meta_migrate_target: 'nosuchnode' });
    expect(to.code).toBe(1);
    expect(to.reason).toMatch(/still runs here/);
    expect(await domState(b, name)).toBe('running');
    expect(await gone(a, name)).toBe(true);
    expect((await agent(b, 'stop', env)).code).toBe(0);
    expect(await gone(b, name)).toBe(true);
  });

  it('migrate_to of a domain that does not run here fails and says so', async () => {
    const r = await agent(a, 'migrate_to', { ...agentEnv('vm-td-absent', xml('td-absent'), 20_000), OCF_RESKEY_CRM_meta_migrate_target: b.name });
    expect(r.code).toBe(1);
    expect(r.reason).toMatch(/does not run here/);
    expect(await gone(b, 'td-absent')).toBe(true);
  });

  it('migrate_from gives up quickly on a domain that never arrives', async () => {
    const r = await agent(a, 'migrate_from', agentEnv('vm-td-never', xml('td-never'), 60_000));
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(15_000);
  });
});

describe("the ecosystem's validators", () => {
  it('ocf-tester passes with a real guest and finishes', async () => {
    const config = await sharedFile('ocf-tester.xml', xml('td-ocftester'));
    const { nodeExec } = await import('../../lib/lab/node.js');
    // ocf-tester runs meta-data as user nobody, who cannot reach dist/ in a checkout below a
    // directory like /root (0700): test a copy of the built agent in a directory nobody can enter.
    const agentDir = await mkdtemp(join(tmpdir(), 'corral-ocf-tester-'));
    try {
      await chmod(agentDir, 0o755);
      await writeFile(join(agentDir, 'package.json'), '{ "type": "commonjs" }\n', { mode: 0o644 }); // as dist/ has
      const agentCopy = join(agentDir, 'TransientDomain');
      await copyFile(AGENT, agentCopy);
      await chmod(agentCopy, 0o755);
      const t = Date.now();
      const r = await nodeExec(a, 'ocf-tester', ['-n', 'vm-td-ocftester', '-o', `config=${config}`, '-o', 'migration_transport=tcp', agentCopy], { timeoutMs: 240_000 });
      expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('passed all tests');
      expect(Date.now() - t).toBeLessThan(240_000);
      expect(await gone(a, 'td-ocftester')).toBe(true);
    } finally {
      await rm(agentDir, { recursive: true, force: true });
    }
  }, 300_000);
});

async function nodeProcessesHave(node: LabNode, words: string[]): Promise<boolean> {
  const { nodeProcesses } = await import('../../lib/lab/node.js');
  return (await nodeProcesses(node)).some((p) => words.every((w) => p.cmdline.includes(w)));
}
