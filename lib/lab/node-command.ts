// corral's settings inside a lab's nodes, and the lab's node command.
//
// Every node gets /etc/corral/corral.conf (its own copy, bind-mounted from the node's fs/ like
// /etc/libvirt; see node.ts) with what the operator commands need to reach the other nodes:
//   libvirt_uri  = qemu+tcp://{node}/system     the nodes' libvirtd listen on TCP without auth,
//                                              reachable only on the lab's bridge
//   node_command = /usr/sbin/corral lab node-command --name LAB {node} --
// so that `vm`, `corral hosts`, `corral stats` … work in a node exactly as the README shows them.
//
// The node command is how vm and corral run a fixed command on another node, for what libvirt
// cannot answer (the console log file, `uname -r`); on a real cluster it is ssh (lib/ops/config.ts).
// The lab has no sshd (openssh-server is not among its packages, and installing it would start an
// sshd on the host itself), so each node runs a small service instead, started when it boots:
//   - it listens on the node's lab address only (port NODE_COMMAND_PORT), inside the node's
//     network namespace: nothing outside the lab's bridge reaches it;
//   - a request is one JSON line {key, argv}: the lab's key (STATE/LAB/node-command.key, 32 random
//     bytes made by lab up, readable by root only) and the command as plain words (the same words
//     lib/ops/config.ts lets corral send: letters, digits and _ . / = : , + -); the service runs it
//     without a shell, bounded (NODE_COMMAND_TIMEOUT_MS), as root in that node, and answers one
//     JSON line {exitCode, stdout, stderr};
//   - each request is logged to the node's /var/log/corral/node-command.log.
// So it is what ssh with a root key is on a real cluster, and no more: only root on this machine
// can read the key, and the lab's nodes are root's anyway. `corral lab node-command NODE -- ARGV`
// is the client (exit code 255 when the node cannot be reached, as ssh's).
import { CorralError } from '../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { run } from '../host/exec.js';
import { nsStartDaemon } from '../host/nsenter.js';
import { nodeInitPid, nodeProcesses } from './node.js';
import { DEFAULT_STATE_DIR, loadLab, type Lab, type LabLocation, type LabNode } from './state.js';

const NODE_COMMAND_PORT = 7411;
/** Bound of one command run through the service (corral's own callers bound theirs lower). */
const NODE_COMMAND_TIMEOUT_MS = 120_000;
const SBIN_CORRAL = '/usr/sbin/corral';
const SERVICE = 'node-command-service';
const NODE_COMMAND_LOG = '/var/log/corral/node-command.log';
const WORD = /^[A-Za-z0-9_.\/=:,+-]+$/;

function nodeCommandKeyPath(lab: Lab): string {
  return path.join(lab.dir, 'node-command.key');
}

