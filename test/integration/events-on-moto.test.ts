// Events on the default EventBridge bus, end to end on moto: a rule matching source
// `certloop` with an SQS target carries every PutEvents to a queue, where the test reads
// them. Issue, renewal, failure, invalid and STEK rotation each deliver exactly one event
// of the right type, valid against its schema in schemas/events/, holding no key material;
// with the bus unreachable the certificate is still issued once and `EventsFailed` counts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeEventBus } from '../../src/adapters/aws/eventbridge-event-bus.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import { composeRuntime, type Runtime } from '../../src/app/compose.js';
import { composeStekRotation } from '../../src/app/compose-stek.js';
import {
  createStekHandler,
  createSweepHandler,
  createWorkerHandler,
} from '../../src/app/handlers.js';
import { ENV } from '../../src/config/environment.js';
import { METRICS } from '../../src/config/metrics.js';
import { readRuntimeConfig } from '../../src/config/runtime-config.js';
import { readStekConfig, STEK_ENV } from '../../src/config/stek-environment.js';
import { EVENT_SOURCE, EVENT_TYPES } from '../../src/core/certificate-events.js';
import { CertloopError } from '../../src/core/errors.js';
import { STEK_TAG } from '../../src/core/registration-tags.js';
import { type PebbleServer, startPebble } from '../../src/local/pebble-server.js';
import type { Dns01Solver } from '../../src/ports/dns01-solver.js';
import { forceRenewal } from '../../src/services/force-renewal.js';
import { type DynaliteEnv, useDynaliteEnv } from '../support/aws-env.js';
import { type EventQueue, routeEventsToQueue } from '../support/event-queue.js';
import { schemaProblems } from '../support/event-schemas.js';
import { linesWithKeyMaterial } from '../support/key-material-patterns.js';
import { MirroredDns01Solver } from '../support/mirrored-dns.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';
import { RecordingMetrics } from '../support/recording-metrics.js';
import { silentLogger } from '../support/test-loggers.js';

const TABLE = 'events-records';

interface Delivered {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
}

/** Fails DNS-01 for chosen names, as a broken zone would: transient or permanent. */
function failingFor(
  solver: Dns01Solver,
  fail: Map<string, 'transient' | 'permanent'>,
): Dns01Solver {
  const check = (names: readonly { name: string }[]) => {
    for (const { name } of names) {
      const kind = fail.get(name.replace(/^_acme-challenge\./, ''));
      if (kind)
        throw new CertloopError(kind, `no hosted zone answers for ${name}`, { source: 'dns' });
    }
  };
  return {
    present: async (records) => {
      check(records);
      return solver.present(records);
    },
    waitForPropagation: (records) => solver.waitForPropagation(records),
    cleanup: (records) => solver.cleanup(records),
  };
}

