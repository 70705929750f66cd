import { HOUR, type Instant, MINUTE, type Random } from './time.js';

/**
 * Delay before the n-th retry (index n-1), after n consecutive failures. Starts at one
 * minute and is capped at 24 hours; each step at least doubles until the cap.
 */
export const BACKOFF_TABLE: readonly number[] = [
  1 * MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  30 * MINUTE,
  1 * HOUR,
  2 * HOUR,
  4 * HOUR,
  8 * HOUR,
  16 * HOUR,
  24 * HOUR,
];
export const BACKOFF_CAP = 24 * HOUR;
/** Up to this fraction of a delay is taken off at random so that a fleet does not retry in step. */
export const BACKOFF_JITTER = 0.1;
/** Near expiry a retry waits at most this fraction of the time left. */
export const URGENCY_FRACTION = 0.1;

export type BackoffRule = 'backoff-table' | 'near-expiry' | 'ca-retry-after';

export interface RetryDecision {
  delayMs: number;
  retryAt: Instant;
  rule: BackoffRule;
}

export interface RetryInput {
  now: Instant;
  /** Consecutive failures including the one just seen (at least 1). */
  failures: number;
  random: Random;
  /** The CA's Retry-After, if it sent one. */
  retryAfterMs?: number;
  /** notAfter of the certificate still in use, if any. */
  currentNotAfter?: Instant;
}

/**
 * When to try again after a failure. Pure; monotonic in `failures` for a given random
 * draw, never above BACKOFF_CAP from the table, never longer than a tenth of the time
 * left before the current certificate expires (so retries grow more urgent near expiry),
 * and never shorter than the CA's Retry-After.
 */
export function nextRetry(input: RetryInput): RetryDecision {
  const index = Math.min(Math.max(input.failures, 1), BACKOFF_TABLE.length) - 1;
  const base = BACKOFF_TABLE[index] ?? BACKOFF_CAP;
  let delayMs = Math.round(base * (1 - BACKOFF_JITTER * input.random()));
  let rule: BackoffRule = 'backoff-table';

  if (input.currentNotAfter !== undefined && input.currentNotAfter > input.now) {
    const urgent = Math.max(
      MINUTE,
      Math.floor((input.currentNotAfter - input.now) * URGENCY_FRACTION),
    );
    if (urgent < delayMs) {
      delayMs = urgent;
      rule = 'near-expiry';
    }
  }
  if (input.retryAfterMs !== undefined && input.retryAfterMs > delayMs) {
    delayMs = Math.ceil(input.retryAfterMs);
    rule = 'ca-retry-after';
  }
  return { delayMs, retryAt: input.now + delayMs, rule };
}