/** Writes the lab's node-command key (root-only), once per lab. */
export async function writeNodeCommandKey(lab: Lab): Promise<void> {
  await writeFile(nodeCommandKeyPath(lab), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
}

async function readKey(lab: Lab): Promise<string> {
  try {
    return (await readFile(nodeCommandKeyPath(lab), 'utf8')).trim();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read the lab's node-command key ${nodeCommandKeyPath(lab)}: ${code === 'ENOENT' ? 'no such file (a lab made by an older corral: lab down, then up)' : code === 'EACCES' ? 'permission denied (it is root\'s)' : (e as Error).message}`);
  }
}

/** The options that name LAB on a `corral lab …` command line (--state-dir only when not the default). */
function labArgs(lab: Lab): string[] {
  const stateDir = path.dirname(lab.dir);
  return ['--name', lab.name, ...(stateDir === DEFAULT_STATE_DIR ? [] : ['--state-dir', stateDir])];
}

/** /etc/corral/corral.conf of LAB's nodes. */
export function labCorralConf(lab: Lab): string {
  const command = [SBIN_CORRAL, 'lab', 'node-command', ...labArgs(lab), '{node}', '--'];
  return [
    `# corral lab ${lab.name}: written by corral lab up (lib/lab/node-command.ts).`,
    '# On a real cluster the defaults apply: libvirt and the node command over ssh.',
    '# libvirtd in the lab listens on TCP without auth, reachable only on the lab\'s bridge.',
    'libvirt_uri = qemu+tcp://{node}/system',
    '# The lab has no sshd: its nodes run a small service for the fixed commands corral sends.',
    `node_command = ${command.join(' ')}`,
    '# corral rolling-reboot: a clean reboot through the lab\'s power controller (Pacemaker and',
    '# Corosync stopped first, then off and on), as `systemctl reboot` on a real node.',
    `reboot_command = ${[SBIN_CORRAL, 'lab', 'power', ...labArgs(lab), '{node}', 'restart'].join(' ')}`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The service (inside a node)

const request = z.object({ key: z.string(), argv: z.array(z.string().regex(WORD, 'plain words only')).min(1).max(64) });
const reply = z.object({ exitCode: z.number().int(), stdout: z.string(), stderr: z.string() });
export type NodeCommandReply = z.infer<typeof reply>;

function sameKey(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

/**
 * The service's server for node NODENAME, whose callers must know KEY (not yet listening). LOG
 * gets one line per request.
 */
export function nodeCommandServer(nodeName: string, key: string, log: (line: string) => void): Server {
  const serve = (conn: Socket) => {
    const peer = conn.remoteAddress ?? '?';
    let buf = '';
    conn.setEncoding('utf8');
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on('error', () => undefined);
    const answer = (r: NodeCommandReply) => conn.end(`${JSON.stringify(r)}\n`);
    conn.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > 16_384) conn.destroy();
        return;
      }
      conn.setTimeout(0);
      conn.removeAllListeners('data');
      let req: z.infer<typeof request>;
      try {
        req = request.parse(JSON.parse(buf.slice(0, nl)));
      } catch {
        log(`from ${peer}: refused a malformed request`);
        answer({ exitCode: 255, stdout: '', stderr: `${nodeName}: refused: not a node-command request (plain words only)\n` });
        return;
      }
      if (!sameKey(req.key, key)) {
        log(`from ${peer}: refused (wrong key): ${req.argv.join(' ')}`);
        answer({ exitCode: 255, stdout: '', stderr: `${nodeName}: refused: not this lab's node-command key\n` });
        return;
      }
      const [file, ...args] = req.argv as [string, ...string[]];
      run(file, args, { timeoutMs: NODE_COMMAND_TIMEOUT_MS }).then(
        (r) => {
          log(`from ${peer}: ${req.argv.join(' ')} -> ${r.timedOut ? 'timed out' : `exit ${r.exitCode}`}`);
          const nlIfAny = (s: string) => (s === '' ? s : `${s}\n`); // run() strips the final newline
          answer({ exitCode: r.exitCode, stdout: nlIfAny(r.stdout), stderr: nlIfAny(r.stderr) });
        },
        (e: unknown) => answer({ exitCode: 255, stdout: '', stderr: `${nodeName}: ${(e as Error).message}\n` }),
      );
    });
  };
  return createServer(serve);
}

/** Serves node NODE of lab NAME until killed (the body of `corral lab node-command-service`). */
export async function runNodeCommandService(name: string, nodeName: string, loc: LabLocation = {}): Promise<void> {
  const lab = await loadLab(name, loc);
  const node = lab.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`lab ${name} has no node ${nodeName}`);
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const server = nodeCommandServer(node.name, await readKey(lab), log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(NODE_COMMAND_PORT, node.address, () => resolve());
  });
  log(`node-command service of lab ${lab.name} on ${node.name} listening on ${node.address}:${NODE_COMMAND_PORT} (pid ${process.pid})`);
  const stop = () => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** True when the node runs its node-command service. */
async function serviceRunning(node: LabNode): Promise<boolean> {
  return (await nodeProcesses(node)).some((p) => p.cmdline.includes(SERVICE));
}

/**
 * Starts NODE's node-command service (the lab's copy of corral, inside the node) unless it runs,
 * and waits until it listens. Returns false, starting nothing, for a lab without a node-command
 * key (made by an older corral: its nodes have no corral.conf that would use the service).
 */
