import type { OrderBudget } from '../core/renewal-budget.js';
import { iso } from '../core/time.js';
import type { ControlRecords } from '../ports/control-records.js';
import {
  type IssuanceDeps,
  issueCertificates,
  type Outcome,
  type RecordOutcome,
} from './issue-certificates.js';
import { admitDueWork } from './plan-due-work.js';

export interface PlanAndIssueDeps {
  issuance: IssuanceDeps;
  /** Holds the order ledger, the same control document the deployed planner keeps. */
  control: ControlRecords;
  /** The CA's new-order budget that due work is admitted within. */
  budget: OrderBudget;
  /** Issuers whose replacing renewals are admitted outside the budget. */
  exemptIssuers?: ReadonlySet<string>;
}

export interface PlanAndIssueOptions {
  /** Records handed to one issuance batch (one DNS propagation wait each). */
  batchSize: number;
  /** Most due records one pass looks at; the rest wait for the next pass. */
  maxRecords: number;
}

export interface PlanAndIssueReport {
  startedAt: string;
  due: number;
  /** Due records the budget held back for a later pass. */
  heldByBudget: number;
  /** Due records an earlier pass admitted less than the budget's slack ago. */
  inFlight: number;
  outcomes: RecordOutcome[];
  counts: Record<Outcome, number>;
}

/**
 * One pass of the deployed pipeline in one process (local mode's tick): the planner's
 * admission (`admitDueWork`: due records admitted within the CA's order budget, counted
 * in the same order ledger as on AWS), then the worker's part (`issueCertificates`) on
 * the admitted records in batches of `batchSize`, in admission order. Nothing goes
 * through a queue: the admitted records are worked on before this returns. Records the
 * budget held back stay due for a later pass.
 */
export async function planAndIssue(
  deps: PlanAndIssueDeps,
  options: PlanAndIssueOptions,
): Promise<PlanAndIssueReport> {
  const { issuance } = deps;
  const admission = await admitDueWork(
    {
      records: issuance.records,
      clock: issuance.clock,
      logger: issuance.logger,
      budget: deps.budget,
      control: deps.control,
      ...(deps.exemptIssuers ? { exemptIssuers: deps.exemptIssuers } : {}),
    },
    options.maxRecords,
  );
  const ids = admission.admitted.map((item) => item.id);
  const outcomes: RecordOutcome[] = [];
  for (let i = 0; i < ids.length; i += options.batchSize) {
    outcomes.push(...(await issueCertificates(issuance, ids.slice(i, i + options.batchSize))));
  }
  const counts = countOutcomes(outcomes);
  const report: PlanAndIssueReport = {
    startedAt: iso(admission.now),
    due: admission.due,
    heldByBudget: admission.heldByBudget,
    inFlight: admission.inFlight,
    outcomes,
    counts,
  };
  issuance.logger.info('tick finished', {
    startedAt: report.startedAt,
    due: report.due,
    heldByBudget: report.heldByBudget,
    inFlight: report.inFlight,
    ...admission.budgetFields,
    rule: admission.rule,
    ...counts,
  });
  return report;
}

/** How many records ended with each outcome (every outcome present, zero when none). */
export function countOutcomes(outcomes: readonly RecordOutcome[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = {
    issued: 0,
    skipped: 0,
    rescheduled: 0,
    imported: 0,
    busy: 0,
    failed: 0,
    invalid: 0,
    deferred: 0,
    conflict: 0,
    checked: 0,
  };
  for (const { outcome } of outcomes) counts[outcome] += 1;
  return counts;
}
