// vm NAME edit on a CIB file (CIB_file; Pacemaker's own tools apply the change): the edit is
// checked, written back as one change, and refused when someone changed the VM meanwhile.
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { Cib } from '../../lib/cib/model.js';
import { run } from '../../lib/host/exec.js';
import { requireRoot } from '../support/root.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const VM = path.join(ROOT, 'dist/bin/vm');
let dir = '';
let cib = '';

async function editor(script: string): Promise<string> {
  const f = path.join(dir, `editor-${Math.random().toString(36).slice(2)}`);
  await writeFile(f, `#!/bin/sh\n${script}\n`);
  await chmod(f, 0o755);
  return f;
}

function vm(args: string[], editorPath: string) {
  return run(process.execPath, [VM, ...args], { env: { CIB_file: cib, EDITOR: editorPath, VISUAL: undefined, CORRAL_ETC: dir, SUDO_USER: undefined }, timeoutMs: 60_000 });
}

/**
 * vm as sudo starts it for the user nobody: SUDO_* set, the access file granting edit, and the
 * program sudo ran (D/vm) next to CORRAL_ETC (D/etc), all root's, so vm honours both overrides.
 */
function vmAsNobody(args: string[], editorPath: string) {
  // What a sudoers rule without SETENV or env_keep leaves: none of node's or the linker's variables.
  const unset = Object.fromEntries(Object.keys(process.env).filter((k) => /^(NODE_|LD_)/.test(k)).map((k) => [k, undefined]));
  return run(process.execPath, [VM, ...args], {
    env: {
      ...unset,
      CIB_file: cib,
      EDITOR: editorPath,
      VISUAL: undefined,
      CORRAL_ETC: path.join(dir, 'etc'),
      SUDO_USER: 'nobody',
      SUDO_UID: '65534',
      SUDO_GID: '65534',
      SUDO_COMMAND: `${path.join(dir, 'vm')} ${args.join(' ')}`,
    },
    timeoutMs: 60_000,
  });
}

async function config(name: string): Promise<string> {
  return Cib.parse(await readFile(cib, 'utf8')).resource(`vm-${name}`)?.params.config ?? '';
}

