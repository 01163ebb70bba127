// vm under real sudo, as real non-root users: the access file decides, every action is logged,
// names never reach anything unchecked, the editor runs as the caller, and the environment a
// sudo user brings along changes nothing.
//
// Setup (root only): a group and two users, a root-owned directory D (0755) holding
//   D/vm          a wrapper: CORRAL_ETC=D/etc CIB_file=D/cib.xml node dist/bin/vm "$@"
//   D/vm-broken   the same with CORRAL_ETC=D/etc-broken (an access file with a typo)
//   D/etc/        corral.conf (audit log D/vm.log) and access
//   D/cib.xml     the CIB recorded from the lab (test/fixtures/recorded/steady)
//   D/bin/vm      a copy of dist/bin/vm
//   D/vm-nouid    the same, but SUDO_UID and SUDO_GID removed (a caller vm cannot name)
// and /etc/sudoers.d/corral-acl-test naming only those wrappers, plus two rules README says are
// NOT supported, to show what vm does under them: D/bin/vm itself with SETENV (vm refuses to run
// when the environment carries NODE_* or LD_* variables, and still never takes CORRAL_ETC from
// the user), and !secure_path for D/vm and D/bin/vm (the caller's PATH is kept: neither the
// interpreter nor any program vm runs is looked up in it).
// vm honours CORRAL_ETC under sudo only because the program sudo ran lives next to it and all of
// it belongs to root (lib/ops/config.ts); a user could not have arranged that.
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cib, corralVms } from '../../lib/cib/model.js';
import { DomainDoc } from '../../lib/domain/doc.js';
import { run, type RunResult } from '../../lib/host/exec.js';
import { requireRoot } from '../support/root.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const BUILT_VM = path.join(ROOT, 'dist/bin/vm');
/** A copy of the build's vm in D/bin (a concurrent npm run build empties dist/). */
let VM = '';
const GROUP = 'corral-acl-web';
const ALICE = 'corral-acl-alice';
const MALLORY = 'corral-acl-mallory';
const SUDOERS = '/etc/sudoers.d/corral-acl-test';

let dir = '';
let uidFile = '';
/** Programs named like the ones vm runs (node, cibadmin, id …), first in the caller's PATH. */
let evilDir = '';
/** What they (or code injected into node) write: it must never appear. */
let pwned = '';

