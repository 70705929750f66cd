import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CertificateRecord, RecordStatus } from '../../../src/core/certificate-record.js';
import {
  classifyExpiryRisk,
  expiryRiskLimits,
  LATE_FOR_RENEWAL_FRACTION,
  NEAR_EXPIRY_CAP,
  NEAR_EXPIRY_FRACTION,
} from '../../../src/core/expiry-risk.js';
import { chooseRenewalTime } from '../../../src/core/renewal-window.js';
import { DAY, HOUR } from '../../../src/core/time.js';

const NOW = Date.UTC(2026, 10, 23);

type Classified = Pick<CertificateRecord, 'status' | 'current' | 'renewAt'>;

/** A record holding a certificate valid from `notBefore` for `lifetime`, renewing at `renewAt`. */
function holding(
  notBefore: number,
  lifetime: number,
  renewAt: number | undefined,
  status: RecordStatus = 'active',
): Classified {
  return {
    status,
    renewAt,
    current: {
      serial: '0a',
      notBefore,
      notAfter: notBefore + lifetime,
      domains: ['a.example.test'],
      keyType: 'ec-p256',
      issuer: 'default',
      issuedAt: notBefore,
    },
  };
}

/** The near-expiry margin of a lifetime: min(14 days, a third of it). */
const margin = (lifetime: number) => Math.min(NEAR_EXPIRY_CAP, lifetime * NEAR_EXPIRY_FRACTION);

const lifetimes = fc.integer({ min: HOUR, max: 400 * DAY });
const notBefores = fc.integer({ min: 0, max: 4_000_000_000_000 });

describe('expiryRiskLimits', () => {
  it.each([
    [
      'a 160-hour certificate: near expiry under 53.3 hours left, late 26.7 hours after renewAt',
      160 * HOUR,
      (160 / 3) * HOUR,
      (160 / 6) * HOUR,
    ],
    [
      'a 45-day certificate: near expiry under 14 days left (a third would be 15), late after 7.5 days',
      45 * DAY,
      14 * DAY,
      7.5 * DAY,
    ],
    [
      'a 90-day certificate: near expiry under 14 days left, late after 15 days',
      90 * DAY,
      14 * DAY,
      15 * DAY,
    ],
  ])('%s', (_sentence, lifetime, nearExpiryMargin, lateMargin) => {
    const renewAt = NOW + lifetime / 2;
    const limits = expiryRiskLimits({ notBefore: NOW, notAfter: NOW + lifetime }, renewAt);
    expect(limits.lifetime).toBe(lifetime);
    expect(NOW + lifetime - limits.nearExpiryAfter).toBeCloseTo(nearExpiryMargin, 3);
    expect((limits.lateAfter ?? Number.NaN) - renewAt).toBeCloseTo(lateMargin, 3);
  });
});

