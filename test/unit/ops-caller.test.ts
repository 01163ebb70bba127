// Who vm acts for: the real uid of a user who runs it, or the user a root process names through
// sudo (SUDO_USER with its own SUDO_UID), doas (DOAS_USER) or pkexec (PKEXEC_UID); anything that
// does not add up is refused (exit 2), and so is a root for a user that carries NODE_*/LD_*.
import { describe, expect, it } from 'vitest';
import { identifyCaller, type UserLookup } from '../../lib/ops/caller.js';
import { cliExitCode } from '../../lib/cli/errors.js';
import { kindOf } from '../../lib/errors.js';

const USERS = [
  { user: 'root', uid: 0, gid: 0 },
  { user: 'alice', uid: 1001, gid: 1001 },
  { user: 'bob', uid: 1002, gid: 100 },
];
const lookup: UserLookup = {
  groupsOf: async (u) => (USERS.some((x) => x.user === u) ? [u, 'web'] : undefined),
  passwd: async (u) => USERS.find((x) => x.user === u || String(x.uid) === u),
};

const asRoot = (env: Record<string, string | undefined>) => identifyCaller({ uid: 0, euid: 0, gid: 0, env }, lookup);

async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof Error)) throw new Error('expected a refusal');
  return { code: cliExitCode(kindOf(e)), message: e.message };
}

describe('the caller', () => {
  it('root with no marker is root itself; so is root through sudo, doas or pkexec', async () => {
    for (const env of [{}, { SUDO_USER: 'root', SUDO_UID: '0' }, { DOAS_USER: 'root' }, { PKEXEC_UID: '0' }]) {
      expect((await asRoot(env)).root).toBe(true);
    }
  });

  it('through sudo: SUDO_USER, whose uid must be SUDO_UID; uid and gid from passwd', async () => {
    expect(await asRoot({ SUDO_USER: 'bob', SUDO_UID: '1002', SUDO_GID: '0' })).toEqual({ user: 'bob', groups: ['bob', 'web'], root: false, uid: 1002, gid: 100 });
  });

  it.each([
    [{ SUDO_USER: 'alice' }, 'cannot tell who called vm: SUDO_USER is "alice" but SUDO_UID is not set; refusing'],
    [{ SUDO_USER: 'alice', SUDO_UID: 'x' }, 'cannot tell who called vm: SUDO_USER is "alice" but SUDO_UID is "x"; refusing'],
    [{ SUDO_USER: 'alice', SUDO_UID: '1002' }, "cannot tell who called vm: SUDO_UID is 1002 but alice's uid is 1001; refusing"],
    [{ SUDO_USER: 'alice', SUDO_UID: '0' }, "cannot tell who called vm: SUDO_UID is 0 but alice's uid is 1001; refusing"],
    [{ SUDO_USER: 'ghost', SUDO_UID: '1234' }, 'cannot tell who called vm: SUDO_USER names "ghost", whom the system does not know; refusing'],
    [{ PKEXEC_UID: '4242' }, 'cannot tell who called vm: PKEXEC_UID names "4242", whom the system does not know; refusing'],
    [{ SUDO_USER: 'alice', SUDO_UID: '1001', DOAS_USER: 'bob' }, 'cannot tell who called vm: sudo and doas name different users (alice, bob); refusing'],
  ])('root for %j is refused with one line, exit 2', async (env, message) => {
    expect(await refusal(asRoot(env))).toEqual({ code: 2, message });
  });

  it('through doas or pkexec (no SUDO_USER): that user, not root', async () => {
    expect(await asRoot({ DOAS_USER: 'alice' })).toMatchObject({ user: 'alice', root: false, uid: 1001, gid: 1001 });
    expect(await asRoot({ PKEXEC_UID: '1002' })).toMatchObject({ user: 'bob', root: false, uid: 1002, gid: 100 });
  });

  it('root for a user with NODE_* or LD_* in its environment is refused, naming them', async () => {
    const r = await refusal(asRoot({ SUDO_USER: 'alice', SUDO_UID: '1001', NODE_OPTIONS: '--require /tmp/x.js', LD_PRELOAD: '/tmp/x.so' }));
    expect(r.code).toBe(2);
    expect(r.message).toMatch(/^LD_PRELOAD, NODE_OPTIONS are set: the rule that made vm root for a user passed their environment on \(sudo's SETENV/);
    // root for itself may have them (it could run anything anyway)
    expect((await asRoot({ NODE_OPTIONS: '--max-old-space-size=100' })).root).toBe(true);
  });

  it('run directly by a user: their real uid, whatever SUDO_USER or PKEXEC_UID say', async () => {
    const c = await identifyCaller({ uid: 1002, euid: 1002, gid: 100, env: { SUDO_USER: 'root', SUDO_UID: '0', PKEXEC_UID: '0' } }, lookup);
    expect(c).toEqual({ user: 'bob', groups: ['bob', 'web'], root: false, uid: 1002, gid: 100 });
  });
});
