// The common stop: the domain is not on this node at all (it migrated away, or the resource was
// stopped already). That is proven without libvirt's API, which costs a program and a library:
// libvirt keeps no live state of it in /run/libvirt/qemu, no create of it is in flight (the
// create lock is not held, per /proc/locks), and no process on the node names the domain, whatever
// its program. Anything short of that proof falls through to the full stop.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { quickIdentity, readConfig } from './config.js';
import { anyProcessNaming } from './procs.js';
import { paths } from './state.js';

const LIBVIRT_RUN = '/run/libvirt/qemu';

/** True when some process holds a lock on FILE (conservatively: on any file with its inode). */
function lockHeld(file: string): boolean {
  let ino: number;
  try {
    ino = statSync(file).ino;
  } catch {
    return false; // no lock file: no create ever ran here since boot
  }
  const locks = readFileSync('/proc/locks', 'latin1');
  return locks.split('\n').some((l) => l.split(/\s+/).some((f) => f.endsWith(`:${ino}`)));
}

export function fastStop(env: NodeJS.ProcessEnv): boolean {
  try {
    return provenGone(env);
  } catch {
    return false; // anything unexpected: the full stop decides, with an exit reason if it fails
  }
}

function provenGone(env: NodeJS.ProcessEnv): boolean {
  const uri = env.OCF_RESKEY_hypervisor;
  if (uri && uri !== 'qemu:///system') return false;
  const config = readConfig(env.OCF_RESKEY_config);
  const id = config.ok ? quickIdentity(config.xml) : undefined;
  if (!id) return false;
  if (existsSync(`${LIBVIRT_RUN}/${id.name}.xml`) || existsSync(`${LIBVIRT_RUN}/${id.name}.pid`)) return false;
  if (lockHeld(paths.lock(id.name))) return false;
  if (anyProcessNaming(id.name)) return false;
  if (env.OCF_RESOURCE_INSTANCE) rmSync(paths.state(env.OCF_RESOURCE_INSTANCE), { force: true });
  rmSync(paths.xml(id.name), { force: true });
  return true;
}
