import { CertloopError } from '../core/errors.js';
import {
  type Admission,
  admissionSpan,
  admitWithinBudget,
  type LedgerEntry,
} from '../core/order-ledger.js';
import type { OrderBudget } from '../core/renewal-budget.js';
import { type Instant, iso } from '../core/time.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { ControlRecords } from '../ports/control-records.js';
import type { Logger } from '../ports/logger.js';
import type { WorkQueue } from '../ports/work-queue.js';

export interface PlannerDeps {
  records: CertificateRecordStore;
  queue: WorkQueue;
  clock: Clock;
  logger: Logger;
  /** The CA's new-order budget that scheduled work is admitted within. */
  budget: OrderBudget;
  /** Holds the order ledger (ORDER_LEDGER) shared by every planner run. */
  control: ControlRecords;
}

export interface PlanReport {
  startedAt: string;
  due: number;
  enqueued: number;
  failed: number;
  /** Due records left for a later run because the CA's order budget is spent. */
  heldByBudget: number;
  /** Seconds the oldest due record has been waiting (0 when none). */
  oldestDueSeconds: number;
}

/** The control document holding the planner's recent admissions (the order ledger). */
export const ORDER_LEDGER = 'order-ledger';

/** What the order ledger document holds. */
export interface OrderLedgerDocument {
  entries: LedgerEntry[];
}

/** Conditional writes of the ledger tried per run before giving up (concurrent planners). */
export const LEDGER_WRITE_ATTEMPTS = 4;

/**
 * The scheduled planner: find what is due (an index query whose cost follows the due
 * records, never a scan), admit as much of it as the CA's order budget has room for
 * (earliest due first), and hand that to the work queue. The rest stays due and is
 * admitted by a later run (`heldByBudget`, rule `BudgetExhausted`).
 *
 * The budget is kept in the control document ORDER_LEDGER (see `admitWithinBudget`):
 * admissions in any span of `windowMs + slackMs` total at most `orders`, so the orders
 * of every CA window stay within it when a worker places each order within `slackMs`.
 * The ledger is written (conditioned on the version read) BEFORE anything is enqueued:
 * a crash after the write wastes budget, never overspends it. A concurrent planner that
 * wrote first makes the write fail; the run re-reads and tries again, and after
 * LEDGER_WRITE_ATTEMPTS it enqueues nothing this time (rule `BudgetContended`).
 *
 * Forced renewals: a bulk `forceRenewal` already spaces its records' `nextAttemptAt` at
 * the budget's rate (the `renewal-budget` cursor). When they come due they are due
 * records like any other and are counted here too, since each places an order: forced
 * and scheduled renewals share one budget, the earliest due first. A forced spread that
 * meets a wave of ordinary renewals therefore finishes later than its reported window,
 * but the CA's limit holds.
 *
 * It writes no certificate record: a record queued twice (the planner ran again before
 * a worker got to it) is harmless, because workers lease and re-check, though it is
 * counted against the budget each time it is admitted.
 */
export async function planDueWork(deps: PlannerDeps, maxRecords: number): Promise<PlanReport> {
  const now = deps.clock.now();
  const found = await deps.records.findDue(now, maxRecords);
  // findDue answers oldest first; sorted again (stable) so that the admitted ones are the
  // earliest due whatever the store.
  const due = [...found].sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  const claim =
    due.length > 0 ? await claimBudget(deps, now, due.length) : { admission: undefined };
  const admitted = due.slice(0, claim.admission?.admitted ?? 0);
  const result =
    admitted.length > 0
      ? await deps.queue.enqueue(admitted.map((ref) => ({ id: ref.id, dueAt: ref.nextAttemptAt })))
      : { accepted: 0, failed: [] };
  for (const failure of result.failed) {
    deps.logger.warn('could not enqueue a due record; the next plan picks it up again', {
      record: failure.id,
      reason: failure.reason,
    });
  }
  const oldest = due.reduce((min, ref) => Math.min(min, ref.nextAttemptAt), now);
  const report: PlanReport = {
    startedAt: iso(now),
    due: due.length,
    enqueued: result.accepted,
    failed: result.failed.length,
    heldByBudget: due.length - admitted.length,
    oldestDueSeconds: Math.round((now - oldest) / 1000),
  };
  deps.logger.info('plan finished', {
    ...report,
    limit: maxRecords,
    budget: {
      orders: deps.budget.orders,
      spanSeconds: Math.round(admissionSpan(deps.budget) / 1000),
    },
    ...(claim.admission ? { budgetUsed: claim.admission.used } : {}),
    ...(claim.admission?.roomAt !== undefined ? { budgetRoomAt: iso(claim.admission.roomAt) } : {}),
    rule: claim.contended
      ? 'BudgetContended'
      : report.heldByBudget > 0
        ? 'BudgetExhausted'
        : due.length === maxRecords
          ? 'PlanLimitReached'
          : 'AllDuePlanned',
  });
  return report;
}

/**
 * Reads the ledger, asks the core how many may be admitted, and records the admission
 * with a conditional write. On a conflict (another planner wrote meanwhile) it starts
 * over from a fresh read; when every attempt conflicts it admits nothing.
 */
async function claimBudget(
  deps: PlannerDeps,
  now: Instant,
  due: number,
): Promise<{ admission: Admission | undefined; contended?: true }> {
  for (let attempt = 0; attempt < LEDGER_WRITE_ATTEMPTS; attempt++) {
    const stored = await deps.control.get<OrderLedgerDocument>(ORDER_LEDGER);
    const admission = admitWithinBudget(stored?.value.entries ?? [], now, deps.budget, due);
    if (admission.admitted === 0) return { admission };
    try {
      await deps.control.put<OrderLedgerDocument>(
        ORDER_LEDGER,
        { entries: admission.ledger },
        stored?.version,
      );
      return { admission };
    } catch (error) {
      if (!(error instanceof CertloopError && error.kind === 'conflict')) throw error;
      deps.logger.debug('order ledger changed under this planner; reading it again', {
        rule: 'LedgerConflict',
        attempt: attempt + 1,
      });
    }
  }
  deps.logger.warn('could not claim order budget: the ledger kept changing; nothing queued', {
    rule: 'BudgetContended',
    attempts: LEDGER_WRITE_ATTEMPTS,
  });
  return { admission: undefined, contended: true };
}
