// The Debian package as an operator meets it: npm run deb builds it with dpkg-buildpackage, lintian
// finds no error or warning in it, its man pages render, its bash completion completes, its units
// pass systemd-analyze verify, and on a stock Debian 12 root (mmdebstrap, chroot) `apt install
// ./corral_*.deb` pulls in what it needs and the commands run on Debian's own nodejs 18; an edited
// corral.conf survives an upgrade and purge removes what the package made.
// Needs: npm run build first (npm test does), dpkg-dev, debhelper, lintian, mmdebstrap, man-db,
// bash-completion, systemd (for systemd-analyze) — .ci/run installs them — and Debian's mirrors.
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianRoot, ensureTarball, type DebianRoot } from '../support/debian-root.js';

const exec = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
/** The package holds the agent compiled for this machine (scripts/dev/compile-agent.ts): amd64 here. */
const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const deb = join(root, 'dist', `corral_${version}_${arch}.deb`);
const COMMANDS = ['vm', 'corral', 'create_domxml', 'fixup_domxml', 'domadd', 'domdel', 'nodecap', 'mk_debian_installer'];
const CIB = join(root, 'test/fixtures/recorded/moved/cib.xml');

async function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}) {
  try {
    const r = await exec(cmd, args, { maxBuffer: 64 << 20, timeout: opts.timeout ?? 120_000, env: opts.env ?? process.env, cwd: opts.cwd });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? String(e) };
  }
}

let tree: string; // the package's files (dpkg-deb -x)
const timings: Record<string, number> = {};

beforeAll(async () => {
  const t0 = Date.now();
  const r = await sh(join(root, 'node_modules/.bin/tsx'), [join(root, 'scripts/dev/deb.ts')], { cwd: root, timeout: 300_000 });
  expect(r.code, r.stderr).toBe(0);
  timings.debBuildMs = Date.now() - t0;
  tree = await mkdtemp(join(tmpdir(), 'corral-deb-tree-'));
  await exec('dpkg-deb', ['-x', deb, tree]);
}, 300_000);

afterAll(async () => {
  if (tree) await rm(tree, { recursive: true, force: true });
  process.stderr.write(`deb timings: ${JSON.stringify(timings)}\n`);
});

