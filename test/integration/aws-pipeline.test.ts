import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACMClient, GetCertificateCommand, ListCertificatesCommand } from '@aws-sdk/client-acm';
import {
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecretStore } from '../../src/adapters/aws/secrets-manager-secret-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import { StructuredLogger } from '../../src/adapters/logging/powertools-logger.js';
import { composeRuntime, type Runtime } from '../../src/app/compose.js';
import { composePlanner } from '../../src/app/compose-planner.js';
import {
  createPlannerHandler,
  createSweepHandler,
  createWorkerHandler,
} from '../../src/app/handlers.js';
import { ENV } from '../../src/config/environment.js';
import { METRICS } from '../../src/config/metrics.js';
import { readPlannerConfig, readRuntimeConfig } from '../../src/config/runtime-config.js';
import { CertloopError } from '../../src/core/errors.js';
import { type PebbleServer, startPebble } from '../../src/local/pebble-server.js';
import { issueCertificates } from '../../src/services/issue-certificates.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import { type DynaliteEnv, useDynaliteEnv } from '../support/aws-env.js';
import { intercept } from '../support/faults.js';
import { MirroredDns01Solver } from '../support/mirrored-dns.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';
import { RecordingMetrics } from '../support/recording-metrics.js';

const TABLE = 'pipeline-records';

interface Wanted {
  name: string;
  domains: string[];
  wildcards: string[];
  key?: string;
}

// 30 secrets over three hosted zones, one nested inside another.
const zones = ['example.com', 'team.example.com', 'example.org'];
const wanted: Wanted[] = Array.from({ length: 30 }, (_, i) => {
  const zone = zones[i % 3] as string;
  const base = `svc${i}.${zone}`;
  if (i % 5 === 0) return { name: `cert-${i}`, domains: [base], wildcards: [base], key: 'ec-p384' };
  if (i % 7 === 0)
    return { name: `cert-${i}`, domains: [base, `www.${base}`], wildcards: [], key: 'rsa-2048' };
  return { name: `cert-${i}`, domains: [base], wildcards: [] };
});

function sqsEvent(
  messages: Array<{ MessageId?: string; Body?: string; ReceiptHandle?: string }>,
): SQSEvent {
  return {
    Records: messages.map(
      (m) =>
        ({
          messageId: m.MessageId ?? '',
          receiptHandle: m.ReceiptHandle ?? '',
          body: m.Body ?? '',
          attributes: {},
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:certloop-work',
          awsRegion: 'us-east-1',
        }) as unknown as SQSRecord,
    ),
  };
}

