import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_SETTINGS } from '../../infra/bundling/bundle-settings.js';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { StructuredLogger } from '../../src/adapters/logging/powertools-logger.js';
import { type PebbleServer, startPebble } from '../../src/local/pebble-server.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import { type DynaliteEnv, useDynaliteEnv } from '../support/aws-env.js';
import { localRuntimeEnv } from '../support/pebble.js';
import { runNodeLogged } from '../support/run-logged.js';

// The worker as it deploys: functions/worker.ts bundled with the settings of the package
// build and of the construct (infra/bundling/bundle-settings.ts), run in a Node process
// of its own with nothing but its environment, against pebble. It checks what the
// bundling does beyond the sources: @peculiar/x509 is a stand-in loaded on first use
// (infra/bundling/lazy-peculiar-x509.cjs), so the module load must not evaluate it, and
// an issuance (warm-up during the DNS wait, CSR, finalize, ARI identifier) must work
// through it. reflect-metadata, which the library loads first, defines Reflect.getMetadata:
// that global tells whether the library has been evaluated.

const TABLE = 'bundle-records';

/** Loads the bundle, reports what the load evaluated, then runs one SQS batch. */
const RUN_WORKER = `
const [bundle, ids] = process.argv.slice(1);
const module_ = require(bundle);
const afterLoad = typeof Reflect.getMetadata;
const event = {
  Records: JSON.parse(ids).map((id, i) => ({
    messageId: 'm-' + i,
    receiptHandle: 'r-' + i,
    body: JSON.stringify({ id, dueAt: 0 }),
    attributes: { ApproximateReceiveCount: '1' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:certloop-work',
    awsRegion: 'us-east-1',
  })),
};
const context = { functionName: 'certloop-worker', awsRequestId: 'bundle-test', getRemainingTimeInMillis: () => 60000 };
module_.handler(event, context).then(
  (result) => {
    process.stdout.write('\\nRESULT ' + JSON.stringify({ afterLoad, afterRun: typeof Reflect.getMetadata, result }) + '\\n');
  },
  (error) => {
    process.stdout.write('\\nFAILED ' + (error && error.message) + '\\n');
    process.exitCode = 1;
  },
);
`;

describe('the worker bundle, run on its own against pebble', () => {
  let dynalite: DynaliteEnv;
  let pebble: PebbleServer;
  let dir: string;
  let bundle: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dynalite = await useDynaliteEnv();
    pebble = await startPebble();
    dir = await mkdtemp(join(tmpdir(), 'certloop-worker-bundle-'));
    bundle = join(dir, 'worker', 'index.js');
    buildSync({
      ...BUNDLE_SETTINGS,
      external: [...BUNDLE_SETTINGS.external],
      alias: { ...BUNDLE_SETTINGS.alias },
      entryPoints: [join(process.cwd(), 'functions', 'worker.ts')],
      outfile: bundle,
      logLevel: 'error',
    });
    await ensureTable(dynalite.client, TABLE);
    const caFile = join(dir, 'pebble-ca.pem');
    await writeFile(caFile, pebble.listenerCaPem);
    env = {
      ...process.env,
      // The SDK clients the bundle leaves external resolve from the repository.
      NODE_PATH: join(process.cwd(), 'node_modules'),
      ...localRuntimeEnv({
        tableName: TABLE,
        issuers: { default: { directoryUrl: pebble.directoryUrl, trustedCaFile: caFile } },
        dir,
        dns: pebble,
      }),
      AWS_LAMBDA_FUNCTION_NAME: 'certloop-worker',
    };
    const deps = {
      records: new DynamoDbRecordStore({ client: dynalite.client, tableName: TABLE }),
      clock: { now: () => Date.now() },
      logger: new StructuredLogger(),
      policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
      issuerNames: ['default'],
      defaultIssuer: 'default',
    };
    await registerCertificate(deps, { id: 'shop', domains: ['shop.example.test'] });
    await registerCertificate(deps, {
      id: 'blog',
      domains: ['blog.example.test'],
      wildcards: ['blog.example.test'],
      keyType: 'rsa-2048',
    });
  }, 60_000);
  afterAll(async () => {
    await pebble?.stop();
    await dynalite?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads without evaluating @peculiar/x509, then issues through the stand-in', async () => {
    const run = await runNodeLogged(['-e', RUN_WORKER, bundle, JSON.stringify(['shop', 'blog'])], {
      logName: 'worker-bundle',
      env,
      timeout: 120_000,
    });
    const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    expect(
      line,
      `worker bundle run (exit ${run.code}):\n${run.stdout}\n${run.stderr}`,
    ).toBeDefined();
    const report = JSON.parse((line as string).slice('RESULT '.length)) as {
      afterLoad: string;
      afterRun: string;
      result: { batchItemFailures: unknown[] };
    };
    // The cold start left the X.509 stack alone; the issuance loaded it.
    expect(report.afterLoad).toBe('undefined');
    expect(report.afterRun).toBe('function');
    expect(report.result.batchItemFailures).toEqual([]);
    // The ARI identifier of each new certificate was computed through the stand-in (a
    // failure there is logged as this warning and leaves the lifetime rule only).
    expect(run.stdout).not.toContain('no renewal information identifier');

    for (const [id, names] of [
      ['shop', ['shop.example.test']],
      ['blog', ['*.blog.example.test', 'blog.example.test']],
    ] as const) {
      const current = join(dir, 'secrets', 'certs', id, 'current');
      const leaf = new X509Certificate(await readFile(join(current, 'fullchain.pem')));
      expect(
        leaf.checkPrivateKey(createPrivateKey(await readFile(join(current, 'privkey.pem')))),
      ).toBe(true);
      const sans = (leaf.subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, ''));
      expect(sans.sort()).toEqual([...names].sort());
    }
  }, 150_000);
});
