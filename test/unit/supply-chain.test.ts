import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

interface DeniedVersion {
  name: string;
  version: string;
  compromised: string;
  source: string;
}

interface LockedPackage {
  name?: string;
  version?: string;
}

const root = process.cwd();
const denied = (
  JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'compromised-versions.json'), 'utf8')) as {
    entries: DeniedVersion[];
  }
).entries;
const lockfile = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockedPackage>;
};
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  overrides?: Record<string, string>;
};

/** Every package the lockfile installs: name (from its path, or its own name for an alias) and version. */
function lockedPackages(): Array<{ path: string; name: string; version: string }> {
  return Object.entries(lockfile.packages)
    .filter(([path]) => path.includes('node_modules/'))
    .map(([path, entry]) => ({
      path,
      name: entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length),
      version: entry.version ?? '',
    }));
}

describe('the lockfile', () => {
  it('resolves no version on the compromised list (test/fixtures/compromised-versions.json)', () => {
    const hits = lockedPackages().flatMap((locked) =>
      denied
        .filter(
          (d) => d.name === locked.name && (d.version === '*' || d.version === locked.version),
        )
        .map(
          (d) =>
            `${locked.path} is ${locked.name}@${locked.version}, compromised on ${d.compromised} (${d.source})`,
        ),
    );
    expect(hits).toEqual([]);
  });

  it('reads a well-formed list: every entry has a name, a version, a date and a source', () => {
    expect(denied.length).toBeGreaterThan(0);
    for (const entry of denied) {
      expect(entry.name).toMatch(/^(@[\w.-]+\/)?[\w.-]+$/);
      expect(entry.version).toMatch(/^(\*|\d+\.\d+\.\d+)$/);
      expect(entry.compromised).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(entry.source).toMatch(/^https:\/\//);
    }
  });

  it('checks real packages: it holds acme-client and the axios it uses', () => {
    const names = new Set(lockedPackages().map((p) => p.name));
    expect(names).toContain('acme-client');
    expect(names).toContain('axios');
  });

  it('installs the axios that package.json pins through overrides, and only that one', () => {
    const pinned = manifest.overrides?.axios;
    expect(pinned).toMatch(/^1\.\d+\.\d+$/);
    const axios = lockedPackages().filter((p) => p.name === 'axios');
    expect(axios.map((p) => p.version)).toEqual([pinned]);
  });
});
