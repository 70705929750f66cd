// The SecretStore contract (src/ports/secret-store.ts) as a test suite that every
// implementation runs. Key comparisons go through digests and `equals`, so a failing
// assertion never prints key material.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KeyMaterial } from '../../src/core/key-material.js';
import {
  type CertificateBundle,
  MAX_PENDING_KEYS,
  type SecretStore,
} from '../../src/ports/secret-store.js';
import { KEY_MATERIAL_PATTERNS, keyFingerprints } from '../support/key-material-patterns.js';
import {
  certificateMatchesKey,
  keyDigest,
  makeTestBundle,
  makeTestKey,
} from '../support/test-certificates.js';

export interface SecretStoreFixture {
  store: SecretStore;
  teardown(): Promise<void>;
  /**
   * Makes `secretId` exist before the test uses it, for stores where certloop writes
   * into secrets that someone else created (Secrets Manager: the user creates and tags
   * the secret). Called for every id in CONTRACT_SECRET_IDS before each test. Stores
   * that create on first write leave it undefined.
   */
  prepare?(secretId: string): Promise<void>;
}

const SECRET = 'www-example';
const ARN_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:certloop/api-Ab12Cd';
const DIRECTORY = 'https://acme.example/directory';

/** Every secret id the contract reads or writes (account keys excepted). */
export const CONTRACT_SECRET_IDS: readonly string[] = [
  SECRET,
  ARN_SECRET,
  `${ARN_SECRET}x`,
  'never-written',
  'alpha',
  'beta',
];

/** Everything but the key, plus a digest of the key: comparable and safe to print. */
function view(bundle: CertificateBundle | undefined) {
  if (!bundle) return undefined;
  const { privateKey, ...rest } = bundle;
  return { ...rest, key: keyDigest(privateKey) };
}

