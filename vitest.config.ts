import { defineConfig } from 'vitest/config';

// The suite spawns real pods (namespaces, a supervisor, a pause process): give
// each test and hook room, and run at most two test files at a time, since CI
// and the developers' machines have two cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    poolOptions: {
      forks: {
        maxForks: 2,
        minForks: 1,
      },
    },
    watch: false,
  },
});
