import { defineConfig } from 'vitest/config';

// One suite, two sizes: FIXYNN_FULL=1 (npm run test:full) raises the counts inside the tests.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
