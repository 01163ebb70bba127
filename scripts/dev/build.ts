// Bundles every OCF agent (agents/*.ts) and every command (scripts/*.ts) into one
// self-contained executable file each: dist/agents/NAME and dist/bin/NAME.
// CommonJS output starts faster than ESM under Node 20, and needs no node_modules at run time.
import { build } from 'esbuild';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

async function entries(dir: string): Promise<string[]> {
  const names = await readdir(join(root, dir)).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.ts')).map((n) => join(root, dir, n));
}

async function bundle(entry: string, outdir: string): Promise<void> {
  const outfile = join(root, 'dist', outdir, basename(entry, '.ts'));
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    banner: { js: '#!/usr/bin/env node' },
    // Some dependencies read import.meta.url only for optional features; give them a real value.
    define: { 'import.meta.url': '__corral_import_meta_url' },
    inject: [join(root, 'scripts/dev/import-meta-url.js')],
    logLevel: 'warning',
  });
  await chmod(outfile, 0o755);
}

await rm(join(root, 'dist'), { recursive: true, force: true });
const jobs = [
  ...(await entries('agents')).map((e) => bundle(e, 'agents')),
  ...(await entries('scripts')).map((e) => bundle(e, 'bin')),
];
await Promise.all(jobs);
// The repository is an ES module package; the extensionless bundles in dist/ are CommonJS.
await mkdir(join(root, 'dist'), { recursive: true });
await writeFile(join(root, 'dist/package.json'), '{ "type": "commonjs" }\n');
console.log(`built ${jobs.length} executables into dist/`);
