// An agent's executable carries its rarely needed code (everything but the steady-state monitor)
// as a string constant, compiled only when an action needs it: a string costs the parser almost
// nothing, while a bundled module graph costs tens of milliseconds on every monitor.
// scripts/dev/build.ts defines __CORRAL_CORE__ (brotli, base64); from the sources (tsx) it is absent.
import { runInThisContext } from 'node:vm';
import { brotliDecompressSync } from 'node:zlib';

declare const __CORRAL_CORE__: string | undefined;

export function bundledCore<T>(): T | undefined {
  if (typeof __CORRAL_CORE__ !== 'string') return undefined;
  const source = brotliDecompressSync(Buffer.from(__CORRAL_CORE__, 'base64')).toString('utf8');
  const module = { exports: {} as T };
  const wrapper = runInThisContext(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: `${__filename}#core`,
  }) as (e: unknown, r: NodeJS.Require, m: { exports: T }, f: string, d: string) => void;
  wrapper(module.exports, require, module, __filename, __dirname);
  return module.exports;
}
