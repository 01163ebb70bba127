// mk_debian_installer's work: from an empty disk (a block device or an image file) to a Debian
// system that boots on the serial console and tells corral when it is up (debootstrap mode), or
// to a disk whose first boot installs Debian by itself (installer mode, --di DIR).
//
// Ganeti's phases: check everything first (the plan, the files, the disk: free, empty unless
// --force, big enough, not a VM's disk in the cluster) and change nothing until all passed; then
// act, every mount and loop device registered for cleanup, which runs on success, on failure and
// on SIGINT/SIGTERM (the running program and its children are ended first).
//
// The parts: installer/check.ts (phase 1), installer/cleanup.ts (the cleanup transaction),
// installer/debootstrap.ts and installer/installer-mode.ts (the two modes), installer/grub.ts,
// installer/common.ts (what they share), installer/rbd.ts (an RBD image: built as a file, imported).
import { open, mkdtemp, rm } from 'node:fs/promises';
import { CorralError } from '../errors.js';
import { partitionTable } from '../image/text.js';
import { HostCommandCancelled } from '../host/exec.js';
import { attachLoop, detachLoop, loopPartitions, mountsUnder, umount, wipeSignatures, writePartitionTable, type Ctl } from '../host/image-build.js';
import { check } from './installer/check.js';
import { Cleanup, removeEmptyDirs } from './installer/cleanup.js';
import type { Inputs, MkOptions, MkResult, ModeResult, Partitions, Say } from './installer/common.js';
import { debootstrapMode } from './installer/debootstrap.js';
import { installerMode } from './installer/installer-mode.js';
import { mkOnRbd, rbdTarget } from './installer/rbd.js';

export { CACHE_DIR } from './installer/common.js';

class Interrupted extends CorralError {
  readonly kind = 'failed';
}

/** Runs the work under a cleanup that also runs on SIGINT/SIGTERM; rbd:POOL/IMAGE through a file (installer/rbd.ts). */
export async function mkDebianInstaller(o: MkOptions, say: Say): Promise<MkResult> {
  const rbd = rbdTarget(o.disk);
  return rbd ? mkOnRbd(o, rbd, o.rbd ?? {}, say, onDisk) : onDisk(o, say);
}

/** The work on a block device or an image file. */
async function onDisk(o: MkOptions, say: Say): Promise<MkResult> {
  const started = Date.now();
  const inputs = await check(o);
  say(`${inputs.plan.mode} mode: Debian ${inputs.plan.suite} from ${inputs.plan.mirror}${o.mirror === undefined ? " (this host's apt sources)" : ''}, host name ${inputs.plan.hostname}`);
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!signalled) say(`${sig}: stopping, then removing mounts and loop devices`);
    signalled = sig;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const cleanup = new Cleanup();
  const ctl: Ctl = { cancel: controller.signal };
  let createdFile = false;
  let done = false;
  try {
    const r = await act(o, inputs, ctl, cleanup, say, () => {
      createdFile = true;
    });
    // A signal during the last step, whose commands finished anyway: it said it was stopping, so
    // it stops — cleaned up and the image it made removed — rather than report the run done.
    if (signalled) throw new Error(`interrupted by ${signalled}`);
    done = true;
    const problems = await cleanup.run();
    if (problems.length) throw new Error(`${o.disk} is written, but cleaning up failed: ${problems.join('; ')}`);
    // The same for a signal during the final cleanup: nothing is mounted or attached any more.
    if (signalled) {
      if (createdFile) await rm(o.disk, { force: true }).catch(() => undefined);
      throw new Interrupted(`interrupted by ${signalled}; ${createdFile ? `${o.disk} removed again` : `${o.disk} is written but was not reported done`}; mounts and loop devices removed`);
    }
    return { ...r, disk: o.disk, mode: inputs.plan.mode, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    if (done) throw e;
    const problems = await cleanup.run();
    if (createdFile) await rm(o.disk, { force: true }).catch(() => undefined);
    const left = createdFile ? `${o.disk} removed again` : `${o.disk} is left partly written`;
    const tail = problems.length ? `; cleanup problems: ${problems.join('; ')}` : '; mounts and loop devices removed';
    if (signalled || e instanceof HostCommandCancelled || controller.signal.aborted) throw new Interrupted(`interrupted by ${signalled ?? 'a signal'}; ${left}${tail}`);
    throw new (class extends CorralError {
      readonly kind = e instanceof CorralError ? e.kind : ('failed' as const);
    })(`${(e as Error).message}; ${left}${tail}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}
async function act(o: MkOptions, inputs: Inputs, ctl: Ctl, cleanup: Cleanup, say: Say, created: () => void): Promise<ModeResult> {
  const { plan } = inputs;
  // The disk: an image file is created (sparse) or sized.
  if (!inputs.disk) {
    const h = await open(o.disk, 'wx', 0o600);
    created();
    await h.truncate((plan.sizeMiB as number) * 1024 * 1024);
    await h.close();
    say(`created ${o.disk} (${plan.sizeMiB} MiB, sparse)`);
  } else if (inputs.disk.kind === 'file' && plan.sizeMiB !== undefined && inputs.disk.sizeBytes < plan.sizeMiB * 1024 * 1024) {
    const h = await open(o.disk, 'r+');
    await h.truncate(plan.sizeMiB * 1024 * 1024);
    await h.close();
    say(`grew ${o.disk} to ${plan.sizeMiB} MiB`);
  }
  const work = await mkdtemp('/run/mk_debian_installer.');
  cleanup.add('work directory', async () => {
    // Never walk into a file system still mounted there (an unmount that failed): its empty
    // directories are not ours to remove.
    const left = await mountsUnder(work);
    if (left.length) throw new Error(`${work} is left: ${left.join(', ')} still mounted`);
    await removeEmptyDirs(work);
  });
  const loop = await attachLoop(ctl, o.disk);
  cleanup.add('loop device', () => detachLoop(loop));
  // A safety net under everything: whatever is still mounted below the work directory.
  cleanup.add('mounts', async () => {
    for (const m of await mountsUnder(work)) await umount(m);
  });
  say(`attached ${o.disk} to ${loop}`);
  await wipeSignatures(ctl, loop);
  await writePartitionTable(ctl, loop, partitionTable(plan.boot, plan.mode));
  say(`partitioned ${o.disk}: ${plan.boot === 'uefi' ? 'GPT with an EFI system partition' : 'msdos (BIOS)'}`);
  if (plan.mode === 'installer') {
    const [boot] = await loopPartitions(ctl, loop, 1);
    return installerMode(o, inputs, ctl, cleanup, say, work, { loop, boot: boot as string });
  }
  const parts = await loopPartitions(ctl, loop, plan.boot === 'uefi' ? 2 : 1);
  const p: Partitions = plan.boot === 'uefi' ? { loop, esp: parts[0] as string, root: parts[1] as string } : { loop, root: parts[0] as string };
  return debootstrapMode(o, inputs, ctl, cleanup, say, work, p);
}
