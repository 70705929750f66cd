import type { OrderBudget } from '../core/renewal-budget.js';
import type { ControlRecords } from '../ports/control-records.js';
import type { WorkItem, WorkQueue } from '../ports/work-queue.js';
import { type IssuanceDeps, issueCertificates, type RecordOutcome } from './issue-certificates.js';
import { planDueWork } from './plan-due-work.js';
import { countOutcomes, type TickOptions, type TickReport } from './run-tick.js';

export interface BudgetedTickDeps {
  issuance: IssuanceDeps;
  /** Holds the order ledger, as for the deployed planner. */
  control: ControlRecords;
  /** The CA's new-order budget that due work is admitted within. */
  budget: OrderBudget;
}

export interface BudgetedTickReport extends TickReport {
  /** Due records the budget held back for a later tick. */
  heldByBudget: number;
}

/**
 * The whole pipeline of the deployed stack in one pass of one process (local mode and
 * the one-function variant, functions/scheduled-tick.ts): the planner admits due
 * records within the CA's order budget (its ledger in the records table, as on AWS),
 * then the issuance service works on the admitted ones in batches. runTick alone works
 * on everything due at once: fine for a handful of certificates, a budget breach for a
 * fleet that was registered at once.
 */
export async function runBudgetedTick(
  deps: BudgetedTickDeps,
  options: TickOptions,
): Promise<BudgetedTickReport> {
  const { issuance } = deps;
  const admitted: WorkItem[] = [];
  const queue: WorkQueue = {
    enqueue: async (items) => {
      admitted.push(...items);
      return { accepted: items.length, failed: [] };
    },
  };
  const plan = await planDueWork(
    {
      records: issuance.records,
      queue,
      clock: issuance.clock,
      logger: issuance.logger,
      budget: deps.budget,
      control: deps.control,
    },
    options.maxRecords,
  );
  const ids = admitted.map((item) => item.id);
  const outcomes: RecordOutcome[] = [];
  for (let i = 0; i < ids.length; i += options.batchSize) {
    outcomes.push(...(await issueCertificates(issuance, ids.slice(i, i + options.batchSize))));
  }
  const counts = countOutcomes(outcomes);
  issuance.logger.info('tick finished', {
    startedAt: plan.startedAt,
    due: plan.due,
    heldByBudget: plan.heldByBudget,
    ...counts,
  });
  return {
    startedAt: plan.startedAt,
    due: plan.due,
    heldByBudget: plan.heldByBudget,
    outcomes,
    counts,
  };
}
