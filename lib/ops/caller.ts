// Who is asking: root for itself, or a user. A user who runs vm directly is their real uid. A root
// process acting for someone else says so in its environment, which the tool that made it root
// set and a user cannot (under a supported sudoers rule: no SETENV, no env_keep of these):
//   sudo    SUDO_USER and SUDO_UID (both required, and the uid must be SUDO_USER's in passwd)
//   doas    DOAS_USER
//   pkexec  PKEXEC_UID
// Root with none of them is root acting for itself. Anything that does not add up (SUDO_USER
// without SUDO_UID, a uid that is not that user's, two tools naming different users, a user the
// system does not know) is refused with one line: vm never takes a caller it cannot name for
// root. Groups come from id(1), the uid and primary gid from passwd (getent), so every name
// service answers the way it does for login and sudo.
//
// Under such a root process, a NODE_* or LD_* variable means the rule let the user's environment
// through (sudo's SETENV, env_keep or -E; doas's keepenv): node and the dynamic linker act on them
// before vm's code runs, so such a rule hands out root whatever vm does. vm refuses to run there,
// so that the rule is found and fixed (README: "Safe under sudo").
import { CorralError } from '../errors.js';
import { userInfo } from 'node:os';
import { groupsOf, passwdEntry, type PasswdEntry } from '../host/identity.js';
import type { Caller } from './access.js';
import type { Invocation } from './config.js';

class CallerError extends CorralError {
  readonly kind = 'failed';
  override name = 'CallerError';
}

/** vm cannot establish who called it, or was called in a way that hands out root. */
class CallerRefused extends CorralError {
  readonly kind = 'refused';
  override name = 'CallerRefused';
}

/** How the system answers about users (a seam for tests). */
export interface UserLookup {
  groupsOf(user: string): Promise<string[] | undefined>;
  /** By name or by decimal uid. */
  passwd(user: string): Promise<PasswdEntry | undefined>;
}

const hostLookup: UserLookup = { groupsOf, passwd: passwdEntry };

/** What the environment of a root process claims about the caller: root itself, or a user. */
type Claim = { by: 'sudo'; user: string; uid: number } | { by: 'doas'; user: string } | { by: 'pkexec'; uid: number };

/** The claims in ENV (a root process's environment); throws CallerRefused for one that does not add up. */
function claimsOf(env: Invocation['env']): Claim[] {
  const claims: Claim[] = [];
  const { SUDO_USER, SUDO_UID, DOAS_USER, PKEXEC_UID } = env;
  // sudo sets both; SUDO_USER names the caller (a root shell that unset it is root's own).
  if (SUDO_USER !== undefined && !(SUDO_USER === 'root' && (SUDO_UID === undefined || SUDO_UID === '0'))) {
    if (SUDO_UID === undefined || !/^\d+$/.test(SUDO_UID)) throw new CallerRefused(`cannot tell who called vm: SUDO_USER is ${JSON.stringify(SUDO_USER)} but SUDO_UID is ${SUDO_UID === undefined ? 'not set' : JSON.stringify(SUDO_UID)}; refusing`);
    claims.push({ by: 'sudo', user: SUDO_USER, uid: Number(SUDO_UID) });
  }
  if (DOAS_USER !== undefined && DOAS_USER !== 'root') claims.push({ by: 'doas', user: DOAS_USER });
  if (PKEXEC_UID !== undefined && PKEXEC_UID !== '0') {
    if (!/^\d+$/.test(PKEXEC_UID)) throw new CallerRefused(`cannot tell who called vm: PKEXEC_UID is ${JSON.stringify(PKEXEC_UID)}; refusing`);
    claims.push({ by: 'pkexec', uid: Number(PKEXEC_UID) });
  }
  return claims;
}

/** The environment variables that load code into node or into any program (node, ld.so). */
function codeLoadingVariables(env: Invocation['env']): string[] {
  return Object.keys(env)
    .filter((k) => /^(NODE_|LD_)/.test(k) && env[k] !== undefined)
    .sort();
}

export async function identifyCaller(inv: Invocation, lookup: UserLookup = hostLookup): Promise<Caller & { uid?: number; gid?: number }> {
  const rootProcess = inv.uid === 0 && (inv.euid ?? 0) === 0;
  if (!rootProcess) {
    // Run directly by a user: the real uid is who they are, whatever the environment says.
    const me = inv.uid >= 0 ? await lookup.passwd(String(inv.uid)) : undefined;
    const user = me?.user ?? userInfo().username;
    const groups = await lookup.groupsOf(user);
    if (!groups) throw new CallerError(`cannot look up the groups of ${JSON.stringify(user)}`);
    return { user, groups, root: false, ...(inv.uid > 0 ? { uid: inv.uid } : {}), ...(inv.gid !== undefined && inv.gid >= 0 ? { gid: inv.gid } : me ? { gid: me.gid } : {}) };
  }
  const claims = claimsOf(inv.env);
  if (claims.length === 0) return { user: 'root', groups: [], root: true };
  const loaders = codeLoadingVariables(inv.env);
  if (loaders.length) {
    throw new CallerRefused(
      `${loaders.join(', ')} ${loaders.length > 1 ? 'are' : 'is'} set: the rule that made vm root for a user passed their environment on (sudo's SETENV, env_keep or -E; doas's keepenv), which lets them run code as root; vm refuses to run under it (see "Safe under sudo" in the README)`,
    );
  }
  const found: PasswdEntry[] = [];
  for (const c of claims) {
    const key = 'user' in c ? c.user : String(c.uid);
    const p = await lookup.passwd(key);
    const via = c.by === 'sudo' ? 'SUDO_USER' : c.by === 'doas' ? 'DOAS_USER' : 'PKEXEC_UID';
    if (!p) throw new CallerRefused(`cannot tell who called vm: ${via} names ${JSON.stringify(key)}, whom the system does not know; refusing`);
    if (c.by === 'sudo' && p.uid !== c.uid) throw new CallerRefused(`cannot tell who called vm: SUDO_UID is ${c.uid} but ${c.user}'s uid is ${p.uid}; refusing`);
    found.push(p);
  }
  const first = found[0] as PasswdEntry;
  if (found.some((p) => p.uid !== first.uid)) throw new CallerRefused(`cannot tell who called vm: ${claims.map((c) => c.by).join(' and ')} name different users (${found.map((p) => p.user).join(', ')}); refusing`);
  if (first.uid === 0) return { user: 'root', groups: [], root: true };
  const groups = await lookup.groupsOf(first.user);
  if (!groups) throw new CallerError(`cannot look up the groups of ${JSON.stringify(first.user)}`);
  return { user: first.user, groups, root: false, uid: first.uid, gid: first.gid };
}
