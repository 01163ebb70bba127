// Suites that check a safety property as root (sudo and the access file, vm on the lab) fail
// loudly when not run as root instead of skipping: a skipped safety suite reads as a pass. CI
// runs as root (.ci/run).

/** Throws, naming SUITE and why it needs root, unless this process runs as root. */
export function requireRoot(suite: string, why: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(`${suite} must run as root (${why}); it does not skip itself: run npm test as root, as CI does`);
  }
}
