import type { Instant } from '../core/time.js';

/** One unit of work handed from the planner to a worker. */
export interface WorkItem {
  id: string;
  /** The nextAttemptAt the planner saw; a worker re-checks the record anyway. */
  dueAt: Instant;
}

/**
 * Where the planner puts due records for workers.
 *
 * Contract (test/contract/work-queue.contract.ts):
 * - `enqueue` accepts any number of items and delivers each at least once; it batches
 *   as the backing queue requires (SQS: 10 per SendMessageBatch). It returns how many
 *   were accepted; items the queue refused are reported in `failed` with the reason,
 *   never silently dropped.
 * - Delivery is at-least-once: a worker may see an item twice. That is safe because a
 *   worker takes the record's lease and re-checks it before acting.
 * Errors: a queue that is unavailable or throttling surfaces as kind `infrastructure`.
 */
export interface WorkQueue {
  enqueue(
    items: WorkItem[],
  ): Promise<{ accepted: number; failed: Array<{ id: string; reason: string }> }>;
}
