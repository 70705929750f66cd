import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { translateDynamoDbError } from '../../src/adapters/dynamodb/errors.js';
import { recordToItem } from '../../src/adapters/dynamodb/table-schema.js';
import { MemoryRecordStore } from '../../src/adapters/memory/memory-record-store.js';
import { ISSUED_BY_INDEX_PARTITION_KEY } from '../../src/config/shared-names.js';
import { CertloopError } from '../../src/core/errors.js';
import { type DynaliteEnv, freshTableName, useDynaliteEnv } from '../support/aws-env.js';
import { aRecord } from '../support/record-builder.js';
import { describeCertificateRecordStoreContract } from './certificate-records.contract.js';

describeCertificateRecordStoreContract('MemoryRecordStore', async () => ({
  store: new MemoryRecordStore(),
  teardown: async () => {},
}));

describe('on dynalite', () => {
  let env: DynaliteEnv;

  beforeAll(async () => {
    env = await useDynaliteEnv();
  });

  afterAll(async () => {
    await env?.teardown();
  });

  describeCertificateRecordStoreContract('DynamoDbRecordStore', async () => {
    const tableName = freshTableName();
    await ensureTable(env.client, tableName);
    return {
      store: new DynamoDbRecordStore({ client: env.client, tableName }),
      teardown: async () => {},
    };
  });

  describe('DynamoDbRecordStore specifics', () => {
    it('finds dynalite through AWS_ENDPOINT_URL_DYNAMODB, with no endpoint in the client config', async () => {
      expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(env.endpoint);
      const endpoint = await env.client.config.endpoint?.();
      expect(endpoint).toBeUndefined();
      const tableName = freshTableName();
      expect(await ensureTable(env.client, tableName)).toEqual({ created: true });
      expect(await ensureTable(env.client, tableName)).toEqual({ created: false });
    });

    it('reports a missing table as infrastructure, naming the table', async () => {
      const store = new DynamoDbRecordStore({ client: env.client, tableName: 'no-such-table' });

      const error = await store.get('secret/a.example.test').catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(CertloopError);
      expect(error).toMatchObject({ kind: 'infrastructure', source: 'records' });
      expect((error as CertloopError).message).toContain('no-such-table');
    });

    it('reports an unreachable endpoint as infrastructure', async () => {
      const client = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
      const store = new DynamoDbRecordStore({ client, tableName: 'records' });
      try {
        const error = await store.findDue(0, 1).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ kind: 'infrastructure', source: 'records' });
      } finally {
        client.destroy();
      }
    });

    it('lists records stored before the issued-by index, page by page, until a rewrite indexes them', async () => {
      const tableName = freshTableName();
      await ensureTable(env.client, tableName);
      const store = new DynamoDbRecordStore({ client: env.client, tableName });
      const documents = DynamoDBDocumentClient.from(env.client);
      const ids = ['secret/old-1.example.test', 'secret/old-2.example.test'];
      for (const id of ids) {
        const item: Record<string, unknown> = {
          ...recordToItem({ ...aRecord({ id }), version: 1 }),
        };
        delete item[ISSUED_BY_INDEX_PARTITION_KEY];
        await documents.send(new PutCommand({ TableName: tableName, Item: item }));
      }
      await store.create(aRecord({ id: 'secret/new.example.test' }));

      const found: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listUnindexed(1, cursor);
        found.push(...page.records.map((r) => r.id));
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== undefined && pages < 10);
      expect(found.sort()).toEqual(ids);
      expect(pages).toBeGreaterThan(1);

      for (const id of ids) {
        const record = await store.get(id);
        if (record) await store.put(record, record.version);
      }
      expect((await store.listUnindexed(100)).records).toEqual([]);
      expect(await store.countIssuedBy('follows|default|-')).toBe(3);
    });

    it('refuses records whose shard is outside the table shards', async () => {
      const tableName = freshTableName();
      await ensureTable(env.client, tableName);
      const store = new DynamoDbRecordStore({ client: env.client, tableName, shards: 2 });

      await expect(store.create(aRecord({ shard: 2 }))).rejects.toThrow(RangeError);
      await expect(store.create(aRecord({ shard: -1 }))).rejects.toThrow(RangeError);
      expect(await store.get(aRecord().id)).toBeUndefined();
      expect((await store.create(aRecord({ shard: 1 }))).shard).toBe(1);
    });
  });
});

describe('translateDynamoDbError', () => {
  const context = { tableName: 'records-table', action: 'put certificate record x' };
  const serviceError = (name: string, httpStatusCode: number) =>
    Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode } });

  it.each([
    ['ProvisionedThroughputExceededException', 400],
    ['ThrottlingException', 400],
    ['RequestLimitExceeded', 400],
    ['InternalServerError', 500],
    ['ServiceUnavailable', 503],
    ['SomethingNew', 502],
  ])('turns %s (HTTP %i) into infrastructure from records', (name, status) => {
    const error = translateDynamoDbError(serviceError(name, status), context);
    expect(error).toMatchObject({ kind: 'infrastructure', source: 'records' });
    expect(error.countsAsFailure).toBe(false);
  });

  it('turns a network failure into infrastructure', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
      code: 'ECONNREFUSED',
    });
    expect(translateDynamoDbError(refused, context).kind).toBe('infrastructure');
    const wrapped = new Error('request failed', { cause: refused });
    expect(translateDynamoDbError(wrapped, context).kind).toBe('infrastructure');
  });

  it('turns a failed condition into conflict and a missing table into infrastructure', () => {
    expect(
      translateDynamoDbError(serviceError('ConditionalCheckFailedException', 400), context).kind,
    ).toBe('conflict');
    const missing = translateDynamoDbError(serviceError('ResourceNotFoundException', 400), context);
    expect(missing.kind).toBe('infrastructure');
    expect(missing.message).toContain('records-table');
  });

  it('leaves other client errors as transient and keeps the cause', () => {
    const cause = serviceError('ValidationException', 400);
    const error = translateDynamoDbError(cause, context);
    expect(error).toMatchObject({ kind: 'transient', source: 'records' });
    expect(error.cause).toBe(cause);
  });
});
