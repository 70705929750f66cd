import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextRetry } from '../../../src/core/backoff.js';
import {
  decideFailure,
  type FailureInput,
  type FailureKind,
  INFRASTRUCTURE_RETRY_MS,
} from '../../../src/core/failure-outcome.js';
import { DAY, iso, MINUTE } from '../../../src/core/time.js';

const NOW = Date.UTC(2026, 10, 23);
const draw = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** Any failure a record may see: every kind, with or without a source, Retry-After, certificate. */
function failures(kinds: readonly FailureKind[]) {
  return fc.record({
    kind: fc.constantFrom(...kinds),
    message: fc.string({ minLength: 1, maxLength: 40 }),
    source: fc.option(fc.constantFrom('ca', 'dns', 'records', 'secrets', 'acm'), {
      nil: undefined,
    }),
    retryAfterMs: fc.option(fc.integer({ min: 0, max: 7 * DAY }), { nil: undefined }),
    failures: fc.integer({ min: 0, max: 60 }),
    notAfterIn: fc.option(fc.integer({ min: -30 * DAY, max: 90 * DAY }), { nil: undefined }),
    r: draw,
  });
}

type Drawn = {
  kind: FailureKind;
  message: string;
  source: string | undefined;
  retryAfterMs: number | undefined;
  failures: number;
  notAfterIn: number | undefined;
  r: number;
};

function input(d: Drawn): FailureInput {
  return {
    error: {
      kind: d.kind,
      message: d.message,
      ...(d.source !== undefined ? { source: d.source } : {}),
      ...(d.retryAfterMs !== undefined ? { retryAfterMs: d.retryAfterMs } : {}),
    },
    record: {
      failures: d.failures,
      ...(d.notAfterIn !== undefined ? { currentNotAfter: NOW + d.notAfterIn } : {}),
    },
    now: NOW,
    random: () => d.r,
  };
}

