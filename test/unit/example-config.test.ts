import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exampleLocalConfig } from '../../cli/example-config.js';

const root = mkdtempSync(join(tmpdir(), 'certloop-example-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the example config `certloop local` runs when given none', () => {
  it("is this checkout's examples/certloop.local.json", () => {
    expect(exampleLocalConfig()).toBe(join(process.cwd(), 'examples', 'certloop.local.json'));
  });

  it('is found from the compiled CLI of an installed package (dist/cli, two levels down)', () => {
    const pkg = join(root, 'node_modules', 'certloop');
    mkdirSync(join(pkg, 'dist', 'cli'), { recursive: true });
    mkdirSync(join(pkg, 'examples'));
    writeFileSync(join(pkg, 'examples', 'certloop.local.json'), '{}');
    expect(exampleLocalConfig(join(pkg, 'dist', 'cli', 'example-config.js'))).toBe(
      join(pkg, 'examples', 'certloop.local.json'),
    );
  });

  it('is undefined where no folder above has one', () => {
    const bare = join(root, 'bare', 'dist', 'cli');
    mkdirSync(bare, { recursive: true });
    // The temporary folder's parents (/tmp, /) hold no examples/certloop.local.json.
    expect(exampleLocalConfig(join(bare, 'example-config.js'))).toBeUndefined();
  });
});