export function describeSecretStoreContract(
  name: string,
  setup: () => Promise<SecretStoreFixture>,
): void {
  describe(`SecretStore contract: ${name}`, () => {
    let store: SecretStore;
    let fixture: SecretStoreFixture | undefined;
    let first: CertificateBundle;
    let second: CertificateBundle;
    let third: CertificateBundle;
    let rsaWithChain: CertificateBundle;

    beforeAll(async () => {
      [first, second, third, rsaWithChain] = await Promise.all([
        makeTestBundle(['www.example.com', 'example.com']),
        makeTestBundle(['www.example.com', 'example.com']),
        makeTestBundle(['www.example.com', 'example.com']),
        makeTestBundle(['api.example.com', '*.api.example.com'], 'rsa-2048', {
          issuedBy: 'test-ca',
        }),
      ]);
    });

    beforeEach(async () => {
      fixture = await setup();
      store = fixture.store;
      const prepared = fixture;
      await Promise.all(CONTRACT_SECRET_IDS.map((id) => prepared.prepare?.(id)));
    });

    afterEach(async () => {
      await fixture?.teardown();
      fixture = undefined;
    });

    describe('certificates', () => {
      it('reading a secret that was never written gives undefined for both stages', async () => {
        expect(await store.readCertificate('never-written')).toBeUndefined();
        expect(await store.readCertificate('never-written', 'current')).toBeUndefined();
        expect(await store.readCertificate('never-written', 'previous')).toBeUndefined();
      });

      it('a written bundle reads back as current with every field, key included', async () => {
        expect(await store.writeCertificate(SECRET, first, 'token-1')).toMatchObject({
          created: true,
        });
        const read = await store.readCertificate(SECRET);
        expect(view(read)).toEqual(view(first));
        expect(read?.privateKey).toBeInstanceOf(KeyMaterial);
        expect(read?.privateKey.equals(first.privateKey)).toBe(true);
        expect(read?.privateKey.reveal() === first.privateKey.reveal()).toBe(true);
      });

      it('a bundle with an intermediate chain and an RSA key round-trips unchanged', async () => {
        expect(rsaWithChain.chain).not.toBe('');
        await store.writeCertificate(SECRET, rsaWithChain, 'token-rsa');
        const read = await store.readCertificate(SECRET);
        expect(view(read)).toEqual(view(rsaWithChain));
        expect(read?.keyType).toBe('rsa-2048');
      });

      it('a secret id shaped like an ARN works like any other', async () => {
        await store.writeCertificate(ARN_SECRET, first, 'token-1');
        expect(view(await store.readCertificate(ARN_SECRET))).toEqual(view(first));
        expect(await store.readCertificate(`${ARN_SECRET}x`)).toBeUndefined();
      });

      it('the first write leaves previous empty', async () => {
        await store.writeCertificate(SECRET, first, 'token-1');
        expect(await store.readCertificate(SECRET, 'previous')).toBeUndefined();
      });

      it('a second write becomes current and makes the first one previous', async () => {
        await store.writeCertificate(SECRET, first, 'token-1');
        expect(await store.writeCertificate(SECRET, second, 'token-2')).toMatchObject({
          created: true,
        });
        expect(view(await store.readCertificate(SECRET, 'current'))).toEqual(view(second));
        expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(first));
      });

      it('a third write drops the first: previous is the second', async () => {
        await store.writeCertificate(SECRET, first, 'token-1');
        await store.writeCertificate(SECRET, second, 'token-2');
        expect(await store.writeCertificate(SECRET, third, 'token-3')).toMatchObject({
          created: true,
        });
        expect(view(await store.readCertificate(SECRET, 'current'))).toEqual(view(third));
        expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(second));
      });

      it('writing the same token again creates nothing and answers created: false', async () => {
        const written = await store.writeCertificate(SECRET, first, 'token-1');
        // The same version: a retried write announces the version the first one made.
        expect(await store.writeCertificate(SECRET, first, 'token-1')).toEqual({
          created: false,
          versionId: written.versionId,
        });
        expect(view(await store.readCertificate(SECRET))).toEqual(view(first));
        expect(await store.readCertificate(SECRET, 'previous')).toBeUndefined();

        await store.writeCertificate(SECRET, second, 'token-2');
        expect(await store.writeCertificate(SECRET, second, 'token-2')).toMatchObject({
          created: false,
        });
        expect(view(await store.readCertificate(SECRET, 'current'))).toEqual(view(second));
        expect(view(await store.readCertificate(SECRET, 'previous'))).toEqual(view(first));
      });

      it('the current key always matches the current certificate', async () => {
        for (const [index, bundle] of [first, second, third, rsaWithChain].entries()) {
          await store.writeCertificate(SECRET, bundle, `token-${index}`);
          for (const stage of ['current', 'previous'] as const) {
            const read = await store.readCertificate(SECRET, stage);
            if (stage === 'previous' && index === 0) {
              expect(read).toBeUndefined();
              continue;
            }
            if (!read) throw new Error(`nothing at ${stage} after write ${index}`);
            expect(certificateMatchesKey(read.certificate, read.privateKey)).toBe(true);
            expect(certificateMatchesKey(read.fullchain, read.privateKey)).toBe(true);
          }
        }
      });

      it('secrets are independent of each other', async () => {
        await store.writeCertificate('alpha', first, 'token-1');
        await store.writeCertificate('beta', second, 'token-1');
        expect(await store.writeCertificate('beta', second, 'token-1')).toMatchObject({
          created: false,
        });
        expect(view(await store.readCertificate('alpha'))).toEqual(view(first));
        expect(view(await store.readCertificate('beta'))).toEqual(view(second));
        expect(await store.readCertificate('alpha', 'previous')).toBeUndefined();
      });

      it('changing a bundle after reading it does not change the stored one', async () => {
        await store.writeCertificate(SECRET, first, 'token-1');
        const read = await store.readCertificate(SECRET);
        read?.domains.push('evil.example');
        expect((await store.readCertificate(SECRET))?.domains).toEqual(first.domains);
      });

      it('JSON.stringify of a read bundle contains no private key', async () => {
        await store.writeCertificate(SECRET, rsaWithChain, 'token-1');
        await store.writeCertificate(SECRET, first, 'token-2');
        for (const stage of ['current', 'previous'] as const) {
          const read = await store.readCertificate(SECRET, stage);
          const json = JSON.stringify(read);
          expect(json).toContain('BEGIN CERTIFICATE');
          expect(KEY_MATERIAL_PATTERNS.filter((pattern) => pattern.test(json))).toEqual([]);
          const source = stage === 'current' ? first : rsaWithChain;
          const leaked = keyFingerprints(source.privateKey.reveal()).filter((fragment) =>
            json.includes(fragment),
          );
          expect(leaked).toEqual([]);
        }
      });
    });

    describe('pending keys', () => {
      it('a staged key reads back equal, and is gone after discarding it', async () => {
        const key = makeTestKey();
        await store.stagePendingKey(SECRET, 'attempt-1', key);
        const read = await store.readPendingKey(SECRET, 'attempt-1');
        expect(read).toBeInstanceOf(KeyMaterial);
        expect(read?.equals(key)).toBe(true);
        await store.discardPendingKey(SECRET, 'attempt-1');
        expect(await store.readPendingKey(SECRET, 'attempt-1')).toBeUndefined();
      });

      it('reading a key that was never staged gives undefined', async () => {
        expect(await store.readPendingKey(SECRET, 'attempt-never')).toBeUndefined();
        expect(await store.readPendingKey('never-written', 'attempt-never')).toBeUndefined();
      });

      it('discarding a key that is not there is not an error', async () => {
        await expect(store.discardPendingKey(SECRET, 'attempt-never')).resolves.toBeUndefined();
        await store.stagePendingKey(SECRET, 'attempt-1', makeTestKey());
        await store.discardPendingKey(SECRET, 'attempt-1');
        await expect(store.discardPendingKey(SECRET, 'attempt-1')).resolves.toBeUndefined();
      });

      it('staged keys never show as current', async () => {
        const staged = makeTestKey();
        await store.stagePendingKey(SECRET, 'attempt-1', staged);
        expect(await store.readCertificate(SECRET)).toBeUndefined();

        await store.writeCertificate(SECRET, first, 'token-1');
        await store.stagePendingKey(SECRET, 'attempt-2', makeTestKey());
        const current = await store.readCertificate(SECRET);
        expect(current?.privateKey.equals(first.privateKey)).toBe(true);
        expect(current?.privateKey.equals(staged)).toBe(false);
        expect(await store.readCertificate(SECRET, 'previous')).toBeUndefined();
      });

      it('two attempt ids keep their own keys', async () => {
        const one = makeTestKey();
        const two = makeTestKey();
        await store.stagePendingKey(SECRET, 'attempt-1', one);
        await store.stagePendingKey(SECRET, 'attempt-2', two);
        expect((await store.readPendingKey(SECRET, 'attempt-1'))?.equals(one)).toBe(true);
        expect((await store.readPendingKey(SECRET, 'attempt-2'))?.equals(two)).toBe(true);

        await store.discardPendingKey(SECRET, 'attempt-1');
        expect(await store.readPendingKey(SECRET, 'attempt-1')).toBeUndefined();
        expect((await store.readPendingKey(SECRET, 'attempt-2'))?.equals(two)).toBe(true);
      });

      it(`keeps at most ${MAX_PENDING_KEYS} staged keys per secret: the newest, dropping the oldest`, async () => {
        const keys: KeyMaterial[] = [];
        const total = MAX_PENDING_KEYS + 3;
        for (let index = 0; index < total; index += 1) {
          keys.push(makeTestKey());
          await store.stagePendingKey(SECRET, `attempt-${index}`, keys[index] as KeyMaterial);
        }
        const kept: number[] = [];
        for (let index = 0; index < total; index += 1) {
          const read = await store.readPendingKey(SECRET, `attempt-${index}`);
          if (read) {
            expect(read.equals(keys[index] as KeyMaterial)).toBe(true);
            kept.push(index);
          }
        }
        expect(kept.length).toBeLessThanOrEqual(MAX_PENDING_KEYS);
        expect(kept).toContain(total - 1);
        expect(kept).not.toContain(0);
        // Another secret's keys are not counted against this one.
        await store.stagePendingKey('alpha', 'attempt-0', keys[0] as KeyMaterial);
        expect(await store.readPendingKey(SECRET, `attempt-${total - 1}`)).toBeDefined();
      });

      it('the same attempt id under two secrets keeps two keys', async () => {
        const one = makeTestKey();
        const two = makeTestKey();
        await store.stagePendingKey('alpha', 'attempt-1', one);
        await store.stagePendingKey(ARN_SECRET, 'attempt-1', two);
        expect((await store.readPendingKey('alpha', 'attempt-1'))?.equals(one)).toBe(true);
        expect((await store.readPendingKey(ARN_SECRET, 'attempt-1'))?.equals(two)).toBe(true);
      });
    });

    describe('account keys', () => {
      it('getOrCreateAccountKey calls generate once and returns that key afterwards', async () => {
        const key = makeTestKey();
        let calls = 0;
        const generate = async () => {
          calls += 1;
          return calls === 1 ? key : makeTestKey();
        };
        const created = await store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, generate);
        const again = await store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, generate);
        expect(calls).toBe(1);
        expect(created.equals(key)).toBe(true);
        expect(again.equals(key)).toBe(true);
      });

      it('ten concurrent callers all get one identical key', async () => {
        const keys = await Promise.all(
          Array.from({ length: 10 }, () =>
            store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () => makeTestKey()),
          ),
        );
        const digests = new Set(keys.map(keyDigest));
        expect(digests.size).toBe(1);
        const later = await store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () =>
          makeTestKey(),
        );
        expect(digests.has(keyDigest(later))).toBe(true);
      });

      it('different directory URLs get different keys', async () => {
        const staging = await store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () =>
          makeTestKey(),
        );
        const production = await store.getOrCreateAccountKey(
          { directoryUrl: 'https://acme.example/production/directory' },
          async () => makeTestKey(),
        );
        expect(staging.equals(production)).toBe(false);
        const stagingAgain = await store.getOrCreateAccountKey(
          { directoryUrl: DIRECTORY },
          async () => makeTestKey(),
        );
        expect(stagingAgain.equals(staging)).toBe(true);
      });

      it('an EAB key id names another account of the same directory, with its own key', async () => {
        const plain = await store.getOrCreateAccountKey({ directoryUrl: DIRECTORY }, async () =>
          makeTestKey(),
        );
        const bound = await store.getOrCreateAccountKey(
          { directoryUrl: DIRECTORY, eab: { keyId: 'kid-1' } },
          async () => makeTestKey(),
        );
        const otherKid = await store.getOrCreateAccountKey(
          { directoryUrl: DIRECTORY, eab: { keyId: 'kid-2' } },
          async () => makeTestKey(),
        );
        expect(bound.equals(plain)).toBe(false);
        expect(otherKid.equals(bound)).toBe(false);
        const boundAgain = await store.getOrCreateAccountKey(
          { directoryUrl: DIRECTORY, eab: { keyId: 'kid-1' } },
          async () => makeTestKey(),
        );
        expect(boundAgain.equals(bound)).toBe(true);
        const plainAgain = await store.getOrCreateAccountKey(
          { directoryUrl: DIRECTORY },
          async () => makeTestKey(),
        );
        expect(plainAgain.equals(plain)).toBe(true);
      });

      it('a generate that throws stores nothing: the error reaches the caller and the next call generates again', async () => {
        const account = { directoryUrl: DIRECTORY, eab: { keyId: 'refused' } };
        const refusal = new Error('the CA refused the binding');
        await expect(
          store.getOrCreateAccountKey(account, async () => {
            throw refusal;
          }),
        ).rejects.toBe(refusal);
        const key = makeTestKey();
        let calls = 0;
        const created = await store.getOrCreateAccountKey(account, async () => {
          calls += 1;
          return key;
        });
        expect(calls).toBe(1);
        expect(created.equals(key)).toBe(true);
      });
    });
  });
}
