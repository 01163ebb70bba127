// `corral lab` as a user runs it (the built dist/bin/corral): up on a 2-node lab, status, exec,
// corral installed inside the nodes only, README's vm and corral commands run inside the nodes,
// crash and fencing, bad input, and down — also twice, also after a half-made lab — after which
// up works again.
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fenceHistory } from '../../lib/host/pacemaker/fencing.js';
import { run } from '../../lib/host/exec.js';
import { netnsList } from '../../lib/host/netns.js';
import { destroyClusterLab, loadClusterLab, nodeVia, waitClusterIdle } from '../../lib/lab/cluster.js';
import { createLab } from '../../lib/lab/create.js';
import { labDir } from '../../lib/lab/state.js';
import { ensureTestGuest } from '../../lib/lab/test-guest.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CORRAL = path.join(ROOT, 'dist/bin/corral');
const LAB = 'clit';
const SUBNET = '10.213.83';
const HOST_FILES = ['/usr/lib/ocf/resource.d/corral', '/usr/sbin/fence_corral_lab'];
let hostFilesBefore: boolean[] = [];

async function corral(...args: string[]) {
  const r = await run(process.execPath, [CORRAL, ...args], { cwd: ROOT, timeoutMs: 240_000 });
  return { code: r.exitCode, out: r.stdout, err: r.stderr };
}


function labNetns(names: string[]): string[] {
  return names.filter((n) => n === `corral.${LAB}` || n.startsWith(`corral.${LAB}.`));
}

beforeAll(async () => {
  expect(existsSync(CORRAL), 'npm run build first').toBe(true);
  await destroyClusterLab(LAB);
  hostFilesBefore = HOST_FILES.map((f) => existsSync(f));
}, 60_000);

afterAll(async () => {
  await destroyClusterLab(LAB).catch(() => undefined);
}, 60_000);

