import {
  type CertloopEvent,
  certificateInvalid,
  certificateIssued,
  renewalFailed,
} from '../core/certificate-events.js';
import type { CertificateRecord } from '../core/certificate-record.js';
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
  const announced = outcomes.filter(
    (o) => o.issued || o.outcome === 'failed' || o.outcome === 'invalid',
  );
  return announce(deps, announced, (record, outcome) => [
    ...(outcome.issued && record.current?.serial === outcome.serial
      ? [certificateIssued(record, outcome.issued)]
      : []),
    ...(outcome.outcome === 'failed' ? [renewalFailed(record, now)] : []),
    ...(outcome.outcome === 'invalid' ? [certificateInvalid(record)] : []),
  ]);
}

/**
 * Announces registrations the sweep has just written invalid (`Certificate Invalid`, from
 * the record as stored). A registration that stays invalid for the same problems is not
 * announced again.
 */
export function announceInvalidRegistrations(
  deps: AnnounceDeps,
  ids: readonly string[],
): Promise<{ published: number; failed: number }> {
  return announce(
    deps,
    ids.map((id) => ({ id })),
    (record) => (record.status === 'invalid' ? [certificateInvalid(record)] : []),
  );
}

async function announce<T extends { id: string }>(
  deps: AnnounceDeps,
  items: readonly T[],
  eventsFor: (record: CertificateRecord, item: T) => CertloopEvent[],
): Promise<{ published: number; failed: number }> {
  const events: CertloopEvent[] = [];
  let failed = 0;
  for (const item of items) {
    try {
      const record = await deps.records.get(item.id);
      if (record) events.push(...eventsFor(record, item));
    } catch (error) {
      failed += 1;
      deps.logger.warn('outcome not announced: the record could not be read', {
        record: item.id,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  if (events.length === 0) return { published: 0, failed };
  const sent = await deps.bus.publish(events);
  return { published: events.length - sent.failed, failed: failed + sent.failed };
}
