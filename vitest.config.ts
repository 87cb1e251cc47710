import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the cluster suite runs on its own (npm run test:cluster, vitest.cluster.config.ts)
    exclude: ['test/cluster/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
