import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { DOM_LOG_LEVEL: process.env.DOM_LOG_LEVEL ?? 'silent' },
  },
});
