// Building corral from its source tree (`npm run build`), for `corral lab up` run from a checkout.
import { runOk } from './exec.js';

/** Runs `npm run build` in ROOT (bounded: 5 minutes); throws with npm's last lines on failure. */
export async function npmBuild(root: string): Promise<void> {
  await runOk('npm', ['run', '--silent', 'build'], { cwd: root, timeoutMs: 300_000 });
}
