/**
 * The Lambda half of `npm run build` (after `tsc -p tsconfig.build.json`): bundles each
 * function of functions/ with esbuild into dist/lambda/<file>/index.js, with the same
 * BUNDLE_SETTINGS the construct's synth-time bundling uses, and copies the stand-in files
 * (BUNDLE_SHIMS) next to the compiled bundle-settings.js. The installed package deploys
 * these bundles as they are (infra/certloop/certloop-function.ts, resolveFunctionCode).
 */
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  BUNDLE_SETTINGS,
  BUNDLE_SHIMS,
  FUNCTION_FILES,
} from '../infra/bundling/bundle-settings.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

for (const file of Object.values(FUNCTION_FILES)) {
  const outfile = join(dist, 'lambda', file, 'index.js');
  await build({
    ...BUNDLE_SETTINGS,
    entryPoints: [join(root, 'functions', `${file}.ts`)],
    external: [...BUNDLE_SETTINGS.external],
    alias: { ...BUNDLE_SETTINGS.alias },
    outfile,
    logLevel: 'warning',
  });
  console.log(`${relative(root, outfile)}\t${statSync(outfile).size} bytes`);
}

const compiledBundling = join(dist, 'infra', 'bundling');
mkdirSync(compiledBundling, { recursive: true });
for (const path of Object.values(BUNDLE_SHIMS)) {
  copyFileSync(path, join(compiledBundling, relative(join(root, 'infra', 'bundling'), path)));
}