describe('vm NAME edit', () => {
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'corral-edit-'));
    cib = path.join(dir, 'cib.xml');
    await copyFile(path.join(ROOT, 'test/fixtures/recorded/steady/cib.xml'), cib);
    await writeFile(path.join(dir, 'corral.conf'), `audit_log = ${dir}/vm.log\n`);
  });

  it('writes a valid edit back, with the utilization that follows from it', async () => {
    const r = await vm(['web1', 'edit', '--yes'], await editor(`sed -i 's#<vcpu>1</vcpu>#<vcpu>2</vcpu>#' "$1"`));
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^web1: domain XML written back; vCPUs 1 → 2; Pacemaker restarts web1 to apply it/);
    expect(await config('web1')).toMatch(/<vcpu>2<\/vcpu>/);
    expect(Cib.parse(await readFile(cib, 'utf8')).resource('vm-web1')?.utilization.cpu).toBe('2');
    expect(await readFile(path.join(dir, 'vm.log'), 'utf8')).toMatch(/user=root action=edit vm=web1 .*result=ok/);
  });

  it('leaves the CIB alone when the editor changed nothing', async () => {
    const before = await readFile(cib, 'utf8');
    const r = await vm(['web1', 'edit', '--yes'], await editor('true'));
    expect(r.stdout).toBe('web1: no change');
    expect(await readFile(cib, 'utf8')).toBe(before);
  });

  it('refuses an edit of the same VM made meanwhile by someone else, and keeps the user\'s edit', async () => {
    const original = await config('web1');
    // The "editor" changes the file, and meanwhile another admin changes the VM in the CIB.
    const other = original.replace('<memory unit="MiB">128</memory>', '<memory unit="MiB">200</memory>');
    const theirs = path.join(dir, 'theirs.xml');
    await writeFile(theirs, other);
    const e = await editor(
      `sed -i 's#<vcpu>1</vcpu>#<vcpu>3</vcpu>#' "$1"\n` +
        `CIB_file=${cib} crm_resource --resource vm-web1 --set-parameter config --parameter-value "$(cat ${theirs})" >/dev/null`,
    );
    const r = await vm(['web1', 'edit', '--yes'], e);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/vm: web1: web1 was changed by someone else while you edited it; nothing changed; your edit is in (\S+\.xml)/);
    const kept = /your edit is in (\S+\.xml)/.exec(r.stderr)?.[1] as string;
    expect(await readFile(kept, 'utf8')).toMatch(/<vcpu>3<\/vcpu>/);
    expect(await config('web1')).toBe(other);
  });

  it.each([
    ['a broken XML', `sed -i 's#</domain>##' "$1"`, /not well-formed/],
    ['a new name', `sed -i 's#<name>web1</name>#<name>web9</name>#' "$1"`, /it must stay web1/],
    ['a lost uuid', `sed -i '/<uuid>/d' "$1"`, /stable identity/],
    ['what libvirt refuses', `sed -i 's#<vcpu>1</vcpu>#<vcpu>1</vcpu><bogus/>#' "$1"`, /libvirt's schema refuses it/],
  ])('refuses %s (exit 2), changes nothing, keeps the edit', async (_what, script, why) => {
    const before = await readFile(cib, 'utf8');
    const r = await vm(['web1', 'edit', '--yes'], await editor(script));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toMatch(/nothing changed; your edit is in \S+\.xml/);
    expect(await readFile(cib, 'utf8')).toBe(before);
  });

  describe('by a caller who is not root (through sudo)', () => {
    beforeEach(async () => {
      requireRoot('vm edit as a sudo user', 'vm runs the editor as that user');
      await chmod(dir, 0o755);
      await mkdir(path.join(dir, 'etc'), { mode: 0o755 });
      await writeFile(path.join(dir, 'etc/corral.conf'), `audit_log = ${dir}/vm.log\n`, { mode: 0o644 });
      await writeFile(path.join(dir, 'etc/access'), 'nobody  edit  web1\n', { mode: 0o644 });
      await writeFile(path.join(dir, 'vm'), '#!/bin/sh\n', { mode: 0o755 });
    });

    it('may change what the allow list names (vCPUs, memory)', async () => {
      const r = await vmAsNobody(['web1', 'edit', '--yes'], await editor(`sed -i -e 's#<vcpu>1</vcpu>#<vcpu>2</vcpu>#' -e 's#>128</memory>#>192</memory>#' "$1"`));
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^web1: domain XML written back; vCPUs 1 → 2, memory 128 → 192 MiB/);
      expect(await config('web1')).toMatch(/<vcpu>2<\/vcpu>/);
      expect(await readFile(path.join(dir, 'vm.log'), 'utf8')).toMatch(/user=nobody action=edit vm=web1 .*result=ok/);
    });

    it.each([
      ['a block disk on /dev/sda', `sed -i 's#</devices>#<disk type="block" device="disk"><source dev="/dev/sda"/><target dev="vdb" bus="virtio"/></disk></devices>#' "$1"`, /refused: devices\/disk: added(;|$| \/ nothing changed)/],
      ['the serial console log pointed at another file', `sed -i 's#/var/log/corral/console/web1.log#/etc/shadow#' "$1"`, /refused: devices\/serial\/log: changed \(file\)(;|$| \/ nothing changed)/],
      ['a kernel of their own', `sed -i 's#<kernel>[^<]*</kernel>#<kernel>/tmp/vmlinuz</kernel>#' "$1"`, /refused: os\/kernel: changed \(its text\)(;|$| \/ nothing changed)/],
    ])('is refused %s (exit 2), the CIB unchanged, the line naming the element', async (_what, script, line) => {
      const before = await readFile(cib, 'utf8');
      const r = await vmAsNobody(['web1', 'edit', '--yes'], await editor(script));
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/nobody is not root: edit changes only memory, vCPUs/);
      expect(r.stderr).toMatch(line);
      expect(r.stderr).toMatch(/nothing changed; your edit is in \S+\.xml/);
      expect(await readFile(cib, 'utf8')).toBe(before);
    });
  });

  it('without --yes and without a terminal it says what it would do and writes nothing', async () => {
    const before = await readFile(cib, 'utf8');
    const r = await vm(['web1', 'edit'], await editor(`sed -i 's#<vcpu>1</vcpu>#<vcpu>2</vcpu>#' "$1"`));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/vCPUs 1 → 2; Pacemaker restarts web1 to apply it.*: add --yes to write it back/);
    expect(await readFile(cib, 'utf8')).toBe(before);
  });
});
