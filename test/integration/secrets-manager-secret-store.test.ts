// Behaviour of SecretsManagerSecretStore that the port contract does not cover, against
// moto in server mode: retried writes, the staging labels, the JSON value consumers read,
// tag discovery, error translation and keeping key material out of error messages.
// Key comparisons go through digests and booleans, so a failing assertion prints no key.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accountKeySecretName } from '../../src/adapters/aws/secrets-manager-account-keys.js';
import { certificateVersionId } from '../../src/adapters/aws/secrets-manager-certificates.js';
import {
  MAX_PENDING_LABELS,
  PENDING_LABEL_PREFIX,
  pendingLabel,
} from '../../src/adapters/aws/secrets-manager-pending-keys.js';
import { SecretsManagerRegistrationSource } from '../../src/adapters/aws/secrets-manager-registration-source.js';
import { SecretsManagerSecretStore } from '../../src/adapters/aws/secrets-manager-secret-store.js';
import { ACCOUNT_KEY_TAG } from '../../src/config/shared-names.js';
import { CertloopError } from '../../src/core/errors.js';
import type { KeyMaterial } from '../../src/core/key-material.js';
import type { CertificateBundle } from '../../src/ports/secret-store.js';
import { linesWithKeyMaterial } from '../support/key-material-patterns.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';
import { keyDigest, makeTestBundle, makeTestKey } from '../support/test-certificates.js';

const SECRET = 'www-example';
const DIRECTORY = 'https://acme.example/directory';
const VALUE_FIELDS = [
  'certificate',
  'chain',
  'fullchain',
  'privateKey',
  'domains',
  'serial',
  'notBefore',
  'notAfter',
  'issuer',
  'keyType',
];

let moto: MotoEnv | undefined;
let client: SecretsManagerClient;
let store: SecretsManagerSecretStore;
let first: CertificateBundle;
let second: CertificateBundle;
let withChain: CertificateBundle;
/** Every PEM a test handed to the store, to look for in error messages. */
const secretsInPlay: string[] = [];

interface SentRequest {
  command: string;
  input: Record<string, unknown>;
}

beforeAll(async () => {
  moto = await useMotoEnv();
  [first, second, withChain] = await Promise.all([
    makeTestBundle(['www.example.com', 'example.com']),
    makeTestBundle(['www.example.com', 'example.com']),
    makeTestBundle(['api.example.com', '*.api.example.com'], 'rsa-2048', { issuedBy: 'test-ca' }),
  ]);
  secretsInPlay.push(...[first, second, withChain].map((b) => b.privateKey.reveal()));
});

afterAll(async () => {
  await moto?.teardown();
});

beforeEach(async () => {
  if (!moto) throw new Error('moto did not start');
  await moto.reset();
  client = new SecretsManagerClient({});
  store = new SecretsManagerSecretStore({ client });
});

afterEach(() => {
  client.destroy();
});

const onTestCleanup: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of onTestCleanup.splice(0)) cleanup();
});

/** A client of its own (env endpoint), for tests that add middleware. */
function newClient(options: { maxAttempts?: number } = {}): SecretsManagerClient {
  const extra = new SecretsManagerClient(options);
  onTestCleanup.push(() => extra.destroy());
  return extra;
}

/** A loopback port that nothing listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Records every command the client sends (before retries), with its input. */
function recordRequests(target: SecretsManagerClient): SentRequest[] {
  const sent: SentRequest[] = [];
  target.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({
        command: context.commandName ?? '?',
        input: args.input as Record<string, unknown>,
      });
      return next(args);
    },
    { step: 'initialize', name: 'recordRequests' },
  );
  return sent;
}

/**
 * Answers `commands` (all when empty) with an HTTP error of the JSON protocol, as the
 * service would, without reaching moto. The SDK's own deserializer turns it into an error.
 */
function answerWithError(
  target: SecretsManagerClient,
  status: number,
  type: string,
  message: string | ((requestBody: string) => string),
  commands: string[] = [],
): void {
  target.middlewareStack.add(
    (next, context) => async (args) => {
      if (commands.length > 0 && !commands.includes(context.commandName ?? '')) return next(args);
      const sentBody = (args.request as { body?: unknown }).body;
      const body =
        typeof sentBody === 'string'
          ? sentBody
          : sentBody instanceof Uint8Array
            ? Buffer.from(sentBody).toString('utf8')
            : '';
      const text = typeof message === 'function' ? message(body) : message;
      return {
        response: {
          statusCode: status,
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amzn-errortype': type,
            'x-amzn-requestid': 'test-request',
          },
          body: Readable.from([Buffer.from(JSON.stringify({ __type: type, message: text }))]),
        },
        output: undefined as never,
      };
    },
    { step: 'deserialize', priority: 'low', name: 'answerWithError' },
  );
}

