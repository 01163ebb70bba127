// ocf:corral:TransientDomain — entry point. The steady-state monitor of a running domain is
// answered from /run and /proc alone; every other action loads lib/vm/agent on demand.
import { fastMonitor } from '../lib/vm/fast-monitor.js';
import { bundledCore } from '../lib/ocf/bundled-core.js';

type Agent = typeof import('../lib/vm/agent.js');

const action = process.argv[2] ?? '';

// CORRAL_MONITOR_FULL=1 skips the fast path (tests and debugging of the libvirt check).
if ((action === 'monitor' || action === 'status') && !process.env.CORRAL_MONITOR_FULL && fastMonitor(process.env)) {
  process.exit(0);
} else {
  Promise.resolve(bundledCore<Agent>() ?? import('../lib/vm/agent.js'))
    .then((m) => m.runAction(action, process.env))
    .then(
      (code) => process.exit(code),
      (e: unknown) => {
        process.stderr.write(`ocf-exit-reason:internal error: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
}
