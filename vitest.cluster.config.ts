// npm run test:cluster: the cluster suite alone (child processes on the shared PostgreSQL and Redis).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    testTimeout: 400_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
