// ocf:corral:TransientDomain — entry point. The steady-state monitor of a running domain and the
// stop of a domain that is not here are answered from /run and /proc alone; every other case
// loads lib/vm/agent on demand.
import { fastMonitor } from '../lib/vm/fast-monitor.js';
import { fastStop } from '../lib/vm/fast-stop.js';
import { bundledCore } from '../lib/ocf/bundled-core.js';

type Agent = typeof import('../lib/vm/agent.js');

const action = process.argv[2] ?? '';

// CORRAL_MONITOR_FULL=1 skips the fast paths (tests and debugging of the libvirt checks).
const full = Boolean(process.env.CORRAL_MONITOR_FULL);
if (!full && (action === 'monitor' || action === 'status') && fastMonitor(process.env)) {
  process.exit(0);
} else if (!full && action === 'stop' && fastStop(process.env)) {
  process.exit(0);
} else {
  bundledCore<Agent>()
    .then((core) => core ?? import('../lib/vm/agent.js'))
    .then((m) => m.runAction(action, process.env))
    .then(
      (code) => process.exit(code),
      (e: unknown) => {
        process.stderr.write(`ocf-exit-reason:internal error: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
}
