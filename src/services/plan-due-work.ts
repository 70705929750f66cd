import { createHash } from 'node:crypto';
import { CertloopError } from '../core/errors.js';
import type { DueClass } from '../core/issuance-checks.js';
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
import type { WorkItem, WorkQueue } from '../ports/work-queue.js';

/** What admitting due work needs: the records, the budget and the ledger that keeps it. */
export interface AdmissionDeps {
  records: CertificateRecordStore;
  clock: Clock;
  logger: Logger;
  /** The CA's new-order budget that scheduled work is admitted within. */
  budget: OrderBudget;
  /** Holds the order ledger (ORDER_LEDGER) shared by every planner run. */
  control: ControlRecords;
  /**
   * Issuers whose CA exempts renewals that name their predecessor (`replaces`) from its
   * order limits (Let's Encrypt). Their replacing orders are admitted and counted, but
   * do not spend the budget.
   */
  exemptIssuers?: ReadonlySet<string>;
}

export interface PlannerDeps extends AdmissionDeps {
  queue: WorkQueue;
}

/** Why an admission took what it took (the `rule` field of the planner's log line). */
export type AdmissionRule =
  | 'BudgetContended'
  | 'BudgetExhausted'
  | 'PlanLimitReached'
  | 'AllDuePlanned';

/** The due records one run admitted within the budget, and what it left for later. */
export interface DueAdmission {
  /** The run's one reading of the clock. */
  now: Instant;
  due: number;
  /** To be worked on now, earliest due first; already counted in the ledger. */
  admitted: WorkItem[];
  /** Due records left for a later run because the CA's order budget is spent. */
  heldByBudget: number;
  /** Due records an earlier run admitted less than the budget's slack ago. */
  inFlight: number;
  /** Admitted records that place no order (renewal information checks, imports). */
  noOrder: number;
  /** Admitted replacing orders of exempt issuers: counted, outside the budget. */
  exemptOrders: number;
  /** Seconds the oldest due record has been waiting (0 when none). */
  oldestDueSeconds: number;
  rule: AdmissionRule;
  /** Log fields on the budget: its size and span, what it had spent, when it has room. */
  budgetFields: Record<string, unknown>;
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
  /** Queued records that place no order (renewal information checks, imports). */
  noOrder: number;
  /** Queued replacing orders of exempt issuers: counted, outside the budget. */
  exemptOrders: number;
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
 * The admission shared by the deployed planner (`planDueWork`, which hands the admitted
 * records to the work queue) and by `planAndIssue` (which works on them in the same
 * process): find what is due (an index query whose cost follows the due records, never
 * a scan) and admit as much of it as the CA's order budget has room for (earliest due
 * first). The rest stays due and is admitted by a later run (`heldByBudget`, rule
 * `BudgetExhausted`).
 *
 * The budget is kept in the control document ORDER_LEDGER (see `admitWithinBudget`):
 * admissions in any span of `windowMs + slackMs` total at most `orders`, so the orders
 * of every CA window stay within it when a worker places each order within `slackMs`.
 * The ledger is written (conditioned on the version read) BEFORE anything is handed on:
 * a crash after the write wastes budget, never overspends it. A concurrent planner that
 * wrote first makes the write fail; the run re-reads and tries again, and after
 * LEDGER_WRITE_ATTEMPTS it admits nothing this time (rule `BudgetContended`).
 *
 * Forced renewals: a bulk `forceRenewal` already spaces its records' `nextAttemptAt` at
 * the budget's rate (the `renewal-budget` cursor). When they come due they are due
 * records like any other and are counted here too, since each places an order: forced
 * and scheduled renewals share one budget, the earliest due first. A forced spread that
 * meets a wave of ordinary renewals therefore finishes later than its reported window,
 * but the CA's limit holds.
 *
 * Work that needs no budget (dueClass `no-order`, and `replacing-order` of an exempt
 * issuer) is admitted whatever the budget says. When the oldest `maxRecords` due records
 * fill the answer and budgeted ones among them wait, a second query (`findDue` with
 * those classes) finds the free work behind them, up to the run's limit: during a large
 * onboarding, the first orders held by the budget would otherwise hide renewal
 * information checks and exempt renewals that came due later. That query runs only in
 * this case; an ordinary run makes one.
 *
 * It writes no certificate record. A record it admitted stays in the ledger's in-flight
 * memory (inFlightKey: its id and the nextAttemptAt it was admitted at) for the budget's
 * slack, the time a worker has to place its order: a run in that time neither admits it
 * again nor counts it again (`inFlight`), so a queue that drains slower than the
 * planner's period does not spend the budget twice. A record a worker has worked on (its
 * nextAttemptAt moved) is admitted again as soon as it is due; one still untouched after
 * the slack (its message was lost) is admitted again then.
 */
