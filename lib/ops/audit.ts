// The audit trail of vm: every action (allowed or refused) as one line, to syslog (authpriv,
// tag corral-vm, through logger(1)) and to a file (/var/log/corral/vm.log):
//   2026-11-21T06:50:00.123Z user=alice action=reset vm=gum node=n1 result=ok
//   2026-11-21T06:50:09.456Z user=bob action=edit vm=db1 result=refused detail="no rule allows it"
// Values with blanks, quotes or "=" are quoted; nothing the user typed is written unquoted.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { syslog } from '../host/logger.js';

export type AuditResult = 'ok' | 'refused' | 'failed' | 'started' | 'cancelled';

export interface AuditEntry {
  user: string;
  action: string;
  vm: string;
  node?: string;
  result: AuditResult;
  detail?: string;
}

function value(v: string): string {
  const clean = v.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return /^[A-Za-z0-9_.,:/@+-]+$/.test(clean) ? clean : JSON.stringify(clean);
}

export function formatAudit(e: AuditEntry, at: Date = new Date()): string {
  const fields: [string, string | undefined][] = [
    ['user', e.user],
    ['action', e.action],
    ['vm', e.vm],
    ['node', e.node],
    ['result', e.result],
    ['detail', e.detail],
  ];
  return `${at.toISOString()} ${fields
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${value(v as string)}`)
    .join(' ')}`;
}

/** Parses one audit line back (for `vm NAME log`); undefined for lines of another shape. */
export function parseAuditLine(line: string): (AuditEntry & { at: string }) | undefined {
  const m = /^(\S+) (.*)$/.exec(line.trim());
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  const re = /([a-z]+)=("(?:[^"\\]|\\.)*"|\S+)/g;
  for (let f = re.exec(m[2] as string); f; f = re.exec(m[2] as string)) {
    const raw = f[2] as string;
    try {
      fields[f[1] as string] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    } catch {
      return undefined;
    }
  }
  if (!fields.user || !fields.action || !fields.vm || !fields.result) return undefined;
  return {
    at: m[1] as string,
    user: fields.user,
    action: fields.action,
    vm: fields.vm,
    ...(fields.node ? { node: fields.node } : {}),
    result: fields.result as AuditResult,
    ...(fields.detail ? { detail: fields.detail } : {}),
  };
}

export class AuditLog {
  constructor(readonly file: string) {}

  /**
   * Writes ENTRY to the file and to syslog. The file write must succeed (an action that cannot
   * be logged is not done: callers log "started" before acting); syslog is best effort, as
   * there may be no syslog daemon.
   */
  async write(entry: AuditEntry): Promise<void> {
    const line = formatAudit(entry);
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o750 });
    await appendFile(this.file, `${line}\n`, { mode: 0o640 });
    await syslog('authpriv', entry.result === 'refused' || entry.result === 'failed' ? 'warning' : 'notice', 'corral-vm', line.slice(line.indexOf(' ') + 1)).catch(() => undefined);
  }

  /** The entries about VM (newest last), at most LIMIT. */
  async entriesFor(vm: string, limit = 50): Promise<(AuditEntry & { at: string })[]> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    const out = text
      .split('\n')
      .map(parseAuditLine)
      .filter((e): e is AuditEntry & { at: string } => e !== undefined && e.vm === vm);
    return out.slice(-limit);
  }
}
