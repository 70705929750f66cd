import { type CertificateRecord, shardFor } from '../../src/core/certificate-record.js';
import { DAY, HOUR } from '../../src/core/time.js';

/** The instant test records are created at: fixed, so runs are repeatable. */
export const RECORD_CREATED_AT = Date.UTC(2026, 10, 23);

/**
 * A record ready for `create`, with plain defaults: pending, one name, ec-p256, issuer
 * `default`, no failures, shard from the id. Overrides win, including `undefined`.
 */
export function aRecord(
  overrides: Partial<Omit<CertificateRecord, 'version'>> = {},
): Omit<CertificateRecord, 'version'> {
  const id = overrides.id ?? 'secret/a.example.test';
  return {
    id,
    shard: shardFor(id),
    domains: ['a.example.test'],
    keyType: 'ec-p256',
    issuer: 'default',
    status: 'pending',
    failures: 0,
    createdAt: RECORD_CREATED_AT,
    updatedAt: RECORD_CREATED_AT,
    ...overrides,
  };
}

/** The identity (`issuerIdentity`) of the `staging` issuer in full records. */
export const STAGING_IDENTITY = 'https://acme-staging.example.test/directory kid=kid-1';

/** A record with every optional field set, nested optional ones included. */
export function aFullRecord(
  overrides: Partial<Omit<CertificateRecord, 'version'>> = {},
): Omit<CertificateRecord, 'version'> {
  const issuedAt = RECORD_CREATED_AT + HOUR;
  return aRecord({
    id: 'secret/full.example.test',
    domains: ['*.full.example.test', 'full.example.test'],
    keyType: 'rsa-3072',
    profile: 'tlsserver',
    issuer: 'staging',
    issuerIdentity: STAGING_IDENTITY,
    status: 'failing',
    statusMessage: 'renewal failed: CA said 503',
    current: {
      serial: '04a1b2c3d4e5f60718293a4b5c6d7e8f',
      notBefore: issuedAt,
      notAfter: issuedAt + 90 * DAY,
      domains: ['*.full.example.test', 'full.example.test'],
      keyType: 'rsa-3072',
      issuer: 'staging',
      issuerIdentity: STAGING_IDENTITY,
      profile: 'classic',
      issuedAt,
    },
    renewAt: issuedAt + 60 * DAY,
    renewJitter: 0.0375,
    nextAttemptAt: issuedAt + 60 * DAY + 5 * 60_000,
    failures: 2,
    lastError: {
      message: 'CA unavailable',
      kind: 'transient',
      at: issuedAt + 60 * DAY,
      source: 'ca',
    },
    lease: { owner: 'worker-7', until: issuedAt + 60 * DAY + 120_000 },
    order: {
      url: 'https://ca.example.test/order/123',
      attemptId: 'attempt-0001',
      domains: ['*.full.example.test', 'full.example.test'],
      keyType: 'rsa-3072',
      issuer: 'staging',
      issuerIdentity: STAGING_IDENTITY,
      profile: 'tlsserver',
      placedAt: issuedAt + 60 * DAY,
      expiresAt: issuedAt + 67 * DAY,
    },
    forceRenewal: { reason: 'key compromise drill', requestedAt: issuedAt + 59 * DAY },
    updatedAt: issuedAt + 60 * DAY,
    ...overrides,
  });
}
