// ocf:corral:Balancer's actions: start runs `corral balance run` with the resource's parameters
// as flags (detached, its decisions appended to log_file), monitor finds it by its pid file and
// command line, stop ends it (TERM, then KILL). One instance in the cluster; where it runs is
// Pacemaker's choice, and it fails over like any resource.
import { accessSync, constants } from 'node:fs';
import { daemonPid, startDaemon, stopDaemon } from '../host/daemon.js';
import { syslog } from '../host/logger.js';
import { logAs, ocfLog } from '../ocf/log.js';
import { BALANCER_FLAGS, balancerSpec, type BalancerParams } from '../ocf/balancer.js';
import { OCF } from '../ocf/exit.js';
import { metadataXml, parseParams } from '../ocf/params.js';

const { log } = ocfLog(syslog);

const USAGE = `usage: Balancer {start|stop|monitor|status|meta-data|validate-all|usage}
corral's load balancer (corral balance run), one instance in the cluster. See meta-data.`;

/** What identifies the daemon among the node's processes. */
const MARK = ['balance', 'run'];

/** The `corral balance run` command line for PARAMS. */
function balancerArgv(p: BalancerParams): string[] {
  const argv = [p.corral, ...MARK];
  for (const [name, flag] of Object.entries(BALANCER_FLAGS)) {
    const v = p[name as keyof BalancerParams];
    if (v !== undefined) argv.push(flag, String(v));
  }
  if (p.dry_run) argv.push('--dry-run');
  return argv;
}

function pidFile(env: NodeJS.ProcessEnv): string {
  const instance = (env.OCF_RESOURCE_INSTANCE ?? 'balancer').replace(/[^A-Za-z0-9_.-]/g, '_');
  return `/run/corral/${instance}.pid`;
}

function reason(code: number, text: string): number {
  process.stderr.write(`ocf-exit-reason:${text}\n`);
  log('err', text);
  return code;
}

/** Runs ACTION and returns its OCF exit code. */
export async function runBalancerAction(action: string, env: NodeJS.ProcessEnv): Promise<number> {
  logAs(balancerSpec.name); // "Balancer(INSTANCE)[pid]: …", not TransientDomain's tag
  if (action === 'meta-data') {
    process.stdout.write(metadataXml(balancerSpec));
    return OCF.SUCCESS;
  }
  if (action === 'usage' || action === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return OCF.SUCCESS;
  }
  const file = pidFile(env);
  const timeoutMs = Number(env.OCF_RESKEY_CRM_meta_timeout ?? 20_000);
  switch (action) {
    case 'monitor':
    case 'status':
      return daemonPid(file, MARK) === undefined ? OCF.NOT_RUNNING : OCF.SUCCESS;
    case 'stop':
      // Whatever the parameters say: a stop that fails gets the node fenced.
      return (await stopDaemon(file, MARK, Math.max(1000, timeoutMs - 5000))) ? OCF.SUCCESS : reason(OCF.ERR_GENERIC, 'corral balance run did not end, even after KILL');
    case 'start':
    case 'validate-all': {
      const parsed = parseParams<BalancerParams>(balancerSpec, env);
      if (!parsed.ok) return reason(OCF.ERR_CONFIGURED, parsed.errors.join('; '));
      try {
        accessSync(parsed.params.corral, constants.X_OK);
      } catch {
        return reason(OCF.ERR_INSTALLED, `${parsed.params.corral} is not an executable corral`);
      }
      if (action === 'validate-all') return OCF.SUCCESS;
      if (daemonPid(file, MARK) !== undefined) return OCF.SUCCESS;
      const argv = balancerArgv(parsed.params);
      try {
        await startDaemon(argv, parsed.params.log_file, file);
      } catch (e) {
        return reason(OCF.ERR_GENERIC, `corral balance run did not start: ${(e as Error).message}`);
      }
      if (daemonPid(file, MARK) === undefined) return reason(OCF.ERR_GENERIC, `corral balance run ended at once (see ${parsed.params.log_file})`);
      log('info', `started: ${argv.join(' ')}`);
      return OCF.SUCCESS;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return OCF.ERR_UNIMPLEMENTED;
  }
}