describe('decideFailure', () => {
  it('makes the record invalid, unscheduled and without its order when the error is permanent', () => {
    expect(
      decideFailure({
        error: { kind: 'permanent', message: 'rejected identifier', source: 'ca' },
        record: { failures: 3, currentNotAfter: NOW + DAY },
        now: NOW,
        random: () => 0,
      }),
    ).toStrictEqual({
      rule: 'CannotHealByWaiting',
      changes: {
        status: 'invalid',
        statusMessage: 'rejected identifier',
        nextAttemptAt: undefined,
        order: undefined,
        lastError: { message: 'rejected identifier', kind: 'permanent', at: NOW, source: 'ca' },
      },
      discardStagedKey: true,
      outcome: { outcome: 'invalid', reason: 'permanent', detail: 'rejected identifier' },
      log: {
        message: 'invalid: rejected identifier',
        fields: { rule: 'CannotHealByWaiting', source: 'ca' },
      },
    });
  });

  it('defers by one minute, without counting a failure, when our own storage is unavailable', () => {
    expect(
      decideFailure({
        error: { kind: 'infrastructure', message: 'throttled', source: 'records' },
        record: { failures: 2 },
        now: NOW,
        random: () => 0,
      }),
    ).toStrictEqual({
      rule: 'InfrastructureUnavailable',
      changes: {
        nextAttemptAt: NOW + MINUTE,
        lastError: { message: 'throttled', kind: 'infrastructure', at: NOW, source: 'records' },
      },
      discardStagedKey: false,
      outcome: {
        outcome: 'deferred',
        reason: 'infrastructure',
        detail: 'throttled',
        nextAttemptAt: NOW + MINUTE,
      },
      log: {
        message: 'deferred: throttled',
        fields: {
          rule: 'InfrastructureUnavailable',
          source: 'records',
          nextAttemptAt: iso(NOW + MINUTE),
        },
      },
    });
  });

  it('counts a CA failure and backs off by the table, saying which rule fired', () => {
    expect(
      decideFailure({
        error: { kind: 'transient', message: 'CA 503' },
        record: { failures: 2 },
        now: NOW,
        random: () => 0,
      }),
    ).toStrictEqual({
      rule: 'backoff-table',
      changes: {
        status: 'failing',
        statusMessage: 'CA 503',
        failures: 3,
        nextAttemptAt: NOW + 5 * MINUTE,
        lastError: { message: 'CA 503', kind: 'transient', at: NOW },
      },
      discardStagedKey: false,
      outcome: {
        outcome: 'failed',
        reason: 'backoff-table',
        detail: 'CA 503',
        nextAttemptAt: NOW + 5 * MINUTE,
      },
      log: {
        message: 'failed, backing off: CA 503',
        fields: {
          rule: 'backoff-table',
          source: undefined,
          failures: 3,
          delaySeconds: 300,
          nextAttemptAt: iso(NOW + 5 * MINUTE),
        },
      },
    });
  });

  it("lets the CA's Retry-After schedule the next attempt even past the current certificate's notAfter", () => {
    const decision = decideFailure({
      error: { kind: 'rate-limited', message: 'slow down', source: 'ca', retryAfterMs: 3 * DAY },
      record: { failures: 0, currentNotAfter: NOW + DAY },
      now: NOW,
      random: () => 0,
    });
    expect(decision.outcome).toMatchObject({
      reason: 'ca-retry-after',
      nextAttemptAt: NOW + 3 * DAY,
    });
  });

  it('property: a permanent error always makes the record invalid with no next attempt', () => {
    fc.assert(
      fc.property(failures(['permanent']), (d) => {
        const decision = decideFailure(input(d));
        expect(decision.changes.status).toBe('invalid');
        expect('nextAttemptAt' in decision.changes).toBe(true);
        expect(decision.changes.nextAttemptAt).toBeUndefined();
        expect(decision.changes.failures).toBeUndefined();
        expect(decision.outcome.outcome).toBe('invalid');
        expect(decision.outcome.nextAttemptAt).toBeUndefined();
        expect(decision.discardStagedKey).toBe(true);
      }),
    );
  });

  it('property: infrastructure and not-found never count a failure and retry one minute later', () => {
    fc.assert(
      fc.property(failures(['infrastructure', 'not-found']), (d) => {
        const decision = decideFailure(input(d));
        expect(INFRASTRUCTURE_RETRY_MS).toBe(MINUTE);
        expect(Object.keys(decision.changes).sort()).toEqual(['lastError', 'nextAttemptAt']);
        expect(decision.changes.nextAttemptAt).toBe(NOW + MINUTE);
        expect(decision.outcome).toEqual({
          outcome: 'deferred',
          reason: d.kind,
          detail: d.message,
          nextAttemptAt: NOW + MINUTE,
        });
        expect(decision.discardStagedKey).toBe(false);
      }),
    );
  });

  it('property: transient and rate-limited count exactly one more failure and retry after now', () => {
    fc.assert(
      fc.property(failures(['transient', 'rate-limited']), (d) => {
        const decision = decideFailure(input(d));
        expect(decision.changes.failures).toBe(d.failures + 1);
        expect(decision.changes.status).toBe('failing');
        expect(decision.changes.nextAttemptAt).toBeGreaterThan(NOW);
        expect(decision.outcome.nextAttemptAt).toBe(decision.changes.nextAttemptAt);
        expect(decision.outcome.outcome).toBe('failed');
        expect(decision.outcome.reason).toBe(decision.rule);
        expect(decision.discardStagedKey).toBe(false);
      }),
    );
  });

  it('property: a Retry-After longer than the backoff wins, a shorter one changes nothing', () => {
    fc.assert(
      fc.property(failures(['transient', 'rate-limited']), (d) => {
        const without = decideFailure(input({ ...d, retryAfterMs: undefined }));
        const withIt = decideFailure(input(d));
        const backoff = (without.changes.nextAttemptAt ?? 0) - NOW;
        if (d.retryAfterMs !== undefined && d.retryAfterMs > backoff) {
          expect(withIt.rule).toBe('ca-retry-after');
          expect(withIt.changes.nextAttemptAt).toBe(NOW + d.retryAfterMs);
        } else {
          expect(withIt.changes).toEqual(without.changes);
          expect(withIt.rule).toBe(without.rule);
        }
      }),
    );
  });

  it('property: without a Retry-After, a failure retries within a tenth of the time the current certificate has left (at least a minute), so before its notAfter when ten minutes or more are left', () => {
    fc.assert(
      fc.property(
        failures(['transient', 'rate-limited']),
        fc.integer({ min: 1, max: 90 * DAY }),
        (d, left) => {
          const decision = decideFailure(
            input({ ...d, retryAfterMs: undefined, notAfterIn: left }),
          );
          const delay = (decision.changes.nextAttemptAt ?? Number.NaN) - NOW;
          expect(delay).toBeLessThanOrEqual(Math.max(MINUTE, Math.floor(left / 10)));
          if (left >= 10 * MINUTE) expect(NOW + delay).toBeLessThan(NOW + left);
        },
      ),
    );
  });

  it('property: the backoff is the one nextRetry gives for the failure count including this one', () => {
    fc.assert(
      fc.property(failures(['transient', 'rate-limited']), (d) => {
        const retry = nextRetry({
          now: NOW,
          failures: d.failures + 1,
          random: () => d.r,
          ...(d.retryAfterMs !== undefined ? { retryAfterMs: d.retryAfterMs } : {}),
          ...(d.notAfterIn !== undefined ? { currentNotAfter: NOW + d.notAfterIn } : {}),
        });
        const decision = decideFailure(input(d));
        expect(decision.rule).toBe(retry.rule);
        expect(decision.changes.nextAttemptAt).toBe(retry.retryAt);
        expect(decision.log.fields.delaySeconds).toBe(Math.round(retry.delayMs / 1000));
      }),
    );
  });

  it('property: every decision records the error as lastError at now, with its source when known', () => {
    fc.assert(
      fc.property(
        failures(['permanent', 'transient', 'rate-limited', 'infrastructure', 'not-found']),
        (d) => {
          expect(decideFailure(input(d)).changes.lastError).toStrictEqual({
            message: d.message,
            kind: d.kind,
            at: NOW,
            ...(d.source !== undefined ? { source: d.source } : {}),
          });
        },
      ),
    );
  });
});
