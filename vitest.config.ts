import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest-report.json' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
