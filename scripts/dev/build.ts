// Bundles every OCF agent (agents/*.ts) and every command (scripts/*.ts) into one
// self-contained executable file each: dist/agents/NAME and dist/bin/NAME, needing only node.
// Fence agents (agents/fence_*.ts) go to dist/fence/NAME: they are installed where Pacemaker's
// fencer looks for them (/usr/sbin), not among the OCF agents.
// The VM agent, TransientDomain, is not a script for node but a standalone executable compiled by
// Bun (scripts/dev/compile-agent.ts): Pacemaker runs its monitor every few seconds for every VM
// on every node, and under node the monitor's cost was node's own start-up.
// CommonJS output starts faster than ESM under Node 20.
import { build, type BuildOptions } from 'esbuild';
import { chmod, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { COMPILED_AGENTS, compileAgent } from './compile-agent.js';

const root = new URL('../..', import.meta.url).pathname;
const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
/** The guest side of the startup signal, which mk_debian_installer installs into new systems (lib/host/guest-files.ts). */
const guestFiles = {
  script: await readFile(join(root, 'systemd/corral-startup-signal'), 'utf8'),
  unit: await readFile(join(root, 'systemd/corral-startup-signal.service'), 'utf8'),
};

/**
 * Every bundle starts `#!NODE`, NODE an absolute path: the node that runs this build
 * (process.execPath: /usr/bin/node with Debian's nodejs, wherever nvm or a tarball put it on a dev
 * machine). Never `#!/usr/bin/env node`: under sudo with !secure_path that runs the first `node` in
 * the caller's PATH as root. The Debian package rewrites the line to Debian's /usr/bin/node
 * (scripts/dev/deb.ts).
 */
const NODE = process.execPath;
if (!/^\/[A-Za-z0-9_.\/+@-]+$/.test(NODE) || NODE.length > 200) {
  throw new Error(`cannot write ${JSON.stringify(NODE)} (the node running this build) as the bundles' interpreter line: it needs an absolute path of letters, digits and _ . / + @ -`);
}

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  // Some dependencies read import.meta.url for optional features; give them a real value.
  // __CORRAL_VERSION__: package.json's version, what `COMMAND --version` prints (lib/cli/version.ts).
  // __CORRAL_GUEST_FILES__: the startup signal's guest files (lib/host/guest-files.ts).
  define: { 'import.meta.url': '__corral_import_meta_url', __CORRAL_VERSION__: JSON.stringify(version), __CORRAL_GUEST_FILES__: JSON.stringify(guestFiles) },
  inject: [join(root, 'scripts/dev/import-meta-url.js')],
  logLevel: 'warning',
};

async function entries(dir: string): Promise<string[]> {
  const names = await readdir(join(root, dir)).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.ts')).map((n) => join(root, dir, n));
}

/** The npm packages that went into the bundles (for the Debian package's copyright file). */
const bundledPackages = new Set<string>();

function notePackages(meta: { inputs: Record<string, unknown> } | undefined): void {
  for (const input of Object.keys(meta?.inputs ?? {})) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) bundledPackages.add(m[1] as string);
  }
}

async function bundle(entry: string, outdir: string): Promise<string> {
  const name = basename(entry, '.ts');
  const outfile = join(root, 'dist', outdir, name);
  if (outdir === 'agents' && (COMPILED_AGENTS as readonly string[]).includes(name)) {
    // What goes into the executable, for the package's copyright file (esbuild's view of the same graph).
    notePackages((await build({ ...common, entryPoints: [entry], write: false, metafile: true })).metafile);
    return compileAgent(name, { define: { __CORRAL_VERSION__: JSON.stringify(version) } });
  }
  const r = await build({ ...common, entryPoints: [entry], outfile, banner: { js: `#!${NODE}` }, write: false, metafile: true });
  notePackages(r.metafile);
  // Write, then rename: a test or a cluster running the previous build never sees half a file.
  await mkdir(join(root, 'dist', outdir), { recursive: true });
  await writeFile(`${outfile}.tmp`, r.outputFiles[0]!.contents, { mode: 0o755 });
  await chmod(`${outfile}.tmp`, 0o755);
  await rename(`${outfile}.tmp`, outfile);
  return outfile;
}

await rm(join(root, 'dist'), { recursive: true, force: true });
const isFenceAgent = (e: string) => basename(e).startsWith('fence_');
const jobs = [
  ...(await entries('agents')).map((e) => bundle(e, isFenceAgent(e) ? 'fence' : 'agents')),
  ...(await entries('scripts')).map((e) => bundle(e, 'bin')),
];
const built = new Set(await Promise.all(jobs));
// Remove what no longer has a source (renamed or deleted entries).
for (const dir of ['agents', 'bin']) {
  for (const n of await readdir(join(root, 'dist', dir)).catch(() => [] as string[])) {
    if (!built.has(join(root, 'dist', dir, n))) await rm(join(root, 'dist', dir, n), { force: true });
  }
}
// The repository is an ES module package; the extensionless bundles in dist/ are CommonJS.
await mkdir(join(root, 'dist'), { recursive: true });
await writeFile(join(root, 'dist/package.json'), '{ "type": "commonjs" }\n');
await writeFile(join(root, 'dist/bundled-packages.json'), `${JSON.stringify([...bundledPackages].sort(), null, 2)}\n`);
console.log(`built ${jobs.length} executables into dist/`);
