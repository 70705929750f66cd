import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the example local-mode configuration sits inside the package. */
const EXAMPLE = join('examples', 'certloop.local.json');

/**
 * The example configuration `certloop local` runs when given none: the package's own
 * copy, found from this module upwards (cli/ in a checkout, dist/cli/ when installed),
 * so that `npx certloop local` works from any folder. Undefined if the package lost it.
 */
export function exampleLocalConfig(
  from: string = fileURLToPath(import.meta.url),
): string | undefined {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const candidate = join(dir, EXAMPLE);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
