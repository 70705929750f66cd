import { describe, expect, it } from 'vitest';
import type { CertificateRecord } from '../../../src/core/certificate-record.js';
import { decideIssuance } from '../../../src/core/issuance-checks.js';
import { DAY, HOUR } from '../../../src/core/time.js';
import { aRecord } from '../../support/record-builder.js';

const NOW = Date.UTC(2026, 10, 23, 12);

function record(overrides: Partial<CertificateRecord>): CertificateRecord {
  return {
    ...aRecord({ id: 'web', domains: ['a.example.test'], nextAttemptAt: NOW - 1, ...overrides }),
    version: 3,
  };
}

const current = {
  serial: '01AB',
  notBefore: NOW - 60 * DAY,
  notAfter: NOW + 30 * DAY,
  domains: ['a.example.test'],
  keyType: 'ec-p256' as const,
  issuer: 'default',
  issuedAt: NOW - 60 * DAY,
};

describe('decideIssuance', () => {
  it.each<[string, Partial<CertificateRecord>, string, string]>([
    [
      'an invalid record is left alone',
      { status: 'invalid', statusMessage: 'bad names' },
      'skip',
      'RecordInvalid',
    ],
    [
      'a record whose next attempt is in the future is not due',
      { nextAttemptAt: NOW + HOUR },
      'skip',
      'NotDueYet',
    ],
    ['a record with no next attempt is not due', { nextAttemptAt: undefined }, 'skip', 'NotDueYet'],
    ['a new record gets its first certificate', {}, 'issue', 'NoCertificateYet'],
    [
      'changed names re-issue',
      { current, domains: ['a.example.test', 'b.example.test'], renewAt: NOW + DAY },
      'issue',
      'RequestedNamesChanged',
    ],
    [
      'a changed key type re-issues',
      { current, keyType: 'rsa-2048', renewAt: NOW + DAY },
      'issue',
      'KeyTypeChanged',
    ],
    [
      'a changed issuer re-issues',
      { current, issuer: 'other-ca', renewAt: NOW + DAY },
      'issue',
      'IssuerChanged',
    ],
    [
      'a changed profile re-issues',
      { current, profile: 'shortlived', renewAt: NOW + DAY },
      'issue',
      'ProfileChanged',
    ],
    [
      'a forced renewal newer than the certificate renews',
      {
        current,
        renewAt: NOW + DAY,
        forceRenewal: { reason: 'CA incident', requestedAt: NOW - HOUR },
      },
      'issue',
      'RenewalForced',
    ],
    [
      'an expired certificate is replaced',
      { current: { ...current, notAfter: NOW - 1 }, renewAt: NOW + DAY },
      'issue',
      'CertificateExpired',
    ],
    [
      'a certificate past its renewal time renews',
      { current, renewAt: NOW - 1 },
      'issue',
      'RenewalTimeReached',
    ],
    [
      'an in-flight order is resumed even when nothing else fires',
      {
        current,
        renewAt: NOW + DAY,
        order: {
          url: 'https://ca/order/1',
          attemptId: 'a1',
          domains: ['a.example.test'],
          keyType: 'ec-p256',
          issuer: 'default',
          placedAt: NOW - HOUR,
        },
      },
      'issue',
      'NoCertificateYet',
    ],
  ])('%s', (_sentence, overrides, action, reason) => {
    expect(decideIssuance(record(overrides), NOW)).toMatchObject({ action, reason });
  });

  it('reschedules an up-to-date certificate at its stored renewal time', () => {
    const decision = decideIssuance(record({ current, renewAt: NOW + 5 * DAY }), NOW);
    expect(decision).toMatchObject({
      action: 'reschedule',
      reason: 'CertificateUpToDate',
      nextAttemptAt: NOW + 5 * DAY,
    });
  });

  it('ignores a forced renewal that the current certificate already answered', () => {
    const decision = decideIssuance(
      record({
        current,
        renewAt: NOW + DAY,
        forceRenewal: { reason: 'old', requestedAt: current.issuedAt - 1 },
      }),
      NOW,
    );
    expect(decision.reason).toBe('CertificateUpToDate');
  });

  it('treats name order and case as irrelevant', () => {
    const decision = decideIssuance(
      record({
        current: { ...current, domains: ['b.example.test', 'a.example.test'] },
        domains: ['A.example.test', 'b.example.test'],
        renewAt: NOW + DAY,
      }),
      NOW,
    );
    expect(decision.reason).toBe('CertificateUpToDate');
  });

  it('checks renewal information that is due, without an order, while the renewal time is ahead', () => {
    const ari = { certId: 'aki.serial', checkAt: NOW - 1, failures: 0 };
    expect(decideIssuance(record({ current, renewAt: NOW + DAY, ari }), NOW)).toMatchObject({
      action: 'check-renewal-info',
      reason: 'RenewalInfoCheckDue',
    });
  });

  it('renews, not checks, once the renewal time is reached even with a check due', () => {
    const ari = { certId: 'aki.serial', checkAt: NOW - 1, failures: 0 };
    expect(decideIssuance(record({ current, renewAt: NOW - 1, ari }), NOW)).toMatchObject({
      action: 'issue',
      reason: 'RenewalTimeReached',
    });
  });

  it('looks again at the earlier of the renewal time and the next renewal information check', () => {
    const soon = { certId: 'aki.serial', checkAt: NOW + 6 * HOUR, failures: 0 };
    const late = { certId: 'aki.serial', checkAt: NOW + 9 * DAY, failures: 0 };
    expect(decideIssuance(record({ current, renewAt: NOW + DAY, ari: soon }), NOW)).toMatchObject({
      action: 'reschedule',
      nextAttemptAt: NOW + 6 * HOUR,
    });
    expect(decideIssuance(record({ current, renewAt: NOW + DAY, ari: late }), NOW)).toMatchObject({
      action: 'reschedule',
      nextAttemptAt: NOW + DAY,
    });
  });
});

describe("decideIssuance with the issuer's default profile", () => {
  const underDefault = { ...current, profile: 'tlsserver' };

  it('takes a certificate issued under the default as up to date: no re-issue loop', () => {
    expect(
      decideIssuance(record({ current: underDefault, renewAt: NOW + DAY }), NOW, 'tlsserver'),
    ).toMatchObject({
      action: 'reschedule',
      reason: 'CertificateUpToDate',
    });
  });

  it('re-issues a certificate of the CA default once the issuer names a default profile', () => {
    expect(decideIssuance(record({ current, renewAt: NOW + DAY }), NOW, 'tlsserver')).toMatchObject(
      {
        action: 'issue',
        reason: 'ProfileChanged',
        detail: 'profile (CA default) -> tlsserver',
      },
    );
  });

  it("lets the record's own profile (certloop:profile) win over the issuer's", () => {
    expect(
      decideIssuance(
        record({ current: underDefault, profile: 'shortlived', renewAt: NOW + DAY }),
        NOW,
        'tlsserver',
      ),
    ).toMatchObject({
      action: 'issue',
      reason: 'ProfileChanged',
      detail: 'profile tlsserver -> shortlived',
    });
  });
});
