import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerStekCommand } from '../../cli/stek-command.js';
import { AcmeClientCa } from '../../src/adapters/acme/acme-client-ca.js';
import { accountKeySecretName } from '../../src/adapters/aws/secrets-manager-account-keys.js';
import { SecretsManagerStekStore } from '../../src/adapters/aws/secrets-manager-stek-store.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { CERTIFICATE_KEY_PREFIX } from '../../src/adapters/dynamodb/table-schema.js';
import { StructuredLogger } from '../../src/adapters/logging/powertools-logger.js';
import { composeRuntime } from '../../src/app/compose.js';
import { composeStekRotation } from '../../src/app/compose-stek.js';
import { createWorkerHandler, type RenewResponse } from '../../src/app/handlers.js';
import { readRuntimeConfig } from '../../src/config/runtime-config.js';
import { ACCOUNT_KEY_TAG, STEK_TAG_KEY, stekLockKey } from '../../src/config/shared-names.js';
import { readStekConfig } from '../../src/config/stek-environment.js';
import {
  DEFAULT_STEK_POLICY,
  EMPTY_RING,
  encodeRing,
  rotateRing,
  toBase64,
} from '../../src/core/stek-ring.js';
import { DAY } from '../../src/core/time.js';
import { readLocalConfig } from '../../src/local/local-config.js';
import { runLocal } from '../../src/local/runner.js';
import type { KeyFactory } from '../../src/ports/key-factory.js';
import type { CertificateBundle, SecretStore } from '../../src/ports/secret-store.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import {
  BAD_INPUT_CORPUS,
  type BadInputCase,
  type BadInputKind,
  PLACEHOLDER,
  REQUIRED_KINDS,
  type StoredValue,
} from '../fixtures/bad-input-corpus.js';
import { type DynaliteEnv, useDynaliteEnv } from '../support/aws-env.js';
import { KEY_MATERIAL_PATTERNS, keyFingerprints } from '../support/key-material-patterns.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';
import { RecordingMetrics } from '../support/recording-metrics.js';
import { makeTestBundle, makeTestKey } from '../support/test-certificates.js';

// Drill R4: every case of test/fixtures/bad-input-corpus.ts goes to the real reader of its
// input, over real stores that hold data (moto Secrets Manager, dynalite records), and
// must give (1) an error whose message matches the case and reads as one clear sentence:
// no stack, no [object Object], no key material; and (2) no stored data changed: every
// secret's tags, VersionIdsToStages and version values, and every table item, are
// snapshotted before and compared after. Where the reader works on a batch (the sweep,
// the STEK rotation), a good neighbour in the same batch is still processed.

const TABLE = 'corpus-records';
const GOOD_STEK_SET = 'tls/tickets';
const WWW_SECRET = 'tls/www';
const WWW_DOMAINS = ['example.com', 'www.example.com'];

/** The deployment every function of the drill runs with (each reads what it needs). */
const BASE_ENV: Record<string, string> = {
  CERTLOOP_TABLE_NAME: TABLE,
  CERTLOOP_ISSUERS: JSON.stringify({
    default: { directoryUrl: 'https://acme.corpus.invalid/directory' },
    staging: { directoryUrl: 'https://acme-staging.corpus.invalid/directory' },
  }),
  CERTLOOP_DEFAULT_ISSUER: 'default',
  CERTLOOP_HOSTED_ZONES: JSON.stringify([
    { hostedZoneId: 'Z0CORPUS000COM', domain: 'example.com' },
    { hostedZoneId: 'Z0CORPUS000ORG', domain: 'example.org' },
  ]),
  // An AWS tag value holds at most 256 characters: through tags, only a configured
  // limit below the default 100 names can be exceeded.
  CERTLOOP_MAX_NAMES: '10',
  CERTLOOP_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/certloop-corpus',
  CERTLOOP_STEK_SETS: JSON.stringify([GOOD_STEK_SET]),
};

const casesOf = <K extends BadInputKind>(kind: K) =>
  BAD_INPUT_CORPUS.filter((c): c is Extract<BadInputCase, { kind: K }> => c.kind === kind);

