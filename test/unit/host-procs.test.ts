// lib/host/procs.ts and lib/host/ns-procs.ts read /proc for the agent and the lab: checked here on
// the processes of this very test (no lab needed).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pidNsProcesses } from '../../lib/host/ns-procs.js';
import { argvOf, commOf, isAlive, pidFromFile, pidNamespaceOf, procPids, startTicksOf, statusOf, uptimeSeconds } from '../../lib/host/procs.js';

/** A child that runs until killed, with a command line we know. */
async function child(): Promise<{ pid: number; stop: () => Promise<void> }> {
  const c = spawn('sleep', ['3600'], { stdio: 'ignore' });
  await new Promise((r) => c.once('spawn', r));
  return {
    pid: c.pid!,
    stop: () =>
      new Promise<void>((r) => {
        c.once('exit', () => r());
        c.kill('SIGKILL');
      }),
  };
}

describe('the /proc readers', () => {
  it('see a running child: its PID, command line, name, state, start time and pid namespace', async () => {
    const c = await child();
    try {
      expect(procPids()).toContain(c.pid);
      expect(argvOf(c.pid)).toEqual(['sleep', '3600']);
      expect(commOf(c.pid)).toBe('sleep');
      const st = statusOf(c.pid);
      expect(st?.name).toBe('sleep');
      expect(st?.state).not.toBe('Z');
      expect(st?.nsPids.at(-1)).toBe(c.pid);
      expect(isAlive(c.pid)).toBe(true);
      expect(pidNamespaceOf(c.pid)).toBe(pidNamespaceOf(process.pid));
      expect(pidNamespaceOf(c.pid)).toMatch(/^pid:\[\d+\]$/);
      // It started after this process did and before now.
      const ticks = startTicksOf(c.pid)!;
      expect(ticks).toBeGreaterThanOrEqual(startTicksOf(process.pid)!);
      expect(ticks / 100).toBeLessThanOrEqual(uptimeSeconds() + 1);
    } finally {
      await c.stop();
    }
    expect(isAlive(c.pid)).toBe(false);
    expect(argvOf(c.pid)).toBeUndefined();
    expect(statusOf(c.pid)).toBeUndefined();
  });

  it('list every live process of a pid namespace, with the PID inside it, but not zombies', async () => {
    const c = await child();
    try {
      // Any member names the namespace; a lab passes its node's PID 1.
      const procs = await pidNsProcesses(process.pid);
      const mine = procs.find((p) => p.pid === c.pid);
      expect(mine).toMatchObject({ comm: 'sleep', cmdline: ['sleep', '3600'] });
      expect(procs.find((p) => p.pid === process.pid)?.cmdline[0]).toMatch(/node/);
      expect(procs.every((p) => statusOf(p.pid)?.state !== 'Z' || !isAlive(p.pid))).toBe(true);
    } finally {
      await c.stop();
    }
    expect(await pidNsProcesses(c.pid)).toEqual([]);
  });

  it('read a PID from a pid file, and nothing from a missing or empty one', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'corral-procs-'));
    try {
      writeFileSync(path.join(dir, 'a.pid'), '1234\n');
      writeFileSync(path.join(dir, 'b.pid'), '');
      expect(pidFromFile(path.join(dir, 'a.pid'))).toBe(1234);
      expect(pidFromFile(path.join(dir, 'b.pid'))).toBeUndefined();
      expect(pidFromFile(path.join(dir, 'none.pid'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
