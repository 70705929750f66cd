import { iso } from '../core/time.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { WorkQueue } from '../ports/work-queue.js';

export interface PlannerDeps {
  records: CertificateRecordStore;
  queue: WorkQueue;
  clock: Clock;
  logger: Logger;
}

export interface PlanReport {
  startedAt: string;
  due: number;
  enqueued: number;
  failed: number;
  /** Seconds the oldest due record has been waiting (0 when none). */
  oldestDueSeconds: number;
}

/**
 * The scheduled planner: find what is due (an index query whose cost follows the due
 * records, never a scan) and hand it to the work queue. It writes no record: a record
 * that is queued twice (the planner ran again before a worker got to it) is harmless,
 * because workers lease and re-check.
 */
export async function planDueWork(deps: PlannerDeps, maxRecords: number): Promise<PlanReport> {
  const now = deps.clock.now();
  const due = await deps.records.findDue(now, maxRecords);
  const result =
    due.length > 0
      ? await deps.queue.enqueue(due.map((ref) => ({ id: ref.id, dueAt: ref.nextAttemptAt })))
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
    oldestDueSeconds: Math.round((now - oldest) / 1000),
  };
  deps.logger.info('plan finished', {
    ...report,
    limit: maxRecords,
    rule: due.length === maxRecords ? 'PlanLimitReached' : 'AllDuePlanned',
  });
  return report;
}