function slugOf(c: BadInputCase): string {
  const index = BAD_INPUT_CORPUS.indexOf(c);
  const words = c.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  return `${index}-${words}`;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function settle<T>(run: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

function messageOf(outcome: Settled<unknown>, what: string): string {
  // Never print a resolved value: it may hold key material.
  expect(outcome.ok, `${what} was accepted; it should have been refused`).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(error, `${what} threw something that is not an Error`).toBeInstanceOf(Error);
  return (error as Error).message;
}

/** (1) The message names the problem, in one clear sentence, without key material. */
function expectClearMessage(message: string, c: BadInputCase, secrets: readonly string[] = []) {
  const leaks =
    KEY_MATERIAL_PATTERNS.some((pattern) => pattern.test(message)) ||
    secrets.some((secret) =>
      [secret, ...keyFingerprints(secret)].some(
        (fragment) => fragment.length >= 16 && message.includes(fragment),
      ),
    );
  // Checked first, and without printing the message.
  expect(leaks, 'the message holds key material').toBe(false);
  expect(message, c.name).toMatch(c.expect);
  expect(message, 'a stringified object').not.toContain('[object Object]');
  expect(message, 'a stack trace').not.toMatch(/^\s*at .+(:\d+:\d+\)?|<anonymous>)$/m);
  // One sentence; only the local config file lists its problems one per line.
  if (c.kind !== 'local-config') expect(message, 'more than one line').not.toContain('\n');
  expect(message.length, 'the message echoes the input at length').toBeLessThanOrEqual(600);
}

// ---------------------------------------------------------------------------------------
// Snapshots of everything stored: secrets (tags, stages, a hash of every version's value)
// and every item of the records table.

interface Snapshot {
  entries: Map<string, string>;
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Names of the entries that differ (changed, added or removed), sorted. */
function changes(before: Snapshot, after: Snapshot): string[] {
  const names = new Set([...before.entries.keys(), ...after.entries.keys()]);
  return [...names].filter((name) => before.entries.get(name) !== after.entries.get(name)).sort();
}

const itemKey = (pk: string) => `item ${pk}`;
const recordKey = (id: string) => itemKey(`${CERTIFICATE_KEY_PREFIX}${id}`);

// ---------------------------------------------------------------------------------------

describe('drill R4: one bad-input corpus, each case a clear error with no stored data changed', () => {
  let moto: MotoEnv;
  let dynalite: DynaliteEnv;
  let sm: SecretsManagerClient;
  let dynamo: DynamoDBClient;
  let records: DynamoDbRecordStore;
  let secrets: SecretStore;
  let dir: string;
  let bundle: CertificateBundle;
  let wwwArn: string;
  let sweepHandler: () => Promise<{ outcomes: Record<string, number> }>;
  let renewHandler: (payload: unknown) => Promise<RenewResponse>;
  const savedEnv = { ...process.env };
  // A version's value never changes in Secrets Manager (a new value is a new version
  // id), so each version is read and hashed once.
  const versionHashes = new Map<string, string>();

  async function snapshot(): Promise<Snapshot> {
    const entries = new Map<string, string>();
    let nextToken: string | undefined;
    do {
      const page = await sm.send(
        new ListSecretsCommand({ MaxResults: 100, ...(nextToken ? { NextToken: nextToken } : {}) }),
      );
      for (const secret of page.SecretList ?? []) {
        const arn = secret.ARN ?? '';
        const values: Record<string, string> = {};
        for (const versionId of Object.keys(secret.SecretVersionsToStages ?? {})) {
          const key = `${arn} ${versionId}`;
          let hash = versionHashes.get(key);
          if (hash === undefined) {
            const value = await sm.send(
              new GetSecretValueCommand({ SecretId: arn, VersionId: versionId }),
            );
            hash = sha256(value.SecretString ?? `binary:${value.SecretBinary?.length ?? 0}`);
            versionHashes.set(key, hash);
          }
          values[versionId] = hash;
        }
        entries.set(
          `secret ${secret.Name}`,
          stable({
            tags: Object.fromEntries((secret.Tags ?? []).map((t) => [t.Key, t.Value])),
            stages: secret.SecretVersionsToStages,
            values,
          }),
        );
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken);

    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamo.send(
        new ScanCommand({
          TableName: TABLE,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) entries.set(itemKey(item.pk?.S ?? '?'), stable(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return { entries };
  }

  async function createSecret(
    name: string,
    tags: Record<string, string>,
    value?: string,
  ): Promise<string> {
    const created = await sm.send(
      new CreateSecretCommand({
        Name: name,
        ...(value === undefined ? {} : { SecretString: value }),
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return created.ARN ?? '';
  }

  beforeAll(async () => {
    moto = await useMotoEnv();
    dynalite = await useDynaliteEnv();
    Object.assign(process.env, BASE_ENV);
    dir = await mkdtemp(join(tmpdir(), 'certloop-corpus-'));
    sm = new SecretsManagerClient({ endpoint: moto.endpoint });
    dynamo = new DynamoDBClient({ endpoint: dynalite.endpoint });
    await ensureTable(dynamo, TABLE);
    records = new DynamoDbRecordStore({ client: dynamo, tableName: TABLE });
    secrets = composeRuntime(readRuntimeConfig(BASE_ENV), {
      logger: new StructuredLogger({ serviceName: 'certloop-corpus' }),
    }).issuance.secrets;

    // Existing data: two managed certificates (one with a previous pair), a registration
    // that is already invalid, an unrelated secret, a STEK set and its lock.
    const [older, current] = await Promise.all([
      makeTestBundle(WWW_DOMAINS),
      makeTestBundle(WWW_DOMAINS),
    ]);
    bundle = current;
    const domainsTag = { 'certloop:domains': WWW_DOMAINS.join(' ') };
    wwwArn = await createSecret(WWW_SECRET, domainsTag);
    await secrets.writeCertificate(wwwArn, older, 'seed-www-1');
    await secrets.writeCertificate(wwwArn, current, 'seed-www-2');
    const apiArn = await createSecret('tls/api', { 'certloop:domains': 'api.example.org' });
    await secrets.writeCertificate(apiArn, current, 'seed-api-1');
    await createSecret('tls/legacy', { 'certloop:domains': 'legacy.example.net' }, '{}');
    await createSecret('app/db-password', { team: 'db' }, '{"password":"not-a-real-one"}');
    const ring = rotateRing(EMPTY_RING, Date.now(), DEFAULT_STEK_POLICY, (n) =>
      Uint8Array.from(randomBytes(n)),
    ).ring;
    await new SecretsManagerStekStore({ client: sm }).write(GOOD_STEK_SET, ring, 'seed-ring-1');
    await composeStekRotation(readStekConfig(BASE_ENV)).rotate();

    // The functions themselves, cold-started on this configuration.
    sweepHandler = (await import('../../functions/sweep.js')).handler;
    renewHandler = (await import('../../functions/renew.js')).handler;
    await sweepHandler();
    for (const [arn, certificate] of [
      [wwwArn, current],
      [apiArn, current],
    ] as const) {
      const record = await records.get(arn);
      if (!record) throw new Error(`seed record ${arn} missing`);
      const renewAt = Date.now() + 30 * DAY;
      await records.put(
        {
          ...record,
          status: 'active',
          current: {
            serial: certificate.serial,
            notBefore: Date.parse(certificate.notBefore),
            notAfter: Date.parse(certificate.notAfter),
            domains: certificate.domains,
            keyType: record.keyType,
            issuer: 'default',
            issuedAt: Date.now(),
          },
          renewAt,
          nextAttemptAt: renewAt,
        },
        record.version,
      );
    }
  });

  afterAll(async () => {
    sm?.destroy();
    dynamo?.destroy();
    await dynalite?.teardown();
    await moto?.teardown();
    for (const name of Object.keys(process.env)) {
      if (!(name in savedEnv)) delete process.env[name];
    }
    Object.assign(process.env, savedEnv);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // -------------------------------------------------------------------------------------
  describe('tags: one sweep makes each bad registration an invalid record naming the problem, touches no secret, and still registers every good neighbour', () => {
    const created = new Map<BadInputCase, { name: string; bad: string; neighbour: string }>();
    let before: Snapshot;
    let afterFirst: Snapshot;
    let afterSecond: Snapshot;
    let firstSweep: { outcomes: Record<string, number> };
    let secondSweep: { outcomes: Record<string, number> };
    const newRecords = () =>
      new Set(
        [...created.values()].flatMap(({ bad, neighbour }) => [bad, neighbour].map(recordKey)),
      );

    // The sweep is a batch: every bad registration of the corpus and one good neighbour
    // per case go through the same run of the Sweep function.
    beforeAll(async () => {
      const cases = casesOf('tags');
      for (let i = 0; i < cases.length; i += 6) {
        await Promise.all(
          cases.slice(i, i + 6).map(async (c) => {
            const slug = slugOf(c);
            const name = `tls/corpus-tags/${slug}`;
            // The bad registration is a secret that holds a published certificate.
            const bad = await createSecret(name, c.input.tags);
            await secrets.writeCertificate(bad, bundle, `corpus-${slug}`);
            const neighbour = await createSecret(`tls/corpus-neighbour/${slug}`, {
              'certloop:domains': `n${BAD_INPUT_CORPUS.indexOf(c)}.example.org`,
            });
            created.set(c, { name, bad, neighbour });
          }),
        );
      }
      before = await snapshot();
      firstSweep = await sweepHandler();
      afterFirst = await snapshot();
      secondSweep = await sweepHandler();
      afterSecond = await snapshot();
    });

    it.each(casesOf('tags'))('$name', async (c) => {
      const { name, bad, neighbour } = created.get(c) ?? { name: '', bad: '', neighbour: '' };
      const record = await records.get(bad);
      expect(record?.status).toBe('invalid');
      expect(record?.nextAttemptAt).toBeUndefined();
      expectClearMessage(record?.statusMessage ?? '', c);
      // One bad registration never stops the others.
      const registered = await records.get(neighbour);
      expect(registered?.status).toBe('pending');
      expect(registered?.nextAttemptAt).toBeLessThanOrEqual(Date.now());
      // Its secret (tags, stages, values) is as it was, and a second sweep of the same
      // tags writes nothing; the (batch) test below checks that nothing else changed.
      const neighbourName = `tls/corpus-neighbour/${slugOf(c)}`;
      expect(changes(before, afterFirst)).not.toContain(`secret ${name}`);
      expect(changes(before, afterFirst)).not.toContain(`secret ${neighbourName}`);
      expect(changes(afterFirst, afterSecond)).not.toContain(recordKey(bad));
    });

    it('(batch) the sweep counted every bad registration as invalid and every neighbour as created, and the next sweep wrote nothing', () => {
      const cases = casesOf('tags').length;
      // The one registration an earlier part of this file left invalid is unchanged: the
      // sweep says so (stillInvalid) and writes nothing, and announces only the new ones.
      expect(firstSweep.outcomes).toMatchObject({
        invalid: cases,
        stillInvalid: 1,
        created: cases,
        error: 0,
      });
      expect(changes(before, afterFirst)).toEqual([...newRecords()].sort());
      expect(secondSweep.outcomes).toMatchObject({
        created: 0,
        updated: 0,
        invalid: 0,
        stillInvalid: cases + 1,
        error: 0,
      });
      expect(changes(afterFirst, afterSecond)).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------
  describe('Renew payloads: the Renew function answers {ok: false, error} and writes nothing', () => {
    it.each(casesOf('renew-payload'))('$name', async (c) => {
      const before = await snapshot();
      const answer = await renewHandler(c.input.payload);
      const after = await snapshot();
      expect(answer.ok, 'the payload was accepted').toBe(false);
      expectClearMessage((answer as { error: string }).error, c);
      expect(changes(before, after)).toEqual([]);
    });

    it('(control) a valid dry run answers ok and writes nothing either', async () => {
      const before = await snapshot();
      const answer = await renewHandler({ all: true, dryRun: true, reason: 'corpus control' });
      expect(answer).toMatchObject({ ok: true, dryRun: true, scheduled: 0 });
      expect(changes(before, await snapshot())).toEqual([]);
    });

    it('(control) a valid renewal of one secret writes exactly its record: the snapshot sees writes', async () => {
      const before = await snapshot();
      const answer = await renewHandler({ secret: WWW_SECRET, reason: 'corpus control' });
      expect(answer).toMatchObject({ ok: true, scheduled: 1 });
      expect(changes(before, await snapshot())).toEqual([recordKey(wwwArn)]);
    });
  });

  // -------------------------------------------------------------------------------------
  describe('secret values: each reader refuses the value naming the secret, and stores nothing', () => {
    const accountKeyPem = makeTestKey().reveal();
    const otherKeyPem = makeTestKey().reveal();
    const ticketKey = toBase64(Uint8Array.from(randomBytes(80)));
    const aes128Key = toBase64(Uint8Array.from(randomBytes(16)));

    function render(value: StoredValue, valid: Record<string, unknown>): string {
      const fill = (text: string) =>
        text
          .replaceAll(PLACEHOLDER.certificatePem, bundle.certificate)
          .replaceAll(PLACEHOLDER.privateKeyPem, bundle.privateKey.reveal())
          .replaceAll(PLACEHOLDER.otherPrivateKeyPem, otherKeyPem)
          .replaceAll(PLACEHOLDER.ticketKeyBase64, ticketKey)
          .replaceAll(PLACEHOLDER.aes128KeyBase64, aes128Key);
      if ('text' in value) return fill(value.text);
      if ('json' in value) {
        return JSON.stringify(value.json, (_key, v: unknown) =>
          typeof v === 'string' ? fill(v) : v,
        );
      }
      const document = structuredClone(valid);
      const walk = (path: string) => {
        const parts = path.split('.');
        let node = document as Record<string, unknown>;
        for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
        return { node, last: parts.at(-1) as string };
      };
      for (const [path, replacement] of Object.entries(value.validWith.set ?? {})) {
        const { node, last } = walk(path);
        node[last] = typeof replacement === 'string' ? fill(replacement) : replacement;
      }
      for (const path of value.validWith.remove ?? []) {
        const { node, last } = walk(path);
        delete node[last];
      }
      return JSON.stringify(document);
    }

    const keyMaterial = () => [bundle.privateKey.reveal(), otherKeyPem, accountKeyPem, ticketKey];

    it.each(casesOf('secret-value'))('$name', async (c) => {
      const slug = slugOf(c);
      const { input } = c;

      if (input.reader === 'certificate') {
        const name = `tls/corpus-value/${slug}`;
        const arn = await createSecret(name, { 'certloop:domains': WWW_DOMAINS.join(' ') });
        const valid = {
          certificate: bundle.certificate,
          chain: bundle.chain,
          fullchain: bundle.fullchain,
          privateKey: bundle.privateKey.reveal(),
          domains: bundle.domains,
          serial: bundle.serial,
          notBefore: bundle.notBefore,
          notAfter: bundle.notAfter,
          issuer: bundle.issuer,
          keyType: bundle.keyType,
        };
        const putBad = () =>
          sm.send(
            new PutSecretValueCommand({
              SecretId: arn,
              SecretString: render(input.value, valid),
              VersionStages: ['AWSCURRENT'],
            }),
          );
        if (input.stage === 'current') {
          await secrets.writeCertificate(arn, bundle, `corpus-${slug}`);
          await putBad();
        } else {
          await putBad();
          await secrets.writeCertificate(arn, bundle, `corpus-${slug}`);
        }

        const before = await snapshot();
        const outcome = await settle(() => secrets.readCertificate(arn, input.stage));
        const message = messageOf(outcome, `the ${input.stage} value of ${name}`);
        expectClearMessage(message, c, keyMaterial());
        expect(message.includes(name) || message.includes(arn), 'names the secret').toBe(true);
        // The neighbour still reads.
        expect((await secrets.readCertificate(wwwArn, 'current'))?.serial).toBe(bundle.serial);
        expect(changes(before, await snapshot())).toEqual([]);
        return;
      }

      if (input.reader === 'account-key') {
        const directoryUrl = `https://acme-${BAD_INPUT_CORPUS.indexOf(c)}.corpus.invalid/directory`;
        const name = accountKeySecretName(directoryUrl);
        await createSecret(
          name,
          { [ACCOUNT_KEY_TAG.Key]: ACCOUNT_KEY_TAG.Value },
          render(input.value, { directoryUrl, privateKey: accountKeyPem }),
        );
        let generated = 0;
        const realKeys = new NodeKeyFactory();
        const keys: KeyFactory = {
          generate: (keyType) => {
            generated += 1;
            return realKeys.generate(keyType);
          },
          createCsr: (key, domains) => realKeys.createCsr(key, domains),
          warmUp: () => realKeys.warmUp(),
        };
        // What a worker does on its first call to the issuer's CA.
        const ca = new AcmeClientCa({
          directoryUrl,
          secrets,
          keys,
          logger: new StructuredLogger({ serviceName: 'certloop-corpus' }),
        });

        const before = await snapshot();
        const message = messageOf(await settle(() => ca.accountUrl()), `account key ${name}`);
        expectClearMessage(message, c, keyMaterial());
        expect(message, 'names the secret').toContain(name);
        expect(generated, 'a new account key was generated over the bad one').toBe(0);
        expect(changes(before, await snapshot())).toEqual([]);

        // The same read inside the worker, for a due certificate of that issuer: the error
        // is recorded on the record, no secret changes (no staged key is left behind), and
        // the record is not parked as if its registration were wrong: it resumes once the
        // account key secret is fixed.
        const issuer = `corpus${BAD_INPUT_CORPUS.indexOf(c)}`;
        const env = {
          ...BASE_ENV,
          CERTLOOP_ISSUERS: JSON.stringify({
            ...(JSON.parse(BASE_ENV.CERTLOOP_ISSUERS ?? '{}') as object),
            [issuer]: { directoryUrl },
          }),
        };
        const runtime = composeRuntime(readRuntimeConfig(env), {
          logger: new StructuredLogger({ serviceName: 'certloop-corpus' }),
        });
        const domain = `${issuer}.example.com`;
        const certificateArn = await createSecret(
          `tls/corpus-account/${slug}`,
          { 'certloop:domains': domain, 'certloop:issuer': issuer },
          '{}',
        );
        await registerCertificate(runtime.registration, {
          id: certificateArn,
          domains: [domain],
          issuer,
          registeredBy: 'tags',
        });
        const beforeWorker = await snapshot();
        // The record is deferred, not failed for good: its message goes back to the queue
        // (a batch whose every record is deferred fails as a whole, as SQS expects).
        const outcome = await createWorkerHandler(
          runtime,
          new RecordingMetrics(),
        )(workEvent(certificateArn)).then(
          (response) => response,
          (error: Error) => error,
        );
        expect(
          outcome instanceof Error
            ? outcome.name
            : outcome?.batchItemFailures?.map((failure) => failure.itemIdentifier),
          'the message is handed back to the queue',
        ).toEqual(outcome instanceof Error ? 'FullBatchFailureError' : [expect.any(String)]);
        const afterWorker = await snapshot();
        const record = await records.get(certificateArn);
        expectClearMessage(record?.lastError?.message ?? '', c, keyMaterial());
        expect(
          changes(beforeWorker, afterWorker).filter((key) => key !== recordKey(certificateArn)),
          'stored data changed besides the record',
        ).toEqual([]);
        expect(record?.status, 'the record is parked until its tags change').not.toBe('invalid');
        return;
      }

      // A STEK set: the rotation (with a good set after it) and the export both refuse it.
      const setId = `tls/corpus-stek/${slug}`;
      const valid = JSON.parse(
        encodeRing(
          rotateRing(EMPTY_RING, Date.now(), DEFAULT_STEK_POLICY, (n) =>
            Uint8Array.from(randomBytes(n)),
          ).ring,
        ),
      ) as Record<string, unknown>;
      await createSecret(setId, { [STEK_TAG_KEY]: setId }, render(input.value, valid));
      const out = join(dir, `nginx-${slug}`);
      await mkdir(out, { recursive: true });
      await writeFile(join(out, 'ssl_session_ticket_keys.conf'), 'the previous export\n');
      await writeFile(join(out, 'stek-1.key'), 'previous key file');
      const filesBefore = await tree(out);

      const before = await snapshot();
      const rotation = composeStekRotation(
        readStekConfig({ ...BASE_ENV, CERTLOOP_STEK_SETS: JSON.stringify([setId, GOOD_STEK_SET]) }),
        { logger: new StructuredLogger({ serviceName: 'certloop-corpus' }) },
      );
      const report = await rotation.rotate();
      const bad = report.sets.find((set) => set.setId === setId);
      expect(bad?.outcome).toBe('failed');
      const rotationMessage = bad?.outcome === 'failed' ? bad.error : '';
      expectClearMessage(rotationMessage, c, keyMaterial());
      expect(rotationMessage, 'names the set').toContain(setId);
      // One bad set never stops the others.
      expect(report.sets.find((set) => set.setId === GOOD_STEK_SET)?.outcome).toMatch(
        /^(unchanged|rotated)$/,
      );

      const printed: string[] = [];
      const program = new Command().exitOverride();
      registerStekCommand(program, { stdout: (text) => printed.push(text) });
      const exported = await settle(() =>
        program.parseAsync(
          ['stek', 'export', '--set', setId, '--aws', '--format', 'nginx', '--out', out],
          {
            from: 'user',
          },
        ),
      );
      expectClearMessage(messageOf(exported, `stek export of ${setId}`), c, keyMaterial());
      expect(printed).toEqual([]);
      expect(await tree(out)).toEqual(filesBefore);

      // Only the two lease locks moved (taken and released); no secret changed.
      const after = await snapshot();
      expect(changes(before, after).filter((name) => !isLockOf(name, setId))).toEqual([]);
      for (const id of [setId, GOOD_STEK_SET]) {
        const lock = JSON.parse(after.entries.get(itemKey(stekLockKey(id))) ?? '{}') as {
          until?: { N?: string };
        };
        expect(Number(lock.until?.N ?? 0), `lease of ${id} released`).toBeLessThan(Date.now());
      }
    });

    function isLockOf(name: string, setId: string): boolean {
      return name === itemKey(stekLockKey(setId)) || name === itemKey(stekLockKey(GOOD_STEK_SET));
    }
  });

  // -------------------------------------------------------------------------------------
  describe('local config: the runner refuses the file before it touches its state folder', () => {
    let stateDir: string;

    beforeAll(async () => {
      stateDir = join(dir, 'local-state');
      const version = join(stateDir, 'secrets', 'certs', 'www', 'versions', '1');
      await mkdir(version, { recursive: true });
      await writeFile(join(version, 'fullchain.pem'), bundle.fullchain);
      await writeFile(join(version, 'cert.json'), JSON.stringify({ serial: bundle.serial }));
      await mkdir(join(stateDir, 'dynamodb'), { recursive: true });
      await writeFile(join(stateDir, 'dynamodb', 'placeholder'), 'records of an earlier run');
    });

    it.each(casesOf('local-config'))('$name', async (c) => {
      const configPath = join(dir, `${slugOf(c)}.json`);
      await writeFile(
        configPath,
        'text' in c.input ? c.input.text : `${JSON.stringify(c.input.json, null, 2)}\n`,
      );
      const before = await tree(stateDir);
      // The reader first: a file it accepts must not start the runner (dynalite, pebble).
      const read = await settle(() => readLocalConfig(configPath));
      expect(read.ok, `${configPath} was accepted; it should have been refused`).toBe(false);
      const message = messageOf(
        await settle(() => runLocal({ configPath, stateDir, once: true })),
        configPath,
      );
      expectClearMessage(message, c);
      expect(message, 'names the file').toContain(configPath);
      expect(await tree(stateDir)).toEqual(before);
    });
  });

  // -------------------------------------------------------------------------------------
  describe('configuration: the function fails its cold start naming the variable, before any request', () => {
    const proxies: CountingProxy[] = [];
    const requests = () => proxies.reduce((sum, proxy) => sum + proxy.count, 0);

    beforeAll(async () => {
      proxies.push(await countingProxy(moto.endpoint), await countingProxy(dynalite.endpoint));
    });
    afterAll(async () => {
      await Promise.all(proxies.map((proxy) => proxy.close()));
    });

    /** The function's environment: the drill's complete one, changed, through the proxies. */
    async function coldStart(env: Record<string, string | undefined>, fn: string) {
      for (const name of Object.keys(process.env)) {
        if (name.startsWith('CERTLOOP_') && name !== 'CERTLOOP_TEST_VERBOSE')
          delete process.env[name];
      }
      for (const [name, value] of Object.entries({ ...BASE_ENV, ...env })) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      process.env.AWS_ENDPOINT_URL = proxies[0]?.endpoint;
      process.env.AWS_ENDPOINT_URL_DYNAMODB = proxies[1]?.endpoint;
      for (const proxy of proxies) proxy.count = 0;
      vi.resetModules();
      return settle(() => import(`../../functions/${fn}.ts`) as Promise<{ handler: unknown }>);
    }

    function restoreEnv() {
      for (const name of Object.keys(process.env)) {
        if (name.startsWith('CERTLOOP_') && name !== 'CERTLOOP_TEST_VERBOSE')
          delete process.env[name];
      }
      Object.assign(process.env, BASE_ENV, {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      });
    }

    it.each(casesOf('configuration'))('$name', async (c) => {
      try {
        const before = await snapshot();
        const outcome = await coldStart(c.input.env, c.input.fn);
        const message = messageOf(outcome, `functions/${c.input.fn}.ts`);
        expect(requests(), 'requests made before failing').toBe(0);
        expectClearMessage(message, c);
        expect(changes(before, await snapshot())).toEqual([]);
      } finally {
        restoreEnv();
      }
    });

    it('(control) every function starts on the complete configuration without a request, and a started one is seen calling', async () => {
      try {
        for (const fn of ['worker', 'planner', 'sweep', 'renew', 'rotate-stek']) {
          const outcome = await coldStart({}, fn);
          expect(outcome.ok, fn).toBe(true);
          expect(requests(), fn).toBe(0);
        }
        const before = await snapshot();
        const started = await coldStart({}, 'renew');
        const handler = (started as { value: { handler: typeof renewHandler } }).value.handler;
        expect(await handler({ all: true, dryRun: true })).toMatchObject({ ok: true });
        expect(requests(), 'the proxies count the calls of a started function').toBeGreaterThan(0);
        expect(changes(before, await snapshot())).toEqual([]);
      } finally {
        restoreEnv();
      }
    });
  });

  // -------------------------------------------------------------------------------------
  it('the corpus holds at least 60 distinct cases, at least 10 of each required kind', () => {
    expect(BAD_INPUT_CORPUS.length).toBeGreaterThanOrEqual(60);
    for (const kind of REQUIRED_KINDS) {
      expect(casesOf(kind).length, kind).toBeGreaterThanOrEqual(10);
    }
    expect(new Set(BAD_INPUT_CORPUS.map((c) => c.name)).size).toBe(BAD_INPUT_CORPUS.length);
  });
});

/** Every file under `root`: relative path, mode and a hash of its content. */
async function tree(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const walk = async (folder: string) => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        files[`${relative(root, path)}/`] = 'folder';
        await walk(path);
      } else {
        const info = await stat(path);
        files[relative(root, path)] =
          `${(info.mode & 0o777).toString(8)} ${sha256((await readFile(path)).toString('base64'))}`;
      }
    }
  };
  await walk(root);
  return files;
}

/** The SQS event a worker receives for one due record. */
function workEvent(id: string): SQSEvent {
  const record = {
    messageId: `corpus-${id}`,
    receiptHandle: 'corpus',
    body: JSON.stringify({ id, dueAt: 0 }),
    attributes: {},
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:certloop-corpus',
    awsRegion: 'us-east-1',
  } as unknown as SQSRecord;
  return { Records: [record] };
}

interface CountingProxy {
  endpoint: string;
  count: number;
  close(): Promise<void>;
}

/** An HTTP endpoint that counts requests and forwards them to `target`. */
async function countingProxy(target: string): Promise<CountingProxy> {
  const proxy: CountingProxy = { endpoint: '', count: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    proxy.count += 1;
    const upstream = request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise((resolve) => server.close(() => resolve()));
  return proxy;
}
