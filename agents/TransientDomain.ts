// ocf:corral:TransientDomain — entry point. The steady-state monitor of a running domain and the
// stop of a domain that is not here are answered from /run and /proc alone (lib/vm/fast-path.ts on
// lib/host/agent-fs.ts); every other case loads lib/vm/agent on demand (in the executable Bun
// compiles, scripts/dev/compile-agent.ts, a second chunk that the fast paths never load).
import { fsHost } from '../lib/host/agent-fs.js';
import { fastPath } from '../lib/vm/fast-path.js';

const action = process.argv[2] ?? '';

if (fastPath(action, process.env, fsHost)) {
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
