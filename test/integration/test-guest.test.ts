// The test guest against a real libvirtd and qemu (TCG): the shipped guest-side startup-signal
// script talks to a host client on the channel's unix socket, the guest powers off on the ACPI
// power button, and the kernel command line switches do what they say.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { DomainDoc } from '../../lib/domain/doc.js';
import type { RunResult } from '../../lib/host/exec.js';
import { createLab, destroyLab } from '../../lib/lab/create.js';
import { nodeVirsh, startLibvirtAll } from '../../lib/lab/libvirt.js';
import { nodePath } from '../../lib/lab/node.js';
import type { LabNode } from '../../lib/lab/state.js';
import { ensureTestGuest, testGuestDomainXml, type TestGuest, type TestGuestDomainOptions } from '../../lib/lab/test-guest.js';

// libvirtd runs in a lab node (tini as PID 1 reaps qemu; the host's PID 1 may not).
const LAB = 'it-guest';
let node: LabNode;
const virsh = (...args: string[]) => nodeVirsh(node, args, 60_000);
async function virshOk(...args: string[]): Promise<RunResult> {
  const r = await virsh(...args);
  if (r.exitCode !== 0) throw new Error(`virsh ${args.join(' ')}: ${r.stderr}`);
  return r;
}

let guest: TestGuest;
let dir: string;

beforeAll(async () => {
  guest = await ensureTestGuest();
  await destroyLab(LAB);
  const lab = await createLab({ name: LAB, nodes: ['tg1'], subnet: '10.213.90' });
  node = lab.nodes[0]!;
  await startLibvirtAll(lab.nodes);
  dir = await mkdtemp('/tmp/ctg-'); // the node shares the host's /tmp
}, 300_000);

