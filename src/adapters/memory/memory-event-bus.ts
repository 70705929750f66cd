import type { CertloopEvent } from '../../core/certificate-events.js';
import type { EventBus } from '../../ports/event-bus.js';

/** Keeps what was published, for tests and local mode; `failNext` makes sends fail. */
export class MemoryEventBus implements EventBus {
  readonly published: CertloopEvent[] = [];
  failNext = 0;

  async publish(events: readonly CertloopEvent[]): Promise<{ failed: number }> {
    let failed = 0;
    for (const event of events) {
      if (this.failNext > 0) {
        this.failNext -= 1;
        failed += 1;
      } else {
        this.published.push(structuredClone(event));
      }
    }
    return { failed };
  }
}
