// /dev/kvm as nothing set it up (crw------- root root), as on these machines: the agent's start
// warns with the fix, and the lab leaves it as Debian's udev rule would (root:kvm 0660). A device
// node of our own (mknod, the null device's numbers) stands in for /dev/kvm, and a group file of
// our own for /etc/group, so the host's /dev/kvm is never touched by the test.
import { chmod, chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../lib/host/exec.js';
import { fixKvmDevice, kvmDeviceProblem } from '../../lib/host/kvm-device.js';
import { requireRoot } from '../support/root.js';

const KVM_GID = 4242;
let dir = '';
let dev = '';
let groups = '';

describe('/dev/kvm not set up by udev', () => {
  beforeAll(async () => {
    requireRoot('the /dev/kvm suite', 'it makes a device node with mknod and changes its owner');
    dir = await mkdtemp(path.join(tmpdir(), 'corral-kvm-'));
    dev = path.join(dir, 'kvm');
    groups = path.join(dir, 'group');
    await writeFile(groups, `root:x:0:\nkvm:x:${KVM_GID}:libvirt-qemu\n`);
    const r = await run('mknod', [dev, 'c', '1', '3'], { timeoutMs: 10_000 });
    if (r.exitCode !== 0) throw new Error(`mknod: ${r.stderr}`);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('root-only (crw------- root root): a problem, said with the fix', async () => {
    await chown(dev, 0, 0);
    await chmod(dev, 0o600);
    const p = kvmDeviceProblem(dev, groups);
    expect(p).toContain(`${dev} is crw------- uid 0 gid 0`);
    expect(p).toContain(`chgrp kvm ${dev}; chmod 0660 ${dev}`);
  });

  it('group kvm may read and write it: no problem; a host without /dev/kvm: nothing to say', async () => {
    await chown(dev, 0, KVM_GID);
    await chmod(dev, 0o660);
    expect(kvmDeviceProblem(dev, groups)).toBeUndefined();
    expect(kvmDeviceProblem(path.join(dir, 'nosuch'), groups)).toBeUndefined();
  });

  it('group kvm but 0600, or 0660 but another group: still a problem', async () => {
    await chown(dev, 0, KVM_GID);
    await chmod(dev, 0o600);
    expect(kvmDeviceProblem(dev, groups)).toMatch(/crw------- uid 0 gid kvm/);
    await chown(dev, 0, 0);
    await chmod(dev, 0o660);
    expect(kvmDeviceProblem(dev, groups)).toMatch(/crw-rw---- uid 0 gid 0/);
  });

  it('the lab\'s fix leaves it root:kvm 0660, as udev would, and then there is no problem', async () => {
    await chown(dev, 0, 0);
    await chmod(dev, 0o600);
    expect(fixKvmDevice(dev, groups)).toMatch(/made it root:kvm 0660/);
    const st = await stat(dev);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, KVM_GID, 0o660]);
    expect(kvmDeviceProblem(dev, groups)).toBeUndefined();
    expect(fixKvmDevice(dev, groups)).toBeUndefined();
  });

  it('this host, as .ci/run leaves it: a /dev/kvm, if there is one, is usable by libvirt\'s QEMU', () => {
    expect(kvmDeviceProblem()).toBeUndefined();
  });
});
