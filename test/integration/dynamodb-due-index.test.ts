import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import {
  type CertificateRecord,
  DUE_INDEX_SHARDS,
  shardFor,
} from '../../src/core/certificate-record.js';
import { DAY, MINUTE } from '../../src/core/time.js';
import type { DueRecordRef } from '../../src/ports/certificate-records.js';
import { type DynaliteEnv, freshTableName, useDynaliteEnv } from '../support/aws-env.js';
import { aFullRecord } from '../support/record-builder.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const TOTAL = 300;
const DUE = 25;

describe('the due index on dynalite', () => {
  let env: DynaliteEnv;
  let tableName: string;
  let store: DynamoDbRecordStore;
  let expectedDue: DueRecordRef[];
  /** Names of the commands the client sent, in order (shared with the document client). */
  const sent: string[] = [];

  beforeAll(async () => {
    env = await useDynaliteEnv();
    env.client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName ?? 'unknown');
        return next(args);
      },
      { step: 'initialize', name: 'recordCommandNames' },
    );
    tableName = freshTableName('due-index');
    await ensureTable(env.client, tableName);
    store = new DynamoDbRecordStore({ client: env.client, tableName });

    // Every 12th record is due (25 of 300); the rest are scheduled later or not at all.
    const records: Omit<CertificateRecord, 'version'>[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const id = `secret/site-${i}.example.test`;
      const due = i % 12 === 0;
      const unscheduled = !due && i % 4 === 1;
      let nextAttemptAt: number | undefined = NOW + (i + 1) * DAY;
      if (due) nextAttemptAt = NOW - (i + 1) * MINUTE;
      if (unscheduled) nextAttemptAt = undefined;
      records.push(
        aFullRecord({
          id,
          domains: [`site-${i}.example.test`, `www.site-${i}.example.test`],
          status: unscheduled ? 'invalid' : 'active',
          nextAttemptAt,
        }),
      );
    }
    for (let start = 0; start < records.length; start += 25) {
      await Promise.all(records.slice(start, start + 25).map((record) => store.create(record)));
    }
    expectedDue = records
      .filter((record) => record.nextAttemptAt !== undefined && record.nextAttemptAt <= NOW)
      .map((record) => ({
        id: record.id,
        nextAttemptAt: record.nextAttemptAt ?? 0,
        dueClass: 'order' as const,
        issuer: record.issuer,
      }))
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  });

  afterAll(async () => {
    await env?.teardown();
  });

  it('holds 300 records of which 25 are due, spread over every shard', async () => {
    expect(await store.list()).toHaveLength(TOTAL);
    expect(expectedDue).toHaveLength(DUE);
    const shards = new Set(expectedDue.map((ref) => shardFor(ref.id)));
    expect(shards.size).toBe(DUE_INDEX_SHARDS);
  });

  it('finds exactly the due records with one Query per shard, at a fraction of a Scan', async () => {
    const before = store.consumedReadCapacity;
    sent.length = 0;

    const due = await store.findDue(NOW, 100);

    const findDueUnits = store.consumedReadCapacity - before;
    expect(due).toStrictEqual(expectedDue);
    expect(sent).toStrictEqual(Array.from({ length: DUE_INDEX_SHARDS }, () => 'QueryCommand'));
    expect(findDueUnits).toBeGreaterThan(0);

    const scanUnits = await scanCapacity(env, tableName);
    expect(scanUnits).toBeGreaterThan(0);
    // The Queries read only the 25 due index entries (keys, due class and issuer); the Scan reads all 300 items.
    expect(findDueUnits).toBeLessThanOrEqual(DUE_INDEX_SHARDS);
    expect(findDueUnits).toBeLessThan(scanUnits / 10);
  });

  it('returns the oldest due records first when the limit is smaller', async () => {
    const before = store.consumedReadCapacity;

    expect(await store.findDue(NOW, 10)).toStrictEqual(expectedDue.slice(0, 10));
    expect(await store.findDue(NOW - 200 * MINUTE, 100)).toStrictEqual(
      expectedDue.filter((ref) => ref.nextAttemptAt <= NOW - 200 * MINUTE),
    );
    expect(store.consumedReadCapacity).toBeGreaterThan(before);
  });
});

/** Read capacity a full, paginated Scan of the table consumes. */
async function scanCapacity(env: DynaliteEnv, tableName: string): Promise<number> {
  let units = 0;
  let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await env.client.send(
      new ScanCommand({
        TableName: tableName,
        ExclusiveStartKey: startKey,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    units += page.ConsumedCapacity?.CapacityUnits ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return units;
}
