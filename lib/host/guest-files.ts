// The guest side of corral's startup signal (systemd/corral-startup-signal and its unit), as
// mk_debian_installer installs it into a new system. The build (scripts/dev/build.ts) puts both
// files into the bundle as __CORRAL_GUEST_FILES__, so an installed command needs no source tree;
// run from the sources (tsx, tests), they are read from systemd/.
import { readFile } from 'node:fs/promises';

declare const __CORRAL_GUEST_FILES__: { script: string; unit: string } | undefined;

export interface GuestFiles {
  /** /usr/lib/corral/corral-startup-signal (mode 755). */
  script: string;
  /** /etc/systemd/system/corral-startup-signal.service. */
  unit: string;
}

export async function startupSignalFiles(): Promise<GuestFiles> {
  if (typeof __CORRAL_GUEST_FILES__ === 'object' && __CORRAL_GUEST_FILES__) return __CORRAL_GUEST_FILES__;
  const dir = new URL('../../systemd/', import.meta.url);
  return {
    script: await readFile(new URL('corral-startup-signal', dir), 'utf8'),
    unit: await readFile(new URL('corral-startup-signal.service', dir), 'utf8'),
  };
}
