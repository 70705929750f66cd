import type { OrderBudget } from './renewal-budget.js';
import { type Instant, MINUTE } from './time.js';

/**
 * The planner's ledger of recent admissions: `count` due records handed to workers at
 * `at`. Every admitted record may place one new order at the CA, so the ledger is what
 * keeps scheduled work within the CA's order budget.
 */
export interface LedgerEntry {
  at: Instant;
  count: number;
}

/**
 * An admitted record places its order at most `slackMs` after its admission (planner
 * period, queue, worker). Admissions inside any span of `windowMs + slackMs` therefore
 * total at most `orders`, and then every CA window of `windowMs` is within the budget:
 * the orders of a window [t, t + windowMs) were admitted in [t - slackMs, t + windowMs).
 */
export function admissionSpan(budget: OrderBudget): number {
  return budget.windowMs + budget.slackMs;
}

/**
 * Entries are kept this much longer than the span, so that a planner whose clock runs up
 * to this much behind another's still sees every admission it must count.
 */
export const LEDGER_CLOCK_MARGIN = MINUTE;

/**
 * Most entries a ledger keeps (one per planner run that admitted something; a planner
 * every 5 minutes needs about 40). Beyond it the oldest entries are merged into their
 * successors, which only counts them for longer: safe, slightly less work admitted.
 */
export const MAX_LEDGER_ENTRIES = 256;

export interface Admission {
  /** How many of the due records may be handed to workers now. */
  admitted: number;
  /** Due records left for a later run because the budget is spent. */
  held: number;
  /** Admissions already counted against a span around `now`, before this one. */
  used: number;
  /** The ledger to store: pruned, with this admission added (unchanged if none). */
  ledger: LedgerEntry[];
  /** When the spent budget next has room (only when records were held). */
  roomAt?: Instant;
}

/**
 * How many of `due` records the planner may admit at `now` so that admissions inside
 * any span of `windowMs + slackMs` never total more than `budget.orders` (see
 * `admissionSpan`), and the ledger to store afterwards. Maximal: everything the budget
 * has room for is admitted. Pure.
 *
 * Every stored entry later than `now - span` counts, including entries stamped later
 * than `now` (another planner whose clock runs ahead): any span holding `now` lies
 * inside (now - span, now + span). Entries at or before `now - span - LEDGER_CLOCK_MARGIN`
 * are dropped; an admission made in the same run as the newest entry, or by a planner
 * whose clock is behind it, is merged into that entry (stamped later: safe).
 */
export function admitWithinBudget(
  ledger: readonly LedgerEntry[],
  now: Instant,
  budget: OrderBudget,
  due: number,
): Admission {
  const span = admissionSpan(budget);
  const kept = ledger
    .filter((entry) => isEntry(entry) && entry.at > now - span - LEDGER_CLOCK_MARGIN)
    .map((entry) => ({ at: entry.at, count: entry.count }))
    .sort((a, b) => a.at - b.at);
  const used = kept.reduce((sum, entry) => (entry.at > now - span ? sum + entry.count : sum), 0);
  const wanted = Number.isFinite(due) ? Math.max(0, Math.floor(due)) : 0;
  const admitted = Math.min(wanted, Math.max(0, budget.orders - used));

  const last = kept.at(-1);
  if (admitted > 0) {
    if (last && last.at >= now) last.count += admitted;
    else kept.push({ at: now, count: admitted });
  }
  while (kept.length > MAX_LEDGER_ENTRIES) {
    const [oldest, next] = kept as [LedgerEntry, LedgerEntry];
    next.count += oldest.count;
    kept.shift();
  }
  const held = wanted - admitted;
  const roomAt = held > 0 ? whenRoom(kept, now, budget) : undefined;
  return { admitted, held, used, ledger: kept, ...(roomAt !== undefined ? { roomAt } : {}) };
}

/** Admissions in the span that ends just after `now`: what the budget has spent. */
export function admissionsInSpan(
  ledger: readonly LedgerEntry[],
  now: Instant,
  budget: OrderBudget,
): number {
  const span = admissionSpan(budget);
  return ledger
    .filter((entry) => isEntry(entry) && entry.at > now - span)
    .reduce((sum, entry) => sum + entry.count, 0);
}

/**
 * The first instant after `now` at which the sorted ledger leaves room for one more
 * admission: when enough of the oldest counted entries have left the span.
 */
