// lib/ops/hooks.ts on a temporary hooks directory: run-parts order, the CORRAL_* environment, the
// entries refused (not root's, writable by the group, a bad name, a link), a pre hook's veto with
// its first line as the reason, a post hook's failure said and not undone, the timeout that kills
// a hook and what it started.
import { chmod, chown, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookVeto, Hooks, type HookSettings } from '../../lib/ops/hooks.js';
import { requireRoot } from '../support/root.js';

let root: string;
let said: string[];
let logged: { hook: string; result: string; detail?: string }[];

function hooks(over: Partial<HookSettings> = {}): Hooks {
  return new Hooks({
    dir: root,
    timeoutMs: 10_000,
    user: 'alice',
    say: (l) => void said.push(l),
    log: async (e) => void logged.push({ hook: e.hook, result: e.result, ...(e.detail ? { detail: e.detail } : {}) }),
    ...over,
  });
}

/** Writes a hook script NAME into DIR (root's, 0755 unless MODE). */
async function hook(dir: string, name: string, body: string, mode = 0o755): Promise<string> {
  await mkdir(path.join(root, dir), { recursive: true, mode: 0o755 });
  const file = path.join(root, dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, mode);
  return file;
}

const trace = () => path.join(root, 'trace');
const traced = async () => (await readFile(trace(), 'utf8').catch(() => '')).split('\n').filter(Boolean);