async function must(file: string, args: string[]): Promise<RunResult> {
  const r = await run(file, args, { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** USER runs `sudo -n ARGS…` (no shell anywhere: runuser → sudo → the program). */
function asUser(user: string, args: string[], env: string[] = [], callerEnv: Record<string, string> = {}): Promise<RunResult> {
  return run('runuser', ['-u', user, '--', 'sudo', '-n', ...env, ...args], { timeoutMs: 120_000, env: callerEnv });
}

/** The editor vm starts for `edit` (the wrappers name D/editor): SCRIPT, with the file as $1. */
async function setEditor(script: string): Promise<void> {
  await writeFile(path.join(dir, 'editor'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function auditLines(): Promise<string[]> {
  return (await readFile(path.join(dir, 'vm.log'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
}

async function lastAudit(): Promise<string> {
  return (await auditLines()).at(-1) ?? '';
}

describe('vm through sudo, as users the access file names (or not)', () => {
  beforeAll(async () => {
    requireRoot('the sudo and access-file suite', 'it adds users and a sudoers rule and runs vm through sudo');
    await cleanup();
    await must('groupadd', [GROUP]);
    await must('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--gid', GROUP, ALICE]);
    await must('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', MALLORY]);

    dir = await mkdtemp('/tmp/corral-acl-');
    await chmod(dir, 0o755);
    await mkdir(path.join(dir, 'bin'), { mode: 0o755 });
    VM = path.join(dir, 'bin/vm');
    await copyFile(BUILT_VM, VM);
    await chmod(VM, 0o755);
    const wrapper = (etc: string, unset = '') =>
      `#!/bin/sh\nexec /usr/bin/env ${unset}CORRAL_ETC=${dir}/${etc} CIB_file=${dir}/cib.xml EDITOR=${dir}/editor ${process.execPath} ${VM} "$@"\n`;
    await writeFile(path.join(dir, 'vm'), wrapper('etc'), { mode: 0o755 });
    await writeFile(path.join(dir, 'vm-broken'), wrapper('etc-broken'), { mode: 0o755 });
    await writeFile(path.join(dir, 'vm-nouid'), wrapper('etc', '-u SUDO_UID -u SUDO_GID '), { mode: 0o755 });
    pwned = `${dir}-pwned`;
    evilDir = `${dir}-evil`;
    await mkdir(evilDir, { mode: 0o755 });
    for (const prog of ['node', 'cibadmin', 'crm_mon', 'id', 'getent', 'virsh', 'ssh']) {
      await writeFile(path.join(evilDir, prog), `#!/bin/sh\necho "${prog} as $(/usr/bin/id -u)" >> ${pwned}\nexit 1\n`, { mode: 0o755 });
    }
    await writeFile(`${dir}-inject.js`, `require('fs').appendFileSync(${JSON.stringify(pwned)}, 'NODE_OPTIONS code as ' + process.getuid() + '\\n');\n`, { mode: 0o644 });
    for (const etc of ['etc', 'etc-broken']) {
      await mkdir(path.join(dir, etc), { mode: 0o755 });
      await writeFile(
        path.join(dir, etc, 'corral.conf'),
        `libvirt_uri = qemu+tcp://{node}.invalid/system\naudit_log = ${dir}/vm.log\n`,
        { mode: 0o644 },
      );
    }
    await writeFile(
      path.join(dir, 'etc/access'),
      `# test rules\n%${GROUP}  where,status,reset,priority,edit  web*\n${ALICE}  where  ns1\n`,
      { mode: 0o644 },
    );
    await writeFile(path.join(dir, 'etc-broken/access'), `%${GROUP}  where,statsu  web*\n`, { mode: 0o644 });
    await copyFile(path.join(ROOT, 'test/fixtures/recorded/steady/cib.xml'), path.join(dir, 'cib.xml'));
    // The editor vm starts for `edit`: records who it runs as, then gives web1 more memory.
    uidFile = `${dir}-editor-uid`;
    await writeFile(uidFile, '', { mode: 0o644 });
    const aliceUid = Number((await must('id', ['-u', ALICE])).stdout.trim());
    await chown(uidFile, aliceUid, 0);
    await writeFile(
      path.join(dir, 'editor'),
      `#!/bin/sh\nid -u > ${uidFile}\nsed -i 's#<memory unit="MiB">128</memory>#<memory unit="MiB">192</memory>#' "$1"\n`,
      { mode: 0o755 },
    );
    const rules =
      `Cmnd_Alias CORRAL_ACL_OPEN_PATH = ${dir}/vm, ${VM}\n` +
      `Defaults!CORRAL_ACL_OPEN_PATH !secure_path\n` +
      `${ALICE}, ${MALLORY} ALL=(root) NOPASSWD: ${dir}/vm, ${dir}/vm-broken, ${dir}/vm-nouid\n` +
      `${ALICE} ALL=(root) NOPASSWD:SETENV: ${VM}\n`;
    await writeFile(`${SUDOERS}.new`, rules, { mode: 0o440 });
    await must('visudo', ['-c', '-q', '-f', `${SUDOERS}.new`]);
    await must('mv', [`${SUDOERS}.new`, SUDOERS]);
  });

  afterAll(cleanup);

  async function cleanup(): Promise<void> {
    await rm(SUDOERS, { force: true });
    await rm(`${SUDOERS}.new`, { force: true });
    await run('userdel', [ALICE], { timeoutMs: 30_000 });
    await run('userdel', [MALLORY], { timeoutMs: 30_000 });
    await run('groupdel', [MALLORY], { timeoutMs: 30_000 });
    await run('groupdel', [GROUP], { timeoutMs: 30_000 });
    if (dir) {
      await rm(dir, { recursive: true, force: true });
      for (const f of ['editor-uid', 'evil', 'pwned', 'inject.js', 'secret', 'secret-dir']) await rm(`${dir}-${f}`, { recursive: true, force: true });
    }
  }

  it('a user whose group a rule names may do what it allows: where, and the audit log says who', async () => {
    const r = await asUser(ALICE, [`${dir}/vm`, 'web1', 'where']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^n[123]$/);
    expect(await lastAudit()).toMatch(new RegExp(`user=${ALICE} action=where vm=web1 node=n[123] result=ok$`));
  });

  it('a rule naming the user allows too', async () => {
    const r = await asUser(ALICE, [`${dir}/vm`, 'ns1', 'where']);
    expect(r.exitCode).toBe(0);
  });

  it('an allowed action gets past the access check even when it then fails (reset: no such libvirt)', async () => {
    const r = await asUser(ALICE, [`${dir}/vm`, 'web1', 'reset']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/vm: web1: cannot reach libvirt on n\d/);
    const lines = await auditLines();
    expect(lines.at(-2)).toMatch(new RegExp(`user=${ALICE} action=reset vm=web1 node=n\\d result=started$`));
    expect(lines.at(-1)).toMatch(new RegExp(`user=${ALICE} action=reset vm=web1 node=n\\d result=failed detail=`));
  });

  it('an allowed change is done: priority through Pacemaker (here the CIB file)', async () => {
    const r = await asUser(ALICE, [`${dir}/vm`, 'web2', 'priority', '7']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('web2: priority 7 (was 0)');
    const cib = await readFile(path.join(dir, 'cib.xml'), 'utf8');
    expect(cib).toMatch(/<nvpair id="vm-web2-meta_attributes-priority" name="priority" value="7"\/>/);
  });

  it('an action no rule allows is refused, and logged as refused', async () => {
    const r = await asUser(ALICE, [`${dir}/vm`, 'db1', 'reset']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`vm: ${ALICE} may not reset db1 (no rule in ${dir}/etc/access allows it)`);
    expect(await lastAudit()).toMatch(new RegExp(`user=${ALICE} action=reset vm=db1 result=refused`));
    const s = await asUser(ALICE, [`${dir}/vm`, 'ns1', 'status']);
    expect(s.exitCode).toBe(1);
    expect(s.stderr).toMatch(/may not status ns1/);
  });

  it('an action no rule names at all is refused before the cluster is asked', async () => {
    const r = await asUser(ALICE, [`${dir}/vm`, 'web1', 'stop']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${ALICE} may not stop any VM`));
  });

  it('a user no rule names is refused everything', async () => {
    const r = await asUser(MALLORY, [`${dir}/vm`, 'web1', 'where']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${MALLORY} may not where any VM`));
    expect(await lastAudit()).toMatch(new RegExp(`user=${MALLORY} action=where vm=web1 result=refused`));
  });

  it('a pattern only ever sees the VMs the caller may act on', async () => {
    const r = await asUser(ALICE, [`${dir}/vm`, '*', 'where']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(['ns1', 'web1', 'web2']);
    const st = await asUser(ALICE, [`${dir}/vm`, '*', 'status']);
    expect(st.stdout.match(/^\S+(?=:)/gm)).toEqual(['web1', 'web2']);
    const none = await asUser(ALICE, [`${dir}/vm`, 'db*', 'where']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(new RegExp(`no VM that ${ALICE} may where matches "db\\*"`));
  });

  it('an access file with one bad line refuses everyone', async () => {
    const r = await asUser(ALICE, [`${dir}/vm-broken`, 'web1', 'where']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/etc-broken\/access is invalid, so vm refuses everyone but root/);
    expect(r.stderr).toMatch(/line 1: unknown action "statsu"/);
  });

  it('an access file anyone but root could write refuses everyone', async () => {
    await chmod(path.join(dir, 'etc/access'), 0o666);
    try {
      const r = await asUser(ALICE, [`${dir}/vm`, 'web1', 'where']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/access must belong to root and be writable only by root/);
    } finally {
      await chmod(path.join(dir, 'etc/access'), 0o644);
    }
  });

  it.each([
    [['x; rm -rf /', 'reset'], /"x; rm -rf \/" is not a VM name or pattern/],
    [['--', '--help', 'reset'], /"--help" is not a VM name: names do not start with "-"/],
    [['../../etc', 'reset'], /"..\/..\/etc" is not a VM name or pattern/],
    [['web1', 'reset;id'], /"reset;id" is not an action/],
    [['web1', 'sysrq', '$(id)'], /one letter or digit/],
  ])('refuses %j as input before anything else (exit 2)', async (args, why) => {
    const before = (await auditLines()).length;
    const r = await asUser(ALICE, [`${dir}/vm`, ...args]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(why);
    expect(r.stdout).toBe('');
    expect((await auditLines()).length).toBe(before);
  });

  it('edit runs the editor as the calling user, not root, and writes the checked result back', async () => {
    const r = await asUser(ALICE, [`${dir}/vm`, 'web1', 'edit', '--yes']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/web1: domain XML written back; memory 128 → 192 MiB; Pacemaker restarts web1/);
    const uid = (await readFile(uidFile, 'utf8')).trim();
    expect(uid).toBe((await must('id', ['-u', ALICE])).stdout.trim());
    const cib = await readFile(path.join(dir, 'cib.xml'), 'utf8');
    expect(cib).toMatch(/name="hv_memory" value="192"/);
  });

  it('edit cannot smuggle CIB markup in after non-ASCII text: it stays the VM\'s text, stored intact', async () => {
    const injected =
      'Café € 😀&quot;/&gt;&lt;/nvpair&gt;&lt;/instance_attributes&gt;&lt;/primitive&gt;&lt;primitive id=&quot;evil&quot; class=&quot;ocf&quot; provider=&quot;heartbeat&quot; type=&quot;anything&quot;/&gt;';
    await writeFile(path.join(dir, 'editor'), `#!/bin/sh\nsed -i 's#</uuid>#</uuid><description>${injected.replace(/&/g, '\\&')}</description>#' "$1"\n`, { mode: 0o755 });
    const r = await asUser(ALICE, [`${dir}/vm`, 'web1', 'edit', '--yes']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const cib = Cib.parse(await readFile(path.join(dir, 'cib.xml'), 'utf8'));
    expect(cib.resources.map((x) => x.id)).not.toContain('evil');
    const web1 = corralVms(cib).find((v) => v.name === 'web1');
    const description = DomainDoc.parse(web1?.config ?? '').root.getElementsByTagName('description')[0]?.textContent;
    expect(description).toBe('Café € 😀"/></nvpair></instance_attributes></primitive><primitive id="evil" class="ocf" provider="heartbeat" type="anything"/>');
    const list = await run(path.join(dir, 'vm'), ['web1', 'where'], { timeoutMs: 60_000, env: { SUDO_USER: undefined } });
    expect(list.exitCode, list.stderr).toBe(0);
  });

  it('sudo itself refuses environment variables the sudoers rule does not allow', async () => {
    const r = await asUser(ALICE, [`${dir}/vm`, 'db1', 'where'], ['CORRAL_ETC=/tmp']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/not allowed to set|sorry/i);
  });

  it('a sudo user allowed to set variables still cannot choose the access file', async () => {
    // CORRAL_ETC points at the test's own (root-owned!) files granting web*; the program sudo ran
    // is D/bin/vm, which does not live next to them, so vm ignores it and uses /etc/corral.
    const r = await asUser(ALICE, [VM, 'web1', 'where'], [`CORRAL_ETC=${dir}/etc`, `CIB_file=${dir}/cib.xml`]);
    expect(r.stderr).toMatch(/vm: warning: ignoring CORRAL_ETC, CIB_file \(run through sudo/);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/may not use vm: \/etc\/corral\/access does not exist|may not where/);
  });

  it('with !secure_path, a `node` first in the caller\'s PATH is not what runs: the command names its interpreter', async () => {
    await rm(pwned, { force: true });
    const r = await asUser(ALICE, [VM, 'web1', 'where'], [], { PATH: `${evilDir}:/usr/sbin:/usr/bin:/sbin:/bin` });
    expect(await readFile(pwned, 'utf8').catch(() => '')).toBe('');
    expect(r.stderr).toMatch(/may not use vm: \/etc\/corral\/access does not exist|may not where/);
  });

  it('with !secure_path, vm runs its programs (cibadmin, id, getent …) from a fixed PATH, not the caller\'s', async () => {
    await rm(pwned, { force: true });
    const r = await asUser(ALICE, [`${dir}/vm`, 'web1', 'where'], [], { PATH: `${evilDir}:/usr/sbin:/usr/bin:/sbin:/bin` });
    expect(await readFile(pwned, 'utf8').catch(() => '')).toBe('');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(/^n[123]$/);
  });

  it('with SETENV, vm refuses to run when sudo passed NODE_OPTIONS on: one line naming it and the rule (README: not supported)', async () => {
    // node has already run the --require'd code as root by then; the refusal makes the rule known.
    const before = (await auditLines()).length;
    const r = await asUser(ALICE, [VM, 'web1', 'where'], [`NODE_OPTIONS=--require=${dir}-inject.js`]);
    await rm(pwned, { force: true });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^vm: NODE_OPTIONS is set: the rule that made vm root for a user passed their environment on \(sudo's SETENV, env_keep or -E; doas's keepenv\).*refuses to run/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.exitCode).toBe(2);
    expect((await auditLines()).length).toBe(before);
  });

  it('a caller vm cannot name (SUDO_USER without SUDO_UID) is refused, and no editor runs as root', async () => {
    await setEditor(`id -u > ${uidFile}\nsed -i 's#<vcpu>1</vcpu>#<vcpu>2</vcpu>#' "$1"`);
    await writeFile(uidFile, '');
    const before = await readFile(path.join(dir, 'cib.xml'), 'utf8');
    const r = await asUser(ALICE, [`${dir}/vm-nouid`, 'web1', 'edit', '--yes']);
    expect(r.stderr).toBe(`vm: cannot tell who called vm: SUDO_USER is "${ALICE}" but SUDO_UID is not set; refusing`);
    expect(r.exitCode).toBe(2);
    expect(await readFile(uidFile, 'utf8')).toBe('');
    expect(await readFile(path.join(dir, 'cib.xml'), 'utf8')).toBe(before);
  });

  it.each([['PKEXEC_UID'], ['DOAS_USER']])('root for a user through %s (no SUDO_USER) is that user, not root: the access file decides', async (variable) => {
    const aliceUid = (await must('id', ['-u', ALICE])).stdout.trim();
    // What pkexec and doas pass on: not the test runner's NODE_* variables.
    const runners = Object.fromEntries(Object.keys(process.env).filter((k) => /^(NODE_|LD_)/.test(k)).map((k) => [k, undefined]));
    const r = await run(path.join(dir, 'vm'), ['db1', 'where'], {
      timeoutMs: 60_000,
      env: { ...runners, SUDO_USER: undefined, SUDO_UID: undefined, SUDO_GID: undefined, [variable]: variable === 'PKEXEC_UID' ? aliceUid : ALICE },
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`vm: ${ALICE} may not (use vm|where db1)`));
    expect(r.exitCode).toBe(1);
  });

  describe('what the editor leaves behind is read without following links, as a regular file of at most 1 MiB', () => {
    const SECRET = 'SECRET-TOKEN-4711';
    beforeAll(async () => {
      const xml = `<domain type="kvm"><name>${SECRET}</name></domain>\n`;
      await writeFile(`${dir}-secret`, xml, { mode: 0o600 });
      await mkdir(`${dir}-secret-dir`, { mode: 0o700 });
      await writeFile(path.join(`${dir}-secret-dir`, 'web1.xml'), xml, { mode: 0o600 });
    });

    it.each([
      ['a symbolic link to a root-only file', () => `ln -sf ${dir}-secret "$1"`, /is a symbolic link/],
      ['a symbolic link to /dev/zero', () => 'ln -sf /dev/zero "$1"', /is a symbolic link/],
      ['a FIFO', () => 'rm -f "$1"; mkfifo "$1"', /is not a regular file/],
      ['its directory swapped for a link to a root-only directory', () => `d=$(dirname "$1"); mv "$d" "$d.moved"; ln -s ${dir}-secret-dir "$d"`, /directory of the edit .* was replaced/],
      ['a file larger than 1 MiB', () => 'head -c 2000000 /dev/zero | tr "\\0" x >> "$1"', /larger than 1 MiB/],
    ])('%s is refused: exit 2, one line, nothing of it shown, CIB unchanged', async (_what, script, why) => {
      await setEditor(script());
      const before = await readFile(path.join(dir, 'cib.xml'), 'utf8');
      const r = await asUser(ALICE, [`${dir}/vm`, 'web1', 'edit', '--yes']);
      expect(r.stderr).not.toContain(SECRET);
      expect(r.stderr).toMatch(why);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.exitCode).toBe(2);
      expect(await readFile(path.join(dir, 'cib.xml'), 'utf8')).toBe(before);
    });
  });

  it('root itself needs no rule', async () => {
    const r = await run(path.join(dir, 'vm'), ['db1', 'where'], { timeoutMs: 60_000, env: { SUDO_USER: undefined } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('n3');
    expect(await lastAudit()).toMatch(/user=root action=where vm=db1 node=n3 result=ok$/);
  });
});
