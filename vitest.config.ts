import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One test file at a time: the real-socket suites (membership timeouts
    // of a few hundred ms, a 100 MB transfer, worker pools) measure time on a
    // 2-core machine and must not compete with each other for the CPU.
    fileParallelism: false,
  },
});