describe('the AWS pipeline on moto + dynalite + pebble: tags -> sweep -> planner -> SQS -> worker -> Secrets Manager', () => {
  let moto: MotoEnv;
  let dynalite: DynaliteEnv;
  let pebble: PebbleServer;
  let dir: string;
  let runtime: Runtime;
  let planner: ReturnType<typeof composePlanner>;
  let queueUrl: string;
  let env: Record<string, string>;
  const arns = new Map<string, string>();
  const zoneIds: string[] = [];
  let sqs: SQSClient;

  /** Receives everything from the queue, runs it through the worker handler in SQS-sized batches. */
  const metrics = new RecordingMetrics();
  async function drainQueue(handler = createWorkerHandler(runtime, metrics)) {
    let messages = 0;
    const failures: string[] = [];
    for (;;) {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 300,
        }),
      );
      const batch = received.Messages ?? [];
      if (batch.length === 0) break;
      messages += batch.length;
      const response = await handler(sqsEvent(batch));
      failures.push(...response.batchItemFailures.map((f) => f.itemIdentifier));
      const done = batch.filter((m) => !failures.includes(m.MessageId ?? ''));
      if (done.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
        );
      }
    }
    return { messages, failures };
  }

  beforeAll(async () => {
    moto = await useMotoEnv();
    dynalite = await useDynaliteEnv();
    pebble = await startPebble();
    dir = await mkdtemp(join(tmpdir(), 'certloop-pipeline-'));
    await ensureTable(dynalite.client, TABLE);

    const route53 = new Route53Client({});
    for (const zone of zones) {
      const created = await route53.send(
        new CreateHostedZoneCommand({ Name: zone, CallerReference: `certloop-${zone}` }),
      );
      zoneIds.push((created.HostedZone?.Id ?? '').replace('/hostedzone/', ''));
    }
    sqs = new SQSClient({});
    queueUrl =
      (await sqs.send(new CreateQueueCommand({ QueueName: 'certloop-work' }))).QueueUrl ?? '';

    const sm = new SecretsManagerClient({});
    for (const w of wanted) {
      const tags = [{ Key: 'certloop:domains', Value: w.domains.join(' ') }];
      if (w.wildcards.length > 0)
        tags.push({ Key: 'certloop:wildcards', Value: w.wildcards.join(' ') });
      if (w.key) tags.push({ Key: 'certloop:key', Value: w.key });
      const created = await sm.send(new CreateSecretCommand({ Name: `tls/${w.name}`, Tags: tags }));
      arns.set(w.name, created.ARN ?? '');
    }
    for (let i = 0; i < 5; i++)
      await sm.send(
        new CreateSecretCommand({
          Name: `unrelated/${i}`,
          SecretString: '{}',
          Tags: [{ Key: 'team', Value: 'web' }],
        }),
      );

    const caFile = join(dir, 'pebble-ca.pem');
    await writeFile(caFile, pebble.listenerCaPem);
    env = {
      [ENV.tableName]: TABLE,
      [ENV.issuers]: JSON.stringify({
        default: { directoryUrl: pebble.directoryUrl, trustedCaFile: caFile },
      }),
      [ENV.hostedZones]: JSON.stringify(
        zones.map((domain, i) => ({ hostedZoneId: zoneIds[i], domain })),
      ),
      [ENV.queueUrl]: queueUrl,
    };
    const logger = new StructuredLogger({ serviceName: 'certloop-pipeline-test' });
    const challtestsrv = new ChalltestsrvDns01Solver({
      managementUrl: pebble.challtestsrvUrl,
      dnsServer: pebble.dnsServer,
    });
    runtime = composeRuntime(readRuntimeConfig(env), {
      logger,
      decorateDns: (route53Solver) => new MirroredDns01Solver(route53Solver, challtestsrv),
    });
    planner = composePlanner(readPlannerConfig(env), { logger });
  });
  afterAll(async () => {
    await pebble?.stop();
    await dynalite?.teardown();
    await moto?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('issues 30 tagged secrets into Secrets Manager with matching keys, and a second plan enqueues nothing', async () => {
    const sweep = createSweepHandler(runtime, metrics);
    const swept = await sweep();
    expect(swept).toMatchObject({ seen: 30, outcomes: { created: 30, invalid: 0, error: 0 } });

    const plan = createPlannerHandler(planner, metrics);
    expect(await plan()).toMatchObject({ due: 30, enqueued: 30, failed: 0 });
    expect(metrics.flushed.at(-1)?.[METRICS.dueBacklog]).toBe(30);
    const drained = await drainQueue();
    expect(drained).toEqual({ messages: 30, failures: [] });
    expect(metrics.total(METRICS.issued)).toBe(30);
    expect(metrics.total(METRICS.failed)).toBe(0);

    const store = new SecretsManagerSecretStore({ client: new SecretsManagerClient({}) });
    for (const w of wanted) {
      const arn = arns.get(w.name) ?? '';
      const bundle = await store.readCertificate(arn, 'current');
      expect(bundle, w.name).toBeDefined();
      const leaf = new X509Certificate(bundle?.fullchain ?? '');
      expect(leaf.checkPrivateKey(createPrivateKey(bundle?.privateKey.reveal() ?? ''))).toBe(true);
      const expected = [...w.domains, ...w.wildcards.map((b) => `*.${b}`)].sort();
      expect(bundle?.domains).toEqual(expected);
      expect(bundle?.keyType).toBe(w.key ?? 'ec-p256');
      const record = await runtime.registration.records.get(arn);
      expect(record).toMatchObject({ status: 'active', failures: 0 });
      expect(record?.nextAttemptAt).toBe(record?.renewAt);
      expect(record?.nextAttemptAt).toBeGreaterThan(Date.now());
    }

    expect(await plan()).toMatchObject({ due: 0, enqueued: 0 });
    expect(metrics.flushed.at(-1)?.[METRICS.dueBacklog]).toBe(0);
    // The sweep reports the fleet's health for the expiry alarm: pebble issues 5-year certificates.
    const health = await sweep();
    expect(health.health).toMatchObject({ total: 30, active: 30, invalid: 0, atRisk: 0 });
    expect(metrics.flushed.at(-1)?.[METRICS.minDaysToExpiry]).toBeGreaterThan(1800);
    expect(metrics.flushed.at(-1)?.[METRICS.certificatesAtRisk]).toBe(0);

    const route53 = new Route53Client({});
    for (const zoneId of zoneIds) {
      const sets = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
      expect((sets.ResourceRecordSets ?? []).filter((s) => s.Type === 'TXT')).toEqual([]);
    }
  });

  it('makes each of 11 bad tag sets an invalid record with a clear message, never enqueued, while the good ones issue', async () => {
    const sm = new SecretsManagerClient({});
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['bad-ip', { 'certloop:domains': '192.0.2.7' }, /IP address/],
      ['bad-label', { 'certloop:domains': `${'x'.repeat(64)}.example.com` }, /at most 63/],
      ['bad-zone', { 'certloop:domains': 'www.example.net' }, /outside the allowed suffixes/],
      ['bad-single', { 'certloop:domains': 'localhost' }, /single label/],
      [
        'bad-underscore',
        { 'certloop:domains': 'a_b.example.com' },
        /letters, digits and inner hyphens/,
      ],
      ['bad-empty', { 'certloop:domains': '' }, /no names requested/],
      [
        'bad-key',
        { 'certloop:domains': 'k.example.com', 'certloop:key': 'ed25519' },
        /key type "ed25519" is not one of/,
      ],
      [
        'bad-issuer',
        { 'certloop:domains': 'i.example.com', 'certloop:issuer': 'prod' },
        /issuer "prod" is not configured/,
      ],
      [
        'bad-profile',
        { 'certloop:domains': 'p.example.com', 'certloop:profile': 'short lived' },
        /not a valid ACME profile name/,
      ],
      [
        'bad-tld-wildcard',
        { 'certloop:domains': 'w.example.com', 'certloop:wildcards': 'com' },
        /top-level domain/,
      ],
      [
        'bad-covered',
        { 'certloop:domains': 'a.example.com', 'certloop:wildcards': 'example.com' },
        /already covered/,
      ],
    ];
    const arnOf = new Map<string, string>();
    for (const [name, tags] of cases) {
      const created = await sm.send(
        new CreateSecretCommand({
          Name: `tls/${name}`,
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      arnOf.set(name, created.ARN ?? '');
    }
    const good = await sm.send(
      new CreateSecretCommand({
        Name: 'tls/good-neighbour',
        Tags: [{ Key: 'certloop:domains', Value: 'good.example.org' }],
      }),
    );

    const swept = await runtime.sweep?.();
    expect(swept?.outcomes).toMatchObject({ invalid: 11, created: 1, error: 0 });
    for (const [name, , message] of cases) {
      const record = await runtime.registration.records.get(arnOf.get(name) ?? '');
      expect(record?.status, name).toBe('invalid');
      expect(record?.statusMessage, name).toMatch(message);
      expect(record?.nextAttemptAt, name).toBeUndefined();
    }
    expect(await planner.plan()).toMatchObject({ due: 1, enqueued: 1 });
    expect(await drainQueue()).toEqual({ messages: 1, failures: [] });
    expect((await runtime.registration.records.get(good.ARN ?? ''))?.status).toBe('active');
    // A second sweep with unchanged tags retries nothing.
    expect((await runtime.sweep?.())?.outcomes).toMatchObject({
      invalid: 0,
      stillInvalid: 11,
      updated: 0,
    });
    expect(await planner.plan()).toMatchObject({ due: 0 });
  });

  it('re-issues with the new names when the tags change, and stops writing once the tag is removed', async () => {
    const sm = new SecretsManagerClient({});
    const store = new SecretsManagerSecretStore({ client: sm });
    const renamed = arns.get('cert-1') ?? '';
    const removed = arns.get('cert-2') ?? '';
    await sm.send(
      new TagResourceCommand({
        SecretId: renamed,
        Tags: [{ Key: 'certloop:domains', Value: 'renamed.example.com alias.example.com' }],
      }),
    );
    await sm.send(new UntagResourceCommand({ SecretId: removed, TagKeys: ['certloop:domains'] }));
    const before = await sm.send(new DescribeSecretCommand({ SecretId: removed }));

    const swept = await runtime.sweep?.();
    expect(swept).toMatchObject({ unmanaged: 1, outcomes: { updated: 1 } });
    expect(await runtime.registration.records.get(removed)).toMatchObject({ status: 'unmanaged' });
    expect(await planner.plan()).toMatchObject({ due: 1 });
    expect(await drainQueue()).toEqual({ messages: 1, failures: [] });
    expect((await store.readCertificate(renamed, 'current'))?.domains).toEqual([
      'alias.example.com',
      'renamed.example.com',
    ]);

    // The untagged secret is left exactly as it was: no new version, AWSCURRENT unchanged.
    const after = await sm.send(new DescribeSecretCommand({ SecretId: removed }));
    expect(after.VersionIdsToStages).toEqual(before.VersionIdsToStages);
    const forced = await runtime.renewal.records.get(removed);
    expect(forced?.nextAttemptAt).toBeUndefined();
  });

  it('reports only the failing message of a worker batch: a malformed body and a record deferred by a storage failure', async () => {
    const ids: string[] = [];
    for (const name of ['batch-a', 'batch-b', 'batch-c']) {
      const created = await new SecretsManagerClient({}).send(
        new CreateSecretCommand({ Name: `tls/${name}` }),
      );
      ids.push(created.ARN ?? '');
      await registerCertificate(runtime.registration, {
        id: created.ARN ?? '',
        domains: [`${name}.example.org`],
      });
    }
    const [a, b, c] = ids as [string, string, string];
    // Our own DynamoDB throttles for record c only.
    const flaky: Runtime = {
      ...runtime,
      issuance: {
        ...runtime.issuance,
        records: intercept(runtime.issuance.records, {
          acquireLease: (real, id, ...rest) =>
            id === c
              ? Promise.reject(
                  new CertloopError('infrastructure', 'ProvisionedThroughputExceeded (injected)', {
                    source: 'records',
                  }),
                )
              : real.acquireLease(id, ...rest),
        }),
      },
    };
    const response = await createWorkerHandler(flaky)(
      sqsEvent([
        { MessageId: 'm-a', Body: JSON.stringify({ id: a, dueAt: 0 }) },
        { MessageId: 'm-bad', Body: 'this is not a work message' },
        { MessageId: 'm-b', Body: JSON.stringify({ id: b, dueAt: 0 }) },
        { MessageId: 'm-c', Body: JSON.stringify({ id: c, dueAt: 0 }) },
      ]),
    );
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([
      'm-bad',
      'm-c',
    ]);
    expect((await runtime.registration.records.get(a))?.status).toBe('active');
    expect((await runtime.registration.records.get(b))?.status).toBe('active');
    expect(await runtime.registration.records.get(c)).toMatchObject({
      status: 'pending',
      failures: 0,
    });
  });

  it('rides out Secrets Manager throttling and 5xx (SDK retries) and, when they persist, defers without counting a failure', async () => {
    const throttledClient = (times: number) => {
      const client = new SecretsManagerClient({ maxAttempts: 3, retryStrategy: undefined });
      let hits = 0;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          // Only the certificate write, not the staged-key writes before it.
          const value = (args.input as { SecretString?: string }).SecretString ?? '';
          const certificateWrite = value.includes('"fullchain"');
          if (context.commandName !== 'PutSecretValueCommand' || !certificateWrite || hits >= times)
            return next(args);
          hits += 1;
          const status = hits % 2 === 0 ? 503 : 400;
          const type = status === 503 ? 'ServiceUnavailable' : 'ThrottlingException';
          return {
            output: undefined as never,
            response: {
              statusCode: status,
              headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type },
              body: new TextEncoder().encode(
                JSON.stringify({ __type: type, message: 'Rate exceeded (injected)' }),
              ),
            },
          };
        },
        { step: 'deserialize', priority: 'low', name: `throttle${times}` },
      );
      return client;
    };
    const register = async (name: string) => {
      const created = await new SecretsManagerClient({}).send(
        new CreateSecretCommand({ Name: `tls/${name}` }),
      );
      await registerCertificate(runtime.registration, {
        id: created.ARN ?? '',
        domains: [`${name}.example.com`],
      });
      return created.ARN ?? '';
    };

    const brief = await register('throttled-briefly');
    const [briefOutcome] = await issueCertificates(
      {
        ...runtime.issuance,
        secrets: new SecretsManagerSecretStore({ client: throttledClient(2) }),
      },
      [brief],
    );
    expect(briefOutcome?.outcome).toBe('issued');

    const stuck = await register('throttled-for-long');
    const before = Date.now();
    const [stuckOutcome] = await issueCertificates(
      {
        ...runtime.issuance,
        secrets: new SecretsManagerSecretStore({ client: throttledClient(1000) }),
      },
      [stuck],
    );
    expect(stuckOutcome).toMatchObject({ outcome: 'deferred', reason: 'infrastructure' });
    const record = await runtime.registration.records.get(stuck);
    expect(record).toMatchObject({
      failures: 0,
      lastError: { kind: 'infrastructure', source: 'secrets' },
    });
    expect(record?.nextAttemptAt).toBeGreaterThanOrEqual(before + 59_000);
    // The order is kept: the next attempt resumes it instead of placing a new one.
    expect(record?.order).toBeDefined();
  });

  it('imports into ACM when the deployment enables it: a new ACM certificate, re-imported into the same ARN when the names change', async () => {
    const acmRuntime = composeRuntime(readRuntimeConfig({ ...env, [ENV.acmImport]: 'true' }), {
      logger: new StructuredLogger({ serviceName: 'certloop-pipeline-test' }),
      decorateDns: (route53Solver) =>
        new MirroredDns01Solver(
          route53Solver,
          new ChalltestsrvDns01Solver({
            managementUrl: pebble.challtestsrvUrl,
            dnsServer: pebble.dnsServer,
          }),
        ),
    });
    const sm = new SecretsManagerClient({});
    const store = new SecretsManagerSecretStore({ client: sm });
    const acm = new ACMClient({});
    const created = await sm.send(
      new CreateSecretCommand({
        Name: 'tls/behind-a-load-balancer',
        Tags: [
          { Key: 'certloop:domains', Value: 'lb.example.com' },
          { Key: 'certloop:acm', Value: 'new' },
        ],
      }),
    );
    const id = created.ARN ?? '';
    const acmSerial = async (arn: string) => {
      const held = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
      return new X509Certificate(held.Certificate ?? '').serialNumber;
    };

    expect((await acmRuntime.sweep?.())?.outcomes).toMatchObject({ created: 1, error: 0 });
    // Record c of the batch test above is still due (its failure could not be recorded).
    const planned = await planner.plan();
    expect(planned.enqueued).toBeGreaterThanOrEqual(1);
    expect(await drainQueue(createWorkerHandler(acmRuntime, metrics))).toEqual({
      messages: planned.enqueued,
      failures: [],
    });
    const first = await acmRuntime.registration.records.get(id);
    const arn = first?.acm?.arn ?? '';
    expect(arn).toMatch(/^arn:aws:acm:us-east-1:\d{12}:certificate\//);
    const firstSecret = await store.readCertificate(id, 'current');
    expect(await acmSerial(arn)).toBe(firstSecret?.serial);
    expect(first?.acm?.importedSerial).toBe(firstSecret?.serial);

    await sm.send(
      new TagResourceCommand({
        SecretId: id,
        Tags: [{ Key: 'certloop:domains', Value: 'lb.example.com api.example.com' }],
      }),
    );
    expect((await acmRuntime.sweep?.())?.outcomes).toMatchObject({ updated: 1 });
    expect(await planner.plan()).toMatchObject({ due: 1 });
    expect(await drainQueue(createWorkerHandler(acmRuntime, metrics))).toEqual({
      messages: 1,
      failures: [],
    });
    const second = await store.readCertificate(id, 'current');
    expect(second?.domains).toEqual(['api.example.com', 'lb.example.com']);
    expect((await acmRuntime.registration.records.get(id))?.acm).toEqual({
      target: 'new',
      arn,
      importedSerial: second?.serial,
    });
    expect(await acmSerial(arn)).toBe(second?.serial);
    expect(
      (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList?.map(
        (c) => c.CertificateArn,
      ),
    ).toEqual([arn]);
  });
});