async function createSecret(name: string, tags: Record<string, string> = {}, value?: string) {
  const answer = await client.send(
    new CreateSecretCommand({
      Name: name,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      ...(value === undefined ? {} : { SecretString: value }),
    }),
  );
  if (!answer.ARN) throw new Error('CreateSecret answered without an ARN');
  return answer.ARN;
}

async function versionIds(secretId: string): Promise<string[]> {
  const answer = await client.send(
    new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true }),
  );
  return (answer.Versions ?? []).map((version) => version.VersionId ?? '?');
}

async function stagesById(secretId: string): Promise<Record<string, string[]>> {
  const answer = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
  return answer.VersionIdsToStages ?? {};
}

async function rawValue(secretId: string, stage: string): Promise<string> {
  const answer = await client.send(
    new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }),
  );
  if (answer.SecretString === undefined) throw new Error(`${stage} holds no string`);
  return answer.SecretString;
}

/** The error `promise` rejects with, checked to be a CertloopError with a clean message. */
async function failure(promise: Promise<unknown>): Promise<CertloopError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof CertloopError)) {
    throw new Error(
      `expected a CertloopError, got ${error === undefined ? 'success' : String(error)}`,
    );
  }
  expectNoKeyMaterial(error);
  return error;
}

/** Fails naming where key material showed, never printing it. */
function expectNoKeyMaterial(error: Error): void {
  const texts: Record<string, string> = {
    message: error.message,
    string: String(error),
    stack: error.stack ?? '',
    cause: error.cause instanceof Error ? `${error.cause.message}\n${error.cause.stack ?? ''}` : '',
  };
  const leaking = Object.entries(texts)
    .filter(([, text]) => linesWithKeyMaterial(text, secretsInPlay).length > 0)
    .map(([where]) => where);
  expect(leaking).toEqual([]);
}

function pairMatches(value: string): { certificate: boolean; fullchain: boolean } {
  const parsed = JSON.parse(value) as {
    certificate: string;
    fullchain: string;
    privateKey: string;
  };
  const key = createPrivateKey(parsed.privateKey);
  return {
    certificate: new X509Certificate(parsed.certificate).checkPrivateKey(key),
    fullchain: new X509Certificate(parsed.fullchain).checkPrivateKey(key),
  };
}

function serialOf(value: string): string {
  return (JSON.parse(value) as { serial: string }).serial;
}

