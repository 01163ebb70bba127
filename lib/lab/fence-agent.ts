// fence_corral_lab: the lab's fence agent (agents/fence_corral_lab.ts is its entry). It speaks the
// fence-agents protocol that pacemaker-fenced and stonith_admin use: options as key=value lines
// on stdin (what Pacemaker sends) or as command-line flags (-o ACTION -n NODE --socket PATH), the
// actions off, on, reboot, status, monitor, list, metadata and validate-all, and the exit codes of
// fence-agents (status: 0 on, 2 off, 1 failure). It powers lab nodes through the lab's power
// controller (lib/lab/power.ts), whose unix socket every node reaches by path.
import { CorralError } from '../errors.js';
import { hostname } from 'node:os';
import { z } from 'zod';
import { LAB_NAME_RE } from './names.js';
import { powerCall, PowerError, type PowerReply } from './power-protocol.js';

const AGENT_NAME = 'fence_corral_lab';
const ACTIONS = ['off', 'on', 'reboot', 'status', 'monitor', 'list', 'list-status', 'metadata', 'validate-all'] as const;
type Action = (typeof ACTIONS)[number];

/** Exit codes of fence-agents. */
export const EXIT = { ok: 0, error: 1, off: 2 } as const;

const options = z.object({
  action: z.enum(ACTIONS),
  plug: z.string().regex(LAB_NAME_RE, 'a lab node name: lowercase letters, digits and "-"').optional(),
  socket: z.string().regex(/^\/[^\0]+\.sock$/, "an absolute path ending in .sock (the lab's power.sock)").optional(),
  timeout: z.coerce.number().int().min(1).max(600).default(50),
});
export type FenceOptions = z.infer<typeof options>;

/** Long option → option name; aliases of fence-agents (port, nodename) map to plug. */
const ALIASES: Record<string, keyof FenceOptions> = {
  action: 'action',
  option: 'action', // the old name Pacemaker still understands
  plug: 'plug',
  port: 'plug',
  nodename: 'plug',
  socket: 'socket',
  'power-timeout': 'timeout',
  power_timeout: 'timeout',
};

class FenceUsageError extends CorralError {
  readonly kind = 'refused';
  override name = 'FenceUsageError';
}

/** Options from stdin lines (KEY=VALUE, # comments); unknown keys are ignored, as fence-agents do. */
export function parseStdin(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  // The node may come as plug, port or nodename (Pacemaker sends nodename always): plug wins over
  // port, port over nodename, whatever the order of the lines.
  const rank: Record<string, number> = { plug: 3, port: 2, nodename: 1 };
  let plugRank = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const name = line.slice(0, eq).trim();
    const key = ALIASES[name];
    if (key === undefined) continue;
    const value = line.slice(eq + 1).trim();
    if (key === 'plug') {
      if ((rank[name] ?? 0) < plugRank) continue;
      plugRank = rank[name] ?? 0;
    }
    out[key] = value;
  }
  return out;
}

/** Options from the command line: -o/--action, -n/--plug/--port, --socket, --power-timeout, -h. */
export function parseArgv(argv: readonly string[]): Record<string, string> | 'help' {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return 'help';
    let key: string | undefined;
    let value: string | undefined;
    if (a === '-o') key = 'action';
    else if (a === '-n') key = 'plug';
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      key = ALIASES[eq < 0 ? a.slice(2) : a.slice(2, eq)];
      if (key === undefined) throw new FenceUsageError(`unknown option ${a.split('=')[0]}`);
      if (eq >= 0) value = a.slice(eq + 1);
    } else throw new FenceUsageError(`unexpected argument ${JSON.stringify(a)}`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new FenceUsageError(`${a} needs a value`);
    }
    out[key] = value;
  }
  return out;
}

