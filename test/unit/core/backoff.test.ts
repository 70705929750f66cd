import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BACKOFF_CAP,
  BACKOFF_JITTER,
  BACKOFF_TABLE,
  nextRetry,
} from '../../../src/core/backoff.js';
import { DAY, HOUR, MINUTE } from '../../../src/core/time.js';

const NOW = Date.UTC(2026, 10, 23);
const draw = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('nextRetry', () => {
  it('starts at one minute and reaches 24 hours', () => {
    expect(BACKOFF_TABLE[0]).toBe(MINUTE);
    expect(BACKOFF_TABLE.at(-1)).toBe(24 * HOUR);
    expect(nextRetry({ now: NOW, failures: 1, random: () => 0 })).toEqual({
      delayMs: MINUTE,
      retryAt: NOW + MINUTE,
      rule: 'backoff-table',
    });
    expect(nextRetry({ now: NOW, failures: 50, random: () => 0 }).delayMs).toBe(BACKOFF_CAP);
  });

  it('takes up to a tenth off a delay at random, so a fleet does not retry in step', () => {
    const early = nextRetry({ now: NOW, failures: 3, random: () => 0.999999 });
    expect(early.delayMs).toBeLessThan(BACKOFF_TABLE[2] ?? 0);
    expect(early.delayMs).toBeGreaterThanOrEqual((BACKOFF_TABLE[2] ?? 0) * (1 - BACKOFF_JITTER));
  });

  it("lets the CA's Retry-After win when it is longer", () => {
    expect(
      nextRetry({ now: NOW, failures: 1, random: () => 0, retryAfterMs: 3 * HOUR }),
    ).toMatchObject({ delayMs: 3 * HOUR, rule: 'ca-retry-after' });
    expect(
      nextRetry({ now: NOW, failures: 8, random: () => 0, retryAfterMs: 30_000 }),
    ).toMatchObject({ delayMs: 4 * HOUR, rule: 'backoff-table' });
  });

  it('retries within a tenth of the time left when the current certificate is near expiry', () => {
    const decision = nextRetry({
      now: NOW,
      failures: 11,
      random: () => 0,
      currentNotAfter: NOW + 2 * DAY,
    });
    expect(decision).toMatchObject({ delayMs: 0.2 * DAY, rule: 'near-expiry' });
  });

  it('property: monotonic in the failure count for a given draw, and capped at 24 hours', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), draw, (failures, r) => {
        const a = nextRetry({ now: NOW, failures, random: () => r });
        const b = nextRetry({ now: NOW, failures: failures + 1, random: () => r });
        expect(b.delayMs).toBeGreaterThanOrEqual(a.delayMs);
        expect(b.delayMs).toBeLessThanOrEqual(BACKOFF_CAP);
        expect(a.delayMs).toBeGreaterThanOrEqual(MINUTE * (1 - BACKOFF_JITTER));
      }),
    );
  });

  it('property: never less urgent as expiry approaches', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        draw,
        fc.integer({ min: 1, max: 90 * DAY }),
        fc.integer({ min: 1, max: 90 * DAY }),
        (failures, r, left1, left2) => {
          const [near, far] = left1 <= left2 ? [left1, left2] : [left2, left1];
          const nearDelay = nextRetry({
            now: NOW,
            failures,
            random: () => r,
            currentNotAfter: NOW + near,
          }).delayMs;
          const farDelay = nextRetry({
            now: NOW,
            failures,
            random: () => r,
            currentNotAfter: NOW + far,
          }).delayMs;
          expect(nearDelay).toBeLessThanOrEqual(farDelay);
        },
      ),
    );
  });

  it('property: never shorter than the Retry-After the CA sent', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        draw,
        fc.integer({ min: 0, max: 7 * DAY }),
        (failures, r, retryAfterMs) => {
          expect(
            nextRetry({
              now: NOW,
              failures,
              random: () => r,
              retryAfterMs,
              currentNotAfter: NOW + DAY,
            }).delayMs,
          ).toBeGreaterThanOrEqual(retryAfterMs);
        },
      ),
    );
  });
});
