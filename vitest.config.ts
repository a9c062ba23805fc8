import { defineConfig } from 'vitest/config';

// Two projects: the suite (`npm test`), and the benches' smoke tests (`npm run test:bench`: each
// runs a bench at its quick sizes and checks that every figure is produced, never its value).
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { DOM_LOG_LEVEL: process.env.DOM_LOG_LEVEL ?? 'silent' },
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ['test/unit/bench-*.test.ts'] } },
      { extends: true, test: { name: 'bench', include: ['test/unit/bench-*.test.ts'] } },
    ],
  },
});