describe('the package', () => {
  it('is clean for lintian: no error, no warning', async () => {
    const r = await sh('lintian', ['--pedantic', deb]);
    const tags = r.stdout.split('\n').filter((l) => /^[EWIPX]: /.test(l));
    expect(tags.filter((l) => /^[EW]: /.test(l))).toEqual([]);
  }, 120_000);

  it('installs the agent, the commands, their man pages, completion, the conffile, logrotate rules, units and the guest files', async () => {
    const { stdout: list } = await exec('dpkg-deb', ['-c', deb]);
    const paths = list.split('\n').map((l) => l.split(/\s+/)[5]?.replace(/^\./, '')).filter(Boolean);
    const expected = [
      '/usr/lib/ocf/resource.d/corral/TransientDomain',
      '/usr/lib/ocf/resource.d/corral/Balancer',
      ...COMMANDS.map((c) => `/usr/sbin/${c}`),
      ...COMMANDS.map((c) => `/usr/share/man/man8/${c}.8.gz`),
      '/usr/share/man/man7/ocf_corral_TransientDomain.7.gz',
      '/usr/share/man/man7/ocf_corral_Balancer.7.gz',
      '/usr/share/man/man5/corral.conf.5.gz',
      ...COMMANDS.map((c) => `/usr/share/bash-completion/completions/${c}`),
      '/etc/corral/corral.conf',
      '/etc/logrotate.d/corral',
      '/lib/systemd/system/corral-node.service',
      '/lib/systemd/system/corral-node-undrain.service',
      '/lib/systemd/system/corral-serve.service',
      '/usr/share/corral/prometheus/corral-alerts.yml',
      '/usr/share/corral/guest/corral-startup-signal',
      '/usr/share/corral/guest/corral-startup-signal.service',
      '/usr/share/doc/corral/copyright',
    ];
    for (const p of expected) expect(paths, p).toContain(p);
    // Debian's node by absolute path, never `/usr/bin/env node` (under sudo with !secure_path that
    // would run the caller's `node` as root).
    for (const p of ['usr/lib/ocf/resource.d/corral/Balancer', ...COMMANDS.map((c) => `usr/sbin/${c}`)]) {
      expect((await readFile(join(tree, p), 'utf8')).split('\n')[0], p).toBe('#!/usr/bin/node');
    }
    // The VM agent is an executable of its own (no interpreter at all), left unstripped: strip
    // drops the section that holds its program.
    const agent = join(tree, 'usr/lib/ocf/resource.d/corral/TransientDomain');
    expect((await readFile(agent)).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    const meta = await sh(agent, ['meta-data'], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/' });
    expect(meta.code, meta.stderr).toBe(0);
    expect(meta.stdout).toContain('<resource-agent name="TransientDomain"');
    // The lab's fence agent is not for real clusters.
    expect(paths.some((p) => p?.includes('fence_corral_lab'))).toBe(false);
    const { stdout: conffiles } = await exec('sh', ['-c', `dpkg-deb --ctrl-tarfile ${deb} | tar -xO ./conffiles`]);
    expect(conffiles.trim().split('\n')).toEqual(['/etc/corral/corral.conf', '/etc/logrotate.d/corral']);
    const { stdout: control } = await exec('dpkg-deb', ['-f', deb, 'Depends', 'Recommends']);
    for (const dep of ['nodejs (>= 18)', 'pacemaker', 'pacemaker-cli-utils', 'libvirt-clients']) expect(control).toContain(dep);
  });

  it('ships a corral.conf whose commented lines are every setting at its default', async () => {
    const { parseConfigText, loadConfig } = await import('../../lib/ops/config.js');
    const text = await readFile(join(tree, 'etc/corral/corral.conf'), 'utf8');
    expect(parseConfigText(text)).toEqual({}); // all commented out: the defaults
    const keys = [...text.matchAll(/^#([a-z_]+) = (.*)$/gm)].map((m) => [m[1], m[2]] as const);
    const uncommented = parseConfigText(keys.map(([k, v]) => `${k} = ${v}`).join('\n'));
    expect(Object.keys(uncommented).sort()).toEqual(['access_file', 'audit_log', 'boot_undrain', 'hook_timeout', 'libvirt_uri', 'move_lifetime', 'node_command', 'serve_listen', 'shutdown_drain', 'shutdown_drain_timeout']);
    // …and the values shown are the defaults: the file uncommented means the same as no file.
    const dir = await mkdtemp(join(tmpdir(), 'corral-conf-'));
    try {
      await writeFile(join(dir, 'corral.conf'), keys.map(([k, v]) => `${k} = ${v}`).join('\n'));
      const withFile = await loadConfig({ uid: 1000, env: { CORRAL_ETC: dir } });
      const without = await loadConfig({ uid: 1000, env: { CORRAL_ETC: join(dir, 'none') } });
      expect({ ...withFile, etcDir: '', accessFile: '' }).toEqual({ ...without, etcDir: '', accessFile: '' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has man pages that render without a warning (man -l) and say what each command takes', async () => {
    const pages = [...COMMANDS.map((c) => `usr/share/man/man8/${c}.8.gz`), 'usr/share/man/man7/ocf_corral_TransientDomain.7.gz', 'usr/share/man/man7/ocf_corral_Balancer.7.gz', 'usr/share/man/man5/corral.conf.5.gz'];
    for (const p of pages) {
      const r = await sh('man', ['--warnings', '-E', 'UTF-8', '-l', '-Tutf8', '-Z', join(tree, p)], { env: { ...process.env, MANWIDTH: '80' } });
      expect(r.code, p).toBe(0);
      expect(r.stderr, p).toBe('');
      const text = await sh('man', ['-l', join(tree, p)], { env: { ...process.env, MANWIDTH: '100', MAN_KEEP_FORMATTING: '' } });
      expect(text.stdout.length, p).toBeGreaterThan(500);
    }
    const vm = (await sh('man', ['-l', join(tree, 'usr/share/man/man8/vm.8.gz')], { env: { ...process.env, MANWIDTH: '200' } })).stdout;
    for (const flag of ['--yes', '--no-wait', '--lifetime', '--timeout', 'migrate [NODE]', 'EXIT STATUS']) expect(vm).toContain(flag);
    const corral = (await sh('man', ['-l', join(tree, 'usr/share/man/man8/corral.8.gz')], { env: { ...process.env, MANWIDTH: '200' } })).stdout;
    for (const s of ['corral node drain', 'corral node on-shutdown', '--parallel', 'corral capacity']) expect(corral).toContain(s);
    const agent = (await sh('man', ['-l', join(tree, 'usr/share/man/man7/ocf_corral_TransientDomain.7.gz')], { env: { ...process.env, MANWIDTH: '200' } })).stdout;
    for (const s of ['config', 'migration_transport', 'console_log_dir', 'migrate_to']) expect(agent).toContain(s);
  });

  it('completes commands, actions, options, VM names and node names in bash', async () => {
    const script = `
      source /usr/share/bash-completion/bash_completion
      for c in ${COMMANDS.join(' ')}; do _completion_loader "$c"; done
      complete -p ${COMMANDS.join(' ')}
      t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}; COMPREPLY=(); "$(complete -p "$1" | sed 's/.*-F \\([^ ]*\\) .*/\\1/')" "$1"; echo "$*|\${COMPREPLY[*]}"; }
      t vm w
      t vm web1 mi
      t vm web1 migrate ''
      t vm web1 --lif
      t corral no
      t corral node ''
      t corral node drain ''
      t domadd --pi
      t domadd --pin ''
      t domdel n
      t nodecap ''
    `;
    const r = await sh('bash', ['-c', script], {
      env: { ...process.env, CIB_file: CIB, BASH_COMPLETION_USER_DIR: join(tree, 'none'), BASH_COMPLETION_COMPAT_DIR: join(tree, 'none'), XDG_DATA_DIRS: join(tree, 'usr/share') },
    });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    for (const c of COMMANDS) expect(lines).toContain(`complete -F _corral_complete ${c}`);
    const got = Object.fromEntries(lines.filter((l) => l.includes('|')).map((l) => l.split('|') as [string, string]));
    expect(got['vm w']).toBe('web1 web2');
    expect(got['vm web1 mi']).toBe('migrate');
    expect(got['vm web1 migrate ']).toBe('n1 n2 n3');
    expect(got['vm web1 --lif']).toBe('--lifetime');
    expect(got['corral no']).toBe('node');
    expect(got['corral node ']?.split(' ')).toEqual(expect.arrayContaining(['drain', 'undrain']));
    expect(got['corral node drain ']).toBe('n1 n2 n3');
    expect(got['domadd --pi']).toBe('--pin');
    expect(got['domadd --pin ']).toBe('n1 n2 n3');
    expect(got['domdel n']).toBe('ns1 ns2');
    expect(got['nodecap ']).toBe('n1 n2 n3');
  });

  it('has units that pass systemd-analyze verify (host units, and the guest unit where a guest has it)', async () => {
    // The package's tree as the root, with the system's own units beside ours (sysinit.target, …);
    // Documentation=man:corral(8) is looked up among the package's man pages.
    await exec('cp', ['-rn', '/lib/systemd/system/.', join(tree, 'lib/systemd/system/')]);
    const env = { ...process.env, MANPATH: join(tree, 'usr/share/man') };
    const host = await sh('systemd-analyze', ['verify', '--root', tree, '/lib/systemd/system/corral-node.service', '/lib/systemd/system/corral-node-undrain.service', '/lib/systemd/system/corral-serve.service'], { env });
    expect(host.stderr + host.stdout).toBe('');
    expect(host.code).toBe(0);
    // In a guest, the README puts the script in /usr/lib/corral/ and the unit in /etc/systemd/system/.
    const guest = await mkdtemp(join(tmpdir(), 'corral-guest-'));
    try {
      await mkdir(join(guest, 'usr/lib/corral'), { recursive: true });
      await mkdir(join(guest, 'etc/systemd/system'), { recursive: true });
      await copyFile(join(tree, 'usr/share/corral/guest/corral-startup-signal'), join(guest, 'usr/lib/corral/corral-startup-signal'));
      await exec('chmod', ['755', join(guest, 'usr/lib/corral/corral-startup-signal')]);
      await copyFile(join(tree, 'usr/share/corral/guest/corral-startup-signal.service'), join(guest, 'etc/systemd/system/corral-startup-signal.service'));
      await mkdir(join(guest, 'lib/systemd'), { recursive: true });
      await exec('cp', ['-r', '/lib/systemd/system', join(guest, 'lib/systemd/')]);
      const g = await sh('systemd-analyze', ['verify', '--root', guest, '/etc/systemd/system/corral-startup-signal.service']);
      expect(g.stderr + g.stdout).toBe('');
      expect(g.code).toBe(0);
    } finally {
      await rm(guest, { recursive: true, force: true });
    }
  });
});

describe('on a stock Debian 12 root', () => {
  let deb12: DebianRoot | undefined;

  beforeAll(async () => {
    timings.mmdebstrapMs = await ensureTarball();
    deb12 = await debianRoot();
  }, 660_000);

  afterAll(async () => {
    await deb12?.remove();
  }, 120_000);

  it('apt install ./corral_*.deb pulls in what it needs, and the commands run on Debian\'s nodejs 18', async () => {
    const r = deb12 as DebianRoot;
    await copyFile(deb, join(r.dir, 'tmp', `corral_${version}_${arch}.deb`));
    await copyFile(join(root, 'test/fixtures/domains/gum-fresh.xml'), join(r.dir, 'tmp/gum.xml'));
    await copyFile(CIB, join(r.dir, 'tmp/cib.xml'));
    expect((await r.sh('command -v node pacemakerd virsh || true')).stdout).toBe(''); // nothing of it yet
    const t0 = Date.now();
    const install = await r.sh(`apt-get update -q && apt-get install -y -q --no-install-recommends /tmp/corral_${version}_${arch}.deb`, 600_000);
    timings.aptInstallMs = Date.now() - t0;
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toMatch(/Setting up corral \(/);

    const node = await r.sh('node --version');
    expect(node.stdout).toMatch(/^v18\./);
    const meta = await r.sh('/usr/lib/ocf/resource.d/corral/TransientDomain meta-data');
    expect(meta.code).toBe(0);
    expect(meta.stdout).toContain('<resource-agent name="TransientDomain"');
    expect(meta.stderr).toBe(''); // not even a warning from node on every call
    const validate = await r.sh('OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=vm-gum OCF_RESKEY_config="$(cat /tmp/gum.xml)" /usr/lib/ocf/resource.d/corral/TransientDomain validate-all');
    expect(validate.code, validate.stderr).toBe(0);
    const badValidate = await r.sh('OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=vm-gum OCF_RESKEY_config="<domain" /usr/lib/ocf/resource.d/corral/TransientDomain validate-all');
    expect(badValidate.code).toBe(6); // OCF_ERR_CONFIGURED
    const help = await r.sh('vm --help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: vm [options] <vm> <action> [arg]');
    for (const c of COMMANDS) expect((await r.sh(`${c} --version`)).stdout.trim()).toBe(`${c} ${version}`);
    const list = await r.sh('CIB_file=/tmp/cib.xml corral list --json');
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { vms: { name: string }[] }).vms.map((v) => v.name).sort()).toEqual(['db1', 'ns1', 'ns2', 'off1', 'web1', 'web2']);
    const add = await r.sh('cp /tmp/cib.xml /tmp/cib2.xml && CIB_file=/tmp/cib2.xml domadd --dry-run /tmp/gum.xml');
    expect(add.code, add.stderr).toBe(0);
    const xml = await r.sh('create_domxml --name x --cpus 1 --mem 128m --disk /dev/vm/x');
    expect(xml.code, xml.stderr).toBe(0);
    expect(xml.stdout).toContain('<name>x</name>');
    // Armed for the next shutdown: enabled by the package, nothing run that needs a cluster.
    expect((await r.sh('ls /etc/systemd/system/multi-user.target.wants/')).stdout).toContain('corral-node.service');
    const notHere = await r.sh('corral node on-shutdown');
    expect(notHere.code).toBe(0);
    expect(notHere.stdout).toMatch(/not a cluster node|not running/);
  }, 900_000);

  it('keeps an edited corral.conf through an upgrade, and purge removes what the package made', async () => {
    const r = deb12 as DebianRoot;
    // The next version: the same package with a higher version number (repacked with dpkg-deb).
    const next = `${version}+next`;
    const repack = await r.sh(`set -e; cd /tmp; rm -rf next; dpkg-deb -R corral_${version}_${arch}.deb next; sed -i 's/^Version: .*/Version: ${next}/' next/DEBIAN/control; dpkg-deb --root-owner-group -b next corral_${next}_${arch}.deb >/dev/null`);
    expect(repack.code, repack.stderr).toBe(0);
    await r.sh("sed -i 's/^#move_lifetime = PT1H/move_lifetime = PT2H/' /etc/corral/corral.conf && mkdir -p /var/log/corral && echo x >> /var/log/corral/vm.log");
    const up = await r.sh(`apt-get install -y -q --no-install-recommends /tmp/corral_${next}_${arch}.deb`);
    expect(up.code, up.stderr).toBe(0);
    expect((await r.sh("dpkg-query -W -f '${Version}' corral")).stdout).toBe(next);
    expect((await r.sh('grep -c "^move_lifetime = PT2H" /etc/corral/corral.conf')).stdout.trim()).toBe('1');
    expect((await r.sh('ls /etc/systemd/system/multi-user.target.wants/')).stdout).toContain('corral-node.service');

    const purge = await r.sh('apt-get purge -y -q corral');
    expect(purge.code, purge.stderr).toBe(0);
    const left = await r.sh('ls -d /etc/corral /var/log/corral /usr/sbin/vm /usr/lib/ocf/resource.d/corral /etc/systemd/system/multi-user.target.wants/corral-node.service /etc/logrotate.d/corral /usr/share/bash-completion/completions/vm 2>/dev/null; dpkg -l corral 2>/dev/null | grep "^.. *corral" || true');
    expect(left.stdout.trim()).toBe('');
  }, 300_000);
});
