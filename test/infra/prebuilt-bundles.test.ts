import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CertLoopFunction,
  FUNCTION_FILES,
  PROJECT_ROOT,
  resolveFunctionCode,
} from '../../infra/certloop/certloop-function.js';

const roots: string[] = [];

/** A package root holding the given files (path -> content). */
function packageRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'certloop-prebuilt-'));
  roots.push(root);
  writeFileSync(join(root, 'package.json'), '{"name":"certloop"}\n');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const BUNDLE = 'exports.handler = async () => "prebuilt worker";\n';

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('the code of a certloop function', () => {
  it('is the prebuilt bundle in an installed package (dist/lambda, no TypeScript sources)', () => {
    const root = packageRoot({ 'dist/lambda/rotate-stek/index.js': BUNDLE });
    expect(resolveFunctionCode('rotateStek', root)).toEqual({
      kind: 'prebuilt',
      directory: join(root, 'dist', 'lambda', 'rotate-stek'),
    });
  });

  it('is the TypeScript source in a checkout, even after a build (an old build never deploys)', () => {
    const root = packageRoot({
      'functions/worker.ts': 'export const handler = async () => "source";\n',
      'dist/lambda/worker/index.js': BUNDLE,
    });
    expect(resolveFunctionCode('worker', root)).toEqual({
      kind: 'source',
      entry: join(root, 'functions', 'worker.ts'),
    });
  });

  it('is the source for every function of this repository', () => {
    for (const name of Object.keys(FUNCTION_FILES) as Array<keyof typeof FUNCTION_FILES>) {
      expect(resolveFunctionCode(name).kind).toBe('source');
    }
    expect(PROJECT_ROOT).toBe(process.cwd());
  });

  it('is missing with a message naming both places when neither exists', () => {
    const root = packageRoot({});
    expect(() => resolveFunctionCode('planner', root)).toThrow(
      /no code for the planner function: neither .*dist\/lambda\/planner\/index\.js .*nor .*functions\/planner\.ts/,
    );
  });
});

describe('a CertLoopFunction from a prebuilt bundle', () => {
  it('deploys the bundle folder as it is, with the same runtime, architecture, tracing and logs', () => {
    const root = packageRoot({ 'dist/lambda/worker/index.js': BUNDLE });
    const outdir = mkdtempSync(join(tmpdir(), 'certloop-prebuilt-out-'));
    roots.push(outdir);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Prebuilt');
    const fn = new CertLoopFunction(stack, 'Worker', {
      entry: 'worker',
      description: 'prebuilt worker',
      timeout: Duration.minutes(5),
      memorySize: 1024,
      logRetention: logs.RetentionDays.THREE_MONTHS,
      encryptionKey: new kms.Key(stack, 'Key'),
      packageRoot: root,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 300,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: {
        LogGroup: { Ref: stack.getLogicalId(fn.logGroup.node.defaultChild as logs.CfnLogGroup) },
      },
    });
    const assembly = app.synth();
    const functionResource = Object.values(template.findResources('AWS::Lambda::Function'))[0] as {
      Properties: { Code: { S3Key: string } };
    };
    const assetDir = join(
      assembly.directory,
      `asset.${functionResource.Properties.Code.S3Key.replace(/\.zip$/, '')}`,
    );
    expect(readFileSync(join(assetDir, 'index.js'), 'utf8')).toBe(BUNDLE);
  });
});
