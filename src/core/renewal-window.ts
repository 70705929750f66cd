import { DAY, type Instant, type Random } from './time.js';

/** Lifetimes shorter than this renew at half their lifetime instead of two thirds. */
export const SHORT_LIFETIME = 10 * DAY;
/** The random jitter is at most this fraction of the lifetime, subtracted from the target. */
export const MAX_RENEWAL_JITTER = 0.04;

export type RenewalRule = 'two-thirds-of-lifetime' | 'half-of-lifetime' | 'ari-suggested-window';

export interface RenewalTime {
  renewAt: Instant;
  /** Fraction of the lifetime subtracted from the target (0 for ARI). Stored, never re-rolled. */
  jitter: number;
  rule: RenewalRule;
}

export interface ValidityPeriod {
  notBefore: Instant;
  notAfter: Instant;
}

/** The fraction of the lifetime at which renewal is targeted, before jitter. */
export function renewalFraction(lifetimeMs: number): number {
  return lifetimeMs < SHORT_LIFETIME ? 1 / 2 : 2 / 3;
}

/** The lifetime rule's renewal time for a stored jitter fraction (0 for none). */
export function lifetimeRenewalTime(validity: ValidityPeriod, jitter: number): Instant {
  const lifetime = Math.max(0, validity.notAfter - validity.notBefore);
  return Math.floor(validity.notBefore + lifetime * (renewalFraction(lifetime) - jitter));
}

/** The lifetime rule that applies to a certificate of this validity. */
export function lifetimeRule(
  validity: ValidityPeriod,
): 'two-thirds-of-lifetime' | 'half-of-lifetime' {
  return renewalFraction(validity.notAfter - validity.notBefore) === 2 / 3
    ? 'two-thirds-of-lifetime'
    : 'half-of-lifetime';
}

/**
 * Picks when to renew a certificate by the lifetime rule. Called once per issued
 * certificate; the result is stored and later passes compare against it, so the jitter
 * is never re-rolled (a re-rolled jitter can postpone a renewal forever). An ACME
 * Renewal Information window, when the CA offers one, may then move it earlier
 * (`applyRenewalInfo` in renewal-info.ts).
 */
export function chooseRenewalTime(validity: ValidityPeriod, random: Random): RenewalTime {
  const jitter = random() * MAX_RENEWAL_JITTER;
  return {
    renewAt: lifetimeRenewalTime(validity, jitter),
    jitter,
    rule: lifetimeRule(validity),
  };
}
