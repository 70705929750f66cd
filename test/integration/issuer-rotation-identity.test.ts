import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { DynamoDbControlRecords } from '../../src/adapters/dynamodb/dynamodb-control-records.js';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { recordToItem } from '../../src/adapters/dynamodb/table-schema.js';
import { MemoryDns01Solver } from '../../src/adapters/memory/memory-dns01-solver.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import { MemoryWorkQueue } from '../../src/adapters/memory/memory-work-queue.js';
import { plannerRun } from '../../src/app/compose-planner.js';
import { ISSUED_BY_INDEX_PARTITION_KEY } from '../../src/config/shared-names.js';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { issuerIdentity } from '../../src/core/issuer-identity.js';
import { issuedBy, type RotationState, UNSTAMPED } from '../../src/core/issuer-rotation.js';
import { MINUTE } from '../../src/core/time.js';
import { type IssuanceDeps, issueCertificates } from '../../src/services/issue-certificates.js';
import { ISSUER_ROTATION } from '../../src/services/reconcile-issuer.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import { type DynaliteEnv, freshTableName, useDynaliteEnv } from '../support/aws-env.js';
import { BUDGET_NEVER_HOLDS } from '../support/engine-tick.js';
import { FakeAcmeCa } from '../support/fake-acme-ca.js';
import { ManualClock, seededRandom } from '../support/manual-clock.js';
import { silentLogger } from '../support/test-loggers.js';

const run = promisify(execFile);

const STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
const PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
const OTHER = 'https://acme.zerossl.com/v2/DV90';
const FOLLOWERS = 40;
const PINNED = 5;
const BATCH = 12;