export function validate(raw: Record<string, string>): FenceOptions {
  const r = options.safeParse({ action: 'reboot', ...raw });
  if (!r.success) {
    throw new FenceUsageError(r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; '));
  }
  return r.data;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The agent's metadata in the fence-agents format pacemaker-fenced and stonith_admin read. */
export function metadataXml(): string {
  const param = (name: string, getopt: string, type: string, required: boolean, short: string, dflt?: string, extra = '') =>
    [
      `\t<parameter name="${name}" unique="0" required="${required ? 1 : 0}"${extra}>`,
      `\t\t<getopt mixed="${esc(getopt)}" />`,
      `\t\t<content type="${type}"${dflt !== undefined ? ` default="${esc(dflt)}"` : ''} />`,
      `\t\t<shortdesc lang="en">${esc(short)}</shortdesc>`,
      '\t</parameter>',
    ].join('\n');
  return [
    '<?xml version="1.0" ?>',
    `<resource-agent name="${AGENT_NAME}" shortdesc="Fence agent for the nodes of a corral lab">`,
    '<longdesc>Powers the nodes of a corral lab (namespaces on one host, see corral lab up) off and on through the ' +
      "lab's power controller, a host-side daemon listening on a unix socket in the lab's state directory. " +
      'Power off kills every process of the node at once, like pulling its plug; power on starts the node, which then ' +
      'boots libvirt, Corosync and Pacemaker and rejoins the cluster.</longdesc>',
    '<vendor-url>https://github.com/corral</vendor-url>',
    '<parameters>',
    param('action', '-o, --action=[action]', 'string', true, 'Fencing action', 'reboot'),
    param('plug', '-n, --plug=[id]', 'string', true, 'The lab node to act on (its name)', undefined, ' obsoletes="port"'),
    param('port', '-n, --plug=[id]', 'string', true, 'The lab node to act on (its name)', undefined, ' deprecated="1"'),
    param('socket', '--socket=[path]', 'string', true, "The lab's power controller socket (STATE/LAB/power.sock)"),
    param('power_timeout', '--power-timeout=[seconds]', 'second', false, 'Wait this long for the power controller', '50'),
    '</parameters>',
    '<actions>',
    '\t<action name="on" automatic="0"/>',
    '\t<action name="off" />',
    '\t<action name="reboot" />',
    '\t<action name="status" />',
    '\t<action name="list" />',
    '\t<action name="list-status" />',
    '\t<action name="monitor" />',
    '\t<action name="metadata" />',
    '\t<action name="validate-all" />',
    '</actions>',
    '</resource-agent>',
    '',
  ].join('\n');
}

const USAGE = `Usage: ${AGENT_NAME} -o ACTION [-n NODE] --socket PATH
   or: options as key=value lines on stdin (action=, plug= or port=, socket=), as Pacemaker sends them
Actions: ${ACTIONS.join(', ')}
Exit codes: 0 success (status: on), 2 status: off, 1 failure.
`;

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** Runs one invocation; returns the exit code. STDIN is the text read from standard input, if any. */
export async function runFenceAgent(argv: readonly string[], stdin: string | undefined, io: Io): Promise<number> {
  let opts: FenceOptions;
  try {
    const fromArgv = parseArgv(argv);
    if (fromArgv === 'help') {
      io.out(USAGE);
      return EXIT.ok;
    }
    const raw = argv.length > 0 ? fromArgv : parseStdin(stdin ?? '');
    opts = validate(raw);
  } catch (e) {
    io.err(`${AGENT_NAME}: ${(e as Error).message}\n${USAGE}`);
    return EXIT.error;
  }
  const action: Action = opts.action;
  if (action === 'metadata') {
    io.out(metadataXml());
    return EXIT.ok;
  }
  if (!opts.socket) {
    io.err(`${AGENT_NAME}: socket is required (the lab's power.sock)\n`);
    return EXIT.error;
  }
  const socket = opts.socket;
  const needsNode = action === 'off' || action === 'on' || action === 'reboot' || action === 'status';
  if (needsNode && !opts.plug) {
    io.err(`${AGENT_NAME}: ${action} needs the node (plug=, port= or -n)\n`);
    return EXIT.error;
  }
  const by = `${AGENT_NAME} on ${hostname()}`;
  const call = (req: Parameters<typeof powerCall>[1]): Promise<PowerReply & { ok: true }> => powerCall(socket, req, opts.timeout * 1000);
  try {
    switch (action) {
      case 'validate-all':
      case 'monitor':
        await call({ op: 'list', by });
        return EXIT.ok;
      case 'list':
      case 'list-status': {
        const nodes = (await call({ op: 'list', by })).nodes ?? [];
        for (const n of nodes) {
          if (action === 'list') io.out(`${n},\n`);
          else io.out(`${n},,${(await call({ op: 'status', node: n, by })).state === 'on' ? 'on' : 'off'}\n`);
        }
        return EXIT.ok;
      }
      case 'status': {
        const state = (await call({ op: 'status', node: opts.plug!, by })).state;
        io.out(`Status: ${state === 'on' ? 'ON' : 'OFF'}\n`);
        return state === 'on' ? EXIT.ok : EXIT.off;
      }
      case 'off':
      case 'on':
      case 'reboot':
        await call({ op: action, node: opts.plug!, by });
        io.out(`Success: ${action} ${opts.plug}\n`);
        return EXIT.ok;
    }
  } catch (e) {
    io.err(`${AGENT_NAME}: ${action}${opts.plug ? ` ${opts.plug}` : ''} failed: ${e instanceof PowerError ? e.message : String(e)}\n`);
    return EXIT.error;
  }
  return EXIT.error;
}
