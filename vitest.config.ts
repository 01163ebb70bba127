import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration and cluster tests share one libvirt lab per file and compete for 2 cores:
    // files run one after another, unit tests are fast anyway.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 240_000,
    reporters: ['default'],
  },
});
