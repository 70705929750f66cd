import { defineConfig } from 'vitest/config';

// Two groups: the suite itself, then an audit that reads every log line the suite
// printed (captured by test/support/capture-output.ts) and fails on key material.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/audit/**'],
          setupFiles: ['test/support/capture-output.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'audit',
          include: ['test/audit/**/*.test.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
