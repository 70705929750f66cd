// External Account Binding (RFC 8555 section 7.3.4) end to end: a pebble that requires a
// binding and knows one key id, the real issuance service on dynalite records, and the
// account keys in the real stores (a directory store; Secrets Manager on moto). HMAC keys
// are compared by presence in text only; no assertion prints one.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcmeClientCa } from '../../src/adapters/acme/acme-client-ca.js';
import { SecretsManagerEabKeySource } from '../../src/adapters/aws/secrets-manager-eab-key-source.js';
import { SecretsManagerSecretStore } from '../../src/adapters/aws/secrets-manager-secret-store.js';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import { DirectorySecretStore } from '../../src/adapters/local/directory-secret-store.js';
import { FileEabKeySource } from '../../src/adapters/local/file-eab-key-source.js';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { CertloopError } from '../../src/core/errors.js';
import { INFRASTRUCTURE_RETRY_MS } from '../../src/core/failure-outcome.js';
import type { EabKeySource } from '../../src/ports/eab-key-source.js';
import type { SecretStore } from '../../src/ports/secret-store.js';
import { type IssuanceDeps, issueCertificates } from '../../src/services/issue-certificates.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import { type DynaliteEnv, freshTableName, useDynaliteEnv } from '../support/aws-env.js';
import { ManualClock, seededRandom } from '../support/manual-clock.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';
import { uniqueLabel, usePebble } from '../support/pebble.js';
import { RecordingLogger } from '../support/test-loggers.js';

const ISSUER = 'zerossl-like';
const KID = 'kid-certloop-eab-test';
const HMAC_KEY = randomBytes(32).toString('base64url');
const WRONG_HMAC_KEY = randomBytes(32).toString('base64url');
const POLICY = { allowedSuffixes: ['example.test'], maxNames: 100 };

const pebble = usePebble({ externalAccountMACKeys: { [KID]: HMAC_KEY } });

