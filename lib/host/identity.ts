// The one place that asks the system about users and groups: id(1), so that every name service
// (files, LDAP, sssd) answers the way it does for login and sudo.
import { run } from './exec.js';

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/;

/** The names of the groups USER belongs to (primary first), or undefined when there is no such user. */
export async function groupsOf(user: string): Promise<string[] | undefined> {
  if (!NAME_RE.test(user)) return undefined;
  const r = await run('id', ['-Gn', '--', user], { timeoutMs: 10_000 });
  if (r.exitCode !== 0) return undefined;
  return r.stdout.trim().split(/\s+/).filter(Boolean);
}

/** USER's home directory (`getent passwd`), or undefined. */
export async function homeOf(user: string): Promise<string | undefined> {
  if (!NAME_RE.test(user)) return undefined;
  const r = await run('getent', ['passwd', '--', user], { timeoutMs: 10_000 });
  if (r.exitCode !== 0) return undefined;
  const home = r.stdout.trim().split(':')[5];
  return home && home.startsWith('/') ? home : undefined;
}

/** A passwd entry: what `getent passwd` says of a user name or a uid. */
export interface PasswdEntry {
  user: string;
  uid: number;
  gid: number;
}

/** The passwd entry of USER (a name, or a uid in decimal), or undefined when there is none. */
export async function passwdEntry(user: string): Promise<PasswdEntry | undefined> {
  if (!NAME_RE.test(user)) return undefined;
  const r = await run('getent', ['passwd', '--', user], { timeoutMs: 10_000 });
  if (r.exitCode !== 0) return undefined;
  const [name, , uid, gid] = r.stdout.trim().split('\n')[0]?.split(':') ?? [];
  if (!name || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) return undefined;
  return { user: name, uid: Number(uid), gid: Number(gid) };
}