describe('writing certificates', () => {
  it('a write retried after a timeout whose first attempt landed leaves exactly one new version', async () => {
    await createSecret(SECRET, { 'certloop:domains': 'www.example.com example.com' });
    await store.writeCertificate(SECRET, first, 'token-1');
    const before = await versionIds(SECRET);

    const flaky = newClient();
    const sent = recordRequests(flaky);
    let timeouts = 0;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'PutSecretValueCommand' && timeouts === 0) {
          timeouts += 1;
          throw Object.assign(new Error('Connection timed out after 3000 ms'), {
            name: 'TimeoutError',
          });
        }
        return result;
      },
      { step: 'initialize', name: 'timeoutAfterFirstPut' },
    );
    const flakyStore = new SecretsManagerSecretStore({ client: flaky });

    const error = await failure(flakyStore.writeCertificate(SECRET, second, 'token-2'));
    expect(error.kind).toBe('infrastructure');
    expect(error.source).toBe('secrets');
    expect(error.message).toContain(SECRET);
    expect(timeouts).toBe(1);

    // The put reached moto: the version is already there.
    expect(await versionIds(SECRET)).toHaveLength(before.length + 1);

    expect(await flakyStore.writeCertificate(SECRET, second, 'token-2')).toMatchObject({
      created: false,
    });
    const after = await versionIds(SECRET);
    expect(after).toHaveLength(before.length + 1);
    expect(after.filter((id) => !before.includes(id))).toEqual([certificateVersionId('token-2')]);
    expect(sent.filter((request) => request.command === 'PutSecretValueCommand')).toHaveLength(1);

    // Neither AWSCURRENT nor AWSPREVIOUS moved twice.
    expect(serialOf(await rawValue(SECRET, 'AWSCURRENT'))).toBe(second.serial);
    expect(serialOf(await rawValue(SECRET, 'AWSPREVIOUS'))).toBe(first.serial);
  });

  it('concurrent writes with one token leave exactly one new version', async () => {
    await createSecret(SECRET);
    await store.writeCertificate(SECRET, first, 'token-1');
    const before = await versionIds(SECRET);
    await Promise.all([
      store.writeCertificate(SECRET, second, 'token-2'),
      new SecretsManagerSecretStore({ client }).writeCertificate(SECRET, second, 'token-2'),
      store.writeCertificate(SECRET, second, 'token-2'),
    ]);
    expect(await versionIds(SECRET)).toHaveLength(before.length + 1);
    expect(serialOf(await rawValue(SECRET, 'AWSPREVIOUS'))).toBe(first.serial);
  });

  it('the version id comes from the token: UUID-shaped, 36 characters, stable', async () => {
    const id = certificateVersionId('token-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(certificateVersionId('token-1')).toBe(id);
    expect(certificateVersionId('token-2')).not.toBe(id);
    const longToken = 'AB:'.repeat(40);
    expect(certificateVersionId(longToken)).toHaveLength(36);

    await createSecret(SECRET);
    await store.writeCertificate(SECRET, first, longToken);
    expect(Object.keys(await stagesById(SECRET))).toEqual([certificateVersionId(longToken)]);
  });

  it('after two writes AWSCURRENT and AWSPREVIOUS each hold a matching key and certificate', async () => {
    await createSecret(SECRET, { 'certloop:domains': 'www.example.com' });
    expect(await store.writeCertificate(SECRET, first, 'token-1')).toMatchObject({ created: true });
    expect(await store.writeCertificate(SECRET, second, 'token-2')).toMatchObject({
      created: true,
    });

    const current = await rawValue(SECRET, 'AWSCURRENT');
    const previous = await rawValue(SECRET, 'AWSPREVIOUS');
    expect(serialOf(current)).toBe(second.serial);
    expect(serialOf(previous)).toBe(first.serial);
    expect(pairMatches(current)).toEqual({ certificate: true, fullchain: true });
    expect(pairMatches(previous)).toEqual({ certificate: true, fullchain: true });
    // And the two are different pairs.
    const currentKey = (JSON.parse(current) as { privateKey: string }).privateKey;
    const previousKey = (JSON.parse(previous) as { privateKey: string }).privateKey;
    expect(currentKey === previousKey).toBe(false);
  });

  it('a late retry of the write that is now AWSPREVIOUS changes nothing', async () => {
    await createSecret(SECRET);
    await store.writeCertificate(SECRET, first, 'token-1');
    await store.writeCertificate(SECRET, second, 'token-2');
    const before = await stagesById(SECRET);
    expect(await store.writeCertificate(SECRET, first, 'token-1')).toMatchObject({
      created: false,
    });
    expect(await stagesById(SECRET)).toEqual(before);
    expect((await store.readCertificate(SECRET))?.serial).toBe(second.serial);
  });

  it('a secret the user created with a placeholder value reads as empty until the first write', async () => {
    await createSecret(
      SECRET,
      { 'certloop:domains': 'www.example.com' },
      '{"note":"managed by certloop"}',
    );
    expect(await store.readCertificate(SECRET)).toBeUndefined();
    await store.writeCertificate(SECRET, first, 'token-1');
    expect((await store.readCertificate(SECRET))?.serial).toBe(first.serial);
    // The placeholder is AWSPREVIOUS now, which is not a certificate.
    expect(await store.readCertificate(SECRET, 'previous')).toBeUndefined();
  });

  it('writing to a secret that does not exist is not-found and creates nothing', async () => {
    const error = await failure(store.writeCertificate('missing-secret', first, 'token-1'));
    expect(error.kind).toBe('not-found');
    expect(error.message).toContain('missing-secret');
    const described = await client
      .send(new DescribeSecretCommand({ SecretId: 'missing-secret' }))
      .catch((thrown: Error) => thrown.name);
    expect(described).toBe('ResourceNotFoundException');
  });

  it('reading a secret that does not exist is not-found, an empty one gives undefined', async () => {
    const error = await failure(store.readCertificate('missing-secret', 'previous'));
    expect(error.kind).toBe('not-found');
    expect(error.message).toContain('missing-secret');
    await createSecret('empty-secret');
    expect(await store.readCertificate('empty-secret')).toBeUndefined();
    expect(await store.readCertificate('empty-secret', 'previous')).toBeUndefined();
  });

  it('a placeholder reads as undefined, a broken certificate is refused naming the field; one written by hand reads back', async () => {
    const placeholders = ['{}', '{"note":"managed by certloop"}', ''];
    for (const [index, value] of placeholders.entries()) {
      await createSecret(`placeholder-${index}`, {}, value || ' ');
      expect(await store.readCertificate(`placeholder-${index}`)).toBeUndefined();
    }
    const key = first.privateKey.reveal();
    const broken: Array<[string, RegExp]> = [
      ['plain text', /: the value is not JSON$/],
      ['[1,2]', /: the value: /],
      [
        JSON.stringify({ ...first, privateKey: 'not a key' }),
        /privateKey is not a PEM private key/,
      ],
      [JSON.stringify({ ...first, privateKey: key, keyType: 'dsa-1024' }), /: keyType: /],
      [JSON.stringify({ ...first, privateKey: key, certificate: undefined }), /: certificate: /],
      [
        JSON.stringify({ ...first, privateKey: second.privateKey.reveal() }),
        /the privateKey does not match the certificate/,
      ],
    ];
    for (const [index, [value, problem]] of broken.entries()) {
      await createSecret(`odd-${index}`, {}, value);
      const error = await failure(store.readCertificate(`odd-${index}`));
      expect(error.kind).toBe('permanent');
      expect(error.message).toMatch(
        new RegExp(`^Secret odd-${index} \\(current\\) does not hold a certloop certificate`),
      );
      expect(error.message).toMatch(problem);
      expect(error.message).not.toContain('PRIVATE KEY');
    }
    await createSecret(
      'by-hand',
      {},
      JSON.stringify({ ...first, privateKey: first.privateKey.reveal() }),
    );
    const read = await store.readCertificate('by-hand');
    expect(read?.serial).toBe(first.serial);
    expect(read?.privateKey.equals(first.privateKey)).toBe(true);
  });
});

