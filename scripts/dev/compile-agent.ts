// Compiles the OCF resource agent TransientDomain into a standalone executable with Bun (`bun build
// --compile`; the npm package bun, a devDependency whose binary comes inside @oven/bun-linux-x64):
// dist/agents/TransientDomain then needs neither node nor node_modules.
//
// Why: Pacemaker runs the agent's monitor every few seconds for every VM on every node, and under
// Node the monitor's cost was Node's own start-up (about 60 ms of CPU for `node -e 0`). A Bun
// executable starts in a fraction of that. Measured (scripts/dev/compile-agent.ts's report in
// `npm run bench`; README, ocf:corral:TransientDomain).
//
// How the monitor stays cheap: the agent is compiled from its TypeScript source as ES modules with
// code splitting and bytecode. The entry chunk holds only the fast path (lib/vm/fast-path.ts on
// lib/host/agent-fs.ts); the core (lib/vm/agent.ts with zod, execa, the XML code) is a second chunk
// inside the executable, loaded by the entry's `import()` only when an action needs it. Bytecode
// spares the parser on every run.
//
// What the executable must not do as root: read a .env, bunfig.toml, tsconfig.json or
// package.json from the directory Pacemaker runs it in. Those autoloads are switched off.
//
// The result is checked before it replaces anything: it must answer meta-data with the agent's
// XML (a build that bundles nothing yields an executable that prints nothing and exits 0).
// Written, then renamed: a test or a cluster running the previous build never sees half a file.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

/** The agents compiled to executables (agents/NAME.ts → dist/agents/NAME). */
export const COMPILED_AGENTS = ['TransientDomain'] as const;

/**
 * The bun executable of the devDependency: the platform package's binary (@oven/bun-linux-x64 on
 * amd64), or where the package bun's postinstall moved it (node_modules/bun/bin/bun.exe).
 */
export function bunPath(): string {
  const req = createRequire(join(root, 'package.json'));
  const platformPackage = `@oven/bun-linux-${process.arch === 'arm64' ? 'aarch64' : 'x64'}`;
  const candidates: string[] = [];
  for (const [pkg, exe] of [[platformPackage, 'bin/bun'], ['bun', 'bin/bun.exe']] as const) {
    try {
      candidates.push(join(dirname(req.resolve(`${pkg}/package.json`)), exe));
    } catch {
      // not installed
    }
  }
  // Before bun's postinstall, bin/bun.exe is a placeholder script of a few hundred bytes.
  const found = candidates.find((c) => existsSync(c) && statSync(c).size > 1024 * 1024);
  if (!found) throw new Error(`no bun executable in node_modules (looked at ${candidates.join(', ') || 'nothing'}): run npm ci`);
  return found;
}

export interface CompileOptions {
  /** Compile-time constants, as for esbuild's `define` (name → JavaScript expression). */
  define?: Record<string, string>;
}

/** Compiles agents/NAME.ts into dist/agents/NAME; returns the executable's path. */
export async function compileAgent(name: string, opts: CompileOptions = {}): Promise<string> {
  const outfile = join(root, 'dist/agents', name);
  const tmp = `${outfile}.bun-tmp`;
  await mkdir(dirname(outfile), { recursive: true });
  await rm(tmp, { force: true });
  const args = [
    'build',
    join(root, 'agents', `${name}.ts`),
    '--compile',
    '--target=bun',
    '--format=esm',
    '--splitting',
    '--bytecode',
    '--no-compile-autoload-dotenv',
    '--no-compile-autoload-bunfig',
    '--no-compile-autoload-tsconfig',
    '--no-compile-autoload-package-json',
    ...Object.entries(opts.define ?? {}).flatMap(([k, v]) => ['--define', `${k}=${v}`]),
    `--outfile=${tmp}`,
  ];
  // Bun prints its progress on stdout; only a failure is worth showing.
  const r = spawnSync(bunPath(), args, { cwd: root, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`bun build --compile ${name} failed (${r.status ?? r.signal}):\n${r.stderr}${r.stdout}`);
  await chmod(tmp, 0o755);
  const meta = execFileSync(tmp, ['meta-data'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/' });
  if (!meta.includes(`<resource-agent name="${name}"`)) {
    await rm(tmp, { force: true });
    throw new Error(`the compiled ${name} does not answer meta-data with its XML:\n${meta.slice(0, 300)}`);
  }
  await rename(tmp, outfile);
  return outfile;
}
