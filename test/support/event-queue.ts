// An EventBridge rule on moto's default bus with an SQS queue as its target: what a test
// needs to see which events a pattern delivers. moto delivers matching PutEvents to the
// queue; `receiveAll` drains it. Every delivered body is also appended to a file in
// test/.logs, so the audit project's key-material scan reads the events too.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

export interface EventQueue {
  /** Every event delivered so far (parsed JSON), removed from the queue. */
  receiveAll(): Promise<unknown[]>;
}

/**
 * Creates the queue `name`, a rule `name` with `pattern` on the default bus, and the rule's
 * target. The clients come from the environment (AWS_ENDPOINT_URL points at moto).
 */
export async function routeEventsToQueue(name: string, pattern: unknown): Promise<EventQueue> {
  const sqs = new SQSClient({});
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const events = new EventBridgeClient({});
  await events.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(pattern) }));
  await events.send(
    new PutTargetsCommand({
      Rule: name,
      Targets: [{ Id: 'queue', Arn: attributes.Attributes?.QueueArn ?? '' }],
    }),
  );
  const log = join(process.cwd(), 'test', '.logs', `events-${name}-${process.pid}.log`);
  mkdirSync(dirname(log), { recursive: true });

  return {
    async receiveAll() {
      const all: unknown[] = [];
      // Two empty answers in a row: moto has delivered everything it will.
      for (let empty = 0; empty < 2; ) {
        const received = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) {
          empty += 1;
          continue;
        }
        for (const message of messages) {
          const body = message.Body ?? '';
          appendFileSync(log, `${body}\n`);
          all.push(JSON.parse(body));
        }
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({
              Id: String(i),
              ReceiptHandle: m.ReceiptHandle ?? '',
            })),
          }),
        );
      }
      return all;
    },
  };
}
