import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../src/config/environment.js';

/** Deliveries of one message before it moves to the dead-letter queue. */
export const MAX_RECEIVE_COUNT = 5;
/** SQS messages per worker invocation: one issuance batch, one DNS propagation wait. */
export const WORKER_BATCH_SIZE = 10;
/** AWS guidance: a queue's visibility timeout is at least six times its consumer's timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface WorkQueueProps {
  /** Customer-managed key both queues are encrypted with. */
  readonly encryptionKey: kms.IKey;
  /** Timeout of the function that consumes the queue; the visibility timeout is 6x this. */
  readonly consumerTimeout: Duration;
}

export interface WorkQueueConsumerOptions {
  /** Most concurrent invocations the queue drives (2-1000): the lever for the CA's rate limits. */
  readonly maxConcurrency: number;
}

/**
 * The SQS work queue between the planner and the worker, with a dead-letter queue that
 * keeps poison messages visible (both KMS-encrypted, TLS-only). `grantSend(fn)` sets
 * CERTLOOP_QUEUE_URL with the send permission; `addConsumer(fn)` wires the worker.
 */
export class WorkQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly #key: kms.IKey;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    this.#key = props.encryptionKey;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(
        props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR,
      ),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  }

  /** SendMessage(Batch) on the work queue, with the KMS use SQS makes for it. */
  grantSend(fn: lambda.Function): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.#key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `sqs.${Stack.of(this).region}.amazonaws.com` },
        },
      }),
    );
    fn.addEnvironment(ENV.queueUrl, this.queue.queueUrl);
  }

  /**
   * The function consumes the queue in batches of WORKER_BATCH_SIZE and reports partial
   * batch failures, so only the messages that failed come back.
   */
  addConsumer(fn: lambda.Function, options: WorkQueueConsumerOptions): void {
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: WORKER_BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: options.maxConcurrency,
      }),
    );
  }
}