export async function admitDueWork(deps: AdmissionDeps, maxRecords: number): Promise<DueAdmission> {
  const now = deps.clock.now();
  const found = await deps.records.findDue(now, maxRecords);
  // findDue answers oldest first; sorted again (stable) so that the admitted ones are the
  // earliest due whatever the store.
  const due = [...found].sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  const isFree = (ref: DueRef) => freeOfBudget(ref, deps.exemptIssuers);
  const free = due.filter(isFree);
  const budgeted = due.filter((ref) => !isFree(ref));
  const claim: Claim =
    budgeted.length > 0
      ? await claimBudget(deps, now, budgeted)
      : { admission: undefined, admitted: [], inFlight: 0 };
  const heldByBudget = budgeted.length - claim.inFlight - claim.admitted.length;
  // A full answer whose budgeted part waits (held, or in flight) may hide free work due
  // later: a fleet onboarding thousands of first orders would otherwise keep its ARI
  // checks and exempt renewals behind them for days. Those are looked for on their own.
  const room = maxRecords - free.length - claim.admitted.length;
  let foundBeyond = 0;
  if (found.length >= maxRecords && room > 0 && heldByBudget + claim.inFlight > 0) {
    const seen = new Set(due.map((ref) => ref.id));
    const beyond = await deps.records.findDue(now, maxRecords, FREE_CLASSES);
    const extra = beyond.filter((ref) => !seen.has(ref.id) && isFree(ref)).slice(0, room);
    free.push(...extra);
    foundBeyond = extra.length;
  }
  const noOrder = free.filter((ref) => ref.dueClass === 'no-order').length;
  const oldest = due.reduce((min, ref) => Math.min(min, ref.nextAttemptAt), now);
  const admitted = [...free, ...claim.admitted].sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  return {
    now,
    due: due.length + foundBeyond,
    admitted: admitted.map((ref) => ({ id: ref.id, dueAt: ref.nextAttemptAt })),
    heldByBudget,
    inFlight: claim.inFlight,
    noOrder,
    exemptOrders: free.length - noOrder,
    oldestDueSeconds: Math.round((now - oldest) / 1000),
    rule: claim.contended
      ? 'BudgetContended'
      : heldByBudget > 0
        ? 'BudgetExhausted'
        : due.length === maxRecords
          ? 'PlanLimitReached'
          : 'AllDuePlanned',
    budgetFields: {
      limit: maxRecords,
      budget: {
        orders: deps.budget.orders,
        spanSeconds: Math.round(admissionSpan(deps.budget) / 1000),
      },
      ...(claim.admission ? { budgetUsed: claim.admission.used } : {}),
      ...(claim.admission?.roomAt !== undefined
        ? { budgetRoomAt: iso(claim.admission.roomAt) }
        : {}),
    },
  };
}

/**
 * The scheduled planner: admits due work within the CA's order budget (`admitDueWork`)
 * and hands the admitted records to the work queue. A record the queue refused is
 * logged and stays due; it is in the ledger's in-flight memory, so it is admitted
 * again once the budget's slack has passed.
 */
export async function planDueWork(deps: PlannerDeps, maxRecords: number): Promise<PlanReport> {
  const admission = await admitDueWork(deps, maxRecords);
  const result =
    admission.admitted.length > 0
      ? await deps.queue.enqueue(admission.admitted)
      : { accepted: 0, failed: [] };
  for (const failure of result.failed) {
    deps.logger.warn('could not enqueue a due record; the next plan picks it up again', {
      record: failure.id,
      reason: failure.reason,
    });
  }
  const report: PlanReport = {
    startedAt: iso(admission.now),
    due: admission.due,
    enqueued: result.accepted,
    failed: result.failed.length,
    heldByBudget: admission.heldByBudget,
    inFlight: admission.inFlight,
    noOrder: admission.noOrder,
    exemptOrders: admission.exemptOrders,
    oldestDueSeconds: admission.oldestDueSeconds,
  };
  deps.logger.info('plan finished', {
    ...report,
    ...admission.budgetFields,
    rule: admission.rule,
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
  /** The due records to admit now, earliest due first. */
  admitted: DueRef[];
  /** Due records left alone because an earlier run admitted them within the slack. */
  inFlight: number;
  contended?: true;
}

type DueRef = Awaited<ReturnType<CertificateRecordStore['findDue']>>[number];

/** The due classes that may be admitted without spending the budget. */
const FREE_CLASSES: readonly DueClass[] = ['no-order', 'replacing-order'];

/** Work that places no order, and replacing orders of exempt issuers, need no budget. */
function freeOfBudget(ref: DueRef, exemptIssuers: ReadonlySet<string> | undefined): boolean {
  if (ref.dueClass === 'no-order') return true;
  return ref.dueClass === 'replacing-order' && (exemptIssuers?.has(ref.issuer ?? '') ?? false);
}

async function claimBudget(
  deps: AdmissionDeps,
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
