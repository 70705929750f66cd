/**
 * Prints the size of each function bundle of a synthesized cloud assembly:
 *
 *   npx cdk synth --quiet && npx tsx infra/bundle-sizes.ts [cdk.out]
 *
 * For a bundle over its budget it also rebuilds that entry point with esbuild (the same
 * BUNDLE_SETTINGS as the package build and the CDK bundling) and prints the packages that take the most bytes, from
 * esbuild's metafile. `--analyze` prints that breakdown for every function.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_SETTINGS } from './bundling/bundle-settings.js';
import { FUNCTION_ENTRIES } from './certloop/certloop-function.js';

/**
 * The worker's bundle budget: 700 KB (issue 17). The earlier 300 KiB target is retired:
 * acme-client's own X.509 stack, which it loads on its client path, is about 350 KB.
 */
export const WORKER_BUDGET_BYTES = 700_000;

export interface BundleSize {
  /** Construct path of the function, e.g. `CertLoop/CertLoop/Worker/Function`. */
  path: string;
  /** Bytes of every file in the function's asset directory. */
  bytes: number;
}

interface TemplateResource {
  Type?: string;
  Metadata?: Record<string, unknown>;
  Properties?: { Code?: { S3Key?: unknown } };
}

function directoryBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    return sum + (entry.isDirectory() ? directoryBytes(path) : statSync(path).size);
  }, 0);
}

/** The bundle size of every Lambda function of every template in `assemblyDir`. */
export function bundleSizes(assemblyDir: string): BundleSize[] {
  const sizes: BundleSize[] = [];
  for (const file of readdirSync(assemblyDir).filter((name) => name.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(assemblyDir, file), 'utf8')) as {
      Resources?: Record<string, TemplateResource>;
    };
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const key = resource.Properties?.Code?.S3Key;
      if (typeof key !== 'string' || !key.endsWith('.zip')) continue;
      const dir = join(assemblyDir, `asset.${key.slice(0, -'.zip'.length)}`);
      if (!existsSync(dir)) continue;
      const path = resource.Metadata?.['aws:cdk:path'];
      sizes.push({
        path: typeof path === 'string' ? path.replace(/\/Resource$/, '') : logicalId,
        bytes: directoryBytes(dir),
      });
    }
  }
  return sizes;
}

/** Output bytes per package (or per source folder) of one entry point's bundle. */
export async function bundleBreakdown(entry: string): Promise<Array<[string, number]>> {
  const result = await build({
    ...BUNDLE_SETTINGS,
    entryPoints: [entry],
    external: [...BUNDLE_SETTINGS.external],
    alias: { ...BUNDLE_SETTINGS.alias },
    write: false,
    outfile: 'index.js',
    metafile: true,
    logLevel: 'silent',
  });
  const byPackage = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [file, input] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
      const owner = match?.[1] ?? file.split('/').slice(0, 2).join('/');
      byPackage.set(owner, (byPackage.get(owner) ?? 0) + input.bytesInOutput);
    }
  }
  return [...byPackage].sort((a, b) => b[1] - a[1]);
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const analyzeAll = args.includes('--analyze');
  const assemblyDir = resolve(args.find((arg) => !arg.startsWith('--')) ?? 'cdk.out');
  if (!existsSync(assemblyDir)) {
    console.error(`${assemblyDir} does not exist: run "npx cdk synth" first`);
    process.exitCode = 1;
    return;
  }
  const sizes = bundleSizes(assemblyDir);
  if (sizes.length === 0) {
    console.error(`no bundled Lambda functions in ${assemblyDir}`);
    process.exitCode = 1;
    return;
  }
  for (const size of sizes) console.log(`${size.path}\t${size.bytes} bytes\t(${kib(size.bytes)})`);

  for (const [name, entry] of Object.entries(FUNCTION_ENTRIES)) {
    const size = sizes.find((s) =>
      s.path.split('/').includes(name[0]?.toUpperCase() + name.slice(1)),
    );
    const over = name === 'worker' && size !== undefined && size.bytes > WORKER_BUDGET_BYTES;
    if (!over && !analyzeAll) continue;
    if (over) {
      console.log(
        `\n${name}: ${size?.bytes} bytes is over its budget of ${WORKER_BUDGET_BYTES} bytes. Largest contributors:`,
      );
    } else {
      console.log(`\n${name}: largest contributors:`);
    }
    for (const [owner, bytes] of (await bundleBreakdown(entry)).slice(0, 15)) {
      console.log(`  ${owner.padEnd(40)} ${String(bytes).padStart(9)} bytes`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1] ? resolve(process.argv[1]) : ''}`) {
  await main();
}
