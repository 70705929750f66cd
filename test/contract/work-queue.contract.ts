import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkItem, WorkQueue } from '../../src/ports/work-queue.js';

export interface WorkQueueFixture {
  queue: WorkQueue;
  /** Everything delivered so far (drains the queue). */
  received(): Promise<WorkItem[]>;
  teardown(): Promise<void>;
}

/** The WorkQueue contract (src/ports/work-queue.ts), the same assertions for every implementation. */
export function describeWorkQueueContract(
  name: string,
  setup: () => Promise<WorkQueueFixture>,
): void {
  describe(`WorkQueue contract: ${name}`, () => {
    let fixture: WorkQueueFixture;
    beforeEach(async () => {
      fixture = await setup();
    });
    afterEach(async () => {
      await fixture.teardown();
    });

    it('delivers every enqueued item with its id and due time', async () => {
      const items = [
        { id: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tls/a-AbCdEf', dueAt: 1 },
        { id: 'b', dueAt: 2 },
      ];
      expect(await fixture.queue.enqueue(items)).toEqual({ accepted: 2, failed: [] });
      const received = await fixture.received();
      expect([...received].sort((x, y) => x.dueAt - y.dueAt)).toEqual(items);
    });

    it('accepts more items than one send can carry (25 in one call)', async () => {
      const items = Array.from({ length: 25 }, (_, i) => ({ id: `record-${i}`, dueAt: i }));
      expect(await fixture.queue.enqueue(items)).toEqual({ accepted: 25, failed: [] });
      expect((await fixture.received()).map((item) => item.id).sort()).toEqual(
        items.map((item) => item.id).sort(),
      );
    });

    it('accepts an empty list without sending anything', async () => {
      expect(await fixture.queue.enqueue([])).toEqual({ accepted: 0, failed: [] });
      expect(await fixture.received()).toEqual([]);
    });
  });
}
