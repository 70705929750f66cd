import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { CertloopError } from '../../core/errors.js';
import type { WorkItem, WorkQueue } from '../../ports/work-queue.js';
import { isNetworkError, sdkErrorName, sdkHttpStatus } from '../sdk-errors.js';

/** SQS takes at most 10 messages per SendMessageBatch. */
const SQS_BATCH = 10;

const THROTTLING =
  /Throttl|RequestThrottled|ServiceUnavailable|InternalError|TimeoutError|RequestTimeout|KmsThrottled/;

function isInfrastructureError(error: unknown): boolean {
  const status = sdkHttpStatus(error);
  return (
    status >= 500 || status === 429 || THROTTLING.test(sdkErrorName(error)) || isNetworkError(error)
  );
}

/** Message body of one work item; the worker parses it with `parseWorkMessage`. */
export function workMessageBody(item: WorkItem): string {
  return JSON.stringify({ id: item.id, dueAt: item.dueAt });
}

/**
 * WorkQueue on an SQS standard queue: one message per due record, sent ten at a time.
 * Entries SQS refuses are reported back (never dropped silently); a throttled or
 * unavailable queue is kind `infrastructure` (the SDK has already retried it).
 */
export class SqsWorkQueue implements WorkQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;

  constructor(options: { client: SQSClient; queueUrl: string }) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
  }

  async enqueue(items: WorkItem[]) {
    let accepted = 0;
    const failed: Array<{ id: string; reason: string }> = [];
    for (let i = 0; i < items.length; i += SQS_BATCH) {
      const chunk = items.slice(i, i + SQS_BATCH);
      try {
        const response = await this.#client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: chunk.map((item, index) => ({
              Id: String(index),
              MessageBody: workMessageBody(item),
            })),
          }),
        );
        accepted += response.Successful?.length ?? 0;
        for (const failure of response.Failed ?? []) {
          const item = chunk[Number(failure.Id)];
          failed.push({
            id: item?.id ?? `#${failure.Id}`,
            reason: `${failure.Code ?? 'error'}: ${failure.Message ?? ''}`.trim(),
          });
        }
      } catch (error) {
        const name = (error as { name?: string }).name ?? 'Error';
        const message = `SQS SendMessageBatch to ${this.#queueUrl} failed: ${name}: ${(error as Error).message}`;
        if (isInfrastructureError(error))
          throw new CertloopError('infrastructure', message, { source: 'queue' });
        throw new CertloopError('permanent', message, { source: 'queue' });
      }
    }
    return { accepted, failed };
  }
}
