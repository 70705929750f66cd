import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { propRows, propsTable, TABLE_END, TABLE_START } from '../support/props-table.js';

const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');

describe("the README's props table", () => {
  it('is the one generated from the JSDoc of CertLoopProps (npx tsx test/support/props-table.ts)', () => {
    const start = readme.indexOf(TABLE_START);
    const end = readme.indexOf(TABLE_END);
    expect(start, 'README.md has no props-table markers').toBeGreaterThanOrEqual(0);
    expect(readme.slice(start, end + TABLE_END.length)).toBe(propsTable());
  });

  it('has a row, a description and a default for every prop', () => {
    const rows = propRows();
    expect(rows.map((row) => row.name)).toContain('hostedZones');
    expect(rows.map((row) => row.name)).toContain('acmImport');
    for (const row of rows) {
      expect(row.description.length, row.name).toBeGreaterThan(10);
      expect(row.defaultValue.length, row.name).toBeGreaterThan(0);
    }
  });
});
