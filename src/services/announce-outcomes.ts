import {
  type CertloopEvent,
  certificateInvalid,
  certificateIssued,
  renewalFailed,
} from '../core/certificate-events.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { EventBus } from '../ports/event-bus.js';
import type { Logger } from '../ports/logger.js';
import type { RecordOutcome } from './issuance-deps.js';

export interface AnnounceDeps {
  records: Pick<CertificateRecordStore, 'get'>;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
}

/**
 * Announces a worker batch's outcomes, after the fact: each event is built from the
 * record as stored once the batch is done (secret published, record written, ACM import
 * tried). Issued → `Certificate Issued`; failed → `Certificate Renewal Failed`; invalid →
 * `Certificate Invalid`; deferred and skipped work is not announced. A record that cannot
 * be read, or a bus that refuses, costs only the announcement: counted in `failed`,
 * logged, never thrown.
 */
export async function announceOutcomes(
  deps: AnnounceDeps,
  outcomes: readonly RecordOutcome[],
): Promise<{ published: number; failed: number }> {
  const now = deps.clock.now();
  const events: CertloopEvent[] = [];
  let failed = 0;
  for (const outcome of outcomes) {
    if (!outcome.issued && outcome.outcome !== 'failed' && outcome.outcome !== 'invalid') continue;
    try {
      const record = await deps.records.get(outcome.id);
      if (!record) continue;
      if (outcome.issued && record.current?.serial === outcome.serial) {
        events.push(certificateIssued(record, outcome.issued));
      }
      if (outcome.outcome === 'failed') events.push(renewalFailed(record, now));
      if (outcome.outcome === 'invalid') events.push(certificateInvalid(record));
    } catch (error) {
      failed += 1;
      deps.logger.warn('outcome not announced: the record could not be read', {
        record: outcome.id,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  if (events.length === 0) return { published: 0, failed };
  const sent = await deps.bus.publish(events);
  return { published: events.length - sent.failed, failed: failed + sent.failed };
}
