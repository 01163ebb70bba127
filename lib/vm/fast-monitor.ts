// The steady-state monitor: a running domain is proven by libvirt's pid file and the live qemu
// process it names (checked against the domain's name and uuid). No program is started and no
// library is loaded. Anything short of that proof falls through to the full monitor, which asks
// libvirt; this path never reports "not running".
import { configText, quickIdentity } from './config.js';
import { pidfileProcess } from './procs.js';

export function fastMonitor(env: NodeJS.ProcessEnv): boolean {
  try {
    const uri = env.OCF_RESKEY_hypervisor;
    if (uri && uri !== 'qemu:///system') return false;
    const xml = configText(env.OCF_RESKEY_config);
    const id = xml ? quickIdentity(xml) : undefined;
    return id !== undefined && pidfileProcess(id) !== undefined;
  } catch {
    return false; // the full monitor decides
  }
}
