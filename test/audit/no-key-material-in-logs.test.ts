import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesWithKeyMaterial } from '../support/key-material-patterns.js';

// Runs after the whole suite (vitest project "audit", groupOrder 1) and reads every
// line the suite's processes wrote, as captured by test/support/capture-output.ts.
describe('the captured output of the whole test run', () => {
  const dir = join(process.cwd(), 'test', '.logs');
  const files = readdirSync(dir).filter((name) => name.endsWith('.log'));
  const text = files.map((name) => readFileSync(join(dir, name), 'utf8')).join('\n');

  it('holds the structured log lines of the services (so the scan below sees something)', () => {
    const jsonLines = text
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes('"message"'));
    expect(jsonLines.length).toBeGreaterThan(50);
  });

  it('contains no private key, account key or key-shaped base64 anywhere', () => {
    expect(linesWithKeyMaterial(text).map((line) => line.slice(0, 200))).toEqual([]);
  });
});
