import { type BackoffRule, nextRetry } from './backoff.js';
import type { CertificateRecord, LastError } from './certificate-record.js';
import type { ErrorKind } from './errors.js';
import { type Instant, iso, MINUTE, type Random } from './time.js';

/**
 * What a failed attempt does to a record this worker still holds. Pure: the caller
 * gathers the error and the record, this decides, the caller writes `changes`, reports
 * `outcome` and logs `log`. A `conflict` never gets here: the record belongs to someone
 * else and nothing is written.
 */
export type FailureKind = Exclude<ErrorKind, 'conflict'>;

export interface FailureInput {
  error: { kind: FailureKind; message: string; source?: string; retryAfterMs?: number };
  /** Consecutive failures so far, and the notAfter of the certificate still in use, if any. */
  record: { failures: number; currentNotAfter?: Instant };
  now: Instant;
  random: Random;
}

/**
 * - `CannotHealByWaiting`: a `permanent` error; the record becomes `invalid`, is not
 *   scheduled, and its order is dropped (with the staged key) until it changes.
 * - `InfrastructureUnavailable`: `infrastructure` or `not-found`; not the certificate's
 *   fault, retried in one minute without counting a failure.
 * - a backoff rule: `transient` or `rate-limited`; counts one failure and backs off.
 */
export type FailureRule = 'CannotHealByWaiting' | 'InfrastructureUnavailable' | BackoffRule;

export interface FailureDecision {
  rule: FailureRule;
  /** Fields of the record to write; the lease is released with them. */
  changes: Partial<CertificateRecord>;
  /** Discard the private key staged for the record's order in flight. */
  discardStagedKey: boolean;
  outcome: {
    outcome: 'invalid' | 'deferred' | 'failed';
    /** `permanent`, the error kind when deferred, or the backoff rule. */
    reason: string;
    detail: string;
    nextAttemptAt?: Instant;
  };
  /** A warning saying what was decided and why. */
  log: { message: string; fields: Record<string, unknown> };
}

/** Delay before a record retries after an `infrastructure` or `not-found` error. */
export const INFRASTRUCTURE_RETRY_MS = MINUTE;

export function decideFailure(input: FailureInput): FailureDecision {
  const { error, now } = input;
  const lastError: LastError = {
    message: error.message,
    kind: error.kind,
    at: now,
    ...(error.source ? { source: error.source } : {}),
  };
  if (error.kind === 'permanent') {
    return {
      rule: 'CannotHealByWaiting',
      changes: {
        status: 'invalid',
        statusMessage: error.message,
        nextAttemptAt: undefined,
        order: undefined,
        lastError,
      },
      discardStagedKey: true,
      outcome: { outcome: 'invalid', reason: 'permanent', detail: error.message },
      log: {
        message: `invalid: ${error.message}`,
        fields: { rule: 'CannotHealByWaiting', source: error.source },
      },
    };
  }
  if (error.kind === 'infrastructure' || error.kind === 'not-found') {
    const retryAt = now + INFRASTRUCTURE_RETRY_MS;
    return {
      rule: 'InfrastructureUnavailable',
      changes: { nextAttemptAt: retryAt, lastError },
      discardStagedKey: false,
      outcome: {
        outcome: 'deferred',
        reason: error.kind,
        detail: error.message,
        nextAttemptAt: retryAt,
      },
      log: {
        message: `deferred: ${error.message}`,
        fields: {
          rule: 'InfrastructureUnavailable',
          source: error.source,
          nextAttemptAt: iso(retryAt),
        },
      },
    };
  }
  const failures = input.record.failures + 1;
  const retry = nextRetry({
    now,
    failures,
    random: input.random,
    ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    ...(input.record.currentNotAfter !== undefined
      ? { currentNotAfter: input.record.currentNotAfter }
      : {}),
  });
  return {
    rule: retry.rule,
    changes: {
      status: 'failing',
      statusMessage: error.message,
      failures,
      nextAttemptAt: retry.retryAt,
      lastError,
    },
    discardStagedKey: false,
    outcome: {
      outcome: 'failed',
      reason: retry.rule,
      detail: error.message,
      nextAttemptAt: retry.retryAt,
    },
    log: {
      message: `failed, backing off: ${error.message}`,
      fields: {
        rule: retry.rule,
        source: error.source,
        failures,
        delaySeconds: Math.round(retry.delayMs / 1000),
        nextAttemptAt: iso(retry.retryAt),
      },
    },
  };
}