describe('the secret value consumers read', () => {
  it('is JSON with exactly the published field names, and fullchain extracts on its own (ECS valueFrom)', async () => {
    await createSecret(SECRET);
    await store.writeCertificate(SECRET, withChain, 'token-1');
    const value = JSON.parse(await rawValue(SECRET, 'AWSCURRENT')) as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual([...VALUE_FIELDS].sort());

    // ECS `valueFrom: <arn>:fullchain::` injects JSON.parse(SecretString).fullchain.
    const fullchain = value.fullchain;
    expect(fullchain).toBe(withChain.fullchain);
    expect(typeof fullchain === 'string' && fullchain.match(/BEGIN CERTIFICATE/g)?.length).toBe(2);
    expect(value.certificate).toBe(withChain.certificate);
    expect(value.chain).toBe(withChain.chain);
    expect(value.domains).toEqual(withChain.domains);
    expect(value.keyType).toBe('rsa-2048');
    expect(value.serial).toBe(withChain.serial);
    expect(value.notAfter).toBe(withChain.notAfter);
    expect(value.issuer).toBe(withChain.issuer);
    expect(value.privateKey === withChain.privateKey.reveal()).toBe(true);
  });
});

describe('pending keys', () => {
  it('a pending key never shows as AWSCURRENT, survives a certificate write, and discard removes its label', async () => {
    await createSecret(SECRET, { 'certloop:domains': 'www.example.com' });
    const key = makeTestKey();
    secretsInPlay.push(key.reveal());
    const label = pendingLabel('attempt-1');
    expect(label.startsWith(`${PENDING_LABEL_PREFIX}_`)).toBe(true);

    await store.stagePendingKey(SECRET, 'attempt-1', key);
    let stages = await stagesById(SECRET);
    const pendingVersion = Object.keys(stages).find((id) => stages[id]?.includes(label));
    expect(pendingVersion).toBeDefined();
    expect(stages[pendingVersion ?? '']).toEqual([label]);
    // An empty secret got a placeholder as AWSCURRENT first, so the key is not current.
    expect(await rawValue(SECRET, 'AWSCURRENT')).toBe('{}');
    expect(Object.values(stages).flat().sort()).toEqual(['AWSCURRENT', label].sort());
    expect(await store.readCertificate(SECRET)).toBeUndefined();

    await store.writeCertificate(SECRET, first, 'token-1');
    stages = await stagesById(SECRET);
    expect(stages[pendingVersion ?? '']).toEqual([label]);
    expect((await store.readCertificate(SECRET))?.serial).toBe(first.serial);
    expect(await store.readCertificate(SECRET, 'previous')).toBeUndefined();
    expect((await store.readPendingKey(SECRET, 'attempt-1'))?.equals(key)).toBe(true);

    await store.writeCertificate(SECRET, second, 'token-2');
    expect((await stagesById(SECRET))[pendingVersion ?? '']).toEqual([label]);
    expect((await store.readCertificate(SECRET, 'previous'))?.serial).toBe(first.serial);

    await store.discardPendingKey(SECRET, 'attempt-1');
    expect(Object.values(await stagesById(SECRET)).flat()).not.toContain(label);
    expect(await store.readPendingKey(SECRET, 'attempt-1')).toBeUndefined();
    expect((await store.readCertificate(SECRET))?.serial).toBe(second.serial);
    await expect(store.discardPendingKey(SECRET, 'attempt-1')).resolves.toBeUndefined();
  });

  it('staging into a secret that already has a value adds only the pending version', async () => {
    await createSecret(SECRET, {}, '{}');
    const before = await versionIds(SECRET);
    await store.stagePendingKey(SECRET, 'attempt-1', makeTestKey());
    expect(await versionIds(SECRET)).toHaveLength(before.length + 1);
    expect(await rawValue(SECRET, 'AWSCURRENT')).toBe('{}');
  });

  it('the pending value holds the attempt id and the key; another attempt id does not read it', async () => {
    await createSecret(SECRET);
    const key = makeTestKey();
    secretsInPlay.push(key.reveal());
    await store.stagePendingKey(SECRET, 'attempt-1', key);
    const value = JSON.parse(await rawValue(SECRET, pendingLabel('attempt-1'))) as {
      certloopPending: { attemptId: string; privateKey: string };
    };
    expect(Object.keys(value)).toEqual(['certloopPending']);
    expect(value.certloopPending.attemptId).toBe('attempt-1');
    expect(value.certloopPending.privateKey === key.reveal()).toBe(true);
    expect(await store.readPendingKey(SECRET, 'attempt-2')).toBeUndefined();
  });

  it(`keeps at most ${MAX_PENDING_LABELS} pending keys per secret, the newest always`, async () => {
    await createSecret(SECRET, {}, '{}');
    const keys: KeyMaterial[] = [];
    for (let index = 0; index < MAX_PENDING_LABELS + 3; index += 1) {
      const key = makeTestKey();
      keys.push(key);
      await store.stagePendingKey(SECRET, `attempt-${index}`, key);
      const labels = Object.values(await stagesById(SECRET))
        .flat()
        .filter((label) => label.startsWith(PENDING_LABEL_PREFIX));
      expect(labels.length).toBeLessThanOrEqual(MAX_PENDING_LABELS);
      expect(labels).toContain(pendingLabel(`attempt-${index}`));
    }
    const last = MAX_PENDING_LABELS + 2;
    expect(
      (await store.readPendingKey(SECRET, `attempt-${last}`))?.equals(keys[last] ?? makeTestKey()),
    ).toBe(true);
    expect(await rawValue(SECRET, 'AWSCURRENT')).toBe('{}');
  });

  it('discarding in a secret that does not exist is not an error; reading there is not-found', async () => {
    await expect(store.discardPendingKey('missing-secret', 'attempt-1')).resolves.toBeUndefined();
    const error = await failure(store.readPendingKey('missing-secret', 'attempt-1'));
    expect(error.kind).toBe('not-found');
  });
});

