import { defineConfig } from 'vitest/config';

// The fault suite (`npm run test:faults`): agents in network namespaces with
// nftables faults. Needs root, iproute2, nftables, faketime and openssl, and
// the build (it runs dist/src/main/cli.js); not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.fault.ts'],
    globalSetup: ['test/faults/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    // scenarios share one cluster and run in order; a failed one does not stop the rest
    sequence: { concurrent: false },
  },
});
