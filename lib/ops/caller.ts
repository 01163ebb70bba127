// Who is asking: root for itself, or a user (through sudo: SUDO_USER, which sudo sets and the
// user cannot; run directly by a non-root user: that user). Their groups come from id(1).
import { CorralError } from '../errors.js';
import { userInfo } from 'node:os';
import { groupsOf } from '../host/identity.js';
import type { Caller } from './access.js';
import { viaSudo, type Invocation } from './config.js';

class CallerError extends CorralError {
  readonly kind = 'failed';
  override name = 'CallerError';
}

export async function identifyCaller(inv: Invocation): Promise<Caller & { uid?: number; gid?: number }> {
  if (inv.uid === 0 && !viaSudo(inv)) return { user: 'root', groups: [], root: true };
  const user = viaSudo(inv) ? (inv.env.SUDO_USER as string) : userInfo().username;
  const groups = await groupsOf(user);
  if (!groups) throw new CallerError(`cannot look up the groups of ${JSON.stringify(user)}`);
  const uid = viaSudo(inv) ? Number(inv.env.SUDO_UID) : inv.uid;
  const gid = viaSudo(inv) ? Number(inv.env.SUDO_GID) : process.getgid?.();
  return {
    user,
    groups,
    root: false,
    ...(Number.isInteger(uid) && uid > 0 ? { uid } : {}),
    ...(gid !== undefined && Number.isInteger(gid) ? { gid } : {}),
  };
}