describe('account keys', () => {
  it('live in one tagged secret per directory URL, holding { directoryUrl, privateKey }', async () => {
    const key = makeTestKey();
    secretsInPlay.push(key.reveal());
    const created = await store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () => key);
    expect(created.equals(key)).toBe(true);

    const name = accountKeySecretName(DIRECTORY);
    expect(name).toMatch(/^certloop\/acme-account\/[0-9a-f]{32}$/);
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.Tags).toContainEqual(ACCOUNT_KEY_TAG);
    const value = JSON.parse(await rawValue(name, 'AWSCURRENT')) as Record<string, string>;
    expect(Object.keys(value).sort()).toEqual(['directoryUrl', 'privateKey']);
    expect(value.directoryUrl).toBe(DIRECTORY);
    expect(value.privateKey === key.reveal()).toBe(true);
  });

  it('keeps the name earlier versions used without a key id; an EAB key id gets its own secret naming it', async () => {
    // The name of a deployment made before EAB existed: sha256 of the directory URL alone.
    const legacy = `certloop/acme-account/${createHash('sha256').update(DIRECTORY).digest('hex').slice(0, 32)}`;
    expect(accountKeySecretName({ directoryUrl: DIRECTORY })).toBe(legacy);

    const key = makeTestKey();
    secretsInPlay.push(key.reveal());
    const account = { directoryUrl: DIRECTORY, eab: { keyId: 'kid-zerossl' } };
    await store.getOrCreateAccountKey(account, async () => key);
    const name = accountKeySecretName(account);
    expect(name).not.toBe(legacy);
    const value = JSON.parse(await rawValue(name, 'AWSCURRENT')) as Record<string, string>;
    expect(Object.keys(value).sort()).toEqual(['directoryUrl', 'eabKeyId', 'privateKey']);
    expect(value.eabKeyId).toBe('kid-zerossl');
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.Tags).toContainEqual(ACCOUNT_KEY_TAG);
  });

  it('refuses a secret holding the key of another EAB key id under the looked-up name', async () => {
    const account = { directoryUrl: DIRECTORY, eab: { keyId: 'kid-a' } };
    const pem = makeTestKey().reveal();
    secretsInPlay.push(pem);
    await createSecret(
      accountKeySecretName(account),
      {},
      JSON.stringify({ directoryUrl: DIRECTORY, eabKeyId: 'kid-b', privateKey: pem }),
    );
    const error = await failure(store.getOrCreateAccountKey(account, async () => makeTestKey()));
    expect(error.kind).toBe('infrastructure');
    expect(error.message).toContain('kid=kid-b');
    expect(error.message).toContain('kid=kid-a');
  });

  it('six stores racing (no shared memory) all end up with the one stored key', async () => {
    const stores = Array.from(
      { length: 6 },
      () => new SecretsManagerSecretStore({ client: newClient(), accountKeyPrefix: 'race/' }),
    );
    const keys = await Promise.all(
      stores.map((racer) =>
        racer.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () => makeTestKey()),
      ),
    );
    const stored = JSON.parse(
      await rawValue(accountKeySecretName(DIRECTORY, 'race/'), 'AWSCURRENT'),
    ) as { privateKey: string };
    expect(new Set(keys.map(keyDigest)).size).toBe(1);
    expect(keys.every((key) => key.reveal() === stored.privateKey)).toBe(true);
    expect(await versionIds(accountKeySecretName(DIRECTORY, 'race/'))).toHaveLength(1);
  });

  it('a secret created empty beforehand gets the key; an unrelated value is refused, not overwritten', async () => {
    const name = accountKeySecretName(DIRECTORY);
    await createSecret(name);
    const key = await store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () =>
      makeTestKey(),
    );
    expect(
      (
        await store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () => makeTestKey())
      ).equals(key),
    ).toBe(true);

    const other = 'https://other.example/directory';
    await createSecret(accountKeySecretName(other), {}, '{"hello":"world"}');
    const error = await failure(
      store.getOrCreateAccountKey({ directoryUrl: other }, async () => makeTestKey()),
    );
    // The deployment's account secret, not the certificate, is at fault: retried, not counted.
    expect(error.kind).toBe('infrastructure');
    expect(error.message).toContain(accountKeySecretName(other));
    expect(await rawValue(accountKeySecretName(other), 'AWSCURRENT')).toBe('{"hello":"world"}');
  });
});

