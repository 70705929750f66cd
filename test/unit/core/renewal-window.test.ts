import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chooseRenewalTime,
  MAX_RENEWAL_JITTER,
  renewalFraction,
} from '../../../src/core/renewal-window.js';
import { DAY, HOUR } from '../../../src/core/time.js';

const NOW = Date.UTC(2026, 10, 23);

describe('chooseRenewalTime', () => {
  it.each([
    ['a 90-day certificate renews around day 60', 90, 2 / 3, 'two-thirds-of-lifetime'],
    ['a 45-day certificate renews around day 30', 45, 2 / 3, 'two-thirds-of-lifetime'],
    ['a 6-day certificate renews at half its lifetime', 6, 1 / 2, 'half-of-lifetime'],
  ])('%s', (_sentence, days, fraction, rule) => {
    const lifetime = days * DAY;
    const noJitter = chooseRenewalTime({ notBefore: NOW, notAfter: NOW + lifetime }, () => 0);
    expect(noJitter).toEqual({ renewAt: NOW + Math.floor(lifetime * fraction), jitter: 0, rule });
    const fullJitter = chooseRenewalTime(
      { notBefore: NOW, notAfter: NOW + lifetime },
      () => 0.999999,
    );
    expect(fullJitter.renewAt).toBeLessThan(noJitter.renewAt);
    expect(noJitter.renewAt - fullJitter.renewAt).toBeLessThanOrEqual(
      lifetime * MAX_RENEWAL_JITTER,
    );
  });

  it('property: the renewal time lies inside its window, after notBefore and before notAfter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: HOUR, max: 400 * DAY }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (notBefore, lifetime, draw) => {
          const { renewAt, jitter } = chooseRenewalTime(
            { notBefore, notAfter: notBefore + lifetime },
            () => draw,
          );
          const fraction = renewalFraction(lifetime);
          expect(jitter).toBeGreaterThanOrEqual(0);
          expect(jitter).toBeLessThan(MAX_RENEWAL_JITTER);
          expect(renewAt).toBeGreaterThan(notBefore);
          expect(renewAt).toBeLessThan(notBefore + lifetime);
          expect(renewAt).toBeLessThanOrEqual(notBefore + lifetime * fraction);
          expect(renewAt).toBeGreaterThanOrEqual(
            Math.floor(notBefore + lifetime * (fraction - MAX_RENEWAL_JITTER)),
          );
        },
      ),
    );
  });

  it('property: with the same draw, the same certificate always gets the same time (nothing re-rolls)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: HOUR, max: 400 * DAY }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (lifetime, draw) => {
          const validity = { notBefore: NOW, notAfter: NOW + lifetime };
          expect(chooseRenewalTime(validity, () => draw)).toEqual(
            chooseRenewalTime(validity, () => draw),
          );
        },
      ),
    );
  });
});
