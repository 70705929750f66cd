import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = process.cwd();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(
      /(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ].map((match) => match[1] ?? match[2] ?? '');
}

describe('the layers', () => {
  it('keep src/core pure: no imports outside core, no clock and no randomness read inline', () => {
    const offences: string[] = [];
    for (const file of sourceFiles(join(root, 'src', 'core'))) {
      const name = relative(root, file);
      for (const spec of imports(file)) {
        if (!spec.startsWith('./')) offences.push(`${name} imports ${spec}`);
      }
      const text = readFileSync(file, 'utf8');
      for (const banned of [
        /Date\.now\(/,
        /Math\.random\(/,
        /new Date\(\)/,
        /process\./,
        /require\(/,
      ]) {
        if (banned.test(text)) offences.push(`${name} uses ${banned.source}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('keep ports and services free of SDKs, node I/O and adapters', () => {
    const offences: string[] = [];
    for (const layer of ['ports', 'services']) {
      for (const file of sourceFiles(join(root, 'src', layer))) {
        for (const spec of imports(file)) {
          const allowed =
            spec.startsWith('../core/') ||
            spec.startsWith('../ports/') ||
            spec.startsWith('./') ||
            spec === 'node:crypto';
          if (!allowed) offences.push(`${relative(root, file)} imports ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('keep infra off the runtime: it imports src/config and src/core only', () => {
    const offences: string[] = [];
    for (const file of sourceFiles(join(root, 'infra'))) {
      for (const spec of imports(file)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(root, join(dirname(file), spec));
        if (target.startsWith('src/') && !/^src\/(config|core)\//.test(target)) {
          offences.push(`${relative(root, file)} imports ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('keep SDK error types inside the adapters', () => {
    const offences: string[] = [];
    for (const dir of ['src/core', 'src/ports', 'src/services', 'functions']) {
      let files: string[] = [];
      try {
        files = sourceFiles(join(root, dir));
      } catch {
        continue;
      }
      for (const file of files) {
        if (
          /ConditionalCheckFailedException|ThrottlingException|ServiceException|\$metadata/.test(
            readFileSync(file, 'utf8'),
          )
        ) {
          offences.push(relative(root, file));
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('load @peculiar/x509 in function code only through x509-library.ts (on first use)', () => {
    // The Lambda bundles load the library on first use (infra/bundling/lazy-peculiar-x509.cjs);
    // a static import would load it at every cold start. Local mode (src/local) is not bundled.
    const offences: string[] = [];
    for (const dir of ['src', 'functions']) {
      for (const file of sourceFiles(join(root, dir))) {
        const name = relative(root, file);
        if (name.startsWith('src/local/') || name === 'src/adapters/crypto/x509-library.ts')
          continue;
        const text = readFileSync(file, 'utf8');
        const loads = [
          /^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s*['"]@peculiar\/x509['"]/m,
          /^\s*import\s*['"]@peculiar\/x509['"]/m,
          /import\(\s*['"]@peculiar\/x509['"]\s*\)/,
        ];
        if (loads.some((pattern) => pattern.test(text))) offences.push(name);
      }
    }
    expect(offences).toEqual([]);
  });

  it('keep product files small enough to read: none over 450 lines', () => {
    const long: string[] = [];
    for (const dir of ['src', 'functions', 'cli', 'infra']) {
      for (const file of sourceFiles(join(root, dir))) {
        const lines = readFileSync(file, 'utf8').split('\n').length - 1;
        if (lines > 450) long.push(`${relative(root, file)}: ${lines} lines`);
      }
    }
    expect(long).toEqual([]);
  });
});