let dynalite: DynaliteEnv;
let records: DynamoDbRecordStore;
let dir: string;
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  dynalite = await useDynaliteEnv();
  const tableName = freshTableName('eab');
  await ensureTable(dynalite.client, tableName);
  records = new DynamoDbRecordStore({ client: dynalite.client, tableName });
  dir = await mkdtemp(join(tmpdir(), 'certloop-eab-'));
});
afterAll(async () => {
  await dynalite?.teardown();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function keyFile(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content, { mode: 0o600 });
  return path;
}

/** A source that must never be read (the account exists: a lookup needs no binding). */
const unreadable: EabKeySource = {
  location: 'nowhere',
  readHmacKey: () => Promise.reject(new Error('the HMAC key was read for a lookup')),
};

function worker(options: {
  secrets: SecretStore;
  hmacKey: EabKeySource;
  keyId?: string;
  logger?: RecordingLogger;
}): IssuanceDeps {
  const logger = options.logger ?? new RecordingLogger();
  const ca = new AcmeClientCa({
    directoryUrl: pebble().directoryUrl,
    trustedCaPem: pebble().listenerCaPem,
    issuerName: ISSUER,
    eab: { keyId: options.keyId ?? KID, hmacKey: options.hmacKey },
    secrets: options.secrets,
    keys: new NodeKeyFactory(),
    logger,
  });
  return {
    records,
    secrets: options.secrets,
    issuers: (name) => (name === ISSUER ? ca : undefined),
    dns: new ChalltestsrvDns01Solver({
      managementUrl: pebble().challtestsrvUrl,
      dnsServer: pebble().dnsServer,
    }),
    keys: new NodeKeyFactory(),
    clock,
    logger,
    random: seededRandom(15),
    policy: POLICY,
    owner: `eab-${uniqueLabel()}`,
    leaseMs: 10 * 60_000,
    concurrency: 4,
    ariCertificateId: ariCertificateIdOf,
  };
}

async function register(): Promise<string> {
  const id = uniqueLabel('eab');
  await registerCertificate(
    {
      records,
      clock,
      logger: new RecordingLogger(),
      policy: POLICY,
      issuerNames: [ISSUER],
      defaultIssuer: ISSUER,
    },
    { id, domains: [`${id}.example.test`] },
  );
  return id;
}

/** The record without what an infrastructure deferral writes (and the version it bumps). */
function withoutDeferral(record: CertificateRecord | undefined) {
  if (!record) throw new Error('record is gone');
  const { nextAttemptAt, lastError, updatedAt, version, lease, ...rest } = record;
  return rest;
}

/**
 * One batch against a binding the CA refuses: the record is deferred as infrastructure (not
 * counted), with one error naming the issuer and the key id and no key, and nothing but
 * the deferral is written.
 */
async function expectRefusedBinding(deps: IssuanceDeps, logger: RecordingLogger, keyId: string) {
  const id = await register();
  const before = await records.get(id);
  const [outcome] = await issueCertificates(deps, [id]);
  expect(outcome).toMatchObject({
    id,
    outcome: 'deferred',
    reason: 'infrastructure',
    accountError: true,
    nextAttemptAt: clock.now() + INFRASTRUCTURE_RETRY_MS,
  });
  expect(outcome?.detail).toContain(`issuer "${ISSUER}"`);
  expect(outcome?.detail).toContain(`key id "${keyId}"`);
  expect(outcome?.detail).toContain('External Account Binding');
  expect(outcome?.detail).toContain('unauthorized');
  const after = await records.get(id);
  expect(after?.failures).toBe(0);
  expect(after?.status).toBe(before?.status);
  expect(after?.lastError).toMatchObject({ kind: 'infrastructure', source: 'ca' });
  expect(after?.lease).toBeUndefined();
  expect(withoutDeferral(after)).toEqual(withoutDeferral(before));
  const text = [outcome?.detail ?? '', ...logger.jsonLines()].join('\n');
  expect(text.includes(HMAC_KEY)).toBe(false);
  expect(text.includes(WRONG_HMAC_KEY)).toBe(false);
  // One clear error: the single warning that says what was decided.
  const deferrals = logger.lines.filter((line) => line.message.startsWith('deferred:'));
  expect(deferrals).toHaveLength(1);
  return id;
}

describe('a CA that requires External Account Binding (pebble), account keys in a directory store', () => {
  it('creates the account with the binding, issues a certificate, and later finds the account without reading the HMAC key', async () => {
    const root = join(dir, 'good-store');
    const secrets = new DirectorySecretStore({ root, clock });
    const logger = new RecordingLogger();
    const id = await register();
    const [outcome] = await issueCertificates(
      worker({
        secrets,
        hmacKey: new FileEabKeySource({ issuer: ISSUER, path: await keyFile('good', HMAC_KEY) }),
        logger,
      }),
      [id],
    );
    expect(outcome).toMatchObject({ id, outcome: 'issued' });
    expect((await records.get(id))?.failures).toBe(0);
    const bundle = await secrets.readCertificate(id);
    expect(bundle?.domains).toEqual([`${id}.example.test`]);
    expect(await readdir(join(root, 'accounts'))).toHaveLength(1);
    expect(
      logger.lines.find((line) => line.message === 'acme account ready')?.fields,
    ).toMatchObject({
      issuer: ISSUER,
      eabKeyId: KID,
    });
    expect(logger.jsonLines().some((line) => line.includes(HMAC_KEY))).toBe(false);

    // A new worker (cold start) on the same store: the stored key's account is looked up,
    // which needs no binding, so the HMAC key is not read at all.
    const second = await register();
    const [again] = await issueCertificates(
      worker({ secrets: new DirectorySecretStore({ root, clock }), hmacKey: unreadable }),
      [second],
    );
    expect(again).toMatchObject({ id: second, outcome: 'issued' });
    expect(await readdir(join(root, 'accounts'))).toHaveLength(1);
  });

  it('a wrong HMAC key: one clear error naming the issuer, not counted, no account key stored', async () => {
    const root = join(dir, 'wrong-key-store');
    const logger = new RecordingLogger();
    const deps = worker({
      secrets: new DirectorySecretStore({ root, clock }),
      hmacKey: new FileEabKeySource({
        issuer: ISSUER,
        path: await keyFile('wrong', WRONG_HMAC_KEY),
      }),
      logger,
    });
    await expectRefusedBinding(deps, logger, KID);
    expect(existsSync(join(root, 'accounts'))).toBe(false);
  });

  it('an unknown key id: one clear error naming the issuer, not counted, no account key stored', async () => {
    const root = join(dir, 'unknown-kid-store');
    const logger = new RecordingLogger();
    const deps = worker({
      secrets: new DirectorySecretStore({ root, clock }),
      hmacKey: new FileEabKeySource({ issuer: ISSUER, path: await keyFile('right', HMAC_KEY) }),
      keyId: 'kid-nobody-gave-out',
      logger,
    });
    await expectRefusedBinding(deps, logger, 'kid-nobody-gave-out');
    expect(existsSync(join(root, 'accounts'))).toBe(false);
  });

  it('a refused binding heals once the key is fixed: the next attempt creates the account and issues', async () => {
    const root = join(dir, 'healing-store');
    const path = await keyFile('healing', WRONG_HMAC_KEY);
    const deps = worker({
      secrets: new DirectorySecretStore({ root, clock }),
      hmacKey: new FileEabKeySource({ issuer: ISSUER, path }),
    });
    const id = await register();
    expect((await issueCertificates(deps, [id]))[0]).toMatchObject({ outcome: 'deferred' });
    await writeFile(path, HMAC_KEY);
    clock.advance(INFRASTRUCTURE_RETRY_MS);
    expect((await issueCertificates(deps, [id]))[0]).toMatchObject({ outcome: 'issued' });
    expect((await records.get(id))?.failures).toBe(0);
  });
});

describe('the HMAC key in Secrets Manager (moto), account keys in Secrets Manager', () => {
  let moto: MotoEnv;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    moto = await useMotoEnv();
    client = new SecretsManagerClient({});
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.teardown();
  });
  beforeEach(async () => {
    await moto.reset();
  });

  async function hmacSecret(value?: string): Promise<string> {
    const name = `eab/${uniqueLabel()}`;
    if (value === undefined) return `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}`;
    const answer = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    if (!answer.ARN) throw new Error('CreateSecret answered without an ARN');
    return answer.ARN;
  }

  /** The certificate secret, created (empty, tagged) by its owner as on AWS. */
  async function certificateSecret(id: string): Promise<void> {
    await client.send(
      new CreateSecretCommand({
        Name: id,
        Tags: [{ Key: 'certloop:domains', Value: `${id}.example.test` }],
      }),
    );
  }

  async function secretNames(): Promise<string[]> {
    const answer = await client.send(new ListSecretsCommand({}));
    return (answer.SecretList ?? []).map((secret) => secret.Name ?? '').sort();
  }

  it('issues with the key read from the secret; the account key secret appears only then', async () => {
    const arn = await hmacSecret(JSON.stringify({ hmacKey: HMAC_KEY }));
    const deps = worker({
      secrets: new SecretsManagerSecretStore({ client }),
      hmacKey: new SecretsManagerEabKeySource({ client, issuer: ISSUER, secretArn: arn }),
    });
    const id = await register();
    await certificateSecret(id);
    expect((await issueCertificates(deps, [id]))[0]).toMatchObject({ id, outcome: 'issued' });
    const accountSecrets = (await secretNames()).filter((name) =>
      name.startsWith('certloop/acme-account/'),
    );
    expect(accountSecrets).toHaveLength(1);
  });

  const badSecrets: [string, string | undefined, string][] = [
    ['a secret that does not exist', undefined, 'does not exist'],
    ['a value that is not JSON', `hmacKey=${HMAC_KEY}`, 'does not hold JSON'],
    ['JSON of the wrong shape', JSON.stringify({ key: HMAC_KEY }), 'wrong shape'],
    [
      'an hmacKey that is not base64url',
      JSON.stringify({ hmacKey: `${HMAC_KEY}+/` }),
      'not base64url',
    ],
  ];
  it.each(badSecrets)(
    '%s: a clear error naming the issuer and the secret, not counted, nothing stored',
    async (_, value, reason) => {
      const arn = await hmacSecret(value);
      const logger = new RecordingLogger();
      const deps = worker({
        secrets: new SecretsManagerSecretStore({ client }),
        hmacKey: new SecretsManagerEabKeySource({ client, issuer: ISSUER, secretArn: arn }),
        logger,
      });
      const id = await register();
      await certificateSecret(id);
      const namesBefore = await secretNames();
      const before = await records.get(id);
      const [outcome] = await issueCertificates(deps, [id]);
      expect(outcome).toMatchObject({
        outcome: 'deferred',
        reason: 'infrastructure',
        accountError: true,
      });
      expect(outcome?.detail).toContain(`issuer "${ISSUER}"`);
      expect(outcome?.detail).toContain(arn);
      expect(outcome?.detail).toContain(reason);
      expect([outcome?.detail ?? '', ...logger.jsonLines()].join('\n').includes(HMAC_KEY)).toBe(
        false,
      );
      const after = await records.get(id);
      expect(after?.failures).toBe(0);
      expect(after?.lastError).toMatchObject({ kind: 'infrastructure', source: 'secrets' });
      expect(withoutDeferral(after)).toEqual(withoutDeferral(before));
      // No account key secret, no certificate secret: the store is as it was.
      expect(await secretNames()).toEqual(namesBefore);
    },
  );

  it('the adapter itself: each bad secret is CertloopError infrastructure with accountSetup, naming the issuer and the ARN', async () => {
    for (const [, value, reason] of badSecrets) {
      const arn = await hmacSecret(value);
      const source = new SecretsManagerEabKeySource({ client, issuer: ISSUER, secretArn: arn });
      const error = await source.readHmacKey().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(CertloopError);
      const failure = error as CertloopError;
      expect(failure.kind).toBe('infrastructure');
      expect(failure.accountSetup).toBe(true);
      expect(failure.message).toContain(`issuer "${ISSUER}"`);
      expect(failure.message).toContain(arn);
      expect(failure.message).toContain(reason);
      expect(failure.message.includes(HMAC_KEY)).toBe(false);
    }
    const good = await hmacSecret(JSON.stringify({ hmacKey: HMAC_KEY, keyId: KID }));
    const key = await new SecretsManagerEabKeySource({
      client,
      issuer: ISSUER,
      secretArn: good,
    }).readHmacKey();
    expect(key.reveal() === HMAC_KEY).toBe(true);
    expect(String(key).includes(HMAC_KEY)).toBe(false);
    expect(JSON.stringify({ key }).includes(HMAC_KEY)).toBe(false);
  });
});