describe('classifyExpiryRisk', () => {
  it.each<[string, Classified, number, ReturnType<typeof classifyExpiryRisk>['atRisk'], string]>([
    [
      'a 160-hour certificate half-way through its life, renewing now, is within limits',
      holding(NOW - 80 * HOUR, 160 * HOUR, NOW),
      NOW,
      false,
      'WithinLimits',
    ],
    [
      'a 160-hour certificate with 50 hours left is near expiry',
      holding(NOW - 110 * HOUR, 160 * HOUR, NOW - 35 * HOUR),
      NOW,
      true,
      'NearExpiry',
    ],
    [
      'a 45-day certificate whose early renewal time (an ARI window) passed 8 days ago is late for renewal',
      holding(NOW - 20 * DAY, 45 * DAY, NOW - 8 * DAY),
      NOW,
      true,
      'LateForRenewal',
    ],
    [
      'a 45-day certificate 7 days past an early renewal time is not late yet (a sixth is 7.5 days)',
      holding(NOW - 20 * DAY, 45 * DAY, NOW - 7 * DAY),
      NOW,
      false,
      'WithinLimits',
    ],
    [
      'a 90-day certificate with 10 days left is near expiry, even though it is also late',
      holding(NOW - 80 * DAY, 90 * DAY, NOW - 20 * DAY),
      NOW,
      true,
      'NearExpiry',
    ],
    [
      'a 90-day certificate with 20 days left, 3 days past renewAt, is within limits',
      holding(NOW - 70 * DAY, 90 * DAY, NOW - 3 * DAY),
      NOW,
      false,
      'WithinLimits',
    ],
    [
      'an expired certificate is near expiry',
      holding(NOW - 91 * DAY, 90 * DAY, NOW - 31 * DAY),
      NOW,
      true,
      'NearExpiry',
    ],
    [
      'a certificate without a renewal time is judged by its expiry alone',
      holding(NOW - 85 * DAY, 90 * DAY, undefined),
      NOW,
      true,
      'NearExpiry',
    ],
    [
      'an invalid record that still holds a certificate is classified like any other',
      holding(NOW - 85 * DAY, 90 * DAY, NOW - 25 * DAY, 'invalid'),
      NOW,
      true,
      'NearExpiry',
    ],
    [
      'an unmanaged record is left out, however close its certificate is to expiry',
      holding(NOW - 89 * DAY, 90 * DAY, NOW - 29 * DAY, 'unmanaged'),
      NOW,
      false,
      'RecordUnmanaged',
    ],
    [
      'a record without a certificate has nothing to expire',
      { status: 'failing', current: undefined, renewAt: undefined },
      NOW,
      false,
      'NoCertificate',
    ],
  ])('%s', (_sentence, record, now, atRisk, name) => {
    const risk = classifyExpiryRisk(record, now);
    expect(risk.atRisk).toBe(atRisk);
    expect(risk.atRisk ? risk.rule : risk.reason).toBe(name);
  });

  it('says in the detail how much time is left or how late the renewal is', () => {
    expect(classifyExpiryRisk(holding(NOW - 80 * DAY, 90 * DAY, NOW - 20 * DAY), NOW)).toEqual({
      atRisk: true,
      rule: 'NearExpiry',
      detail: '10 days left, under min(14 days, a third of the 90 days lifetime)',
    });
    expect(classifyExpiryRisk(holding(NOW - 20 * DAY, 45 * DAY, NOW - 8 * DAY), NOW)).toEqual({
      atRisk: true,
      rule: 'LateForRenewal',
      detail:
        'renewal time 2026-11-15T00:00:00.000Z passed 8 days ago, more than a sixth of the 45 days lifetime',
    });
    expect(classifyExpiryRisk(holding(NOW - 91 * DAY, 90 * DAY, undefined), NOW)).toMatchObject({
      detail: 'expired at 2026-11-22T00:00:00.000Z',
    });
  });

  it('property: a certificate renewed on time is never at risk (renewAt no later than the lifetime rules place it)', () => {
    fc.assert(
      fc.property(
        notBefores,
        lifetimes.chain((lifetime) =>
          fc
            .integer({ min: 0, max: Math.floor(lifetime - margin(lifetime)) })
            .chain((renewOffset) =>
              fc.tuple(
                fc.constant(lifetime),
                fc.constant(renewOffset),
                fc.integer({ min: 0, max: renewOffset }),
              ),
            ),
        ),
        fc.constantFrom<RecordStatus>('active', 'failing', 'invalid'),
        (notBefore, [lifetime, renewOffset, nowOffset], status) => {
          const record = holding(notBefore, lifetime, notBefore + renewOffset, status);
          expect(classifyExpiryRisk(record, notBefore + nowOffset)).toMatchObject({
            atRisk: false,
            reason: 'WithinLimits',
          });
        },
      ),
    );
  });

  it('property: for 160-hour, 45-day and 90-day certificates, a renewal done within 12 hours of the time the lifetime rule picked raises nothing', () => {
    fc.assert(
      fc.property(
        notBefores,
        fc.constantFrom(160 * HOUR, 45 * DAY, 90 * DAY),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 0, max: 12 * HOUR }),
        (notBefore, lifetime, draw, lateBy) => {
          const { renewAt } = chooseRenewalTime(
            { notBefore, notAfter: notBefore + lifetime },
            () => draw,
          );
          const record = holding(notBefore, lifetime, renewAt);
          expect(classifyExpiryRisk(record, renewAt + lateBy).atRisk).toBe(false);
        },
      ),
    );
  });

  it('property: a certificate with under min(14 days, a third of its lifetime) left is always at risk, named NearExpiry', () => {
    fc.assert(
      fc.property(
        notBefores,
        lifetimes.chain((lifetime) =>
          fc.tuple(
            fc.constant(lifetime),
            // Time left: from 30 days past expiry to just under the margin.
            fc.integer({ min: -30 * DAY, max: Math.ceil(margin(lifetime)) - 1 }),
          ),
        ),
        fc.option(fc.integer({ min: -400 * DAY, max: 800 * DAY }), { nil: undefined }),
        fc.constantFrom<RecordStatus>('active', 'failing', 'invalid', 'pending'),
        (notBefore, [lifetime, left], renewOffset, status) => {
          const renewAt = renewOffset === undefined ? undefined : notBefore + renewOffset;
          const record = holding(notBefore, lifetime, renewAt, status);
          expect(classifyExpiryRisk(record, notBefore + lifetime - left)).toMatchObject({
            atRisk: true,
            rule: 'NearExpiry',
          });
        },
      ),
    );
  });

  it('property: past renewAt by more than a sixth of the lifetime, and not yet near expiry, is LateForRenewal', () => {
    fc.assert(
      fc.property(
        notBefores,
        lifetimes.chain((lifetime) => {
          const nearExpiryOffset = Math.floor(lifetime - margin(lifetime));
          const lastRenewOffset = Math.floor(
            lifetime - margin(lifetime) - lifetime * LATE_FOR_RENEWAL_FRACTION - 2,
          );
          return fc.integer({ min: 0, max: lastRenewOffset }).chain((renewOffset) =>
            fc.tuple(
              fc.constant(lifetime),
              fc.constant(renewOffset),
              fc.integer({
                min: Math.floor(renewOffset + lifetime * LATE_FOR_RENEWAL_FRACTION) + 1,
                max: nearExpiryOffset,
              }),
            ),
          );
        }),
        (notBefore, [lifetime, renewOffset, nowOffset]) => {
          const record = holding(notBefore, lifetime, notBefore + renewOffset);
          expect(classifyExpiryRisk(record, notBefore + nowOffset)).toMatchObject({
            atRisk: true,
            rule: 'LateForRenewal',
          });
        },
      ),
    );
  });

  it('property: at risk stays at risk as time goes on, and past both limits the rule no longer changes', () => {
    fc.assert(
      fc.property(
        notBefores,
        lifetimes,
        fc.option(fc.integer({ min: -400 * DAY, max: 800 * DAY }), { nil: undefined }),
        fc.integer({ min: -DAY, max: 500 * DAY }),
        fc.integer({ min: 0, max: 500 * DAY }),
        (notBefore, lifetime, renewOffset, nowOffset, later) => {
          const renewAt = renewOffset === undefined ? undefined : notBefore + renewOffset;
          const record = holding(notBefore, lifetime, renewAt);
          const now = notBefore + nowOffset;
          const before = classifyExpiryRisk(record, now);
          const after = classifyExpiryRisk(record, now + later);
          if (before.atRisk) expect(after.atRisk).toBe(true);
          const limits = expiryRiskLimits({ notBefore, notAfter: notBefore + lifetime }, renewAt);
          if (now > limits.nearExpiryAfter && now > (limits.lateAfter ?? limits.nearExpiryAfter)) {
            expect(before).toMatchObject({ atRisk: true, rule: 'NearExpiry' });
            expect(after).toMatchObject({ atRisk: true, rule: 'NearExpiry' });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
