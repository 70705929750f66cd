import { iso } from '../core/time.js';
import {
  type IssuanceDeps,
  issueCertificates,
  type Outcome,
  type RecordOutcome,
} from './issue-certificates.js';

export interface TickOptions {
  /** Records handed to one batch (one DNS propagation wait each). */
  batchSize: number;
  /** Most records one tick looks at; the rest wait for the next tick. */
  maxRecords: number;
}

export const DEFAULT_TICK_OPTIONS: TickOptions = { batchSize: 50, maxRecords: 500 };

export interface TickReport {
  startedAt: string;
  due: number;
  outcomes: RecordOutcome[];
  counts: Record<Outcome, number>;
}

/**
 * One scheduled pass: find what is due (the index query, never a scan), then work on
 * it in batches. Used by the scheduled function and by local mode.
 */
export async function runTick(
  deps: IssuanceDeps,
  options: TickOptions = DEFAULT_TICK_OPTIONS,
): Promise<TickReport> {
  const now = deps.clock.now();
  const due = await deps.records.findDue(now, options.maxRecords);
  const outcomes: RecordOutcome[] = [];
  for (let i = 0; i < due.length; i += options.batchSize) {
    const batch = due.slice(i, i + options.batchSize).map((ref) => ref.id);
    outcomes.push(...(await issueCertificates(deps, batch)));
  }
  const counts = countOutcomes(outcomes);
  deps.logger.info('tick finished', { startedAt: iso(now), due: due.length, ...counts });
  return { startedAt: iso(now), due: due.length, outcomes, counts };
}

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
