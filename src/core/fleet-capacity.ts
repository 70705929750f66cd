import type { CertificateRecord } from './certificate-record.js';
import { admissionSpan } from './order-ledger.js';
import type { OrderBudget } from './renewal-budget.js';
import { lifetimeRenewalTime } from './renewal-window.js';
import { DAY } from './time.js';

/**
 * Whether the fleet as registered fits the CA's order budget in the steady state: each
 * certificate renews once per renewal interval (issuance to its renewal time), so it
 * places windowMs / interval orders per budget window. Renewals that send `replaces` to
 * an issuer whose CA exempts them do not count against the budget; every other renewal
 * does. Pure: the records, the budget and the exempt issuers are the whole input.
 */
export interface FleetCapacity {
  /** Budgeted (non-exempt) orders the fleet places per budget window, on average. */
  ordersPerWindow: number;
  /** Exempt renewals per budget window (counted, outside the budget). */
  exemptPerWindow: number;
  /** The budget's orders per window. */
  budget: number;
  /** Certificates counted (those holding a certificate and not parked). */
  certificates: number;
  fits: boolean;
}

/** Steady-state order rate of the fleet against the budget (see FleetCapacity). */
export function fleetCapacity(
  records: readonly CertificateRecord[],
  budget: OrderBudget,
  exemptIssuers: ReadonlySet<string>,
): FleetCapacity {
  let ordersPerWindow = 0;
  let exemptPerWindow = 0;
  let certificates = 0;
  for (const record of records) {
    const current = record.current;
    if (!current || record.status === 'invalid' || record.status === 'unmanaged') continue;
    const renewAt = record.renewAt ?? lifetimeRenewalTime(current, 0);
    // A renewal at least a day after issuance: a record forced to renew now must not
    // count as a fleet renewing every minute.
    const interval = Math.max(DAY, renewAt - current.notBefore);
    const perWindow = budget.windowMs / interval;
    certificates += 1;
    const exempt = record.ari !== undefined && exemptIssuers.has(record.issuer);
    if (exempt) exemptPerWindow += perWindow;
    else ordersPerWindow += perWindow;
  }
  return {
    ordersPerWindow,
    exemptPerWindow,
    budget: budget.orders,
    certificates,
    // The planner admits `orders` per window + slack; the steady state must fit in it.
    fits: ordersPerWindow * (admissionSpan(budget) / budget.windowMs) <= budget.orders,
  };
}

/** One line for people (status, logs): the rate, the budget and, when it does not fit, the fixes. */
export function describeCapacity(capacity: FleetCapacity, budget: OrderBudget): string {
  const hours = Math.round(budget.windowMs / 3_600_000);
  const rate = capacity.ordersPerWindow.toFixed(1);
  const exempt =
    capacity.exemptPerWindow > 0
      ? ` (+${capacity.exemptPerWindow.toFixed(1)} exempt ARI renewals)`
      : '';
  const head = `Fleet capacity: ${capacity.certificates} certificates renew at ${rate} budgeted orders per ${hours} h${exempt} against a budget of ${capacity.budget}`;
  if (capacity.fits) return `${head}: fits`;
  return (
    `${head}: DOES NOT FIT, renewals will lag. Fix: an issuer whose CA offers ARI and exempts ` +
    "renewals that send replaces (Let's Encrypt), longer-lived certificates (certloop:profile), " +
    'another ACME account (a second issuer for part of the fleet), or a rate-limit raise from the CA ' +
    '(then CERTLOOP_BUDGET_ORDERS)'
  );
}
