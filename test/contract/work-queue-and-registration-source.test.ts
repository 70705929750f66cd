import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { SecretsManagerRegistrationSource } from '../../src/adapters/aws/secrets-manager-registration-source.js';
import { SqsWorkQueue } from '../../src/adapters/aws/sqs-work-queue.js';
import { MemoryRegistrationSource } from '../../src/adapters/memory/memory-registration-source.js';
import { MemoryWorkQueue } from '../../src/adapters/memory/memory-work-queue.js';
import { parseWorkMessage } from '../../src/core/work-message.js';
import type { WorkItem } from '../../src/ports/work-queue.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';
import { describeRegistrationSourceContract } from './registration-source.contract.js';
import { describeWorkQueueContract } from './work-queue.contract.js';

let moto: MotoEnv;
beforeAll(async () => {
  moto = await useMotoEnv();
});
afterAll(async () => {
  await moto?.teardown();
});

describeWorkQueueContract('MemoryWorkQueue', async () => {
  const queue = new MemoryWorkQueue();
  return {
    queue,
    received: async () => queue.take(Number.MAX_SAFE_INTEGER),
    teardown: async () => {},
  };
});

let queues = 0;
describeWorkQueueContract('SqsWorkQueue on moto', async () => {
  const client = new SQSClient({});
  queues += 1;
  const queueUrl =
    (await client.send(new CreateQueueCommand({ QueueName: `contract-${queues}` }))).QueueUrl ?? '';
  return {
    queue: new SqsWorkQueue({ client, queueUrl }),
    async received() {
      const items: WorkItem[] = [];
      for (;;) {
        const batch = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 600,
          }),
        );
        if (!batch.Messages?.length) return items;
        items.push(...batch.Messages.map((m) => parseWorkMessage(m.Body ?? '')));
      }
    },
    teardown: async () => {
      await client.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    },
  };
});

describeRegistrationSourceContract('MemoryRegistrationSource', async () => {
  const source = new MemoryRegistrationSource();
  return {
    source,
    createSecret: async (name, tags) => {
      source.tag(name, tags);
      return name;
    },
    teardown: async () => {},
  };
});

describeRegistrationSourceContract('Secrets Manager tag listing on moto', async () => {
  await moto.reset();
  const client = new SecretsManagerClient({});
  return {
    source: new SecretsManagerRegistrationSource({ client, listPageSize: 10 }),
    createSecret: async (name, tags) => {
      const created = await client.send(
        new CreateSecretCommand({
          Name: name,
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      );
      return created.ARN ?? '';
    },
    teardown: async () => {},
  };
});
