import { appendFileSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

const logDir = join(process.cwd(), 'test', '.logs');

// Three projects: the suite itself (`npm test`), the long reliability drills
// (`npm run drill`, test/drills), and an audit that runs last and reads every log line
// the tests printed (captured by test/support/capture-output.ts), failing on key material.
export default defineConfig({
  test: {
    // Most test files spend their time waiting on peer servers (pebble, moto, openssl,
    // child processes), so one file more than there are cores keeps the cores busy (vitest's
    // default here would be one file at a time); the README's Tests section has the times.
    maxWorkers: availableParallelism() + 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // console.* from tests travels to this process; keep a copy for the audit too.
    onConsoleLog(log) {
      mkdirSync(logDir, { recursive: true });
      appendFileSync(join(logDir, 'console.log'), log);
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/audit/**', 'test/drills/**'],
          setupFiles: ['test/support/capture-output.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'drill',
          include: ['test/drills/**/*.test.ts'],
          setupFiles: ['test/support/capture-output.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 600_000,
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
