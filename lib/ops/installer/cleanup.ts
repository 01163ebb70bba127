// The cleanup transaction of one mk_debian_installer run: every mount, loop device and guard the
// work sets up is registered with its undo, run newest first on success, on failure and on
// SIGINT/SIGTERM; a step the work undid itself is dropped.
import { copyFile, lstat, mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mount, umount, type Ctl } from '../../host/image-build.js';

export /** The cleanup of one run: undo steps, last registered first. */
class Cleanup {
  private steps: { what: string; undo: () => Promise<void> }[] = [];
  add(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }
  /** Runs every step, newest first; returns what failed. */
  async run(): Promise<string[]> {
    const problems: string[] = [];
    while (this.steps.length) {
      const s = this.steps.pop()!;
      try {
        await s.undo();
      } catch (e) {
        problems.push(`${s.what}: ${(e as Error).message}`);
      }
    }
    return problems;
  }
  /** Forgets a step (it was undone by the normal course of work). */
  drop(what: string): void {
    this.steps = this.steps.filter((s) => s.what !== what);
  }
}

/** Removes DIR and the empty directories below it (mount points); a file there is an error, never deleted. */
export async function removeEmptyDirs(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) throw new Error(`${path.join(dir, e.name)} is left (not a directory)`);
    await removeEmptyDirs(path.join(dir, e.name));
  }
  await rmdir(dir);
}

export async function mountAt(ctl: Ctl, cleanup: Cleanup, args: readonly string[], target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  await mount(ctl, [...args, target]);
  cleanup.add(`mount ${target}`, () => umount(target));
}

/** /proc, /sys, /dev and /dev/pts in the new system, for programs run in it. */
export async function mountChrootFs(ctl: Ctl, cleanup: Cleanup, root: string): Promise<() => Promise<void>> {
  const targets: string[] = [];
  const add = async (args: string[], t: string) => {
    await mountAt(ctl, cleanup, args, path.join(root, t));
    targets.push(path.join(root, t));
  };
  await add(['-t', 'proc', 'proc'], 'proc');
  await add(['-t', 'sysfs', 'sysfs'], 'sys');
  await add(['--bind', '/dev'], 'dev');
  await add(['--bind', '/dev/pts'], 'dev/pts');
  return async () => {
    for (const t of targets.reverse()) {
      await umount(t);
      cleanup.drop(`mount ${t}`);
    }
  };
}

/**
 * While programs run inside ROOT: no service starts (policy-rc.d) and names resolve through the
 * host's resolv.conf. Returns the undo.
 */
export async function chrootGuards(root: string): Promise<() => Promise<void>> {
  const policy = path.join(root, 'usr/sbin/policy-rc.d');
  await writeFile(policy, '#!/bin/sh\n# mk_debian_installer: no service starts while the system is being built\nexit 101\n', { mode: 0o755 });
  const resolv = path.join(root, 'etc/resolv.conf');
  const saved = `${resolv}.mk_debian_installer`;
  const st = await lstat(resolv).catch(() => undefined);
  if (st) await rename(resolv, saved);
  await copyFile('/etc/resolv.conf', resolv).catch(() => writeFile(resolv, ''));
  return async () => {
    await rm(policy, { force: true });
    await rm(resolv, { force: true });
    if (st) await rename(saved, resolv);
  };
}