describe('issuer rotation by identity: the default issuer moves from staging to production on DynamoDB (dynalite)', () => {
  let env: DynaliteEnv;
  let tableName: string;
  /** DynamoDB commands the planner sent, by name, while `recording` is on. */
  const plannerCalls: string[] = [];
  let recording = false;
  let plannerClient: DynamoDBClient;

  beforeAll(async () => {
    env = await useDynaliteEnv();
    tableName = freshTableName('rotation');
    await ensureTable(env.client, tableName);
    plannerClient = new DynamoDBClient({});
    plannerClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (recording) plannerCalls.push(context.commandName ?? 'unknown');
        return next(args);
      },
      { step: 'initialize', name: 'recordPlannerCommands' },
    );
  });

  afterAll(async () => {
    plannerClient?.destroy();
    await env?.teardown();
  });

  it('re-issues every record the default issuer issued (one stored before the upgrade too), in batches, with progress in the control record and `certloop status`, and the planner never Scans', {
    timeout: 180_000,
  }, async () => {
    const clock = new ManualClock();
    const records = new DynamoDbRecordStore({ client: env.client, tableName });
    // Same name, new directory URL: the deployment's configuration, read by both sides.
    const config: Record<string, { directoryUrl: string; eab?: { keyId: string } }> = {
      default: { directoryUrl: STAGING },
      other: { directoryUrl: OTHER, eab: { keyId: 'kid-1' } },
    };
    const identities = () =>
      Object.fromEntries(Object.entries(config).map(([name, c]) => [name, issuerIdentity(c)]));
    const cas = {
      [STAGING]: new FakeAcmeCa(clock, undefined, 'Staging CA'),
      [PRODUCTION]: new FakeAcmeCa(clock, undefined, 'Production CA'),
      [OTHER]: new FakeAcmeCa(clock, undefined, 'Other CA'),
    };
    const policy = { allowedSuffixes: ['example.com'], maxNames: 10 };
    const issuance: IssuanceDeps = {
      records,
      secrets: new MemorySecretStore(),
      issuers: (name) => {
        const issuer = config[name];
        return issuer ? cas[issuer.directoryUrl as keyof typeof cas] : undefined;
      },
      issuerIdentities: (name) => {
        const issuer = config[name];
        return issuer ? issuerIdentity(issuer) : undefined;
      },
      dns: new MemoryDns01Solver(),
      keys: new NodeKeyFactory(),
      clock,
      logger: silentLogger,
      random: seededRandom(15),
      policy,
      owner: 'worker',
      leaseMs: 15 * MINUTE,
      concurrency: 10,
      ariCertificateId: ariCertificateIdOf,
    };
    const queue = new MemoryWorkQueue();
    const control = new DynamoDbControlRecords({ client: plannerClient, tableName });
    const planner = () =>
      plannerRun(
        {
          records: new DynamoDbRecordStore({ client: plannerClient, tableName }),
          control,
          queue,
          clock,
          logger: silentLogger,
          budget: BUDGET_NEVER_HOLDS,
        },
        {
          maxRecordsPerTick: 500,
          issuerRotation: { target: 'default', batch: BATCH, identities: identities() },
        },
      )();
    /** One planner run, then the worker takes everything it queued. */
    const tick = async () => {
      await planner();
      const items = queue.take(1000);
      if (items.length > 0)
        await issueCertificates(
          issuance,
          items.map((item) => item.id),
        );
      clock.advance(MINUTE);
    };

    // Prepare: followers of the default, records pinned to it, one pinned elsewhere.
    const registration = {
      records,
      clock,
      logger: silentLogger,
      policy,
      issuerNames: ['default', 'other'],
      defaultIssuer: 'default',
    };
    const ids = {
      followers: Array.from({ length: FOLLOWERS }, (_, i) => `follower-${i}`),
      pinned: Array.from({ length: PINNED }, (_, i) => `pinned-${i}`),
    };
    for (const [i, id] of ids.followers.entries())
      await registerCertificate(registration, { id, domains: [`f${i}.example.com`] });
    for (const [i, id] of ids.pinned.entries())
      await registerCertificate(registration, {
        id,
        domains: [`p${i}.example.com`],
        issuer: 'default',
      });
    await registerCertificate(registration, {
      id: 'elsewhere',
      domains: ['elsewhere.example.com'],
      issuer: 'other',
    });
    // The worker issues everything under staging, before the planner ever ran.
    await issueCertificates(
      issuance,
      (await records.list()).map((r) => r.id),
    );
    const issued = await records.list();
    expect(issued).toHaveLength(FOLLOWERS + PINNED + 1);
    expect(issued.every((r) => r.status === 'active')).toBe(true);
    expect(
      issued.filter((r) => r.id !== 'elsewhere').map((r) => r.current?.issuerIdentity),
    ).toEqual(Array(FOLLOWERS + PINNED).fill(STAGING));
    // One record as the previous version stored it: no stamp, no issued-by attribute.
    const legacy = (await records.get('follower-0')) as CertificateRecord;
    const { issuerIdentity: _stamp, ...unstamped } = legacy.current ?? ({} as never);
    const legacyItem: Record<string, unknown> = {
      ...recordToItem({ ...legacy, current: unstamped }),
    };
    delete legacyItem[ISSUED_BY_INDEX_PARTITION_KEY];
    await DynamoDBDocumentClient.from(env.client).send(
      new PutCommand({ TableName: tableName, Item: legacyItem }),
    );
    expect(await records.countIssuedBy(issuedBy('follows', 'default', UNSTAMPED))).toBe(0);

    // The first planner runs after the upgrade: the identities become the baseline, the
    // upgrade pass indexes the legacy record, and nothing is re-issued.
    for (let i = 0; i < 2; i++) await tick();
    expect((await control.get<RotationState>(ISSUER_ROTATION))?.value).toMatchObject({
      total: 0,
      indexed: true,
      completedAt: expect.any(Number),
    });
    expect(await records.countIssuedBy(issuedBy('follows', 'default', UNSTAMPED))).toBe(1);
    expect(cas[STAGING].orderTimes).toHaveLength(FOLLOWERS + PINNED);
    const elsewhereBefore = (await records.get('elsewhere'))?.current?.serial;

    // Act: staging -> production under the same name; the planner runs until complete.
    config.default = { directoryUrl: PRODUCTION };
    recording = true;
    const progress: RotationState[] = [];
    let midwayStatus = '';
    for (let i = 0; i < 20 && progress.at(-1)?.completedAt === undefined; i++) {
      await planner();
      const state = (await control.get<RotationState>(ISSUER_ROTATION))?.value as RotationState;
      progress.push(state);
      const marked = (await records.list()).filter((r) => r.issuerIdentity !== undefined);
      // Never more than a batch switched and not yet re-issued.
      expect(marked.length).toBeLessThanOrEqual(BATCH);
      const items = queue.take(1000);
      if (items.length > 0)
        await issueCertificates(
          issuance,
          items.map((item) => item.id),
        );
      if (i === 1) midwayStatus = await status();
      clock.advance(MINUTE);
    }
    recording = false;

    // Assess: every record of the default issuer now holds a production certificate.
    const after = await records.list();
    for (const record of after.filter((r) => r.id !== 'elsewhere')) {
      expect(record.current).toMatchObject({ issuer: 'default', issuerIdentity: PRODUCTION });
      expect(record.issuerIdentity).toBeUndefined();
      expect(record.status).toBe('active');
    }
    expect(cas[PRODUCTION].orderTimes).toHaveLength(FOLLOWERS + PINNED);
    expect((await records.get('elsewhere'))?.current?.serial).toBe(elsewhereBefore);

    // In batches, with monotonic progress kept in the control record.
    const total = FOLLOWERS + PINNED;
    expect(progress[0]).toMatchObject({
      target: 'default',
      targetIdentity: PRODUCTION,
      total,
      converged: 0,
      scheduled: BATCH,
    });
    expect(progress.at(-1)).toMatchObject({ total, converged: total });
    expect(progress.at(-1)?.completedAt).toBeDefined();
    expect(progress.length).toBeGreaterThanOrEqual(Math.ceil(total / BATCH));
    for (const [i, state] of progress.entries()) {
      const before = progress[i - 1];
      expect(state.scheduled - (before?.scheduled ?? 0)).toBeLessThanOrEqual(BATCH);
      expect(state.converged).toBeGreaterThanOrEqual(before?.converged ?? 0);
    }
    expect(midwayStatus).toMatch(
      new RegExp(`Issuer rotation to default \\(${PRODUCTION}\\): in progress, \\d+ of ${total}`),
    );
    expect(await status()).toContain(
      `Issuer rotation to default (${PRODUCTION}): complete, ${total} of ${total} certificates re-issued`,
    );

    // Without a Scan: the planner's DynamoDB calls were Gets, Puts and Queries only.
    expect(plannerCalls.length).toBeGreaterThan(0);
    expect(plannerCalls).not.toContain('ScanCommand');
    expect(new Set(plannerCalls)).toEqual(
      new Set(['GetItemCommand', 'PutItemCommand', 'QueryCommand']),
    );

    // Once complete, a run reads only the control record for the rotation.
    plannerCalls.length = 0;
    recording = true;
    await planner();
    recording = false;
    // The rotation's control record; the rest is the due query (nothing is due).
    expect(plannerCalls.filter((name) => name !== 'QueryCommand')).toEqual(['GetItemCommand']);
  });

  async function status(): Promise<string> {
    const { stdout } = await run(
      process.execPath,
      ['bin/certloop.mjs', 'status', '--table', tableName],
      { cwd: process.cwd(), timeout: 60_000, env: { ...process.env } },
    );
    return stdout;
  }
});
