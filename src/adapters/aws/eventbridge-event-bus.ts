/**
 * EventBus on EventBridge: PutEvents to the default bus, source `certloop`, at most 10
 * entries per call (the API's limit). The SDK retries throttling and 5xx; entries the
 * bus still refuses (FailedEntryCount) and calls that still fail are counted, logged
 * without the detail, and dropped: the caller's work is done and stays done.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type CertloopEvent, EVENT_SOURCE } from '../../core/certificate-events.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { Logger } from '../../ports/logger.js';
import { sdkErrorName } from '../sdk-errors.js';

const ENTRIES_PER_CALL = 10;

export class EventBridgeEventBus implements EventBus {
  readonly #client: EventBridgeClient;
  readonly #logger: Logger | undefined;

  constructor(options: { client: EventBridgeClient; logger?: Logger }) {
    this.#client = options.client;
    this.#logger = options.logger;
  }

  async publish(events: readonly CertloopEvent[]): Promise<{ failed: number }> {
    let failed = 0;
    for (let start = 0; start < events.length; start += ENTRIES_PER_CALL) {
      const batch = events.slice(start, start + ENTRIES_PER_CALL);
      try {
        const answer = await this.#client.send(
          new PutEventsCommand({
            Entries: batch.map((event) => ({
              Source: EVENT_SOURCE,
              DetailType: event.detailType,
              Detail: JSON.stringify(event.detail),
            })),
          }),
        );
        const refused = answer.FailedEntryCount ?? 0;
        if (refused > 0) {
          failed += refused;
          const codes = (answer.Entries ?? []).flatMap((entry) =>
            entry.ErrorCode ? [entry.ErrorCode] : [],
          );
          this.#logger?.warn('events refused by EventBridge', { refused, codes });
        }
      } catch (error) {
        failed += batch.length;
        this.#logger?.warn('events not published', {
          events: batch.length,
          error: sdkErrorName(error) || 'error',
        });
      }
    }
    return { failed };
  }
}
