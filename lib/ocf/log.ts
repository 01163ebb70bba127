// Logging the way ocf_log does it: every line on stderr (pacemaker-execd records it), appended to
// HA_LOGFILE when set, and sent to syslog/journal through logger(1) when HA_LOGFACILITY is set
// (and not "none"). `ocf-exit-reason:` lines tell Pacemaker why an action failed.
import { appendFileSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'err' | 'crit';

const PRIORITY: Record<Level, string> = { debug: 'debug', info: 'info', warn: 'warning', err: 'err', crit: 'crit' };
const LABEL: Record<Level, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', err: 'ERROR', crit: 'CRIT' };

const pending: Promise<unknown>[] = [];

/** The agent whose lines these are, when it said so (logAs). */
let agentName: string | undefined;

/**
 * Tags this process's lines with AGENT (ocf:corral:AGENT), whatever OCF_RESOURCE_TYPE says. An agent
 * that does not call it (TransientDomain, whose fast path loads nothing more) is tagged with
 * OCF_RESOURCE_TYPE, or TransientDomain.
 */
export function logAs(agent: string): void {
  agentName = agent;
}

function tag(): string {
  const agent = agentName ?? process.env.OCF_RESOURCE_TYPE ?? 'TransientDomain';
  const rsc = process.env.OCF_RESOURCE_INSTANCE;
  return rsc ? `${agent}(${rsc})` : agent;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|yes|true|on|y)$/i.test(v);
}

export function log(level: Level, message: string): void {
  if (level === 'debug' && !truthy(process.env.HA_debug) && !truthy(process.env.HA_DEBUG)) return;
  const line = `${tag()}[${process.pid}]: ${LABEL[level]}: ${message}`;
  process.stderr.write(`${line}\n`);
  const file = process.env.HA_LOGFILE;
  if (file) {
    try {
      appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
    } catch {
      /* a log file we cannot write must not fail the action */
    }
  }
  const facility = process.env.HA_LOGFACILITY;
  if (facility && facility !== 'none') {
    pending.push(
      import('../host/logger.js').then((m) => m.syslog(facility, PRIORITY[level], `${tag()}[${process.pid}]`, message)),
    );
  }
}

/** Tells Pacemaker why the action failed (shown by crm_mon), and logs it. */
export function exitReason(reason: string): void {
  process.stderr.write(`ocf-exit-reason:${reason.replace(/\n/g, ' ')}\n`);
  log('err', reason);
}

/** Waits until every syslog line has been handed over. */
export async function flushLogs(): Promise<void> {
  await Promise.allSettled(pending);
}
