import { MemoryControlRecords } from '../../src/adapters/memory/memory-control-records.js';
import type { OrderBudget } from '../../src/core/renewal-budget.js';
import { HOUR } from '../../src/core/time.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import {
  type PlanAndIssueOptions,
  type PlanAndIssueReport,
  planAndIssue,
} from '../../src/services/plan-and-issue.js';

/**
 * An order budget that never holds work back: more orders than any test registers, and
 * no slack, so a record a pass admitted is admissible again at the next pass (no
 * in-flight memory between passes). For tests of the issuance engine (leases,
 * re-checks, backoff, crash safety) that run many passes over the same due records; the
 * budget itself is tested by plan-due-work.test.ts, budget-sim.test.ts and the
 * budgeted pass from the environment.
 */
export const BUDGET_NEVER_HOLDS: OrderBudget = {
  orders: Number.MAX_SAFE_INTEGER,
  windowMs: HOUR,
  slackMs: 0,
};

/**
 * One `planAndIssue` pass for a worker's adapters, with BUDGET_NEVER_HOLDS and an order
 * ledger of its own: every record due is worked on, as each of several concurrent
 * workers would if each were handed the whole due list.
 */
export function engineTick(
  issuance: IssuanceDeps,
  options: PlanAndIssueOptions,
): Promise<PlanAndIssueReport> {
  return planAndIssue(
    { issuance, control: new MemoryControlRecords(), budget: BUDGET_NEVER_HOLDS },
    options,
  );
}
