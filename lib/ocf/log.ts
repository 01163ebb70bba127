// Logging the way ocf_log does it: every line on stderr (pacemaker-execd records it), appended to
// HA_LOGFILE when set, and sent to syslog/journal through logger(1) when HA_LOGFACILITY is set
// (and not "none"). `ocf-exit-reason:` lines tell Pacemaker why an action failed. lib/ocf runs no
// program: the one that sends a line to syslog (lib/host/logger.ts) is handed in by the caller.
import { appendFileSync } from 'node:fs';

type Level = 'debug' | 'info' | 'warn' | 'err' | 'crit';

const PRIORITY: Record<Level, string> = { debug: 'debug', info: 'info', warn: 'warning', err: 'err', crit: 'crit' };
const LABEL: Record<Level, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', err: 'ERROR', crit: 'CRIT' };

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

/** Hands one line to syslog/journal (lib/host/logger.ts's syslog, or a stand-in in tests). */
export type Syslog = (facility: string, priority: string, tag: string, message: string) => Promise<void>;

export interface OcfLog {
  log(level: Level, message: string): void;
  /** Tells Pacemaker why the action failed (shown by crm_mon), and logs it. */
  exitReason(reason: string): void;
  /** Waits until every syslog line has been handed over. */
  flush(): Promise<void>;
}

/** Logging as ocf_log does it, with SYSLOG for the lines HA_LOGFACILITY asks to send there. */
export function ocfLog(syslog: Syslog): OcfLog {
  const pending: Promise<unknown>[] = [];
  const log = (level: Level, message: string): void => {
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
    if (facility && facility !== 'none') pending.push(syslog(facility, PRIORITY[level], `${tag()}[${process.pid}]`, message));
  };
  return {
    log,
    exitReason(reason) {
      process.stderr.write(`ocf-exit-reason:${reason.replace(/\n/g, ' ')}\n`);
      log('err', reason);
    },
    async flush() {
      await Promise.allSettled(pending);
    },
  };
}
