import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ORDER_BUDGET,
  maxInAnyWindow,
  spreadOverBudget,
} from '../../../src/core/renewal-budget.js';
import { HOUR, MINUTE } from '../../../src/core/time.js';

const NOW = Date.UTC(2026, 10, 23);

describe('spreadOverBudget', () => {
  it('spreads 1,000 renewals at 300 per 3 hours (10 min slack) one every 38 s: done in about 10.6 hours, within 4 windows', () => {
    const { times, nextFreeSlot } = spreadOverBudget(1000, NOW, DEFAULT_ORDER_BUDGET, undefined);
    expect(times[0]).toBe(NOW);
    expect(times[1]).toBe(NOW + 38_000);
    expect(maxInAnyWindow(times, 3 * HOUR)).toBeLessThanOrEqual(300);
    expect((times.at(-1) as number) - NOW).toBeLessThan(4 * 3 * HOUR);
    expect(nextFreeSlot).toBe(NOW + 1000 * 38_000);
  });

  it('queues a second request behind the first, so both together stay within the budget', () => {
    const first = spreadOverBudget(400, NOW, DEFAULT_ORDER_BUDGET, undefined);
    const second = spreadOverBudget(
      400,
      NOW + 10 * MINUTE,
      DEFAULT_ORDER_BUDGET,
      first.nextFreeSlot,
    );
    expect(second.times[0]).toBe(first.nextFreeSlot);
    expect(maxInAnyWindow([...first.times, ...second.times], 3 * HOUR)).toBeLessThanOrEqual(300);
  });

  it('starts now when the previous spread is long over', () => {
    expect(spreadOverBudget(2, NOW, DEFAULT_ORDER_BUDGET, NOW - HOUR).times).toEqual([
      NOW,
      NOW + 38_000,
    ]);
  });

  it('property: any sequence of requests, with each order placed up to the slack after its slot, never exceeds the budget in any window', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            count: fc.integer({ min: 0, max: 400 }),
            gap: fc.integer({ min: 0, max: 6 * HOUR }),
          }),
          { maxLength: 6 },
        ),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: MINUTE, max: 6 * HOUR }),
        fc.integer({ min: 0, max: 30 * MINUTE }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        (requests, orders, windowMs, slackMs, delays) => {
          const budget = { orders, windowMs, slackMs };
          let now = NOW;
          let cursor: number | undefined;
          const placed: number[] = [];
          const draws = delays[Symbol.iterator]();
          for (const { count, gap } of requests) {
            now += gap;
            const spread = spreadOverBudget(count, now, budget, cursor);
            cursor = spread.nextFreeSlot;
            expect(spread.times.every((t) => t >= now)).toBe(true);
            for (const slot of spread.times)
              placed.push(slot + Math.floor((draws.next().value as number) * slackMs));
          }
          expect(maxInAnyWindow(placed, windowMs)).toBeLessThanOrEqual(orders);
        },
      ),
    );
  });
});

describe('maxInAnyWindow', () => {
  it('counts a half-open window', () => {
    expect(maxInAnyWindow([0, 10, 20], 10)).toBe(1);
    expect(maxInAnyWindow([0, 9, 20], 10)).toBe(2);
    expect(maxInAnyWindow([], 10)).toBe(0);
  });
});
