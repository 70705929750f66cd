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

/**
 * Picks when to renew a certificate. Called once per issued certificate; the result is
 * stored and later passes compare against it, so the jitter is never re-rolled (a
 * re-rolled jitter can postpone a renewal forever).
 *
 * With an ACME Renewal Information window (RFC 9773) the instant is uniform inside it;
 * otherwise it is the lifetime fraction minus up to MAX_RENEWAL_JITTER of the lifetime.
 */
export function chooseRenewalTime(
  validity: ValidityPeriod,
  random: Random,
  suggestedWindow?: { start: Instant; end: Instant },
): RenewalTime {
  if (suggestedWindow && suggestedWindow.end >= suggestedWindow.start) {
    const span = suggestedWindow.end - suggestedWindow.start;
    return {
      renewAt: Math.floor(suggestedWindow.start + random() * span),
      jitter: 0,
      rule: 'ari-suggested-window',
    };
  }
  const lifetime = Math.max(0, validity.notAfter - validity.notBefore);
  const fraction = renewalFraction(lifetime);
  const jitter = random() * MAX_RENEWAL_JITTER;
  return {
    renewAt: Math.floor(validity.notBefore + lifetime * (fraction - jitter)),
    jitter,
    rule: fraction === 2 / 3 ? 'two-thirds-of-lifetime' : 'half-of-lifetime',
  };
}
