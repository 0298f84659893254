import { defineConfig } from 'vitest/config';

// Lab tests create network namespaces and compare the host before and after, so they run after the rest, one file
// at a time, and the VM bench (virtual machines on a lab LAN) after them; everything else runs in parallel.
export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest-report.json' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'fast', include: ['test/{unit,golden,e2e}/**/*.test.ts'], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'lab', include: ['test/lab/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'vm', include: ['test/vm/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 2 } } },
    ],
  },
});
