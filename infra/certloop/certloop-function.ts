import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  BUNDLE_ALIASES,
  BUNDLE_SETTINGS,
  type CertLoopFunctionName,
  FUNCTION_FILES,
} from '../bundling/bundle-settings.js';

export {
  BUNDLE_ALIASES,
  type CertLoopFunctionName,
  FUNCTION_FILES,
  NODE_TARGET,
} from '../bundling/bundle-settings.js';

/**
 * The root of the certloop package this module belongs to: the nearest folder above it
 * with a package.json. The same answer from the TypeScript sources (infra/certloop/) and
 * from the compiled package (dist/infra/certloop/).
 */
export function findPackageRoot(fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`certloop: no package.json above ${fromDir}`);
  }
}

/** The repository (or installed package) root: functions/ or dist/lambda/ live here. */
export const PROJECT_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** The TypeScript entry points, one per deployed function (a repository checkout only). */
export const FUNCTION_ENTRIES = Object.fromEntries(
  Object.entries(FUNCTION_FILES).map(([name, file]) => [
    name,
    join(PROJECT_ROOT, 'functions', `${file}.ts`),
  ]),
) as Record<CertLoopFunctionName, string>;

export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

/** Where a function's code comes from: its TypeScript source, or a bundle built by `npm run build`. */
export type FunctionCode =
  | { readonly kind: 'source'; readonly entry: string }
  | { readonly kind: 'prebuilt'; readonly directory: string };

/**
 * Finds the code of one function under `packageRoot`. A checkout has the sources
 * (functions/<file>.ts) and bundles them at synth, so an old `npm run build` never
 * deploys stale code; the installed package ships no TypeScript, only the bundles
 * built before packing (dist/lambda/<file>/index.js), which it deploys as they are.
 */
export function resolveFunctionCode(
  name: CertLoopFunctionName,
  packageRoot: string = PROJECT_ROOT,
): FunctionCode {
  const file = FUNCTION_FILES[name];
  const entry = join(packageRoot, 'functions', `${file}.ts`);
  if (existsSync(entry)) return { kind: 'source', entry };
  const directory = join(packageRoot, 'dist', 'lambda', file);
  if (existsSync(join(directory, 'index.js'))) return { kind: 'prebuilt', directory };
  throw new Error(
    `certloop: no code for the ${name} function: neither ${join(directory, 'index.js')} ` +
      `(the package's prebuilt bundle) nor ${entry} exists. In a checkout, run "npm run build".`,
  );
}

/**
 * Bundling at synth (no Docker), from BUNDLE_SETTINGS: the options the prebuilt bundles
 * of the package are built with, in the form aws-cdk-lib's NodejsFunction takes.
 */
export const BUNDLING: nodejs.BundlingOptions = {
  forceDockerBundling: false,
  format: nodejs.OutputFormat.CJS,
  target: BUNDLE_SETTINGS.target,
  minify: BUNDLE_SETTINGS.minify,
  sourceMap: BUNDLE_SETTINGS.sourcemap,
  externalModules: [...BUNDLE_SETTINGS.external],
  esbuildArgs: {
    '--alias': Object.entries(BUNDLE_ALIASES).map(([name, path]) => `${name}=${path}`),
  },
};

export interface CertLoopFunctionProps {
  /**
   * Which certloop function this is: its prebuilt bundle in the installed package, or
   * its TypeScript source (functions/) in a checkout.
   */
  readonly entry: CertLoopFunctionName;
  /** What the function does, shown in the console. */
  readonly description: string;
  /** Longest run of one invocation. */
  readonly timeout: Duration;
  /**
   * Memory in MB.
   * @default 256
   */
  readonly memorySize?: number;
  /** How long the function's log group keeps its events. */
  readonly logRetention: logs.RetentionDays;
  /** Customer-managed key that encrypts the log group. */
  readonly encryptionKey: kms.IKey;
  /**
   * Where the function's code is looked up (see resolveFunctionCode).
   * @default - the root of the certloop package this module belongs to
   */
  readonly packageRoot?: string;
}

/**
 * One certloop Lambda function: Node.js 22 on ARM64, the package's prebuilt bundle (or,
 * in a checkout, its source bundled locally with esbuild at synth),
 * X-Ray tracing on, its own KMS-encrypted log group with retention, and its own role
 * that may write to that log group and nothing else until a grant adds more.
 */
export class CertLoopFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CertLoopFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      encryptionKey: props.encryptionKey,
    });
    // An explicit role instead of the AWSLambdaBasicExecutionRole managed policy, whose
    // logs:CreateLogGroup/PutLogEvents apply to every log group of the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `certloop ${id} function`,
    });
    this.logGroup.grantWrite(this.role);

    const common = {
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
    };
    const code = resolveFunctionCode(props.entry, props.packageRoot);
    this.function =
      code.kind === 'prebuilt'
        ? new lambda.Function(this, 'Function', {
            ...common,
            code: lambda.Code.fromAsset(code.directory),
            handler: 'index.handler',
          })
        : new nodejs.NodejsFunction(this, 'Function', {
            ...common,
            entry: code.entry,
            handler: 'handler',
            projectRoot: PROJECT_ROOT,
            depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
            bundling: BUNDLING,
          });

    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only the X-Ray statement that Tracing.ACTIVE adds (xray:PutTraceSegments, ' +
          'xray:PutTelemetryRecords) uses Resource "*": these actions have no resource-level ' +
          'permissions. Every other grant of this role names its resources.',
      });
    }
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is deliberate: the bundles target node22 and rely on the AWS SDK v3 that ' +
        'this runtime ships (externalModules @aws-sdk/*). It is a supported runtime; moving to ' +
        'a newer one is a tested change of NODE_TARGET and FUNCTION_RUNTIME together.',
    });
  }
}