describe('events on the default EventBridge bus (moto: rule -> SQS)', () => {
  let moto: MotoEnv;
  let dynalite: DynaliteEnv;
  let pebble: PebbleServer;
  let dir: string;
  let eventsQueue: EventQueue;
  let env: Record<string, string>;
  let runtime: Runtime;
  const arns = new Map<string, string>();
  const fail = new Map<string, 'transient' | 'permanent'>();
  const metrics = new RecordingMetrics();

  async function receiveAll(): Promise<Delivered[]> {
    const all = (await eventsQueue.receiveAll()) as Delivered[];
    for (const event of all) {
      expect(linesWithKeyMaterial(JSON.stringify(event))).toEqual([]);
      expect(event.source).toBe(EVENT_SOURCE);
      expect(schemaProblems(event['detail-type'], event.detail)).toEqual([]);
    }
    return all;
  }

  async function work(...names: string[]) {
    const handler = createWorkerHandler(runtime, metrics);
    const event: SQSEvent = {
      Records: names.map((name, i) => ({
        messageId: `m${i}`,
        receiptHandle: `r${i}`,
        body: JSON.stringify({ id: arns.get(name), dueAt: Date.now() }),
        attributes: {} as never,
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:certloop-work',
        awsRegion: 'us-east-1',
      })),
    };
    return handler(event);
  }

  beforeAll(async () => {
    moto = await useMotoEnv();
    dynalite = await useDynaliteEnv();
    pebble = await startPebble();
    dir = await mkdtemp(join(tmpdir(), 'certloop-events-'));
    await ensureTable(dynalite.client, TABLE);
    const zone = await new Route53Client({}).send(
      new CreateHostedZoneCommand({ Name: 'example.com', CallerReference: 'certloop-events' }),
    );
    eventsQueue = await routeEventsToQueue('certloop-events', { source: [EVENT_SOURCE] });
    const sm = new SecretsManagerClient({});
    for (const name of ['web', 'flaky', 'broken', 'quiet']) {
      const created = await sm.send(
        new CreateSecretCommand({
          Name: `tls/${name}`,
          Tags: [{ Key: 'certloop:domains', Value: `${name}.example.com` }],
        }),
      );
      arns.set(name, created.ARN ?? '');
    }
    const caFile = join(dir, 'pebble-ca.pem');
    await writeFile(caFile, pebble.listenerCaPem);
    env = {
      [ENV.tableName]: TABLE,
      [ENV.issuers]: JSON.stringify({
        default: { directoryUrl: pebble.directoryUrl, trustedCaFile: caFile },
      }),
      [ENV.hostedZones]: JSON.stringify([
        {
          hostedZoneId: (zone.HostedZone?.Id ?? '').replace('/hostedzone/', ''),
          domain: 'example.com',
        },
      ]),
    };
    const challtestsrv = new ChalltestsrvDns01Solver({
      managementUrl: pebble.challtestsrvUrl,
      dnsServer: pebble.dnsServer,
    });
    runtime = composeRuntime(readRuntimeConfig(env), {
      logger: silentLogger,
      decorateDns: (route53) => failingFor(new MirroredDns01Solver(route53, challtestsrv), fail),
    });
    await runtime.sweep?.();
  });
  afterAll(async () => {
    await pebble?.stop();
    await dynalite?.teardown();
    await moto?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('announces a first issuance once, after the secret holds it: serial, version, names, rule', async () => {
    const response = await work('web');
    expect(response.batchItemFailures).toEqual([]);
    const [event, ...more] = await receiveAll();
    expect(more).toEqual([]);
    expect(event?.['detail-type']).toBe(EVENT_TYPES.issued);
    const secret = await new SecretsManagerClient({}).send(
      new DescribeSecretCommand({ SecretId: arns.get('web') }),
    );
    const currentVersion = Object.entries(secret.VersionIdsToStages ?? {}).find(([, stages]) =>
      stages.includes('AWSCURRENT'),
    )?.[0];
    const record = await runtime.issuance.records.get(arns.get('web') ?? '');
    expect(event?.detail).toMatchObject({
      secretArn: arns.get('web'),
      secretVersionId: currentVersion,
      serial: record?.current?.serial,
      domains: ['web.example.com'],
      issuer: 'default',
      renewal: false,
      rule: 'NoCertificateYet',
    });
  });

  it('announces a forced renewal once, with the reason', async () => {
    const before = (await runtime.issuance.records.get(arns.get('web') ?? ''))?.current?.serial;
    await forceRenewal(runtime.renewal, {
      selector: { secret: arns.get('web') ?? '' },
      reason: 'key compromise drill',
      dryRun: false,
    });
    await work('web');
    const events = await receiveAll();
    expect(events.map((e) => e['detail-type'])).toEqual([EVENT_TYPES.issued]);
    expect(events[0]?.detail).toMatchObject({
      renewal: true,
      forcedReason: 'key compromise drill',
    });
    expect(events[0]?.detail.serial).not.toBe(before);
  });

  it('announces a failed attempt and an invalid record once each, with what a person needs', async () => {
    fail.set('flaky.example.com', 'transient');
    fail.set('broken.example.com', 'permanent');
    // Two batches: DNS-01 is published once per batch, so one failure would fail both.
    await work('flaky');
    await work('broken');
    const events = await receiveAll();
    expect(events.map((e) => e['detail-type']).sort()).toEqual(
      [EVENT_TYPES.invalid, EVENT_TYPES.renewalFailed].sort(),
    );
    const failed = events.find((e) => e['detail-type'] === EVENT_TYPES.renewalFailed);
    expect(failed?.detail).toMatchObject({
      secretArn: arns.get('flaky'),
      errorKind: 'transient',
      failures: 1,
    });
    expect(String(failed?.detail.message)).toMatch(/no hosted zone answers/);
    expect(failed?.detail.nextAttemptAt).toBeDefined();
    const invalid = events.find((e) => e['detail-type'] === EVENT_TYPES.invalid);
    expect(invalid?.detail.secretArn).toBe(arns.get('broken'));
    expect(((invalid?.detail.problems ?? []) as string[]).join(' ')).toMatch(
      /no hosted zone answers/,
    );
  });

  it('announces a registration the sweep finds invalid once, and not again while its tags stay the same', async () => {
    const created = await new SecretsManagerClient({}).send(
      new CreateSecretCommand({
        Name: 'tls/misspelt',
        Tags: [
          { Key: 'certloop:domains', Value: 'shop.example.com' },
          { Key: 'certloop:keytype', Value: 'ec-p256' },
        ],
      }),
    );
    const sweepMetrics = new RecordingMetrics();
    const sweep = createSweepHandler(runtime, sweepMetrics);
    const first = await sweep();
    expect(first.outcomes).toMatchObject({ invalid: 1, error: 0 });
    expect(first.events).toEqual({ published: 1, failed: 0 });
    const events = await receiveAll();
    expect(events.map((e) => e['detail-type'])).toEqual([EVENT_TYPES.invalid]);
    expect(events[0]?.detail.secretArn).toBe(created.ARN);
    expect(((events[0]?.detail.problems ?? []) as string[]).join(' ')).toMatch(/certloop:keytype/);

    const second = await sweep();
    expect(second.outcomes).toMatchObject({ invalid: 0, stillInvalid: 1 });
    expect(await receiveAll()).toEqual([]);
    expect(sweepMetrics.total(METRICS.eventsFailed)).toBe(0);
  });

  it('announces a STEK rotation with the set and generation, no key bytes', async () => {
    const sm = new SecretsManagerClient({});
    await sm.send(
      new CreateSecretCommand({ Name: 'tls/tickets', Tags: [{ Key: STEK_TAG, Value: 'true' }] }),
    );
    const stek = composeStekRotation(
      readStekConfig({ [STEK_ENV.tableName]: TABLE, [STEK_ENV.sets]: '["tls/tickets"]' }),
      { logger: silentLogger },
    );
    const stekMetrics = new RecordingMetrics();
    const report = await createStekHandler(stek, stekMetrics)();
    expect(report.sets[0]?.outcome).toBe('rotated');
    const events = await receiveAll();
    expect(events.map((e) => e['detail-type'])).toEqual([EVENT_TYPES.stekRotated]);
    expect(events[0]?.detail).toMatchObject({ setId: 'tls/tickets', ringGeneration: 1 });
    expect(stekMetrics.total(METRICS.eventsFailed)).toBe(0);
  });

  it('with the bus unreachable, still issues once and records it, and counts EventsFailed', async () => {
    const unreachable = composeRuntime(readRuntimeConfig(env), {
      logger: silentLogger,
      decorateDns: (route53) =>
        new MirroredDns01Solver(
          route53,
          new ChalltestsrvDns01Solver({
            managementUrl: pebble.challtestsrvUrl,
            dnsServer: pebble.dnsServer,
          }),
        ),
      bus: new EventBridgeEventBus({
        client: new EventBridgeClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 2 }),
      }),
    });
    const lost = new RecordingMetrics();
    const handler = createWorkerHandler(unreachable, lost);
    const response = await handler({
      Records: [
        {
          messageId: 'q',
          receiptHandle: 'q',
          body: JSON.stringify({ id: arns.get('quiet'), dueAt: Date.now() }),
          attributes: {} as never,
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:certloop-work',
          awsRegion: 'us-east-1',
        },
      ],
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(lost.total(METRICS.issued)).toBe(1);
    expect(lost.total(METRICS.eventsFailed)).toBe(1);
    const record = await unreachable.issuance.records.get(arns.get('quiet') ?? '');
    expect(record?.status).toBe('active');
    const published = await unreachable.issuance.secrets.readCertificate(arns.get('quiet') ?? '');
    expect(published?.serial).toBe(record?.current?.serial);
    expect(await receiveAll()).toEqual([]);
  });
});