export async function startNodeCommandService(lab: Lab, node: LabNode, timeoutMs = 30_000): Promise<boolean> {
  if (!(await stat(nodeCommandKeyPath(lab)).then(() => true, () => false))) return false;
  const deadline = Date.now() + timeoutMs;
  // A service that exits before it listens is started again (three tries): seen once in CI, on a
  // loaded machine, with nothing in its log to say why.
  for (let tries = 1; ; tries++) {
    if (!(await serviceRunning(node))) {
      // The script itself (`#!/usr/bin/env node`, as the agents Pacemaker runs in the node): start-stop-
      // daemon then never takes another node process of the node for this one.
      await nsStartDaemon(await nodeInitPid(node), SBIN_CORRAL, ['lab', SERVICE, ...labArgs(lab), '--node', node.name], {
        logFile: NODE_COMMAND_LOG,
      });
    }
    for (;;) {
      if (await listening(node)) return true;
      const running = await serviceRunning(node);
      if (Date.now() > deadline || (!running && tries >= 3)) {
        const log = (await readFile(path.join(node.dir, 'fs', NODE_COMMAND_LOG), 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n    ');
        throw new Error(`the node-command service of ${node.name} did not come up (${running ? `not listening after ${Math.round(timeoutMs / 1000)} s` : `exited, ${tries} times`}); its ${NODE_COMMAND_LOG}:\n    ${log || '(empty)'}`);
      }
      if (!running) break;
      await sleep(100);
    }
    await sleep(500);
  }
}

/** Whether a socket listens on the node's NODE_COMMAND_PORT (the node's /proc/net/tcp, read from here). */
async function listening(node: LabNode): Promise<boolean> {
  const text = await readFile(`/proc/${await nodeInitPid(node)}/net/tcp`, 'utf8').catch(() => '');
  const port = NODE_COMMAND_PORT.toString(16).toUpperCase().padStart(4, '0');
  return text.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1]?.endsWith(`:${port}`) && f[3] === '0A';
  });
}

// ---------------------------------------------------------------------------------------------
// The client (inside a node: `corral lab node-command NODE -- ARGV`)

export class NodeCommandError extends CorralError {
  readonly kind = 'unreachable';
  override name = 'NodeCommandError';
}

/** Runs ARGV on NODE of LAB through its node-command service; throws NodeCommandError when it cannot be reached. */
export async function nodeCommandCall(
  lab: Lab,
  nodeName: string,
  argv: readonly string[],
  { timeoutMs = NODE_COMMAND_TIMEOUT_MS + 5000, port = NODE_COMMAND_PORT }: { timeoutMs?: number; port?: number } = {},
): Promise<NodeCommandReply> {
  const node = lab.nodes.find((n) => n.name === nodeName);
  if (!node) throw new NodeCommandError(`lab ${lab.name} has no node ${nodeName}`);
  for (const a of argv) if (!WORD.test(a)) throw new NodeCommandError(`refusing to send ${JSON.stringify(a)}: plain words only`);
  const key = await readKey(lab).catch((e: Error) => {
    throw new NodeCommandError(e.message);
  });
  return new Promise<NodeCommandReply>((resolve, reject) => {
    let buf = '';
    let connected = false;
    const sock = connect({ host: node.name, port });
    sock.setEncoding('utf8');
    const connectTimer = setTimeout(() => sock.destroy(new Error('connection timed out')), 5000);
    const overall = setTimeout(() => sock.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    sock.on('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      sock.write(`${JSON.stringify({ key, argv })}\n`);
    });
    sock.on('data', (d: string) => {
      buf += d;
    });
    sock.on('error', (e) => {
      clearTimeout(connectTimer);
      clearTimeout(overall);
      const code = (e as NodeJS.ErrnoException).code;
      reject(new NodeCommandError(`${connected ? 'lost' : 'cannot reach'} ${nodeName}'s node-command service (${node.name}:${port}): ${code ?? e.message}`));
    });
    sock.on('close', () => {
      clearTimeout(connectTimer);
      clearTimeout(overall);
      if (!connected) return; // 'error' said why
      try {
        resolve(reply.parse(JSON.parse(buf)));
      } catch {
        reject(new NodeCommandError(`${nodeName}'s node-command service gave no answer`));
      }
    });
  });
}
