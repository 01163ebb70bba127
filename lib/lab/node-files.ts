// A lab node's own files on the host (STATE/L/nodes/A/fs/…), made before the node first starts:
// the directories bind-mounted over the node's /etc/corosync, /etc/libvirt, /var/lib/pacemaker …,
// libvirt's configuration for a node (host_uuid, TCP without auth, no namespaces or cgroups), and
// its /etc/hosts. See state.ts for the whole layout.
import { chmod, chown, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { copyTree } from '../host/mounts.js';
import { exists, type Lab, type LabNode } from './state.js';

/** The node's qemu capability cache, under its fs/. */
export const NODE_CAPS = 'var/cache/libvirt/qemu/capabilities';

/** Host directories that each node gets its own copy of (bind mounts, in this order). */
export const NODE_BIND_DIRS = [
  '/etc/corosync',
  '/etc/libvirt',
  '/etc/corral',
  '/var/lib/pacemaker',
  '/var/lib/corosync',
  '/var/lib/libvirt',
  '/var/cache/libvirt',
  '/var/log',
] as const;

export function hostsFile(lab: Lab): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const n of lab.nodes) lines.push(`${n.address}\t${n.name}`);
  return `${lines.join('\n')}\n`;
}

/** Creates DST with the mode and owner of SRC (or MODE, root) — an empty copy of a directory. */
async function mirrorDir(src: string, dst: string, fallbackMode = 0o755): Promise<void> {
  await mkdir(dst, { recursive: true });
  try {
    const s = await stat(src);
    await chmod(dst, s.mode & 0o7777);
    await chown(dst, s.uid, s.gid);
  } catch {
    await chmod(dst, fallbackMode);
  }
}

/** Sets KEY = VALUE lines in a libvirt-style config text, dropping earlier active settings. */
function setConfKeys(text: string, entries: Record<string, string>): string {
  const keys = new Set(Object.keys(entries));
  const out: string[] = [];
  let skipping = false;
  for (const line of text.split('\n')) {
    if (skipping) {
      if (line.includes(']')) skipping = false;
      continue;
    }
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (m && keys.has(m[1] ?? '')) {
      const rest = m[2] ?? '';
      if (rest.includes('[') && !rest.includes(']')) skipping = true;
      continue;
    }
    out.push(line);
  }
  out.push('', '# corral lab node', ...Object.entries(entries).map(([k, v]) => `${k} = ${v}`), '');
  return out.join('\n');
}

export async function prepareNodeFiles(node: LabNode, hosts: string): Promise<void> {
  const fs = path.join(node.dir, 'fs');
  await mkdir(node.dir, { recursive: true, mode: 0o755 });
  await mkdir(path.join(fs, 'etc'), { recursive: true, mode: 0o755 });
  await mkdir(path.join(fs, 'var/lib'), { recursive: true, mode: 0o755 });
  await mkdir(path.join(fs, 'var/cache'), { recursive: true, mode: 0o755 });

  // /etc/corosync: the packaged configuration, rewritten per node later.
  if (await exists('/etc/corosync')) await copyTree('/etc/corosync', path.join(fs, 'etc/corosync'));
  else await mkdir(path.join(fs, 'etc/corosync'), { mode: 0o755 });

  // /etc/libvirt: the host's configuration without persistent objects, plus the node's settings.
  const etcLibvirt = path.join(fs, 'etc/libvirt');
  await copyTree('/etc/libvirt', etcLibvirt);
  for (const p of ['qemu/autostart', 'qemu/networks/autostart', 'storage', 'secrets', 'nodedev']) {
    await rm(path.join(etcLibvirt, p), { recursive: true, force: true });
  }
  await mkdir(path.join(etcLibvirt, 'qemu/networks/autostart'), { recursive: true, mode: 0o755 });
  for (const f of await readdir(path.join(etcLibvirt, 'qemu')).catch(() => [] as string[])) {
    if (f.endsWith('.xml')) await rm(path.join(etcLibvirt, 'qemu', f), { force: true });
  }
  const libvirtdConf = path.join(etcLibvirt, 'libvirtd.conf');
  const lconf = await readFile(libvirtdConf, 'utf8').catch(() => '');
  await writeFile(
    libvirtdConf,
    setConfKeys(lconf, { listen_tcp: '1', listen_tls: '0', auth_tcp: '"none"', host_uuid: `"${node.hostUuid}"` }),
  );
  const qemuConf = path.join(etcLibvirt, 'qemu.conf');
  const qconf = await readFile(qemuConf, 'utf8').catch(() => '');
  await writeFile(qemuConf, setConfKeys(qconf, { namespaces: '[ ]', cgroup_controllers: '[ ]' }), { mode: 0o600 });

  // /etc/corral: the node's own settings for corral's commands (boot.ts writes corral.conf). The
  // host's /etc/corral, if any, stays hidden from the node; where there is none, an empty one is
  // made as the mount point (a bind mount needs one) and left there.
  await mkdir(path.join(fs, 'etc/corral'), { recursive: true, mode: 0o755 });

  // /var/lib/*: empty directories with the host's owners and modes.
  await mirrorDir('/var/lib/pacemaker', path.join(fs, 'var/lib/pacemaker'), 0o750);
  for (const sub of await readdir('/var/lib/pacemaker', { withFileTypes: true }).catch(() => [])) {
    if (sub.isDirectory()) await mirrorDir(path.join('/var/lib/pacemaker', sub.name), path.join(fs, 'var/lib/pacemaker', sub.name), 0o750);
  }
  await mirrorDir('/var/lib/corosync', path.join(fs, 'var/lib/corosync'));
  await mirrorDir('/var/lib/libvirt', path.join(fs, 'var/lib/libvirt'));
  await mirrorDir('/var/cache/libvirt', path.join(fs, 'var/cache/libvirt'), 0o711);
  await mirrorDir('/var/cache/libvirt/qemu', path.join(fs, 'var/cache/libvirt/qemu'), 0o711);
  await mkdir(path.join(fs, NODE_CAPS), { recursive: true, mode: 0o755 });

  // /var/log with the directories the node's daemons expect.
  await mirrorDir('/var/log', path.join(fs, 'var/log'));
  for (const d of ['libvirt', 'libvirt/qemu', 'pacemaker', 'corosync', 'crmsh']) {
    await mirrorDir(path.join('/var/log', d), path.join(fs, 'var/log', d));
  }

  await writeFile(path.join(fs, 'etc/hosts'), hosts, { mode: 0o644 });
  await writeFile(path.join(node.dir, 'kvm-mask'), '', { mode: 0o600 });
}