function whenRoom(
  sorted: readonly LedgerEntry[],
  now: Instant,
  budget: OrderBudget,
): Instant | undefined {
  if (budget.orders < 1) return undefined;
  const span = admissionSpan(budget);
  const counted = sorted.filter((entry) => entry.at > now - span);
  let remaining = counted.reduce((sum, entry) => sum + entry.count, 0);
  if (remaining < budget.orders) return now;
  for (const entry of counted) {
    remaining -= entry.count;
    if (remaining < budget.orders) return entry.at + span;
  }
  return undefined;
}

function isEntry(entry: LedgerEntry): boolean {
  return Number.isFinite(entry.at) && Number.isInteger(entry.count) && entry.count > 0;
}

/**
 * Records admitted recently, by key (the service derives it from the record id and the
 * `nextAttemptAt` it was admitted at), with the instant of their admission. A record stays "in flight" for `slackMs` after its admission: by the
 * budget's own assumption its worker places the order within that time. A planner run
 * in that time must not admit it again: it would queue it twice and, worse, count it
 * against the budget twice, so that a slow queue (workers busy longer than one planner
 * period) would hold back other work for nothing.
 */
export type InFlight = Readonly<Record<string, Instant>>;

/**
 * Most in-flight keys a ledger remembers. Admissions inside one slack period are at most
 * the budget's orders (300 by default), so this is only reached with a very large
 * budget; then the oldest are forgotten, and such a record may be queued twice (safe:
 * workers lease and re-check; only the budget is spent twice).
 */
export const MAX_IN_FLIGHT = 2_000;

/**
 * Splits due keys into those that may be admitted and those still in flight (admitted
 * less than `slackMs` before `now`, by this planner or one whose clock differs by up to
 * LEDGER_CLOCK_MARGIN: an admission stamped later than `now` still counts). Pure; keeps
 * the order of `due`.
 */
export function withoutInFlight<T>(
  due: readonly T[],
  keyOf: (item: T) => string,
  inFlight: InFlight,
  now: Instant,
  budget: OrderBudget,
): { admissible: T[]; inFlight: T[] } {
  const admissible: T[] = [];
  const flying: T[] = [];
  for (const item of due) {
    const at = inFlight[keyOf(item)];
    if (at !== undefined && Number.isFinite(at) && at > now - budget.slackMs) flying.push(item);
    else admissible.push(item);
  }
  return { admissible, inFlight: flying };
}

/**
 * The in-flight memory to store after admitting `keys` at `now`: entries older than
 * `slackMs + LEDGER_CLOCK_MARGIN` dropped, the admitted keys added (or re-stamped), and at
 * most MAX_IN_FLIGHT kept, the newest. Pure.
 */
export function rememberInFlight(
  inFlight: InFlight,
  keys: readonly string[],
  now: Instant,
  budget: OrderBudget,
): Record<string, Instant> {
  const horizon = now - budget.slackMs - LEDGER_CLOCK_MARGIN;
  const kept = Object.entries(inFlight).filter(([, at]) => Number.isFinite(at) && at > horizon);
  const merged = new Map<string, Instant>(kept);
  for (const key of keys) merged.set(key, Math.max(now, merged.get(key) ?? now));
  const newest = [...merged].sort((a, b) => b[1] - a[1]).slice(0, MAX_IN_FLIGHT);
  return Object.fromEntries(newest);
}

/** How much of the budget the ledger has spent at `now`: what `certloop status` shows. */
export interface BudgetStatus {
  /** Admissions counted in the span that ends at `now`. */
  used: number;
  orders: number;
  spanMs: number;
  /** When there is room for one more admission, if there is none now. */
  roomAt?: Instant;
}

/** Pure: the budget's state for a stored ledger (entries in any order, possibly stale). */
export function budgetStatus(
  ledger: readonly LedgerEntry[],
  now: Instant,
  budget: OrderBudget,
): BudgetStatus {
  const used = admissionsInSpan(ledger, now, budget);
  const probe = admitWithinBudget(ledger, now, budget, 1);
  return {
    used,
    orders: budget.orders,
    spanMs: admissionSpan(budget),
    ...(probe.admitted === 0 && probe.roomAt !== undefined ? { roomAt: probe.roomAt } : {}),
  };
}
