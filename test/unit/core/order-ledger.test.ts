import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admissionSpan,
  admissionsInSpan,
  admitWithinBudget,
  budgetStatus,
  LEDGER_CLOCK_MARGIN,
  type LedgerEntry,
  MAX_IN_FLIGHT,
  MAX_LEDGER_ENTRIES,
  rememberInFlight,
  withoutInFlight,
} from '../../../src/core/order-ledger.js';
import {
  DEFAULT_ORDER_BUDGET,
  maxInAnyWindow,
  type OrderBudget,
} from '../../../src/core/renewal-budget.js';
import { HOUR, MINUTE, SECOND } from '../../../src/core/time.js';

const NOW = Date.UTC(2026, 10, 23);
const SPAN = admissionSpan(DEFAULT_ORDER_BUDGET); // 3 h 10 min

/** The most admissions inside any half-open span [t, t + span): checked from every admission. */
function maxAdmittedInAnySpan(admissions: readonly LedgerEntry[], span: number): number {
  let best = 0;
  for (const start of admissions) {
    const total = admissions
      .filter((a) => a.at >= start.at && a.at < start.at + span)
      .reduce((sum, a) => sum + a.count, 0);
    best = Math.max(best, total);
  }
  return best;
}

/** True admissions inside the span that holds `now` and reaches furthest back. */
function admittedSince(admissions: readonly LedgerEntry[], now: number, span: number): number {
  return admissions
    .filter((a) => a.at > now - span && a.at <= now)
    .reduce((sum, a) => sum + a.count, 0);
}

const budgets = fc.record({
  orders: fc.integer({ min: 1, max: 500 }),
  windowMs: fc.integer({ min: MINUTE, max: 6 * HOUR }),
  slackMs: fc.integer({ min: 0, max: 30 * MINUTE }),
});
const ticks = (maxLength: number) =>
  fc.array(
    fc.record({
      gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 * HOUR })),
      due: fc.integer({ min: 0, max: 600 }),
    }),
    { maxLength },
  );

