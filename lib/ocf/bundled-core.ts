// An agent's executable carries its rarely needed code (everything but the steady-state monitor)
// as a string constant, compiled only when an action needs it: a string costs the parser almost
// nothing, while a bundled module graph costs tens of milliseconds on every monitor.
// scripts/dev/build.ts defines __CORRAL_CORE__ (brotli, base64); from the sources (tsx) it is absent.
//
// V8's code cache for the core is kept in CODE_CACHE_DIR (one file per core and node version,
// written atomically after the first action that compiled it): later actions skip compiling it.
// Any problem with the cache (absent, rejected, unwritable directory) only costs that saving.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
// node:crypto, node:vm and node:zlib are loaded inside bundledCore(): the entry's fast paths
// (which need only node:fs) must not pay for them.
import type { Script } from 'node:vm';

declare const __CORRAL_CORE__: string | undefined;

const CODE_CACHE_DIR = '/var/cache/corral/code-cache';

function cacheFile(createHash: typeof import('node:crypto').createHash, source: string): string {
  const h = createHash('sha256').update(process.version).update('\0').update(source).digest('hex').slice(0, 32);
  return `${CODE_CACHE_DIR}/core-${h}.v8`;
}

export async function bundledCore<T>(): Promise<T | undefined> {
  if (typeof __CORRAL_CORE__ !== 'string') return undefined;
  const [{ createHash }, { Script }, { brotliDecompressSync }] = await Promise.all([
    import('node:crypto'),
    import('node:vm'),
    import('node:zlib'),
  ]);
  const source = brotliDecompressSync(Buffer.from(__CORRAL_CORE__, 'base64')).toString('utf8');
  const file = cacheFile(createHash, __CORRAL_CORE__);
  let cachedData: Buffer | undefined;
  try {
    // Code the agent (root) runs: only a cache that nobody else could have written.
    if (trusted(CODE_CACHE_DIR) && trusted(file)) cachedData = readFileSync(file);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: `${__filename}#core`,
    cachedData,
  });
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: { exports: T }, f: string, d: string) => void;
  const module = { exports: {} as T };
  wrapper(module.exports, require, module, __filename, __dirname);
  if (cachedData === undefined || script.cachedDataRejected) {
    // After the run, so that the functions the action compiled lazily are in the cache too.
    process.once('beforeExit', () => saveCache(script, file));
    process.once('exit', () => saveCache(script, file));
  }
  return module.exports;
}

function trusted(path: string): boolean {
  const st = statSync(path);
  return st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
}

let saved = false;
function saveCache(script: Script, file: string): void {
  if (saved) return;
  saved = true;
  try {
    mkdirSync(CODE_CACHE_DIR, { recursive: true, mode: 0o755 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
    renameSync(tmp, file);
  } catch {
    // a read-only or missing /var/cache: no cache, no harm
  }
}