describe('registration discovery', () => {
  it('lists the 3 secrets tagged certloop:domains among 5 others, asking with the tag-key filter', async () => {
    const tagged = new Map<string, string>();
    for (const name of ['app/www', 'app/api', 'app/mail']) {
      tagged.set(
        name,
        await createSecret(name, {
          'certloop:domains': `${name.slice(4)}.example.com`,
          team: 'web',
        }),
      );
    }
    for (const name of ['db/password', 'app/other', 'svc/a', 'svc/b', 'svc/c']) {
      await createSecret(name, name.startsWith('svc/') ? { team: 'web' } : {}, 'x');
    }
    const lister = newClient();
    const sent = recordRequests(lister);
    const discovery = new SecretsManagerRegistrationSource({ client: lister, listPageSize: 2 });

    const found = [];
    for await (const secret of discovery.listRegisteredSecrets()) found.push(secret);

    expect(found.map((secret) => secret.name).sort()).toEqual([...tagged.keys()].sort());
    for (const secret of found) {
      expect(secret.arn).toBe(tagged.get(secret.name));
      expect(secret.tags['certloop:domains']).toBe(`${secret.name.slice(4)}.example.com`);
      expect(secret.tags.team).toBe('web');
    }
    const listCalls = sent.filter((request) => request.command === 'ListSecretsCommand');
    // 3 matches in pages of 2: two requests, each with the filter.
    expect(listCalls).toHaveLength(2);
    for (const call of listCalls) {
      expect(call.input.Filters).toEqual([{ Key: 'tag-key', Values: ['certloop:domains'] }]);
    }
    expect(sent.map((request) => request.command)).toEqual([
      'ListSecretsCommand',
      'ListSecretsCommand',
    ]);
  });

  it('leaves out tag keys that only start with certloop:domains', async () => {
    await createSecret('app/www', { 'certloop:domains': 'www.example.com' });
    await createSecret('app/old', { 'certloop:domains-old': 'old.example.com' });
    const found = [];
    const discovery = new SecretsManagerRegistrationSource({ client });
    for await (const secret of discovery.listRegisteredSecrets()) found.push(secret.name);
    expect(found).toEqual(['app/www']);
  });

  it('reads the tags of one secret', async () => {
    const arn = await createSecret('app/www', {
      'certloop:domains': 'www.example.com example.com',
      'certloop:key': 'rsa-2048',
    });
    const discovery = new SecretsManagerRegistrationSource({ client });
    expect(await discovery.readRegistrationTags(arn)).toEqual({
      'certloop:domains': 'www.example.com example.com',
      'certloop:key': 'rsa-2048',
    });
    expect((await failure(discovery.readRegistrationTags('app/missing'))).kind).toBe('not-found');
  });
});

