// The agent's real host (the port in lib/host/agent-port.ts): libvirt through virsh, the kernel
// through /proc and signals, the agent's files under /run, the clock, and logging as ocf_log does
// it. Loaded with the agent's core only; the fast paths use lib/host/agent-fs.ts alone.
import { statSync, unlinkSync } from 'node:fs';
import type { AgentHost } from './agent-port.js';
import { ocfLog } from '../ocf/log.js';
import { ensureDir, fsHost, isAlive, kill, lockFile, qemuProcesses, readState, writeCreateXml, writeState } from './agent-fs.js';
import { startupSignal } from './startup-signal.js';
import { run } from './exec.js';
import * as virsh from './virsh.js';
import { kvmDeviceProblem } from './kvm-device.js';

// logger(1)'s module is loaded only when a line goes to syslog (HA_LOGFACILITY).
const ocf = ocfLog((facility, priority, tag, message) => import('./logger.js').then((m) => m.syslog(facility, priority, tag, message)));
const log = ocf.log;

export const realHost: AgentHost = {
  ...fsHost,

  domstate: virsh.domstate,
  listNames: virsh.listNames,
  dumpxml: virsh.dumpxml,
  domcapabilities: virsh.domcapabilities,
  kvmProblem: () => kvmDeviceProblem(),
  async create(c, name, xml) {
    const file = writeCreateXml(name, xml);
    const r = await virsh.createLocked(c, file, lockFile(name));
    return r.exitCode === 0 ? { ok: true } : { ok: false, message: virsh.failureText(r) };
  },
  waitCreateDone: (name, timeoutMs) => virsh.waitUnlocked(lockFile(name), timeoutMs),
  shutdown: virsh.shutdown,
  destroy: virsh.destroy,
  async migrate(c, name, o, timeoutMs) {
    const r = await virsh.migrate(c, name, o, timeoutMs);
    if (r.exitCode === 0) return { ok: true };
    return { ok: false, message: virsh.failureText(r), notFound: /failed to get domain|Domain not found/i.test(r.stderr) };
  },
  setMaxDowntime: virsh.setMaxDowntime,
  jobAbort: virsh.jobAbort,
  jobProgress: virsh.jobProgress,
  ensureDirPool: virsh.ensureDirPool,
  removeVolume: virsh.removeVolume,
  virshInstalled: virsh.installed,
  // Only for a domain with an RBD disk that has <auth>: the module is loaded then.
  cephSecret: async (c, auth, refresh) => (await import('./ceph-secret.js')).ensureCephSecret(c, auth, refresh),

  async peers(self, timeoutMs) {
    // `crm_node -l`: "ID NAME STATE" a line. Outside a cluster (ocf-tester) it fails: no peers.
    const r = await run('crm_node', ['-l'], { timeoutMs });
    if (r.exitCode !== 0) {
      log('warn', `could not list the cluster's members (crm_node -l: ${r.timedOut ? 'no answer in time' : (r.stderr || r.stdout).trim() || `exit ${r.exitCode}`}): no other node asked whether the domain runs there`);
      return [];
    }
    return r.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[2] === 'member' && f[1] && f[1] !== self)
      .map((f) => f[1] as string);
  },
  async reprobe(resource, node, timeoutMs) {
    const r = await run('crm_resource', ['--refresh', '--resource', resource, '--node', node], { timeoutMs });
    if (r.exitCode !== 0) log('warn', `crm_resource --refresh of ${resource} on ${node}: ${(r.stderr || r.stdout).trim()}`);
  },

  startupSignal,

  qemuProcesses,
  kill,
  isAlive,

  readState,
  writeState,
  ensureDir,
  diskSize(path) {
    try {
      const st = statSync(path);
      return st.isFile() || st.isBlockDevice() ? st.size : undefined;
    } catch {
      return undefined;
    }
  },
  removeDisk(path) {
    try {
      unlinkSync(path);
      return { kind: 'removed' };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return err.code === 'ENOENT' ? { kind: 'absent' } : { kind: 'failed', message: err.message };
    }
  },

  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(resolve, Math.max(0, ms));
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    }),

  log,
  exitReason: ocf.exitReason,
  print: (text, stream = 'stdout') => void (stream === 'stdout' ? process.stdout : process.stderr).write(text),
  flush: ocf.flush,
};
