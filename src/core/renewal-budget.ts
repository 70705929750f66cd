import { HOUR, type Instant, MINUTE } from './time.js';

/**
 * The CA's new-order budget: at most `orders` in any window of `windowMs`. An order is
 * placed some time after its slot (the planner runs periodically, the queue adds
 * latency); `slackMs` is the most that delay may be, and the spread leaves room for it.
 */
export interface OrderBudget {
  orders: number;
  windowMs: number;
  slackMs: number;
}

/**
 * Let's Encrypt's new-order limit per account, with room for a planner that runs every
 * few minutes and some queue latency.
 */
export const DEFAULT_ORDER_BUDGET: OrderBudget = {
  orders: 300,
  windowMs: 3 * HOUR,
  slackMs: 10 * MINUTE,
};

/**
 * Time between two budgeted slots. Orders placed up to `slackMs` after their slots can
 * only crowd into a window the slots of a span `windowMs + slackMs`, so spacing the
 * slots by that span over `orders` keeps every window within the budget.
 */
export function budgetInterval(budget: OrderBudget): number {
  return Math.ceil((budget.windowMs + budget.slackMs) / budget.orders);
}

export interface Spread {
  /** When each of the `count` renewals may start, in order. */
  times: Instant[];
  /** The first free slot after this spread (store it, so the next request queues behind). */
  nextFreeSlot: Instant;
}

/**
 * Spreads `count` renewals over time so that, together with every earlier spread (whose
 * end is `nextFreeSlot`), no window of `budget.windowMs` holds more than
 * `budget.orders` orders, even when each order comes up to `slackMs` after its slot:
 * one slot every `budgetInterval`, starting at the later of `now` and the previous
 * spread's end. Pure.
 */
export function spreadOverBudget(
  count: number,
  now: Instant,
  budget: OrderBudget,
  nextFreeSlot: Instant | undefined,
): Spread {
  const interval = budgetInterval(budget);
  const start = Math.max(now, nextFreeSlot ?? now);
  const times = Array.from({ length: count }, (_, i) => start + i * interval);
  return { times, nextFreeSlot: start + count * interval };
}

/** The most instants that fall in any half-open window [t, t + windowMs). */
export function maxInAnyWindow(times: readonly Instant[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
