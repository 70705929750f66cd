import type { WorkItem, WorkQueue } from '../../ports/work-queue.js';

/** In-memory WorkQueue: keeps what was enqueued, in order, for tests and the contract. */
export class MemoryWorkQueue implements WorkQueue {
  readonly items: WorkItem[] = [];

  async enqueue(items: WorkItem[]) {
    this.items.push(...items.map((item) => ({ ...item })));
    return { accepted: items.length, failed: [] };
  }

  /** Takes up to `max` items off the front, like a receive. */
  take(max: number): WorkItem[] {
    return this.items.splice(0, max);
  }
}
