import { createRequire } from 'node:module';
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
 * The files that stand in for packages in the bundles (esbuild `alias`), each with the
 * reason in its file. They sit next to this module; the build copies them into
 * dist/infra/bundling.
 * - `form-data` is swapped for Node's built-in FormData, which drops mime-db (137 KB).
 * - `@peculiar/x509` is swapped for a stand-in that loads the library on first use,
 *   which keeps acme-client's X.509 stack out of every function's cold start.
 */
export const BUNDLE_SHIMS: Readonly<Record<string, string>> = {
  'form-data': fileURLToPath(new URL('./form-data.cjs', import.meta.url)),
  '@peculiar/x509': fileURLToPath(new URL('./lazy-peculiar-x509.cjs', import.meta.url)),
};

/** The name the @peculiar/x509 stand-in loads the real library by (an alias, below). */
export const REAL_PECULIAR_X509 = 'certloop-bundling/peculiar-x509';

/** @peculiar/x509's main file, resolved the way acme-client's crypto module resolves it. */
function peculiarX509AsAcmeClientSeesIt(): string {
  const here = createRequire(import.meta.url);
  return createRequire(here.resolve('acme-client/src/crypto/index.js')).resolve('@peculiar/x509');
}

/** Every esbuild alias: the stand-ins, and the real library behind the lazy one. */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  ...BUNDLE_SHIMS,
  [REAL_PECULIAR_X509]: peculiarX509AsAcmeClientSeesIt(),
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
