// `corral lab …`: a real multi-node cluster on one machine (Corosync, Pacemaker with a fence
// device, libvirt per node; lib/lab/cluster.ts), for trying corral and for its end-to-end tests.
// Registered by scripts/corral.ts.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { UsageError, zodIssueLines } from '../errors.js';
import { crmMonText } from '../../host/pacemaker/status.js';
import {
  clusterExec,
  crashNode,
  createClusterLab,
  destroyClusterLab,
  loadClusterLab,
  nodeVia,
  powerCycle,
  powerRestart,
  powerOff,
  powerOn,
  powerState,
  reachableNode,
  type ClusterLab,
} from '../../lab/cluster.js';
import { staleInstall } from '../../lab/boot.js';
import { nodeExecAttached } from '../../lab/node.js';
import { LAB_NAME_RE } from '../../lab/names.js';
import { labDir, DEFAULT_STATE_DIR, type LabLocation } from '../../lab/state.js';
import { powerDaemonPid, powerLogPath, runPowerDaemon } from '../../lab/power.js';
import { ensureBuilt, ensurePackages } from '../../lab/setup.js';
import { ensureTestGuest } from '../../lab/test-guest.js';
import { runDemo } from '../../lab/demo.js';
import { nodeCommandCall, NodeCommandError, runNodeCommandService } from '../../lab/node-command.js';
import { CEPH_MIN_NODES, cephSummary, ensureCephPackages, labCephStatus, labStorage, readCephFile, STORAGE_KINDS } from '../../lab/ceph.js';

const DEFAULT_LAB = 'lab';
const DEFAULT_SUBNET = '10.213.81';

const labName = z.string().regex(LAB_NAME_RE, 'a lab name is 1-31 lowercase letters, digits and "-", starting with a letter');
const nodeName = z.string().regex(LAB_NAME_RE, 'a node name is lowercase letters, digits and "-", starting with a letter');
const common = z.object({ name: labName, stateDir: z.string().regex(/^\/[^\0]*$/, 'an absolute path').optional() });
const upOptions = common.extend({
  nodes: z
    .string()
    .regex(/^\d+$/, 'a number of nodes, e.g. 3')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 9, 'a lab has 1 to 9 nodes'),
  subnet: z
    .string()
    .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/, 'three octets, e.g. 10.213.81')
    .refine((s) => s.split('.').every((o) => Number(o) <= 255), 'each octet is 0-255'),
  packages: z.boolean(),
  build: z.boolean(),
  deb: z
    .string()
    .regex(/\.deb$/, 'a Debian package file (npm run deb makes dist/corral_VERSION_ARCH.deb)')
    .refine((f) => existsSync(f), 'no such file')
    .transform((f) => path.resolve(f))
    .optional(),
  storage: z.enum(STORAGE_KINDS, { error: () => `the lab's storage is one of: ${STORAGE_KINDS.join(', ')}` }).optional(),
}).refine((o) => o.storage !== 'ceph' || o.nodes >= CEPH_MIN_NODES, {
  path: ['storage'],
  message: `Ceph needs at least ${CEPH_MIN_NODES} nodes (--nodes ${CEPH_MIN_NODES}): a monitor quorum that survives a node, and 3 replicas`,
});

const LABELS: Record<string, string> = { storage: '--storage', deb: '--deb', name: '--name', stateDir: '--state-dir', nodes: '--nodes', subnet: '--subnet', node: 'NODE', timeout: '--timeout' };

function parse<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new UsageError(zodIssueLines(r.error, (p) => LABELS[String(p[0])] ?? String(p[0])).join('\n'));
  return r.data;
}

function loc(o: { stateDir?: string }): LabLocation {
  return { stateDir: o.stateDir };
}

/** How the user typed corral (for the "type this next" lines). */
function self(): string {
  const script = process.argv[1] ?? 'corral';
  const dir = path.dirname(script);
  const onPath = (process.env.PATH ?? '').split(':').some((p) => p && path.resolve(p) === path.resolve(dir));
  if (onPath) return path.basename(script);
  const rel = path.relative(process.cwd(), script);
  return rel.startsWith('..') || path.isAbsolute(rel) ? script : rel.startsWith('.') ? rel : `./${rel}`;
}

function labFlag(name: string): string {
  return name === DEFAULT_LAB ? '' : ` --name ${name}`;
}