afterAll(async () => {
  await destroyLab(LAB);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

interface Booted {
  name: string;
  consoleLog: string;
}

async function boot(suffix: string, opts: Omit<TestGuestDomainOptions, 'name' | 'guest'> = {}): Promise<Booted> {
  const name = `ctg-${suffix}`;
  const consoleLog = join(dir, `${name}.console.log`);
  const file = join(dir, `${name}.xml`);
  await writeFile(file, testGuestDomainXml({ name, guest, consoleLog, ...opts }));
  await virshOk('create', file);
  return { name, consoleLog };
}

async function consoleText(d: Booted): Promise<string> {
  try {
    return await readFile(d.consoleLog, 'utf8');
  } catch {
    return '';
  }
}

/** Waits until the console log contains TEXT; returns the whole log. */
async function waitForConsole(d: Booted, text: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await consoleText(d);
    if (log.includes(text)) return log;
    if (Date.now() > deadline) throw new Error(`console of ${d.name} lacks "${text}" after ${timeoutMs} ms:\n${log.slice(-2000)}`);
    await sleep(200);
  }
}

/** The host path (through the node's /proc/PID/root) of the domain's startup_signal socket. */
async function channelPath(name: string): Promise<string> {
  const channel = DomainDoc.parse((await virshOk('dumpxml', name)).stdout).virtioChannel('startup_signal');
  const path = channel?.getElementsByTagName('source')[0]?.getAttribute('path');
  if (!path) throw new Error(`no startup_signal channel with a source path in the live XML of ${name}`);
  return nodePath(node, path);
}

/** A host-side client of the channel's unix socket, reading lines. */
class ChannelClient {
  private buffer = '';
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  received = '';

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.received += chunk;
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.wake?.();
    });
    socket.on('error', () => this.wake?.());
  }

  static connect(path: string): Promise<ChannelClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(new ChannelClient(s)));
      s.once('error', reject);
    });
  }

  /** The next complete line, or undefined after TIMEOUTMS. */
  async nextLine(timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = undefined;
    }
    return this.lines.shift();
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('the test guest', () => {
  it('sends "ready TOKEN" on the startup_signal channel until the host answers "ack TOKEN"', async () => {
    const d = await boot('signal');
    const path = await channelPath(d.name);

    // A first client that never acks: the guest keeps going.
    const first = await ChannelClient.connect(path);
    const ready = await first.nextLine(60_000);
    expect(ready).toMatch(/^ready [0-9a-f]{32}$/);
    const token = ready!.slice('ready '.length);
    first.close();

    // A second client: a wrong token is not an ack, the guest repeats its line once a second.
    const second = await ChannelClient.connect(path);
    second.send('ack 0123456789abcdef0123456789abcdef');
    expect(await second.nextLine(5_000)).toBe(`ready ${token}`);
    expect(await second.nextLine(5_000)).toBe(`ready ${token}`);
    expect(await consoleText(d)).not.toContain('startup signal acknowledged');

    second.send(`ack ${token}`);
    const log = await waitForConsole(d, 'corral-test-guest: startup signal acknowledged', 10_000);
    expect(log).toContain('corral-test-guest: booted');
    second.close();
  }, 120_000);

  it('powers off on the ACPI power button: virsh shutdown makes the domain disappear', async () => {
    const d = await boot('acpi', { signal: false });
    await waitForConsole(d, 'corral-test-guest: booted', 60_000);
    expect((await virsh('domstate', d.name)).stdout).toContain('running');

    await virshOk('shutdown', d.name);
    const deadline = Date.now() + 10_000;
    let gone = false;
    while (!gone && Date.now() < deadline) {
      const r = await virsh('domstate', d.name);
      gone = r.exitCode !== 0 && /failed to get domain|not found/i.test(r.stderr);
      if (!gone) await sleep(200);
    }
    expect(gone).toBe(true);
    expect(await consoleText(d)).toContain('corral-test-guest: power button: powering off');
  }, 120_000);

  it('honours corral.signal=never, corral.acpi=ignore and corral.tick=1', async () => {
    const d = await boot('quiet', { neverSignal: true, ignoreAcpi: true, tick: true });
    const client = await ChannelClient.connect(await channelPath(d.name));
    await waitForConsole(d, 'corral-test-guest: booted', 60_000);
    await virshOk('shutdown', d.name);
    const ticksBefore = countTicks(await consoleText(d));

    await sleep(5_000);
    expect(client.received).toBe('');
    expect((await virsh('domstate', d.name)).stdout).toContain('running');
    const log = await consoleText(d);
    expect(countTicks(log)).toBeGreaterThanOrEqual(ticksBefore + 3);
    expect(log).not.toContain('powering off');
    expect(log).not.toContain('startup-signal');
    client.close();
  }, 120_000);

  it('corral.burn=60 with corral.burn_cycle=8/8: the vCPU works in the on phases and rests in the off ones, each change on the console', async () => {
    const d = await boot('burner', { burn: { percent: 60, cycle: [8, 8] } });
    /** Cores the domain used over the next MS (libvirt's cpu.time). */
    const coresOver = async (ms: number): Promise<number> => {
      const time = async () => Number(/cpu\.time=(\d+)/.exec((await virshOk('domstats', '--cpu-total', d.name)).stdout)?.[1]);
      const [t0, a] = [Date.now(), await time()];
      await sleep(ms);
      return ((await time()) - a) / 1e6 / (Date.now() - t0);
    };
    const ons = async () => ((await consoleText(d)).match(/^corral-test-guest: burn on/gm) ?? []).length;
    const offs = async () => ((await consoleText(d)).match(/^corral-test-guest: burn off/gm) ?? []).length;
    await waitForConsole(d, 'corral-test-guest: burn on', 90_000);
    const onCores = await coresOver(4000);
    await waitForConsole(d, 'corral-test-guest: burn off', 30_000);
    const offCores = await coresOver(4000);
    const firstOns = await ons();
    for (const deadline = Date.now() + 30_000; (await ons()) === firstOns && Date.now() < deadline; ) await sleep(200);
    expect({ on: await ons(), off: await offs() }).toEqual({ on: firstOns + 1, off: 1 });
    // On: the burner's share (60 % of the vCPU, less what the host's other work leaves it); off:
    // the idle guest, a few percent.
    expect(onCores).toBeGreaterThan(0.2);
    expect(offCores).toBeLessThan(onCores / 3);
  }, 180_000);
});

function countTicks(log: string): number {
  return (log.match(/^corral-test-guest: tick \d+/gm) ?? []).length;
}
