// ocf:corral:TransientDomain — entry point. The steady-state monitor of a running domain is
// answered from /run and /proc alone; everything else loads lib/vm/agent lazily.
import { fastMonitor } from '../lib/vm/fast-monitor.js';

const action = process.argv[2] ?? '';

if ((action === 'monitor' || action === 'status') && fastMonitor(process.env)) {
  process.exit(0);
} else {
  import('../lib/vm/agent.js')
    .then((m) => m.runAction(action, process.env))
    .then(
      (code) => process.exit(code),
      (e: unknown) => {
        process.stderr.write(`ocf-exit-reason:internal error: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
}
