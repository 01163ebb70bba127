// The lab's power controller: a small host-side daemon per lab (like a PDU or a BMC) that powers
// lab nodes off and on. The nodes' fence agent (fence_corral_lab) reaches it by path on a unix
// socket in the lab's state directory; `corral lab crash/power` use it too, so every power change
// of a node is serialized and logged in one place (STATE/LAB/power.log).
//
// It runs in the lab's switch network namespace (started by startPowerDaemon()), so destroyLab(),
// which stops everything in the lab's namespaces — the switch's first — takes it down with the lab.
//
// Power off is immediate (every process of the node SIGKILLed: lib/lab/node.ts stopNode). Power on
// answers as soon as the node's namespaces exist (the "power button" was pressed); the node then
// boots in the background (libvirt, Corosync, Pacemaker: lib/lab/boot.ts), as a real machine
// would after its BMC reported "on". A boot still running when the node is powered off again
// stops at its next step.
import { setTimeout as sleep } from 'node:timers/promises';
import { appendFile, chmod, rm, stat } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { startNetnsDaemon } from '../host/netns.js';
import { signalPids, waitPidsGone } from '../host/ns-procs.js';
import { argvOf, isAlive, pidFromFile } from '../host/procs.js';
import { fenceHistory } from '../host/pacemaker/fencing.js';
import { bootNode, installedCorral, mountInstall, nodeVia } from './boot.js';
import { nodeProcesses, nodeRunning, startNode, stopNode } from './node.js';
import { loadLab, type Lab, type LabLocation, type LabNode } from './state.js';
import { powerCall, powerRequest, powerSocketPath, type PowerReply, type PowerRequest } from './power-protocol.js';

export function powerLogPath(lab: Lab): string {
  return path.join(lab.dir, 'power.log');
}

function powerPidPath(lab: Lab): string {
  return path.join(lab.dir, 'power.pid');
}

/** Runs the power controller of lab NAME until it is killed (the body of `corral lab power-daemon`). */
export async function runPowerDaemon(name: string, loc: LabLocation = {}): Promise<void> {
  const lab = await loadLab(name, loc);
  const socket = powerSocketPath(lab.dir);
  const logFile = powerLogPath(lab);
  const log = (line: string) => appendFile(logFile, `${new Date().toISOString()} ${line}\n`).catch(() => undefined);
  const generation = new Map<string, number>();
  const queue = new Map<string, Promise<unknown>>();

  /** Runs F after every earlier power change of NODE has finished. */
  const serial = <T>(node: string, f: () => Promise<T>): Promise<T> => {
    const before = queue.get(node) ?? Promise.resolve();
    const next = before.then(f, f);
    queue.set(node, next.catch(() => undefined));
    return next;
  };
  const bump = (node: string) => {
    const g = (generation.get(node) ?? 0) + 1;
    generation.set(node, g);
    return g;
  };

  const offAt = new Map<string, number>();
  const off = async (node: LabNode, why: string) => {
    bump(node.name);
    const t = Date.now();
    offAt.set(node.name, t);
    await stopNode(node);
    await log(`${node.name}: power off (${why}) in ${Date.now() - t} ms`);
  };
  const on = async (node: LabNode, why: string) => {
    if (await nodeRunning(node)) {
      await log(`${node.name}: power on (${why}): already on`);
      return;
    }
    const g = bump(node.name);
    const t = Date.now();
    await startNode(node);
    await mountInstall(node, lab);
    await log(`${node.name}: power on (${why}) in ${Date.now() - t} ms; booting`);
    void (async () => {
      try {
        await bootNode(lab, node, {
          beforeCluster: async () => {
            const since = offAt.get(node.name);
            if (since === undefined) return;
            const w = await waitFencingRecorded(lab, node, since, () => generation.get(node.name) === g);
            if (generation.get(node.name) !== g) throw new Error('powered off during boot');
            await log(`${node.name}: ${w}`);
          },
          log: (l) => {
            if (generation.get(node.name) !== g) throw new Error('powered off during boot');
            void log(l);
          },
        });
        if (generation.get(node.name) === g) await log(`${node.name}: booted in ${Date.now() - t} ms`);
      } catch (e) {
        await log(`${node.name}: boot stopped: ${(e as Error).message}`);
      }
    })();
  };

  const handle = async (req: PowerRequest): Promise<PowerReply> => {
    const by = req.by ? ` by ${req.by}` : '';
    if (req.op === 'list') return { ok: true, nodes: lab.nodes.map((n) => n.name) };
    const node = lab.nodes.find((n) => n.name === req.node);
    if (!node) return { ok: false, error: `lab ${lab.name} has no node ${req.node}` };
    switch (req.op) {
      case 'status':
        return { ok: true, state: (await nodeRunning(node)) ? 'on' : 'off' };
      case 'off':
      case 'crash':
        await serial(node.name, () => off(node, `${req.op === 'crash' ? 'crash' : 'request'}${by}`));
        return { ok: true, state: 'off' };
      case 'on':
        await serial(node.name, () => on(node, `request${by}`));
        return { ok: true, state: 'on' };
      case 'reboot':
        await serial(node.name, async () => {
          await off(node, `reboot${by}`);
          await on(node, `reboot${by}`);
        });
        return { ok: true, state: 'on' };
      case 'restart':
        await serial(node.name, async () => {
          const t = Date.now();
          await stopClusterServices(node, log);
          await off(node, `restart${by}: Pacemaker and Corosync stopped in ${Date.now() - t} ms`);
          offAt.delete(node.name); // it left cleanly: nobody fences it, nothing to wait for
          await on(node, `restart${by}`);
        });
        return { ok: true, state: 'on' };
    }
  };

  const serve = (conn: Socket) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on('error', () => undefined);
    conn.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 4096) conn.destroy();
        return;
      }
      conn.setTimeout(0);
      conn.removeAllListeners('data');
      let reply: Promise<PowerReply>;
      try {
        const req = powerRequest.parse(JSON.parse(buf.slice(0, nl)));
        if (req.op !== 'status' && req.op !== 'list') void log(`request ${JSON.stringify(req)}`);
        reply = handle(req);
      } catch (e) {
        reply = Promise.resolve({ ok: false, error: `bad request: ${(e as Error).message.split('\n')[0]}` });
      }
      reply
        .catch((e: unknown): PowerReply => ({ ok: false, error: (e as Error).message }))
        .then((r) => {
          if (!r.ok) void log(`error: ${r.error}`);
          conn.end(`${JSON.stringify(r)}\n`);
        });
    });
  };

  await rm(socket, { force: true });
  const server = createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  await chmod(socket, 0o600);
  await log(`power controller of lab ${lab.name} listening on ${socket} (pid ${process.pid})`);
  const stop = () => {
    server.close();
    void log('power controller stopped').then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Gone with the lab: when the lab's definition disappears, so does its controller.
  const watch = setInterval(() => {
    stat(path.join(lab.dir, 'lab.json')).catch(() => {
      clearInterval(watch);
      server.close();
      process.exit(0);
    });
  }, 5000);
}