beforeEach(async () => {
  requireRoot('the hooks tests', 'hooks must belong to root');
  root = await mkdtemp(path.join(tmpdir(), 'corral-hooks-'));
  await chmod(root, 0o755);
  said = [];
  logged = [];
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('operator hooks', () => {
  it('no directory: nothing runs, nothing is said', async () => {
    let ran = false;
    await hooks().around('node-drain', { nodes: ['n1'] }, async () => void (ran = true));
    expect(ran).toBe(true);
    expect(said).toEqual([]);
    expect(logged).toEqual([]);
  });

  it('runs pre hooks in run-parts order, then the work, then post hooks, with the CORRAL_* environment', async () => {
    const t = trace();
    for (const n of ['20-b', '10-a', '3_c', 'Z-upper']) await hook('node-drain-pre.d', n, `echo "pre ${n} $CORRAL_OPERATION $CORRAL_PHASE [$CORRAL_NODES] [$CORRAL_VMS] $CORRAL_DRY_RUN $CORRAL_USER" >> ${t}`);
    await hook('node-drain-post.d', '50-post', `echo "post $CORRAL_RESULT [$CORRAL_NODES] [$CORRAL_VMS] $CORRAL_HOOK_DIR" >> ${t}`);
    const r = await hooks().around('node-drain', { nodes: ['n1', 'n2'], vms: ['gum', 'elm'] }, async () => {
      await writeFile(t, 'work\n', { flag: 'a' });
      return 7;
    });
    expect(r).toBe(7);
    expect(await traced()).toEqual([
      'pre 10-a node-drain pre [n1 n2] [gum elm] 0 alice',
      'pre 20-b node-drain pre [n1 n2] [gum elm] 0 alice',
      'pre 3_c node-drain pre [n1 n2] [gum elm] 0 alice',
      'pre Z-upper node-drain pre [n1 n2] [gum elm] 0 alice',
      'work',
      `post ok [n1 n2] [gum elm] ${path.join(root, 'node-drain-post.d')}`,
    ]);
    expect(logged.map((l) => `${l.hook} ${l.result}`)).toEqual(['node-drain-pre.d/10-a ok', 'node-drain-pre.d/20-b ok', 'node-drain-pre.d/3_c ok', 'node-drain-pre.d/Z-upper ok', 'node-drain-post.d/50-post ok']);
    expect(said).toEqual([]);
  });

  it('a dry run runs the pre hooks with CORRAL_DRY_RUN=1 and no post hooks', async () => {
    await hook('rebalance-pre.d', '10', `echo "pre $CORRAL_DRY_RUN" >> ${trace()}`);
    await hook('rebalance-post.d', '10', `echo post >> ${trace()}`);
    await hooks().around('rebalance', { dryRun: true }, async () => undefined);
    expect(await traced()).toEqual(['pre 1']);
  });

  it('a pre hook that fails vetoes: its name and first line are the reason, later hooks and the work do not run', async () => {
    await hook('node-drain-pre.d', '10-ok', `echo first >> ${trace()}`);
    await hook('node-drain-pre.d', '20-no', 'echo\necho "  n2 is in a change window" \necho second line\necho on stderr >&2\nexit 3');
    await hook('node-drain-pre.d', '30-later', `echo later >> ${trace()}`);
    await hook('node-drain-post.d', '10', `echo post >> ${trace()}`);
    let ran = false;
    const p = hooks().around('node-drain', { nodes: ['n2'] }, async () => void (ran = true));
    await expect(p).rejects.toBeInstanceOf(HookVeto);
    await expect(p).rejects.toThrow('vetoed by hook node-drain-pre.d/20-no (exit status 3): n2 is in a change window; nothing was done');
    expect(ran).toBe(false);
    expect(await traced()).toEqual(['first']);
    expect(logged.at(-1)).toEqual({ hook: 'node-drain-pre.d/20-no', result: 'refused', detail: 'exit status 3: n2 is in a change window' });
  });

  it('a silent failing hook vetoes with its stderr, or "no reason given"', async () => {
    await hook('domadd-pre.d', '10', 'echo "quota exceeded" >&2; exit 1');
    await expect(hooks().pre('domadd', { vms: ['gum'] })).rejects.toThrow(/domadd-pre.d\/10 \(exit status 1\): quota exceeded;/);
    await hook('domdel-pre.d', '10', 'exit 1');
    await expect(hooks().pre('domdel', { vms: ['gum'] })).rejects.toThrow(/domdel-pre.d\/10 \(exit status 1\): no reason given;/);
  });

  it('refuses, before any hook runs, an entry that is not root\'s, writable by its group or others, badly named, or a link', async () => {
    const cases: [string, (f: string) => Promise<void>, RegExp][] = [
      ['10-user', (f) => chown(f, 1000, 1000), /10-user is owned by uid 1000, not root/],
      ['10-group', (f) => chmod(f, 0o775), /10-group is writable by its group \(mode 0775\)/],
      ['10-other', (f) => chmod(f, 0o757), /10-other is writable by others \(mode 0757\)/],
      ['10-check.sh', async () => undefined, /10-check.sh has a name run-parts would not run/],
    ];
    for (const [name, spoil, why] of cases) {
      await rm(path.join(root, 'node-drain-pre.d'), { recursive: true, force: true });
      await hook('node-drain-pre.d', '05-first', `echo ran >> ${trace()}`);
      await spoil(await hook('node-drain-pre.d', name, 'exit 0'));
      await expect(hooks().pre('node-drain', {}), name).rejects.toThrow(why);
      expect(await traced(), name).toEqual([]);
      expect(logged.at(-1)?.result).toBe('refused');
    }
    await rm(path.join(root, 'node-drain-pre.d'), { recursive: true, force: true });
    const target = await hook('elsewhere', 'real', 'exit 0');
    await mkdir(path.join(root, 'node-drain-pre.d'));
    await symlink(target, path.join(root, 'node-drain-pre.d', '10-link'));
    await expect(hooks().pre('node-drain', {})).rejects.toThrow(/10-link is a symbolic link/);
  });

  it('refuses a hook directory, or the hooks directory, that is not root\'s or is writable by others', async () => {
    await hook('node-undrain-pre.d', '10', 'exit 0');
    await chmod(path.join(root, 'node-undrain-pre.d'), 0o777);
    await expect(hooks().pre('node-undrain', {})).rejects.toThrow(/hook node-undrain-pre.d refused: the directory .*node-undrain-pre.d is writable by its group/);
    await chmod(path.join(root, 'node-undrain-pre.d'), 0o755);
    await chown(root, 1000, 1000);
    await expect(hooks().pre('node-undrain', {})).rejects.toThrow(/the directory .* is owned by uid 1000, not root/);
  });

  it('a file that is not executable is a disabled hook: skipped and logged, no veto', async () => {
    await hook('node-drain-pre.d', '10-off', 'exit 1', 0o644);
    await hook('node-drain-pre.d', 'README.txt', 'exit 1', 0o644);
    await hooks().pre('node-drain', {});
    expect(logged.map((l) => `${l.hook} ${l.result}`)).toEqual(['node-drain-pre.d/10-off cancelled', 'node-drain-pre.d/README.txt cancelled']);
  });

  it('a post hook that fails is said and logged, the others still run, nothing is undone', async () => {
    await hook('domdel-post.d', '10-fails', 'echo "ticket system down"; exit 2');
    await hook('domdel-post.d', '20-runs', `echo "20 $CORRAL_RESULT" >> ${trace()}`);
    await hook('domdel-post.d', '30-bad.sh', 'exit 0');
    let undone = false;
    const r = await hooks().around('domdel', { vms: ['gum'] }, async () => 'removed').catch(() => (undone = true));
    expect(r).toBe('removed');
    expect(undone).toBe(false);
    expect(await traced()).toEqual(['20 ok']);
    expect(said).toEqual([
      'hook domdel-post.d/10-fails failed (exit status 2): ticket system down; the domdel stands as done',
      'hook domdel-post.d/30-bad.sh refused, not run: has a name run-parts would not run (letters, digits, _ and - only)',
    ]);
    expect(logged.map((l) => `${l.hook} ${l.result}`)).toEqual(['domdel-post.d/10-fails failed', 'domdel-post.d/20-runs ok', 'domdel-post.d/30-bad.sh refused']);
  });

  it('the work failing: post hooks run with CORRAL_RESULT=failed and the error is the work\'s', async () => {
    await hook('node-drain-post.d', '10', `echo "$CORRAL_RESULT" >> ${trace()}`);
    await expect(hooks().around('node-drain', {}, async () => Promise.reject(new Error('drain broke')))).rejects.toThrow('drain broke');
    await hooks().around('node-drain', {}, async () => ({ ok: false }), (x) => x.ok);
    expect(await traced()).toEqual(['failed', 'failed']);
  });

  it('a hook that overruns its time is killed with what it started, and vetoes', async () => {
    const pids = path.join(root, 'pids');
    await hook('node-reboot-pre.d', '10-slow', `echo "waiting for the monitoring"\nsleep 30 &\necho $! > ${pids}\nwait`);
    const t0 = Date.now();
    await expect(hooks({ timeoutMs: 500 }).pre('node-reboot', { nodes: ['n2'] })).rejects.toThrow('vetoed by hook node-reboot-pre.d/10-slow (killed after 0.5 s): waiting for the monitoring; nothing was done');
    expect(Date.now() - t0).toBeLessThan(5000);
    const child = Number((await readFile(pids, 'utf8')).trim());
    const alive = () => {
      try {
        process.kill(child, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(), `the hook's child ${child} outlived it`).toBe(false);
  });

  it('a hook that cannot be started (a bad interpreter line) vetoes', async () => {
    await mkdir(path.join(root, 'vm-reset-pre.d'));
    const f = path.join(root, 'vm-reset-pre.d', '10');
    await writeFile(f, '#!/nonexistent/interpreter\n');
    await chmod(f, 0o755);
    await expect(hooks().pre('vm-reset', { vms: ['gum'] })).rejects.toThrow(/vm-reset-pre.d\/10 \(could not be started\)/);
  });
});
