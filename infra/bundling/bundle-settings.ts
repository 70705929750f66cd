import { fileURLToPath } from 'node:url';

/**
 * How every certloop Lambda function is bundled, in one place: the package build
 * (scripts/build-lambdas.ts, esbuild's API) and the construct's NodejsFunction fallback
 * (infra/certloop/certloop-function.ts, esbuild's CLI through aws-cdk-lib) both read it,
 * so a prebuilt bundle and a bundle made at synth cannot drift apart.
 */

/** The deployed functions: name -> file name in functions/ (and folder in dist/lambda/). */
export const FUNCTION_FILES = {
  planner: 'planner',
  worker: 'worker',
  sweep: 'sweep',
  renew: 'renew',
  rotateStek: 'rotate-stek',
} as const;

/** One deployed function, e.g. `'worker'`. */
export type CertLoopFunctionName = keyof typeof FUNCTION_FILES;

/** The Node.js version the bundles target; it must match the construct's FUNCTION_RUNTIME. */
export const NODE_TARGET = 'node22';

/**
 * Packages replaced at bundle time (esbuild `alias`), each with the reason in its file:
 * `form-data` is swapped for Node's built-in FormData, which drops mime-db (137 KB).
 * The .cjs file sits next to this module (the build copies it into dist/infra/bundling).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  'form-data': fileURLToPath(new URL('./form-data.cjs', import.meta.url)),
};

/**
 * One CommonJS file per function, minified, without source maps, for Node 22. The AWS
 * SDK v3 is left out because the nodejs22.x runtime ships it.
 */
export const BUNDLE_SETTINGS = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: NODE_TARGET,
  minify: true,
  sourcemap: false,
  external: ['@aws-sdk/*'],
  alias: BUNDLE_ALIASES,
} as const;