async function openLab(o: { name: string; stateDir?: string }): Promise<ClusterLab> {
  if (!existsSync(path.join(labDir(o.name, loc(o)), 'lab.json'))) {
    throw new Error(`there is no lab ${o.name} (start it with: ${self()} lab up${labFlag(o.name)})`);
  }
  return loadClusterLab(o.name, loc(o));
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
const progress = (s: string) => process.stderr.write(`lab: ${s}\n`);

function withCommon(cmd: Command): Command {
  return cmd
    .option('--name <lab>', 'the lab', DEFAULT_LAB)
    .addOption(new Option('--state-dir <dir>', `where labs keep their state (default ${DEFAULT_STATE_DIR})`).hideHelp());
}

/** The options of a command that may start the lab (up, demo). */
function withStartOptions(cmd: Command, when = ''): Command {
  return withCommon(cmd)
    .option('--nodes <n>', `number of nodes (n1…nN)${when}`, '3')
    .option('--subnet <a.b.c>', `the lab's private /24 (inside the lab's own network namespaces)${when}`, DEFAULT_SUBNET)
    .option('--no-packages', 'do not install missing Debian packages')
    .option('--no-build', 'do not rebuild corral from the source tree')
    .option('--deb <file>', `install corral in every node from this Debian package (dpkg -i inside the node) instead of the build${when}`);
}

/**
 * `lab up`: packages, build, then the lab — unless it is up already. A running lab whose copy of
 * corral is older than the build is left alone (with a warning), or with RECREATESTALE taken down
 * and started again (the demo does that, so that it always shows the code of this tree).
 */
async function labUp(
  raw: { name: string; stateDir?: string; nodes: string; subnet: string; packages: boolean; build: boolean; deb?: string; storage?: string },
  opts: { recreateStale?: boolean; testGuest?: boolean } = {},
): Promise<ClusterLab> {
  const o = parse(upOptions, raw);
  const log = progress;
  if (o.packages) await ensurePackages(log);
  if (o.storage === 'ceph') await ensureCephPackages(o.packages, log);
  if (o.build && (await ensureBuilt(log))) log('built corral');
  // The test guest (built from Debian packages on first use, ~30 s) meanwhile, for the demo.
  const guest = opts.testGuest ? ensureTestGuest() : undefined;
  guest?.catch(() => undefined);
  const lab = await upLab(o, opts, log);
  if (guest) await guest;
  return lab;
}

async function upLab(o: z.infer<typeof upOptions>, opts: { recreateStale?: boolean }, log: (s: string) => void): Promise<ClusterLab> {
  if (existsSync(path.join(labDir(o.name, loc(o)), 'lab.json'))) {
    const lab = await loadClusterLab(o.name, loc(o));
    if ((await reachableNode(lab)) === undefined) {
      throw new Error(`lab ${o.name} exists but no node answers: ${self()} lab down${labFlag(o.name)} first`);
    }
    if (o.storage === 'ceph' && !(await readCephFile(lab))) {
      throw new Error(`lab ${o.name} is up without Ceph: ${self()} lab down${labFlag(o.name)} first, then lab up --storage ceph`);
    }
    const stale = await staleInstall(lab);
    if (stale.length === 0) {
      log(`lab ${o.name} is already up (${lab.nodes.length} nodes); ${self()} lab down${labFlag(o.name)} removes it`);
      return lab;
    }
    if (!opts.recreateStale) {
      log(`warning: lab ${o.name} runs an older build of corral (${stale.join(', ')} changed): ${self()} lab down${labFlag(o.name)}, then up, to use this one`);
      return lab;
    }
    log(`lab ${o.name} runs an older build of corral (${stale.join(', ')} changed): starting it anew`);
    await destroyClusterLab(o.name, loc(o));
  }
  const t = Date.now();
  const lab = await createClusterLab({
    name: o.name,
    nodes: o.nodes,
    subnet: o.subnet,
    stateDir: o.stateDir,
    log,
    ...(o.deb ? { deb: { file: o.deb } } : {}),
    ...(o.storage ? { storage: o.storage } : {}),
  });
  log(`up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return lab;
}

function nextSteps(lab: ClusterLab): string {
  const c = `${self()} lab`;
  const f = labFlag(lab.name);
  const [n1, n2] = [lab.nodes[0]?.name ?? 'n1', lab.nodes[1]?.name ?? lab.nodes[0]?.name ?? 'n1'];
  return [
    `Lab ${lab.name} is up: ${lab.nodes.map((n) => `${n.name} (${n.address})`).join(', ')}.`,
    'Corosync and Pacemaker run on every node, fencing is on (stonith:fence_corral_lab), and',
    'corral (ocf:corral:TransientDomain, domadd, create_domxml, …) is installed inside the nodes.',
    '',
    'Next:',
    `  ${c} demo${f}                       three VMs: placement, live migration, a node crash`,
    `  ${c} status${f}                     nodes, power and the cluster`,
    `  ${c} exec${f} ${n1} -- crm_mon -1      any command inside a node`,
    `  ${c} exec${f} ${n1} -- corral hosts    corral and vm work inside the nodes as on a real cluster`,
    `  ${c} crash${f} ${n2}                   pull the plug on a node; watch it get fenced`,
    `  ${c} down${f}                       remove the lab entirely`,
    '',
  ].join('\n');
}

/** The options `lab exec` takes after NODE too (`corral lab exec n1 --name x -- cmd`). */
const EXEC_OPTIONS: Record<string, 'name' | 'stateDir' | 'timeout'> = { '--name': 'name', '--state-dir': 'stateDir', '--timeout': 'timeout' };

/**
 * Splits what follows NODE into lab exec's own options and the command: options up to `--` or
 * up to the first word that is not an option (the command's own options come after it).
 */
function execArgs(rest: readonly string[], cmd: Command): { argv: string[]; options: Partial<Record<'name' | 'stateDir' | 'timeout', string>> } {
  const options: Partial<Record<'name' | 'stateDir' | 'timeout', string>> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === '--') return { argv: rest.slice(i + 1), options };
    if (!a.startsWith('-') || a === '-') return { argv: rest.slice(i), options };
    if (a === '-h' || a === '--help') cmd.help();
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const key = EXEC_OPTIONS[flag];
    if (key === undefined) {
      throw new UsageError(`lab exec: unknown option ${flag} (lab exec takes ${Object.keys(EXEC_OPTIONS).filter((f) => f !== '--state-dir').join(', ')}; the command goes after --)`);
    }
    const value = eq > 0 ? a.slice(eq + 1) : rest[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    options[key] = value;
  }
  return { argv: [], options };
}

export function registerLab(program: Command): void {
  program.enablePositionalOptions();
  const lab = program
    .command('lab')
    .description('A real cluster on this machine: N nodes in namespaces, Corosync, Pacemaker, fencing, libvirt.')
    .enablePositionalOptions();

  withStartOptions(lab.command('up'))
    .option('--storage <kind>', `shared storage for VMs: ceph (a monitor, manager and OSD in every node, pool corral-vms, client.corral; needs ${CEPH_MIN_NODES} nodes or more)`)
    .description('Start a lab: install missing packages, build corral, start N nodes with Corosync, Pacemaker and libvirt.')
    .addHelpText('after', '\nNeeds root. Ends with every node online and the cluster idle, then prints what to type next.')
    .action(async (o: { name: string; stateDir?: string; nodes: string; subnet: string; packages: boolean; build: boolean; deb?: string; storage?: string }) => {
      const l = await labUp(o);
      out(nextSteps(l));
    });

  withCommon(lab.command('status'))
    .description('Show the lab\'s nodes (power, daemons), its storage and the cluster (crm_mon).')
    .option('--json', 'nodes, power, daemons and storage as JSON (no crm_mon)')
    .action(async (o: { name: string; stateDir?: string; json?: boolean }) => {
      parse(common, { name: o.name, stateDir: o.stateDir });
      const l = await openLab(o);
      const pid = await powerDaemonPid(l);
      const storage = await labStorage(l);
      const watched = ['corosync', 'pacemakerd', 'libvirtd', 'virtlogd', ...(storage ? ['ceph-mon', 'ceph-mgr', 'ceph-osd'] : [])];
      const nodes: { name: string; address: string; power: 'on' | 'off'; daemons: string[] }[] = [];
      for (const n of l.nodes) {
        const state = pid ? await powerState(l, n).catch(() => 'off' as const) : 'off';
        let daemons: string[] = [];
        if (state === 'on') {
          const r = await clusterExec(n, 'ps', ['-e', '-o', 'comm='], { timeoutMs: 10_000 }).catch(() => undefined);
          const names = new Set((r?.stdout ?? '').split('\n').map((x) => x.trim()));
          daemons = watched.filter((d) => names.has(d));
        }
        nodes.push({ name: n.name, address: n.address, power: state, daemons });
      }
      const ceph = storage ? await labCephStatus(l) : undefined;
      if (o.json) {
        // Stable field names (added, never renamed); storage is null for a lab on the host's files.
        const json = {
          name: l.name,
          dir: l.dir,
          powerController: pid ?? null,
          nodes,
          storage: storage ? { ...storage, health: ceph?.health ?? null } : null,
        };
        out(JSON.stringify(json, null, 2));
        return;
      }
      out(`lab ${l.name}: ${l.nodes.length} nodes, state in ${l.dir}, power controller ${pid ? `pid ${pid}` : 'NOT RUNNING'}`);
      out(`${'node'.padEnd(8)}${'address'.padEnd(16)}${'power'.padEnd(7)}daemons`);
      for (const n of nodes) out(`${n.name.padEnd(8)}${n.address.padEnd(16)}${n.power.padEnd(7)}${n.power === 'on' ? n.daemons.join(' ') || 'none' : '-'}`);
      if (storage) {
        out(`storage: ceph, pool ${storage.pool} (size ${storage.size}, min_size ${storage.minSize}), client.${storage.client} (${storage.keyring} on every node)`);
        out(`ceph: ${ceph ? cephSummary(ceph) : 'no answer'}`);
      }
      const n = await reachableNode(l);
      if (!n) {
        out('\nno node\'s Pacemaker answers');
        process.exitCode = 1;
        return;
      }
      out('');
      out(await crmMonText(['--inactive'], nodeVia(n, 20_000)));
    });

  withCommon(lab.command('exec'))
    .description('Run a command inside a node (its namespaces, its view of the cluster).')
    .usage('[options] <node> [options] [--] <command...>')
    .argument('<node>', 'the node, e.g. n1')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--timeout <seconds>', 'kill the command after this long', '600')
    .passThroughOptions()
    .addHelpText(
      'after',
      '\nOptions go before or after NODE; everything after -- (or from the first word that is not an option)\n' +
        'is the command. It gets this terminal when there is one (vm NAME console works).\n' +
        'Example: corral lab exec n1 -- crm_mon -1',
    )
    .action(async (node: string, command: string[], o: { name: string; stateDir?: string; timeout: string }, cmd: Command) => {
      const { argv, options } = execArgs(command, cmd);
      const p = parse(common.extend({ node: nodeName, timeout: z.string().regex(/^\d+$/, 'a number of seconds').transform(Number) }), { ...o, ...options, node });
      const l = await openLab(p);
      const n = l.nodes.find((x) => x.name === p.node);
      if (!n) throw new UsageError(`lab ${l.name} has no node ${p.node} (nodes: ${l.nodes.map((x) => x.name).join(' ')})`);
      const [file, ...args] = argv;
      if (!file) throw new UsageError('no command given (it goes after --, e.g. corral lab exec n1 -- crm_mon -1)');
      const t0 = Date.now();
      const code = await nodeExecAttached(n, file, args, { timeoutMs: p.timeout * 1000, terminal: [process.stdin, process.stdout, process.stderr].some((s) => s.isTTY === true) });
      if (code === 124 && Date.now() - t0 >= p.timeout * 1000) process.stderr.write(`corral: lab exec: ${file} timed out after ${p.timeout} s\n`);
      process.exitCode = code;
    });

  withCommon(lab.command('crash'))
    .description('Crash a node: kill everything in it at once, without Pacemaker\'s knowledge. The cluster fences it (a reboot).')
    .argument('<node>', 'the node, e.g. n2')
    .action(async (node: string, o: { name: string; stateDir?: string }) => {
      const p = parse(common.extend({ node: nodeName }), { ...o, node });
      const l = await openLab(p);
      if (!l.nodes.some((x) => x.name === p.node)) throw new UsageError(`lab ${l.name} has no node ${p.node}`);
      await crashNode(l, p.node);
      out(`${p.node} crashed. The other nodes notice within seconds and fence it (see: ${self()} lab status${labFlag(l.name)}; log: ${powerLogPath(l)}).`);
    });

  withCommon(lab.command('power'))
    .description('Power a node off, on, or cycle it (hard, like a PDU), restart it (a clean reboot: Pacemaker and Corosync stopped first), or show its power state.')
    .argument('<node>', 'the node, e.g. n2')
    .argument('<action>', 'on, off, cycle, restart or status')
    .action(async (node: string, action: string, o: { name: string; stateDir?: string }) => {
      const p = parse(common.extend({ node: nodeName, action: z.enum(['on', 'off', 'cycle', 'restart', 'status']) }), { ...o, node, action });
      const l = await openLab(p);
      if (!l.nodes.some((x) => x.name === p.node)) throw new UsageError(`lab ${l.name} has no node ${p.node}`);
      if (p.action === 'on') await powerOn(l, p.node);
      if (p.action === 'off') await powerOff(l, p.node);
      if (p.action === 'cycle') await powerCycle(l, p.node);
      if (p.action === 'restart') await powerRestart(l, p.node);
      out(`${p.node}: ${await powerState(l, p.node)}`);
    });

  withCommon(lab.command('down'))
    .description('Remove the lab: every process, namespace, mount, bridge and file (also after a crash or a failed up).')
    .action(async (o: { name: string; stateDir?: string }) => {
      const p = parse(common, o);
      const r = await destroyClusterLab(p.name, loc(p));
      if (r.deletedNetns.length === 0 && !r.removedDir) out(`lab ${p.name}: nothing to remove`);
      else out(`lab ${p.name} removed (${r.deletedNetns.length} network namespaces${r.removedDir ? ' and its state directory' : ''})`);
    });

  withStartOptions(lab.command('demo'), ', when the lab has to be started first')
    .description('Three VMs with anti-affinity, a priority and a startup order; a live migration; a node crash and the recovery.')
    .addHelpText('after', '\nStarts the lab first when it is not up. Leaves the lab running: corral lab down removes it.')
    .action(async (o: { name: string; stateDir?: string; nodes: string; subnet: string; packages: boolean; build: boolean; deb?: string }) => {
      const l = await labUp(o, { recreateStale: true, testGuest: true });
      await runDemo(l, { out, self: `${self()} lab`, labFlag: labFlag(l.name), hasList: program.commands.some((c) => c.name() === 'list') });
    });

  // The lab's node command (node_command in the nodes' /etc/corral/corral.conf) and the service it
  // talks to in every node: lib/lab/node-command.ts.
  lab
    .command('node-command', { hidden: true })
    .description('Run a command on another lab node through its node-command service (the lab\'s stand-in for ssh).')
    .option('--name <lab>', 'the lab', DEFAULT_LAB)
    .option('--state-dir <dir>', 'where labs keep their state')
    .argument('<node>', 'the node, e.g. n2')
    .argument('<command...>', 'the command and its arguments (after --): plain words')
    .passThroughOptions()
    .action(async (node: string, command: string[], o: { name: string; stateDir?: string }) => {
      const p = parse(common.extend({ node: nodeName }), { ...o, node });
      const argv = command[0] === '--' ? command.slice(1) : command;
      if (argv.length === 0) throw new UsageError('no command given');
      try {
        const r = await nodeCommandCall(await openLab(p), p.node, argv);
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        process.exitCode = r.exitCode;
      } catch (e) {
        if (!(e instanceof NodeCommandError)) throw e;
        process.stderr.write(`corral lab node-command: ${e.message}\n`);
        process.exitCode = 255; // as ssh: the node was not reached
      }
    });

  lab
    .command('node-command-service', { hidden: true })
    .description('A lab node\'s node-command service (started in every node when it boots).')
    .requiredOption('--node <node>', 'the node it serves')
    .option('--name <lab>', 'the lab', DEFAULT_LAB)
    .option('--state-dir <dir>', 'where labs keep their state')
    .action(async (o: { name: string; stateDir?: string; node: string }) => {
      const p = parse(common.extend({ node: nodeName }), o);
      await runNodeCommandService(p.name, p.node, loc(p));
      await new Promise(() => undefined); // serves until killed
    });

  lab
    .command('power-daemon', { hidden: true })
    .description('The lab\'s power controller (started by lab up; the nodes\' fence agent talks to it).')
    .option('--name <lab>', 'the lab', DEFAULT_LAB)
    .option('--state-dir <dir>', 'where labs keep their state')
    .action(async (o: { name: string; stateDir?: string }) => {
      const p = parse(common, o);
      await runPowerDaemon(p.name, loc(p));
      await new Promise(() => undefined); // serves until killed
    });
}