describe('errors', () => {
  it.each([
    [429, 'ThrottlingException', 'Rate exceeded'],
    [400, 'TooManyRequestsException', 'Too many requests'],
    [500, 'InternalServiceError', 'An error occurred on the server side.'],
    [503, 'ServiceUnavailable', 'Service unavailable'],
    [502, 'SomethingNew', 'Bad gateway'],
  ])(
    'HTTP %i %s surfaces as infrastructure from every operation',
    async (status, type, message) => {
      await createSecret(SECRET);
      const broken = newClient({ maxAttempts: 1 });
      answerWithError(broken, status, type, message);
      const brokenStore = new SecretsManagerSecretStore({ client: broken });
      const brokenDiscovery = new SecretsManagerRegistrationSource({ client: broken });
      const errors = [
        await failure(brokenStore.writeCertificate(SECRET, first, 'token-1')),
        await failure(brokenStore.readCertificate(SECRET)),
        await failure(brokenStore.stagePendingKey(SECRET, 'attempt-1', makeTestKey())),
        await failure(brokenStore.readPendingKey(SECRET, 'attempt-1')),
        await failure(brokenStore.discardPendingKey(SECRET, 'attempt-1')),
        await failure(
          brokenStore.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () => makeTestKey()),
        ),
        await failure(brokenDiscovery.readRegistrationTags(SECRET)),
        await failure(
          (async () => {
            for await (const _ of brokenDiscovery.listRegisteredSecrets()) {
              // nothing
            }
          })(),
        ),
      ];
      for (const error of errors) {
        expect(error.kind).toBe('infrastructure');
        expect(error.source).toBe('secrets');
        expect(error.countsAsFailure).toBe(false);
      }
      expect(errors[0]?.message).toContain(SECRET);
    },
  );

  it('the SDK retries throttling by itself and the write still lands once', async () => {
    await createSecret(SECRET);
    const throttled = newClient();
    let throttles = 0;
    throttled.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutSecretValueCommand' && throttles < 1) {
          throttles += 1;
          return {
            response: {
              statusCode: 429,
              headers: { 'x-amzn-errortype': 'ThrottlingException' },
              body: Readable.from([
                Buffer.from('{"__type":"ThrottlingException","message":"slow down"}'),
              ]),
            },
            output: undefined as never,
          };
        }
        return next(args);
      },
      { step: 'deserialize', priority: 'low', name: 'throttleOnce' },
    );
    const before = await versionIds(SECRET);
    expect(
      await new SecretsManagerSecretStore({ client: throttled }).writeCertificate(
        SECRET,
        first,
        'token-1',
      ),
    ).toMatchObject({ created: true });
    expect(throttles).toBe(1);
    expect(await versionIds(SECRET)).toHaveLength(before.length + 1);
  });

  it('AccessDenied is permanent and says which permission is missing on which secret', async () => {
    await createSecret(SECRET);
    const denied = newClient({ maxAttempts: 1 });
    answerWithError(
      denied,
      400,
      'AccessDeniedException',
      'User: arn:aws:sts::123456789012:assumed-role/worker/fn is not authorized to perform: secretsmanager:PutSecretValue',
      ['PutSecretValueCommand'],
    );
    const deniedStore = new SecretsManagerSecretStore({ client: denied });
    const error = await failure(deniedStore.writeCertificate(SECRET, first, 'token-1'));
    expect(error.kind).toBe('permanent');
    expect(error.source).toBe('secrets');
    expect(error.message).toContain('secretsmanager:PutSecretValue');
    expect(error.message).toContain(SECRET);
    expect(await versionIds(SECRET)).toEqual([]);

    const reading = newClient({ maxAttempts: 1 });
    answerWithError(reading, 400, 'AccessDeniedException', 'denied', ['GetSecretValueCommand']);
    const readError = await failure(
      new SecretsManagerSecretStore({ client: reading }).readCertificate('app/www'),
    );
    expect(readError.kind).toBe('permanent');
    expect(readError.message).toContain('secretsmanager:GetSecretValue');
    expect(readError.message).toContain('app/www');
  });

  it('a refused connection is infrastructure', async () => {
    const port = await closedPort();
    const closed = new SecretsManagerClient({
      endpoint: `http://127.0.0.1:${port}`,
      maxAttempts: 1,
    });
    onTestCleanup.push(() => closed.destroy());
    const error = await failure(
      new SecretsManagerSecretStore({ client: closed }).readCertificate(SECRET),
    );
    expect(error.kind).toBe('infrastructure');
    expect(error.message).toContain(SECRET);
  });

  it('no error message carries key material, even when the service echoes the request', async () => {
    await createSecret(SECRET, {}, '{}');
    const echoing = newClient({ maxAttempts: 1 });
    // A (hypothetical) server that quotes the request body, SecretString and all.
    const echoed: string[] = [];
    answerWithError(
      echoing,
      400,
      'InvalidRequestException',
      (body) => {
        echoed.push(body);
        return `bad request: ${body}`;
      },
      ['PutSecretValueCommand', 'CreateSecretCommand'],
    );
    const echoStore = new SecretsManagerSecretStore({ client: echoing });
    const key = makeTestKey();
    secretsInPlay.push(key.reveal());
    const errors = [
      await failure(echoStore.writeCertificate(SECRET, first, 'token-1')),
      await failure(echoStore.stagePendingKey(SECRET, 'attempt-1', key)),
      await failure(echoStore.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () => key)),
    ];
    expect(echoed).toHaveLength(3);
    for (const error of errors) {
      expect(error.kind).toBe('permanent');
      expect(error.message).toContain('InvalidRequestException');
    }
    // `failure` checked every message and cause; the raw answers did hold the keys.
    expect(echoed.map((body) => linesWithKeyMaterial(body, secretsInPlay).length > 0)).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('a value that is not JSON never reaches a message', async () => {
    const key = makeTestKey();
    secretsInPlay.push(key.reveal());
    const name = accountKeySecretName(DIRECTORY);
    // Truncated JSON around a key: JSON.parse's own error would quote part of it.
    await createSecret(
      name,
      {},
      `{"directoryUrl":"${DIRECTORY}","privateKey":"${key.reveal().slice(0, 60)}`,
    );
    const error = await failure(
      store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () => makeTestKey()),
    );
    expect(error.kind).toBe('infrastructure');
    expect(error.message).not.toContain('BEGIN');
  });
});
