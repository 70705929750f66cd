import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The repository root: `functions/` holds the entry points, `package-lock.json` pins the deps. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The Lambda entry points, one per deployed function. */
export const FUNCTION_ENTRIES = {
  planner: join(PROJECT_ROOT, 'functions', 'planner.ts'),
  worker: join(PROJECT_ROOT, 'functions', 'worker.ts'),
  sweep: join(PROJECT_ROOT, 'functions', 'sweep.ts'),
  renew: join(PROJECT_ROOT, 'functions', 'renew.ts'),
  rotateStek: join(PROJECT_ROOT, 'functions', 'rotate-stek.ts'),
} as const;

/** The Node.js version the bundles target; it must match the runtime below. */
export const NODE_TARGET = 'node22';
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

/**
 * Packages replaced at bundle time (esbuild `alias`), each with the reason in its file:
 * `form-data` is swapped for Node's built-in FormData, which drops mime-db (137 KB).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  'form-data': join(PROJECT_ROOT, 'infra', 'bundling', 'form-data.cjs'),
};

/**
 * Local esbuild bundling (no Docker): one CommonJS file per function, minified, without
 * source maps. The AWS SDK v3 is left out because the nodejs22.x runtime ships it.
 */
export const BUNDLING: nodejs.BundlingOptions = {
  forceDockerBundling: false,
  format: nodejs.OutputFormat.CJS,
  target: NODE_TARGET,
  minify: true,
  sourceMap: false,
  externalModules: ['@aws-sdk/*'],
  esbuildArgs: {
    '--alias': Object.entries(BUNDLE_ALIASES).map(([name, path]) => `${name}=${path}`),
  },
};

export interface CertLoopFunctionProps {
  /** Absolute path of the TypeScript entry point. */
  readonly entry: string;
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
}

/**
 * One certloop Lambda function: Node.js 22 on ARM64, bundled locally with esbuild,
 * X-Ray tracing on, its own KMS-encrypted log group with retention, and its own role
 * that may write to that log group and nothing else until a grant adds more.
 */
export class CertLoopFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
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

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
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