describe('corral lab', () => {
  it('up starts a 2-node cluster, ends online and idle, and says what to type next', async () => {
    const r = await corral('lab', 'up', '--name', LAB, '--nodes', '2', '--subnet', SUBNET, '--no-packages', '--no-build');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`Lab ${LAB} is up: n1 (${SUBNET}.11), n2 (${SUBNET}.12)`);
    expect(r.out).toContain(`lab demo --name ${LAB}`);
    expect(r.err).toMatch(/lab: up in \d+\.\d s/);

    const s = await corral('lab', 'status', '--name', LAB);
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(/n1\s+\S+\s+on\s+corosync pacemakerd libvirtd virtlogd/);
    expect(s.out).toMatch(/n2\s+\S+\s+on\s+corosync pacemakerd libvirtd virtlogd/);
    expect(s.out).toContain('Online: [ n1 n2 ]');
    expect(s.out).toMatch(/fence-lab\s+\(stonith:fence_corral_lab\):\s+Started/);
  }, 240_000);

  it('up again on a running lab changes nothing and says so', async () => {
    const r = await corral('lab', 'up', '--name', LAB, '--nodes', '2', '--subnet', SUBNET, '--no-packages', '--no-build');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`lab ${LAB} is already up`);
  }, 60_000);

  it('exec runs a command inside the node and passes its output and exit code on', async () => {
    const name = await corral('lab', 'exec', '--name', LAB, 'n2', '--', 'crm_node', '--name');
    expect(name).toMatchObject({ code: 0, out: 'n2' });
    expect((await corral('lab', 'exec', '--name', LAB, 'n1', '--', 'hostname')).out).toBe('n1');
    expect((await corral('lab', 'exec', '--name', LAB, 'n1', '--', 'sh', '-c', 'exit 7')).code).toBe(7);
  }, 60_000);

  it("exec takes its options before or after the node, up to -- or the command's first word", async () => {
    const clusterName = ['crm_attribute', '--type', 'crm_config', '--name', 'cluster-name', '--query', '--quiet'];
    expect(await corral('lab', 'exec', 'n1', '--name', LAB, '--', ...clusterName)).toMatchObject({ code: 0, out: LAB });
    expect(await corral('lab', 'exec', 'n2', `--name=${LAB}`, ...clusterName)).toMatchObject({ code: 0, out: LAB });
    const slow = await corral('lab', 'exec', 'n1', '--name', LAB, '--timeout', '1', '--', 'sleep', '5');
    expect(slow.code).toBe(124);
    expect(slow.err).toContain('lab exec: sleep timed out after 1 s');
    const bad = await corral('lab', 'exec', 'n1', '--name', LAB, '--bogus', '--', 'true');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('unknown option --bogus');
  }, 60_000);

  it('exec at a terminal: Ctrl+C ends the command inside the node too', async () => {
    // stdin not a terminal, stdout one (script(1)): the command must still get the Ctrl+C.
    const r = await run('sh', ['-c', `(sleep 2; printf '\\003') | script -qfec "${process.execPath} ${CORRAL} lab exec --name ${LAB} n1 -- sleep 97 < /dev/null" /dev/null`], { timeoutMs: 30_000 });
    expect(r.exitCode).toBe(130);
    await sleep(500);
    const left = await corral('lab', 'exec', '--name', LAB, 'n1', '--', 'sh', '-c', 'ps -e -o args | grep -c "^sleep 97" || true');
    expect(left.out).toBe('0');
  }, 60_000);

  it('corral is installed inside the nodes (agent, commands, fence agent) and not on the host', async () => {
    const ls = await corral('lab', 'exec', '--name', LAB, 'n1', '--', 'ls', '/usr/lib/ocf/resource.d/corral');
    expect(ls.out).toContain('TransientDomain');
    const agents = await corral('lab', 'exec', '--name', LAB, 'n1', '--', 'stonith_admin', '--list-installed');
    expect(agents.out).toContain('fence_corral_lab');
    const meta = await corral('lab', 'exec', '--name', LAB, 'n2', '--', 'stonith_admin', '--metadata', '--agent', 'fence_corral_lab');
    expect(meta.code, meta.err).toBe(0);
    expect(meta.out).toContain('<resource-agent name="fence_corral_lab"');
    const which = await corral('lab', 'exec', '--name', LAB, 'n2', '--', 'sh', '-c', 'for c in domadd corral vm create_domxml; do command -v $c; done');
    expect(which.out.split('\n').filter(Boolean)).toEqual(['/usr/sbin/domadd', '/usr/sbin/corral', '/usr/sbin/vm', '/usr/sbin/create_domxml']);
    const verify = await corral('lab', 'exec', '--name', LAB, 'n1', '--', 'crm_verify', '--live-check');
    expect(verify.code, `${verify.out}${verify.err}`).toBe(0);
    expect(HOST_FILES.map((f) => existsSync(f))).toEqual(hostFilesBefore);
  }, 60_000);

  it("README's commands work inside a node as shown: vm, corral's tables, the console and its log", async () => {
    // The nodes' /etc/corral/corral.conf: libvirt over qemu+tcp, the lab's node command (no ssh).
    const guest = await ensureTestGuest();
    const lab = await loadClusterLab(LAB);
    const xml = path.join(lab.dir, 'vms', 'web.xml'); // every node sees the lab's state directory
    await mkdir(path.dirname(xml), { recursive: true });
    const x = (node: string, ...cmd: string[]) => corral('lab', 'exec', '--name', LAB, node, '--', ...cmd);
    const ok = async (node: string, ...cmd: string[]) => {
      const r = await x(node, ...cmd);
      expect(r.code, `${cmd.join(' ')} on ${node}: ${r.err}${r.out}`).toBe(0);
      return r;
    };
    const cmdline = 'console=ttyS0 corral.tick=1';
    await ok('n1', 'create_domxml', '--name', 'web', '--cpus', '1', '--mem', '128m', '--virt-type', 'qemu', '--kernel', guest.kernel, '--initrd', guest.initrd, '--cmdline', cmdline, '-o', xml);
    await ok('n1', 'fixup_domxml', '-i', xml);
    await ok('n1', 'domadd', '--param', 'migration_transport=tcp', '--priority', '10', xml);
    await waitClusterIdle(lab, { resources: ['vm-web'], timeoutMs: 120_000 });

    const at = /^web\s+(n[12])\s+running/m.exec((await ok('n1', 'corral', 'list')).out)?.[1] as string;
    expect(at).toMatch(/^n[12]$/);
    const other = at === 'n1' ? 'n2' : 'n1';

    // The tables ask every node's libvirt (qemu+tcp) and its kernel (the node command): no gaps, no
    // warnings. (Independent commands run side by side, to keep the test short.)
    const [hosts, hostsJson, stats, status, local] = await Promise.all([
      ok(other, 'corral', 'hosts'),
      ok(other, 'corral', 'hosts', '--json'),
      ok(other, 'corral', 'stats'),
      ok(other, 'vm', 'web', 'status'),
      ok(at, 'vm', 'web', 'console', '--log'),
    ]);
    expect(hosts.err).toBe('');
    expect(hosts.out).toMatch(new RegExp(`^n1\\*?\\s+online\\s.*\\s\\d+\\.\\d+\\.\\d+\\s+\\d+\\.\\d+\\.\\d+\\s+${release().replace(/\./g, '\\.')}\\s`, 'm'));
    const json = JSON.parse(hostsJson.out) as { hosts: { name: string; libvirt: string | null; kernel: string | null; problems: string[] }[] };
    expect(json.hosts.map((h) => [h.name, h.libvirt !== null, h.kernel, h.problems])).toEqual([
      ['n1', true, release(), []],
      ['n2', true, release(), []],
    ]);
    expect(stats.err).toBe('');
    expect(stats.out).toMatch(new RegExp(`^web\\s+${at}\\s+\\d`, 'm'));
    expect(status.out).toContain(`libvirt on ${at}: running`);
    expect(local.out).toContain('corral-test-guest: booted');

    // The console log from the other node: through the node command.
    let remote = '';
    for (let i = 0; i < 120 && !/corral-test-guest: tick \d+/.test(remote); i++) {
      if (i) await sleep(250);
      remote = (await ok(other, 'vm', 'web', 'console', '--log', '--lines', '3')).out;
    }
    expect(remote).toMatch(/corral-test-guest: tick \d+/);
    expect(remote.trim().split('\n').length).toBeLessThanOrEqual(3);

    // The console itself, on a terminal (script(1) gives it one), left with Ctrl+].
    const tty = await run('sh', ['-c', `(sleep 3; printf '\\035') | script -qfec "${process.execPath} ${CORRAL} lab exec --name ${LAB} ${other} -- sudo vm web console" /dev/null`], { timeoutMs: 30_000 });
    expect(tty.exitCode, tty.stdout).toBe(0);
    expect(tty.stdout).toContain(`Connected to web on ${at}`);
    expect(tty.stdout).toMatch(/corral-test-guest: tick \d+/);

    const [reset, sysrq, vnc, priority, nodecap] = await Promise.all([
      ok(other, 'vm', '*we*', 'reset', '--yes'),
      ok(at, 'vm', 'web', 'sysrq', 'h'),
      ok(other, 'vm', 'web', 'vnc'),
      ok(other, 'vm', 'web', 'priority', '5'),
      ok(other, 'nodecap', at),
    ]);
    expect(reset.out).toContain(`web: reset on ${at}`);
    expect(sysrq.out).toContain(`web: Alt+SysRq+h sent on ${at}`);
    expect(vnc.out).toMatch(new RegExp(`^web: VNC display :\\d+ on ${at} \\(port 59\\d\\d`));
    expect(priority.out).toContain('web: priority 5 (was 10)');
    expect(nodecap.out).toBe(`${at}: cpu 8, hv_memory 2048 (2 GiB)`);
    await ok(other, 'vm', 'web', 'migrate', other);
    expect((await ok(at, 'vm', 'web', 'where')).out).toBe(other);
    await ok(at, 'vm', 'web', 'clear');
    expect((await ok(other, 'vm', 'web', 'log')).out).toMatch(/vm\s+root: priority 5 ok/);
    const editor = path.join(lab.dir, 'vms', 'editor.sh');
    await writeFile(editor, '#!/bin/sh\nsed -i "s|<memory unit=\\"MiB\\">128<|<memory unit=\\"MiB\\">112<|" "$1"\n', { mode: 0o755 });
    expect((await ok(at, 'env', `EDITOR=${editor}`, 'vm', 'web', 'edit', '--yes')).out).toContain('memory 128 → 112 MiB');
    await ok('n1', 'domdel', '--force', 'web');
  }, 240_000);

  it('refuses bad input with exit code 2 and a message naming the command', async () => {
    const bad = await corral('lab', 'crash', '--name', LAB, 'n1;reboot');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^corral: NODE: /);
    expect((await corral('lab', 'up', '--name', LAB, '--nodes', '0')).code).toBe(2);
    expect((await corral('lab', 'up', '--name', 'Bad_Name')).code).toBe(2);
    expect((await corral('lab', 'up', '--subnet', '10.213.999', '--name', LAB)).code).toBe(2);
    const missing = await corral('lab', 'exec', '--name', LAB, 'n9', '--', 'true');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('has no node n9');
    const nolab = await corral('lab', 'status', '--name', 'nope');
    expect(nolab.code).toBe(1);
    expect(nolab.err).toContain('there is no lab nope');
  }, 60_000);

  it('crash: the surviving node fences the crashed one with the lab fence device, and it rejoins', async () => {
    const t0 = Date.now();
    const r = await corral('lab', 'crash', '--name', LAB, 'n2');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('n2 crashed');
    const lab = await loadClusterLab(LAB);
    const n1 = lab.nodes[0]!;
    let fenced;
    for (let i = 0; i < 240 && !fenced; i++) {
      fenced = (await fenceHistory('n2', nodeVia(n1, 10_000)).catch(() => [])).find((e) => e.status === 'success' && (e.completedMs ?? 0) >= t0 - 1000);
      if (!fenced) await sleep(250);
    }
    expect(fenced).toMatchObject({ action: 'reboot', target: 'n2', executioner: 'n1' });
    await waitClusterIdle(lab, { timeoutMs: 90_000 });
    const s = await corral('lab', 'status', '--name', LAB);
    expect(s.out).toContain('Online: [ n1 n2 ]');
    // Rebooted with its node-command service: corral hosts on n1 gets n2's kernel again.
    const hosts = await corral('lab', 'exec', '--name', LAB, 'n1', '--', 'corral', 'hosts', '--json');
    expect((JSON.parse(hosts.out) as { hosts: { name: string; kernel: string | null }[] }).hosts.find((h) => h.name === 'n2')?.kernel).toBe(release());
  }, 180_000);

  it('down removes the lab, a second down is a no-op, and up works again afterwards', async () => {
    const d = await corral('lab', 'down', '--name', LAB);
    expect(d).toMatchObject({ code: 0 });
    expect(d.out).toContain(`lab ${LAB} removed (3 network namespaces and its state directory)`);
    expect(labNetns(await netnsList())).toEqual([]);
    expect(existsSync(labDir(LAB))).toBe(false);
    expect((await corral('lab', 'down', '--name', LAB)).out).toContain(`lab ${LAB}: nothing to remove`);

    const up = await corral('lab', 'up', '--name', LAB, '--nodes', '2', '--subnet', SUBNET, '--no-packages', '--no-build');
    expect(up.code, up.err).toBe(0);
    expect((await corral('lab', 'status', '--name', LAB)).out).toContain('Online: [ n1 n2 ]');
    expect((await corral('lab', 'down', '--name', LAB)).code).toBe(0);
    expect(labNetns(await netnsList())).toEqual([]);
  }, 240_000);

  it('down cleans up a half-made lab (nodes without a cluster, as a failed up leaves them)', async () => {
    await createLab({ name: LAB, nodes: 2, subnet: SUBNET });
    const s = await corral('lab', 'status', '--name', LAB);
    expect(s.code).toBe(1);
    expect(s.out).toContain('power controller NOT RUNNING');
    const up = await corral('lab', 'up', '--name', LAB, '--nodes', '2', '--subnet', SUBNET, '--no-packages', '--no-build');
    expect(up.code).toBe(1);
    expect(up.err).toContain('lab down --name clit first');
    const d = await corral('lab', 'down', '--name', LAB);
    expect(d.code).toBe(0);
    expect(labNetns(await netnsList())).toEqual([]);
    expect(existsSync(labDir(LAB))).toBe(false);
  }, 120_000);
});
