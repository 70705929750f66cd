import { createHash } from 'node:crypto';
import { CertloopError } from '../core/errors.js';
import {
  type Admission,
  admissionSpan,
  admitWithinBudget,
  type LedgerEntry,
  rememberInFlight,
  withoutInFlight,
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
  /**
   * Due records an earlier run admitted less than the budget's slack ago: still queued
   * or being worked on, so neither queued nor counted again.
   */
  inFlight: number;
  /** Seconds the oldest due record has been waiting (0 when none). */
  oldestDueSeconds: number;
}

/** The control document holding the planner's recent admissions (the order ledger). */
export const ORDER_LEDGER = 'order-ledger';

/** What the order ledger document holds. */
export interface OrderLedgerDocument {
  entries: LedgerEntry[];
  /** Records admitted within the budget's slack: inFlightKey(id) -> admission instant. */
  inFlight?: Record<string, Instant>;
}

/**
 * A due record's key in the ledger's in-flight memory: its id (an ARN: long, so hashed;
 * 64 bits will do) with the `nextAttemptAt` it was admitted at. A worker that got to the
 * record moved that time (issued: to the renewal; failed: to the backoff table's retry),
 * so a record that comes due again after being worked on has a new key and is admitted
 * at once; only a record nobody has touched yet stays in flight.
 */
export function inFlightKey(id: string, nextAttemptAt: Instant): string {
  return createHash('sha256').update(`${id}\u0000${nextAttemptAt}`).digest('hex').slice(0, 16);
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
 * It writes no certificate record. A record it admitted stays in the ledger's in-flight
 * memory (inFlightKey: its id and the nextAttemptAt it was admitted at) for the budget's
 * slack, the time a worker has to place its order: a run in that time neither queues it
 * again nor counts it again (`inFlight` in the report), so a queue that drains slower
 * than the planner's period does not spend the budget twice. A record a worker has
 * worked on (its nextAttemptAt moved) is admitted again as soon as it is due; one
 * still untouched after the slack (its message was lost) is admitted again then.
 */
export async function planDueWork(deps: PlannerDeps, maxRecords: number): Promise<PlanReport> {
  const now = deps.clock.now();
  const found = await deps.records.findDue(now, maxRecords);
  // findDue answers oldest first; sorted again (stable) so that the admitted ones are the
  // earliest due whatever the store.
  const due = [...found].sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  const claim: Claim =
    due.length > 0
      ? await claimBudget(deps, now, due)
      : { admission: undefined, admitted: [], inFlight: 0 };
  const { admitted } = claim;
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
    heldByBudget: due.length - claim.inFlight - admitted.length,
    inFlight: claim.inFlight,
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
interface Claim {
  admission: Admission | undefined;
  /** The due records to queue now, earliest due first. */
  admitted: DueRef[];
  /** Due records left alone because an earlier run admitted them within the slack. */
  inFlight: number;
  contended?: true;
}

type DueRef = Awaited<ReturnType<CertificateRecordStore['findDue']>>[number];

async function claimBudget(
  deps: PlannerDeps,
  now: Instant,
  due: readonly DueRef[],
): Promise<Claim> {
  let inFlight = 0;
  for (let attempt = 0; attempt < LEDGER_WRITE_ATTEMPTS; attempt++) {
    const stored = await deps.control.get<OrderLedgerDocument>(ORDER_LEDGER);
    const remembered = stored?.value.inFlight ?? {};
    const split = withoutInFlight(
      due,
      (ref) => inFlightKey(ref.id, ref.nextAttemptAt),
      remembered,
      now,
      deps.budget,
    );
    inFlight = split.inFlight.length;
    const admission = admitWithinBudget(
      stored?.value.entries ?? [],
      now,
      deps.budget,
      split.admissible.length,
    );
    const admitted = split.admissible.slice(0, admission.admitted);
    if (admitted.length === 0) return { admission, admitted, inFlight };
    const keys = admitted.map((ref) => inFlightKey(ref.id, ref.nextAttemptAt));
    try {
      await deps.control.put<OrderLedgerDocument>(
        ORDER_LEDGER,
        {
          entries: admission.ledger,
          inFlight: rememberInFlight(remembered, keys, now, deps.budget),
        },
        stored?.version,
      );
      return { admission, admitted, inFlight };
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
  return { admission: undefined, admitted: [], inFlight, contended: true };
}
