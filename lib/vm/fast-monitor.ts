// The steady-state monitor: a running domain is proven by libvirt's pid file and the live qemu
// process it names (checked against the domain's name and uuid). No program is started and no
// library is loaded. Anything short of that proof falls through to the full monitor, which asks
// libvirt; this path never reports "not running".
import { quickIdentity, readConfig } from './config.js';
import { pidfileProcess } from './procs.js';

export function fastMonitor(env: NodeJS.ProcessEnv): boolean {
  try {
    const uri = env.OCF_RESKEY_hypervisor;
    if (uri && uri !== 'qemu:///system') return false;
    // A config file is opened, checked with fstat and read (bounded); one that is not a regular
    // file of at most 1 MiB is never read, and the full monitor says why.
    const config = readConfig(env.OCF_RESKEY_config);
    const id = config.ok ? quickIdentity(config.xml) : undefined;
    return id !== undefined && pidfileProcess(id) !== undefined;
  } catch {
    return false; // the full monitor decides
  }
}
