import { describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../../src/adapters/crypto/ari-certificate-id.js';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../../src/adapters/memory/memory-secret-store.js';
import { CertloopError } from '../../../src/core/errors.js';
import { KeyMaterial } from '../../../src/core/key-material.js';
import { HOUR, MINUTE } from '../../../src/core/time.js';
import type { AcmeCa } from '../../../src/ports/acme-ca.js';
import { type IssuanceDeps, issueCertificates } from '../../../src/services/issue-certificates.js';
import { ManualClock } from '../../support/manual-clock.js';
import { aRecord } from '../../support/record-builder.js';
import { silentLogger } from '../../support/test-loggers.js';

/** A CA whose every order fails the way the test says. */
function failingCa(error: Error): AcmeCa {
  const fail = () => Promise.reject(error);
  return {
    directoryUrl: 'https://ca.invalid/dir',
    placeOrder: fail,
    getOrder: fail,
    pendingDns01Challenges: fail,
    answerChallenges: fail,
    finalize: fail,
    downloadCertificate: fail,
    renewalInfo: fail,
    profiles: fail,
  };
}

async function scenario(error: Error, overrides: Parameters<typeof aRecord>[0] = {}) {
  const clock = new ManualClock();
  const records = new MemoryRecordStore();
  await records.create(
    aRecord({ id: 'web', domains: ['web.example.test'], nextAttemptAt: clock.now(), ...overrides }),
  );
  const secrets = new MemorySecretStore();
  const staged: string[] = [];
  const deps: IssuanceDeps = {
    records,
    secrets: {
      ...secrets,
      writeCertificate: secrets.writeCertificate.bind(secrets),
      readCertificate: secrets.readCertificate.bind(secrets),
      readPendingKey: secrets.readPendingKey.bind(secrets),
      discardPendingKey: secrets.discardPendingKey.bind(secrets),
      getOrCreateAccountKey: secrets.getOrCreateAccountKey.bind(secrets),
      stagePendingKey: async (secretId, attemptId, key) => {
        staged.push(attemptId);
        await secrets.stagePendingKey(secretId, attemptId, key);
      },
    },
    issuers: () => failingCa(error),
    dns: { present: async () => {}, waitForPropagation: async () => {}, cleanup: async () => {} },
    keys: {
      generate: async () =>
        new KeyMaterial('-----BEGIN PRIVATE KEY-----\nfake\n-----END PRIVATE KEY-----'),
      createCsr: async () => 'csr',
      warmUp: async () => {},
    },
    clock,
    logger: silentLogger,
    random: () => 0,
    policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
    owner: 'unit',
    leaseMs: 10 * MINUTE,
    concurrency: 2,
    ariCertificateId: ariCertificateIdOf,
  };
  const [outcome] = await issueCertificates(deps, ['web']);
  const stagedLeft = (
    await Promise.all(staged.map((attemptId) => secrets.readPendingKey('web', attemptId)))
  ).filter((key) => key !== undefined).length;
  return { outcome, record: await records.get('web'), now: clock.now(), staged, stagedLeft };
}

describe('what a failed attempt does to the record', () => {
  it('stages no private key when the order cannot be placed', async () => {
    for (const error of [
      new CertloopError('transient', 'CA 503', { source: 'ca' }),
      new CertloopError('infrastructure', 'the ACME account key secret is broken'),
      new CertloopError('permanent', 'rejected identifier'),
    ]) {
      const { staged, stagedLeft } = await scenario(error);
      expect(staged).toEqual([]);
      expect(stagedLeft).toBe(0);
    }
  });

  it('counts a transient CA failure and backs off one minute', async () => {
    const { outcome, record, now } = await scenario(
      new CertloopError('transient', 'CA 503', { source: 'ca' }),
    );
    expect(outcome).toMatchObject({ outcome: 'failed', reason: 'backoff-table' });
    expect(record).toMatchObject({
      status: 'failing',
      failures: 1,
      nextAttemptAt: now + MINUTE,
      lastError: { kind: 'transient', source: 'ca' },
    });
    expect(record?.lease).toBeUndefined();
  });

  it('treats an unknown error as transient (it may heal), never as permanent', async () => {
    const { record } = await scenario(new Error('socket hang up'));
    expect(record).toMatchObject({ status: 'failing', failures: 1 });
  });

  it('lets a longer Retry-After win', async () => {
    const { outcome, record, now } = await scenario(
      new CertloopError('rate-limited', 'slow down', { retryAfterMs: 3 * HOUR }),
    );
    expect(outcome?.reason).toBe('ca-retry-after');
    expect(record?.nextAttemptAt).toBe(now + 3 * HOUR);
  });

  it('makes a permanent refusal invalid and unscheduled, keeping the failure count', async () => {
    const { outcome, record } = await scenario(
      new CertloopError('permanent', 'rejectedIdentifier: web.example.test'),
      { failures: 2 },
    );
    expect(outcome?.outcome).toBe('invalid');
    expect(record).toMatchObject({
      status: 'invalid',
      failures: 2,
      statusMessage: 'rejectedIdentifier: web.example.test',
    });
    expect(record?.nextAttemptAt).toBeUndefined();
  });

  it('does not count our own storage failing against the certificate', async () => {
    const { outcome, record, now } = await scenario(
      new CertloopError('infrastructure', 'secrets throttled', { source: 'secrets' }),
    );
    expect(outcome?.outcome).toBe('deferred');
    expect(record).toMatchObject({
      failures: 0,
      nextAttemptAt: now + MINUTE,
      lastError: { kind: 'infrastructure' },
    });
  });

  it('makes a record whose names the policy no longer allows invalid without calling the CA', async () => {
    const { outcome, record } = await scenario(new Error('the CA must not be called'), {
      domains: ['web.example.com'],
    });
    expect(outcome?.outcome).toBe('invalid');
    expect(record?.statusMessage).toMatch(/outside the allowed suffixes/);
  });

  it('leaves a record alone while another worker holds its lease', async () => {
    const { outcome, record } = await scenario(new Error('the CA must not be called'), {
      lease: { owner: 'someone-else', until: Date.UTC(2030, 0, 1) },
    });
    expect(outcome).toMatchObject({ outcome: 'busy', reason: 'LeaseHeld' });
    expect(record?.failures).toBe(0);
  });

  it('near expiry, retries sooner than the table says', async () => {
    const clock = new ManualClock();
    const now = clock.now();
    const { outcome, record } = await scenario(new CertloopError('transient', 'CA 503'), {
      failures: 10,
      current: {
        serial: '01',
        notBefore: now - 80 * 24 * HOUR,
        notAfter: now + 10 * HOUR,
        domains: ['web.example.test'],
        keyType: 'ec-p256',
        issuer: 'default',
        issuedAt: now - 80 * 24 * HOUR,
      },
      renewAt: now - 20 * 24 * HOUR,
    });
    expect(outcome?.reason).toBe('near-expiry');
    expect(record?.nextAttemptAt).toBe(now + HOUR);
  });
});