/**
 * Stops Pacemaker, then Corosync, in NODE the way their units do on a clean shutdown (SIGTERM to
 * pacemakerd, which stops its daemons and leaves the cluster; then corosync), each waited for up
 * to a minute. Processes are found among NODE's own (its pid namespace), never by name alone.
 */
async function stopClusterServices(node: LabNode, log: (line: string) => Promise<unknown>): Promise<void> {
  for (const comm of ['pacemakerd', 'corosync']) {
    const pids = (await nodeProcesses(node)).filter((p) => p.comm === comm).map((p) => p.pid);
    signalPids(pids, 'SIGTERM');
    if (!(await waitPidsGone(pids, 60_000))) await log(`${node.name}: ${comm} did not stop within 60 s`);
  }
}

/**
 * Waits until the cluster has recorded a completed fencing of NODE after SINCE (a node that was
 * powered off without Pacemaker's consent is always fenced), asking the other nodes that are on.
 * A node that joins before that is told by its peers that it "was just fenced" and stops for good;
 * real machines boot slower than a fencing completes, lab nodes boot in a second. Gives up after
 * 60 s (stonith-timeout), and at once when no other node's Pacemaker answers (no cluster to wait for).
 */
async function waitFencingRecorded(lab: Lab, node: LabNode, since: number, current: () => boolean): Promise<string> {
  const t0 = Date.now();
  const deadline = t0 + 60_000;
  while (current() && Date.now() < deadline) {
    let asked = false;
    for (const other of lab.nodes) {
      if (other.name === node.name || !(await nodeRunning(other))) continue;
      const events = await fenceHistory(node.name, nodeVia(other, 10_000)).catch(() => undefined);
      if (events === undefined) continue;
      asked = true;
      const done = events.find((e) => e.target === node.name && e.status === 'success' && (e.completedMs ?? 0) >= since - 2000);
      if (done) return `fencing (${done.action} by ${done.executioner ?? '?'}) recorded ${Date.now() - t0} ms after power-on; joining the cluster`;
      break;
    }
    if (!asked) return 'no other node\'s cluster answers; joining at once';
    await sleep(500);
  }
  return current() ? 'no fencing recorded within 60 s; joining anyway' : 'powered off while waiting';
}

/** The power controller's host PID when it runs, else undefined. */
export async function powerDaemonPid(lab: Lab): Promise<number | undefined> {
  const pid = pidFromFile(powerPidPath(lab));
  if (pid === undefined || !isAlive(pid)) return undefined;
  // The recorded PID must still be this lab's controller (not a reused PID).
  const argv = argvOf(pid) ?? [];
  const i = argv.indexOf('power-daemon');
  return i >= 0 && argv[argv.indexOf('--name', i) + 1] === lab.name ? pid : undefined;
}

/**
 * Starts the lab's power controller (the lab's own copy of corral, in the switch's network
 * namespace) unless it runs, and waits until it answers.
 */
export async function startPowerDaemon(lab: Lab, loc: LabLocation = {}): Promise<number> {
  const running = await powerDaemonPid(lab);
  if (running !== undefined) return running;
  const argv = [process.execPath, installedCorral(lab), 'lab', 'power-daemon', '--name', lab.name];
  if (loc.stateDir !== undefined) argv.push('--state-dir', loc.stateDir);
  const pid = await startNetnsDaemon({ netns: lab.switchNetns, argv, pidFile: powerPidPath(lab), logFile: path.join(lab.dir, 'power.out') });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await powerCall(powerSocketPath(lab.dir), { op: 'list' }, 2000);
      return pid;
    } catch (e) {
      if (Date.now() > deadline || !isAlive(pid)) {
        throw new Error(`the power controller of lab ${lab.name} did not come up: ${(e as Error).message} (see ${path.join(lab.dir, 'power.out')})`);
      }
      await sleep(100);
    }
  }
}

