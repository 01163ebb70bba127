// corral's version, as `COMMAND --version` prints it. The build (scripts/dev/build.ts) puts
// package.json's version into every bundle as __CORRAL_VERSION__; run from the sources (tsx),
// it is read from package.json.
import { readFileSync } from 'node:fs';

declare const __CORRAL_VERSION__: string | undefined;

export function corralVersion(): string {
  if (typeof __CORRAL_VERSION__ === 'string') return __CORRAL_VERSION__;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
