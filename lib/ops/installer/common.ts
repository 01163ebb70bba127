// What the parts of one mk_debian_installer run share: its options and result, the inputs the
// checks gathered, the disk's partitions, the post-install hook both modes run.
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ImagePlan, PlanInput } from '../../image/plan.js';
import { mkfsVfat, runHook, type Ctl } from '../../host/image-build.js';
import type { DiskInfo } from '../../host/disk.js';
import type { RbdAccess } from '../../host/ceph.js';

/** Where downloads and the prepared root file systems are kept between runs. */
export const CACHE_DIR = '/var/cache/corral/mk_debian_installer';

export interface MkOptions extends PlanInput {
  disk: string;
  force?: boolean;
  sshKey?: string;
  rootPasswordFile?: string;
  postInstall?: string;
  refreshCache?: boolean;
  /** rbd:POOL/IMAGE: who imports it (corral.conf's ceph_client and ceph_monitors). */
  rbd?: RbdAccess;
}

export interface MkResult {
  disk: string;
  mode: ImagePlan['mode'];
  /** The root file system came from the cache (no debootstrap). */
  cached: boolean;
  debootstrapSeconds?: number;
  seconds: number;
}

/** What a mode adds to the result (the run adds the disk, the mode and the time). */
export type ModeResult = Omit<MkResult, 'disk' | 'mode' | 'seconds'>;

export type Say = (line: string) => void;

/** What the checks gathered (phase 1), for the work (phase 2). */
export interface Inputs {
  plan: ImagePlan;
  disk: DiskInfo | undefined;
  sshKeys?: string;
  password?: string;
  diDir?: { linux: string; initrd: string };
}

export interface Partitions {
  loop: string;
  root?: string;
  esp?: string;
  /** installer mode: the one boot partition */
  boot?: string;
}

/** Makes a FAT file system on DEV with a random volume id; returns its UUID as fstab and GRUB write it. */
export async function mkfsVfatRandom(ctl: Ctl, dev: string, label: string): Promise<string> {
  const volid = randomBytes(4).toString('hex').toUpperCase();
  await mkfsVfat(ctl, dev, volid, label);
  return `${volid.slice(0, 4)}-${volid.slice(4)}`;
}

/** Runs --post-install's program with the new system at TARGET (both modes). */
export async function postInstall(ctl: Ctl, o: MkOptions, inputs: Inputs, target: string, p: Partitions): Promise<void> {
  const env: Record<string, string> = {
    TARGET: target,
    BLOCKDEV: p.loop,
    DISK: path.resolve(o.disk),
    DISK_COUNT: '1',
    DISK_0_PATH: path.resolve(o.disk),
    HOSTNAME: inputs.plan.hostname,
    SUITE: inputs.plan.suite,
    MK_DEBIAN_INSTALLER_MODE: inputs.plan.mode,
  };
  if (p.root) env.ROOT_DEV = p.root;
  if (p.esp) env.ESP_DEV = p.esp;
  if (p.boot) env.BOOT_DEV = p.boot;
  await runHook(ctl, path.resolve(o.postInstall as string), env);
}
