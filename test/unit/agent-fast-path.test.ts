// The agent's fast paths (the steady-state monitor, the stop of a domain that is not here) run on
// every monitor of every VM: what the entry bundles besides the lazily loaded core must stay a few
// node:fs-only files. The host port's real side must not pull virsh, execa or an XML parser in.
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

describe('the agent entry, without its core', () => {
  it('bundles only the fast paths and the half of the real host that needs node:fs', async () => {
    const r = await build({
      absWorkingDir: ROOT,
      entryPoints: ['agents/TransientDomain.ts'],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [
        {
          name: 'core-is-lazy',
          setup: (b) => b.onResolve({ filter: /\/lib\/vm\/agent\.js$/ }, (a) => ({ path: a.path, external: true })),
        },
      ],
    });
    expect(Object.keys(r.metafile.inputs).sort()).toEqual([
      'agents/TransientDomain.ts',
      'lib/domain/text.ts',
      'lib/host/agent-fs.ts',
      'lib/host/procs.ts',
      'lib/vm/config.ts',
      'lib/vm/fast-path.ts',
    ]);
  });
});
