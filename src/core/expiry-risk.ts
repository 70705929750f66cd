import type { CertificateRecord } from './certificate-record.js';
import { DAY, HOUR, type Instant, iso } from './time.js';

/**
 * Whether a published certificate is at risk, in terms that hold for every lifetime
 * (160 hours, 45 days, 90 days, ...). A fixed "under 14 days left" is always true for a
 * 160-hour certificate, so both rules scale with the lifetime L = notAfter - notBefore of
 * the record's current certificate:
 * - `NearExpiry`: less than min(14 days, L/3) left before notAfter (an expired
 *   certificate is the extreme case);
 * - `LateForRenewal`: `now` is past the record's renewal time (`renewAt`) by more than L/6.
 * When both fire, `NearExpiry` is named: it is the more urgent of the two.
 *
 * The records left out match the fleet's expiry figures (`summarizeFleet`): a record
 * without a current certificate has nothing that can expire (`NoCertificate`), and an
 * `unmanaged` one is no longer ours to renew (`RecordUnmanaged`). An `invalid` record
 * that still holds a certificate is classified like any other: nothing renews it, so it
 * becomes at risk as it ages, which is what an operator must hear about. A record
 * without `renewAt` is judged by `NearExpiry` alone.
 */
export type ExpiryRiskRule = 'NearExpiry' | 'LateForRenewal';

/** Why a record is not at risk. */
export type NoExpiryRiskReason = 'NoCertificate' | 'RecordUnmanaged' | 'WithinLimits';

export type ExpiryRisk =
  | { atRisk: true; rule: ExpiryRiskRule; detail: string }
  | { atRisk: false; reason: NoExpiryRiskReason; detail: string };

/** `NearExpiry` never waits for less than this much left, whatever the lifetime. */
export const NEAR_EXPIRY_CAP = 14 * DAY;
/** `NearExpiry` fires with less than this fraction of the lifetime left (capped above). */
export const NEAR_EXPIRY_FRACTION = 1 / 3;
/** `LateForRenewal` fires when the renewal time is behind by more than this fraction. */
export const LATE_FOR_RENEWAL_FRACTION = 1 / 6;

/**
 * The instants after which each rule fires for one certificate (strictly after: at
 * exactly the instant, the rule has not fired yet).
 */
export interface ExpiryRiskLimits {
  /** Lifetime of the certificate (0 for a certificate whose notAfter is not after notBefore). */
  lifetime: number;
  /** notAfter - min(14 days, L/3). */
  nearExpiryAfter: Instant;
  /** renewAt + L/6; undefined without a renewal time. */
  lateAfter: Instant | undefined;
}

export function expiryRiskLimits(
  current: { notBefore: Instant; notAfter: Instant },
  renewAt: Instant | undefined,
): ExpiryRiskLimits {
  const lifetime = Math.max(0, current.notAfter - current.notBefore);
  return {
    lifetime,
    nearExpiryAfter: current.notAfter - Math.min(NEAR_EXPIRY_CAP, lifetime * NEAR_EXPIRY_FRACTION),
    lateAfter: renewAt === undefined ? undefined : renewAt + lifetime * LATE_FOR_RENEWAL_FRACTION,
  };
}

/** Classifies one record at `now`; names the rule that fired, or why none did. */
export function classifyExpiryRisk(
  record: Pick<CertificateRecord, 'status' | 'current' | 'renewAt'>,
  now: Instant,
): ExpiryRisk {
  if (record.status === 'unmanaged')
    return { atRisk: false, reason: 'RecordUnmanaged', detail: 'no longer registered' };
  const current = record.current;
  if (!current)
    return { atRisk: false, reason: 'NoCertificate', detail: 'no certificate issued yet' };
  const limits = expiryRiskLimits(current, record.renewAt);
  const left = current.notAfter - now;
  const lifetime = `the ${duration(limits.lifetime)} lifetime`;
  if (now > limits.nearExpiryAfter) {
    return {
      atRisk: true,
      rule: 'NearExpiry',
      detail:
        left <= 0
          ? `expired at ${iso(current.notAfter)}`
          : `${duration(left)} left, under min(14 days, a third of ${lifetime})`,
    };
  }
  if (limits.lateAfter !== undefined && record.renewAt !== undefined && now > limits.lateAfter) {
    return {
      atRisk: true,
      rule: 'LateForRenewal',
      detail: `renewal time ${iso(record.renewAt)} passed ${duration(now - record.renewAt)} ago, more than a sixth of ${lifetime}`,
    };
  }
  return {
    atRisk: false,
    reason: 'WithinLimits',
    detail: `${duration(left)} left; renews at ${record.renewAt === undefined ? '(not set)' : iso(record.renewAt)}`,
  };
}

/** A duration for people: hours under three days, days (one decimal) above. */
function duration(ms: number): string {
  return ms < 3 * DAY
    ? `${Math.round((ms / HOUR) * 10) / 10} hours`
    : `${Math.round((ms / DAY) * 10) / 10} days`;
}
