// The installer's figures of npm run bench (BENCH_ONLY=installer): from an empty disk to a VM that
// Pacemaker counts as started, the two parts apart, on the installer's 2-node lab
// (test/support/installer-lab.ts):
//   1. mk_debian_installer on an empty 3 GiB block device: from the cached root file system (the
//      usual case), and with BENCH_INSTALLER_COLD=1 first once with --refresh-cache (debootstrap
//      and the packages: the first run on a machine);
//   2. domadd to "Started": qemu under TCG boots Debian, systemd reaches multi-user.target, the
//      startup-signal unit signals, the agent's start returns (and that start operation's own time).
import { createClusterLab, destroyClusterLab } from '../../lib/lab/cluster.js';
import type { LabNode } from '../../lib/lab/state.js';
import { mkdi } from '../support/debian-installer.js';
import { addDiskVm, copyInstBuild, INST_DIR, INST_LAB, lastStart, makeBlockDevice, removeBlockDevice, waitFor, where } from '../support/installer-lab.js';

export async function runInstallerBench(): Promise<{ ok: boolean }> {
  const image = `${INST_DIR}/bench.img`;
  let disk = '';
  await copyInstBuild();
  const rows: [string, string][] = [];
  try {
    disk = await makeBlockDevice(image, '3g');
    if (process.env.BENCH_INSTALLER_COLD === '1') {
      const t = Date.now();
      const r = await mkdi(['--refresh-cache', '--hostname', 'bench', disk]);
      if (r.code !== 0) throw new Error(`mk_debian_installer --refresh-cache: ${r.stderr}`);
      rows.push(['mk_debian_installer, cold (debootstrap + packages)', `${((Date.now() - t) / 1000).toFixed(1)} s (debootstrap and packages ${/debootstrap and packages (\d+) s/.exec(r.stdout)?.[1]} s)`]);
    }
    const t = Date.now();
    const r = await mkdi(['--force', '--hostname', 'bench', disk]);
    if (r.code !== 0) throw new Error(`mk_debian_installer: ${r.stderr}`);
    rows.push([`mk_debian_installer, ${/from the cache/.test(r.stdout) ? 'cached root' : 'cold'}`, `${((Date.now() - t) / 1000).toFixed(1)} s`]);

    await destroyClusterLab(INST_LAB.name).catch(() => undefined);
    const lab = await createClusterLab({ name: INST_LAB.name, nodes: 2, subnet: INST_LAB.subnet, timeoutMs: 300_000 });
    try {
      const n1 = lab.nodes[0] as LabNode;
      const t2 = Date.now();
      await addDiskVm(n1, 'bench', disk);
      await waitFor('vm-bench Started', async () => (await where(lab, 'bench'))?.role === 'Started', 600_000);
      rows.push(['domadd to Started (first boot under TCG to the startup signal)', `${((Date.now() - t2) / 1000).toFixed(1)} s`]);
      const start = await lastStart(n1, 'bench');
      rows.push(['  of which the agent start operation', `${((start?.execMs ?? Number.NaN) / 1000).toFixed(1)} s`]);
    } finally {
      await destroyClusterLab(INST_LAB.name);
    }
  } finally {
    await removeBlockDevice(disk, image);
  }
  console.log('\nempty disk to ready (mk_debian_installer, lab inst, TCG)');
  for (const [k, v] of rows) console.log(`  ${k.padEnd(66)} ${v}`);
  return { ok: true };
}