describe('admitWithinBudget', () => {
  it('admits 300 of 1,000 due records, then nothing until 3 h 10 min have passed, then 300 more', () => {
    const first = admitWithinBudget([], NOW, DEFAULT_ORDER_BUDGET, 1000);
    expect(first).toMatchObject({ admitted: 300, held: 700, used: 0, roomAt: NOW + SPAN });
    expect(first.ledger).toEqual([{ at: NOW, count: 300 }]);

    let ledger = first.ledger;
    for (let t = NOW + 5 * MINUTE; t < NOW + SPAN; t += 5 * MINUTE) {
      const tick = admitWithinBudget(ledger, t, DEFAULT_ORDER_BUDGET, 700);
      expect(tick).toMatchObject({ admitted: 0, held: 700, used: 300, roomAt: NOW + SPAN });
      ledger = tick.ledger;
    }
    const later = admitWithinBudget(ledger, NOW + SPAN, DEFAULT_ORDER_BUDGET, 700);
    expect(later).toMatchObject({ admitted: 300, held: 400, used: 0 });
    // The spent entry is kept one LEDGER_CLOCK_MARGIN longer (planners with skewed clocks).
    expect(later.ledger).toEqual([
      { at: NOW, count: 300 },
      { at: NOW + SPAN, count: 300 },
    ]);
    const next = admitWithinBudget(
      later.ledger,
      NOW + SPAN + 5 * MINUTE,
      DEFAULT_ORDER_BUDGET,
      400,
    );
    expect(next).toMatchObject({ admitted: 0, used: 300 });
    expect(next.ledger).toEqual([{ at: NOW + SPAN, count: 300 }]);
  });

  it('admits what is left of the budget and says when the oldest admissions make room', () => {
    const ledger = [
      { at: NOW, count: 200 },
      { at: NOW + HOUR, count: 50 },
    ];
    const tick = admitWithinBudget(ledger, NOW + 2 * HOUR, DEFAULT_ORDER_BUDGET, 80);
    expect(tick).toMatchObject({ admitted: 50, held: 30, used: 250, roomAt: NOW + SPAN });
    expect(tick.ledger).toEqual([...ledger, { at: NOW + 2 * HOUR, count: 50 }]);
  });

  it('admits everything due when the budget has room, and leaves the ledger alone when nothing is due', () => {
    expect(admitWithinBudget([], NOW, DEFAULT_ORDER_BUDGET, 12)).toMatchObject({
      admitted: 12,
      held: 0,
      ledger: [{ at: NOW, count: 12 }],
    });
    expect(admitWithinBudget([], NOW, DEFAULT_ORDER_BUDGET, 12).roomAt).toBeUndefined();
    const ledger = [{ at: NOW - HOUR, count: 7 }];
    expect(admitWithinBudget(ledger, NOW, DEFAULT_ORDER_BUDGET, 0)).toMatchObject({
      admitted: 0,
      held: 0,
      used: 7,
      ledger,
    });
  });

  it('merges a second admission of the same instant into one entry, and prunes entries older than the span', () => {
    const first = admitWithinBudget(
      [{ at: NOW - 4 * HOUR, count: 300 }],
      NOW,
      DEFAULT_ORDER_BUDGET,
      10,
    );
    expect(first.ledger).toEqual([{ at: NOW, count: 10 }]);
    const second = admitWithinBudget(first.ledger, NOW, DEFAULT_ORDER_BUDGET, 5);
    expect(second.ledger).toEqual([{ at: NOW, count: 15 }]);
  });

  it('counts entries stamped later than now (a planner whose clock runs ahead), and stamps its own admission no earlier', () => {
    const ahead = [{ at: NOW + 30 * SECOND, count: 290 }];
    const tick = admitWithinBudget(ahead, NOW, DEFAULT_ORDER_BUDGET, 50);
    expect(tick).toMatchObject({ admitted: 10, used: 290 });
    expect(tick.ledger).toEqual([{ at: NOW + 30 * SECOND, count: 300 }]);
  });

  it('ignores malformed entries and refuses negative or fractional due counts', () => {
    const ledger = [
      { at: Number.NaN, count: 100 },
      { at: NOW, count: -5 },
      { at: NOW, count: 1.5 },
    ];
    expect(admitWithinBudget(ledger, NOW, DEFAULT_ORDER_BUDGET, -3)).toMatchObject({
      admitted: 0,
      held: 0,
      ledger: [],
    });
    expect(admitWithinBudget(ledger, NOW, DEFAULT_ORDER_BUDGET, 2.7).admitted).toBe(2);
  });

  it(`keeps at most ${MAX_LEDGER_ENTRIES} entries however often the planner runs, and stays within the budget`, () => {
    const budget: OrderBudget = { orders: 5000, windowMs: 3 * HOUR, slackMs: 10 * MINUTE };
    let ledger: LedgerEntry[] = [];
    const admissions: LedgerEntry[] = [];
    for (let i = 0; i < 3000; i++) {
      const now = NOW + i * 5 * SECOND;
      const tick = admitWithinBudget(ledger, now, budget, 3);
      ledger = tick.ledger;
      if (tick.admitted > 0) admissions.push({ at: now, count: tick.admitted });
      expect(ledger.length).toBeLessThanOrEqual(MAX_LEDGER_ENTRIES);
    }
    const span = admissionSpan(budget);
    expect(maxAdmittedInAnySpan(admissions, span)).toBeLessThanOrEqual(5000);
    // Merging stamps entries later: the ledger may count more than was admitted, never less.
    const end = NOW + 2999 * 5 * SECOND;
    expect(admissionsInSpan(ledger, end, budget)).toBeGreaterThanOrEqual(
      admittedSince(admissions, end, span),
    );
  });

  it('property: for any ticks and due counts, admissions in any span of windowMs + slackMs never exceed the budget, so orders placed within the slack never exceed it in any window', () => {
    fc.assert(
      fc.property(
        budgets,
        ticks(40),
        fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
        (budget, sequence, delays) => {
          const span = admissionSpan(budget);
          let now = NOW;
          let ledger: LedgerEntry[] = [];
          const admissions: LedgerEntry[] = [];
          const orders: number[] = [];
          const draws = delays[Symbol.iterator]();
          for (const { gap, due } of sequence) {
            now += gap;
            const tick = admitWithinBudget(ledger, now, budget, due);
            expect(tick.admitted + tick.held).toBe(due);
            ledger = tick.ledger;
            if (tick.admitted > 0) admissions.push({ at: now, count: tick.admitted });
            for (let i = 0; i < tick.admitted; i++)
              orders.push(now + Math.floor((draws.next().value as number) * budget.slackMs));
          }
          expect(maxAdmittedInAnySpan(admissions, span)).toBeLessThanOrEqual(budget.orders);
          expect(maxInAnyWindow(orders, budget.windowMs)).toBeLessThanOrEqual(budget.orders);
        },
      ),
    );
  });

  it('property: admission is maximal: it admits min(due, orders - admissions of the last span), and the ledger holds only entries of that span', () => {
    fc.assert(
      fc.property(budgets, ticks(60), (budget, sequence) => {
        const span = admissionSpan(budget);
        let now = NOW;
        let ledger: LedgerEntry[] = [];
        const admissions: LedgerEntry[] = [];
        for (const { gap, due } of sequence) {
          now += gap;
          const room = Math.max(0, budget.orders - admittedSince(admissions, now, span));
          const tick = admitWithinBudget(ledger, now, budget, due);
          expect(tick.admitted).toBe(Math.min(due, room));
          if (tick.held > 0) {
            expect(tick.roomAt).toBeGreaterThan(now);
            expect(tick.roomAt).toBeLessThanOrEqual(now + span);
          }
          ledger = tick.ledger;
          if (tick.admitted > 0) admissions.push({ at: now, count: tick.admitted });
          expect(ledger.every((e) => e.at > now - span - LEDGER_CLOCK_MARGIN && e.at <= now)).toBe(
            true,
          );
          expect(admissionsInSpan(ledger, now, budget)).toBe(admittedSince(admissions, now, span));
        }
      }),
    );
  });

  it('property: planners whose clocks differ by up to LEDGER_CLOCK_MARGIN still never exceed the budget together', () => {
    fc.assert(
      fc.property(
        budgets,
        fc.array(
          fc.record({
            // None (two planners at once), any, or about one span (where pruning matters).
            gap: fc.oneof(
              fc.constant(() => 0),
              fc.integer({ min: 0, max: HOUR }).map((ms) => () => ms),
              fc
                .integer({ min: -2 * LEDGER_CLOCK_MARGIN, max: 2 * LEDGER_CLOCK_MARGIN })
                .map((offset) => (span: number) => Math.max(0, span + offset)),
            ),
            skew: fc.integer({ min: 0, max: LEDGER_CLOCK_MARGIN }),
            due: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 600 })),
          }),
          { maxLength: 40 },
        ),
        (budget, sequence) => {
          const span = admissionSpan(budget);
          let base = NOW;
          let ledger: LedgerEntry[] = [];
          const admissions: LedgerEntry[] = [];
          for (const { gap, skew, due } of sequence) {
            base += gap(span);
            const now = base - skew; // this planner's clock is behind by `skew`
            const tick = admitWithinBudget(ledger, now, budget, due);
            ledger = tick.ledger;
            if (tick.admitted > 0) admissions.push({ at: now, count: tick.admitted });
          }
          expect(maxAdmittedInAnySpan(admissions, span)).toBeLessThanOrEqual(budget.orders);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('in-flight memory (withoutInFlight, rememberInFlight)', () => {
  const keyOf = (key: string) => key;

  it('keeps a key in flight for the slack after its admission, then lets it go', () => {
    const slack = DEFAULT_ORDER_BUDGET.slackMs;
    const memory = rememberInFlight({}, ['a', 'b'], NOW, DEFAULT_ORDER_BUDGET);
    expect(
      withoutInFlight(['a', 'b', 'c'], keyOf, memory, NOW + slack - 1, DEFAULT_ORDER_BUDGET),
    ).toEqual({ admissible: ['c'], inFlight: ['a', 'b'] });
    expect(
      withoutInFlight(['a', 'b', 'c'], keyOf, memory, NOW + slack, DEFAULT_ORDER_BUDGET).admissible,
    ).toEqual(['a', 'b', 'c']);
    // Forgotten once the slack and the clock margin have passed.
    expect(
      rememberInFlight(memory, ['c'], NOW + slack + LEDGER_CLOCK_MARGIN, DEFAULT_ORDER_BUDGET),
    ).toEqual({ c: NOW + slack + LEDGER_CLOCK_MARGIN });
  });

  it('property: runs of a planner never admit a key twice within the slack, and the memory stays bounded', () => {
    fc.assert(
      fc.property(
        budgets,
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 20 * MINUTE }),
            due: fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 40 }),
          }),
          { maxLength: 30 },
        ),
        (budget, runs) => {
          let memory: Record<string, number> = {};
          let now = NOW;
          const admittedAt = new Map<string, number>();
          for (const run of runs) {
            now += run.gap;
            const due = run.due.map((n) => `k${n}`);
            const split = withoutInFlight(due, keyOf, memory, now, budget);
            expect([...split.admissible, ...split.inFlight].sort()).toEqual([...due].sort());
            for (const key of split.admissible) {
              const last = admittedAt.get(key);
              if (last !== undefined) expect(now - last).toBeGreaterThanOrEqual(budget.slackMs);
              admittedAt.set(key, now);
            }
            // A key in flight was admitted within the slack.
            for (const key of split.inFlight) {
              expect(now - (admittedAt.get(key) ?? Number.NEGATIVE_INFINITY)).toBeLessThan(
                budget.slackMs,
              );
            }
            memory = rememberInFlight(memory, split.admissible, now, budget);
            expect(Object.keys(memory).length).toBeLessThanOrEqual(MAX_IN_FLIGHT);
            for (const at of Object.values(memory)) {
              expect(at).toBeGreaterThan(now - budget.slackMs - LEDGER_CLOCK_MARGIN);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it(`remembers at most ${MAX_IN_FLIGHT} keys, the newest`, () => {
    const many = Array.from({ length: MAX_IN_FLIGHT + 10 }, (_, i) => `k${i}`);
    const older = rememberInFlight({}, many.slice(0, 10), NOW, DEFAULT_ORDER_BUDGET);
    const memory = rememberInFlight(older, many.slice(10), NOW + SECOND, DEFAULT_ORDER_BUDGET);
    expect(Object.keys(memory)).toHaveLength(MAX_IN_FLIGHT);
    expect(memory.k0).toBeUndefined();
    expect(memory[`k${MAX_IN_FLIGHT + 9}`]).toBe(NOW + SECOND);
  });
});

describe('budgetStatus', () => {
  it('says how much of the span is spent, and when a full budget has room again', () => {
    expect(budgetStatus([], NOW, DEFAULT_ORDER_BUDGET)).toEqual({
      used: 0,
      orders: 300,
      spanMs: SPAN,
    });
    const ledger = [
      { at: NOW - SPAN - MINUTE, count: 300 }, // outside the span: not counted
      { at: NOW - HOUR, count: 200 },
      { at: NOW - MINUTE, count: 100 },
    ];
    expect(budgetStatus(ledger, NOW, DEFAULT_ORDER_BUDGET)).toEqual({
      used: 300,
      orders: 300,
      spanMs: SPAN,
      roomAt: NOW - HOUR + SPAN,
    });
    expect(budgetStatus(ledger.slice(1, 2), NOW, DEFAULT_ORDER_BUDGET)).not.toHaveProperty(
      'roomAt',
    );
  });
});