describe('the HMAC key in a file (local mode)', () => {
  it.each([
    ['a file that does not exist', undefined, 'does not exist'],
    ['a file that is not base64url', `${HMAC_KEY}+/`, 'not hold base64url'],
    ['an empty file', '', 'not hold base64url'],
  ])(
    '%s: CertloopError infrastructure with accountSetup, naming the issuer and the file',
    async (label, content, reason) => {
      const path =
        content === undefined
          ? join(dir, 'no-such-key-file')
          : await keyFile(label.replace(/\W+/g, '-'), content);
      const error = await new FileEabKeySource({ issuer: ISSUER, path }).readHmacKey().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(CertloopError);
      const failure = error as CertloopError;
      expect(failure.kind).toBe('infrastructure');
      expect(failure.accountSetup).toBe(true);
      expect(failure.message).toContain(`issuer "${ISSUER}"`);
      expect(failure.message).toContain(path);
      expect(failure.message).toContain(reason);
      expect(failure.message.includes(HMAC_KEY)).toBe(false);
    },
  );

  it('reads the key, ignoring the surrounding whitespace an editor leaves', async () => {
    const path = await keyFile('with-newline', `  ${HMAC_KEY}\n`);
    const key = await new FileEabKeySource({ issuer: ISSUER, path }).readHmacKey();
    expect(key.reveal() === HMAC_KEY).toBe(true);
  });
});
