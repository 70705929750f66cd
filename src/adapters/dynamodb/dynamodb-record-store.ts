import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  ScanCommand,
  type ScanCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  DUE_CLASS_ATTRIBUTE,
  DUE_INDEX_ISSUER_ATTRIBUTE,
  DUE_INDEX_NAME,
  DUE_INDEX_PARTITION_KEY,
  DUE_INDEX_SORT_KEY,
  ISSUED_BY_INDEX_NAME,
  ISSUED_BY_INDEX_PARTITION_KEY,
  TABLE_PARTITION_KEY,
} from '../../config/shared-names.js';
import { type CertificateRecord, DUE_INDEX_SHARDS } from '../../core/certificate-record.js';
import { CertloopError } from '../../core/errors.js';
import type { DueClass } from '../../core/issuance-checks.js';
import type { Instant } from '../../core/time.js';
import type { CertificateRecordStore, DueRecordRef } from '../../ports/certificate-records.js';
import { isConditionalCheckFailed, RECORDS_SOURCE, translateDynamoDbError } from './errors.js';
import {
  CERTIFICATE_ITEM_KIND,
  certificateKey,
  ITEM_KIND_ATTRIBUTE,
  idFromCertificateKey,
  recordFromItem,
  recordToItem,
} from './table-schema.js';

const DUE_CLASSES: readonly unknown[] = [
  'order',
  'replacing-order',
  'no-order',
] satisfies DueClass[];

export interface DynamoDbRecordStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Partitions of the due index; must match the shards records are written with. */
  shards?: number;
}

/**
 * CertificateRecordStore on one DynamoDB table (shape: table-schema.ts). Every expression
 * names its attributes through ExpressionAttributeNames, since several of them (`owner`,
 * `status`, `shard`, ...) are reserved words.
 */
export class DynamoDbRecordStore implements CertificateRecordStore {
  readonly #documents: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #shards: number;
  #consumedReadCapacity = 0;

  constructor(options: DynamoDbRecordStoreOptions) {
    const shards = options.shards ?? DUE_INDEX_SHARDS;
    if (!Number.isInteger(shards) || shards < 1) {
      throw new RangeError(`shards must be a positive integer, got ${shards}`);
    }
    this.#documents = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#tableName = options.tableName;
    this.#shards = shards;
  }

  get tableName(): string {
    return this.#tableName;
  }

  /**
   * Read capacity units consumed by `findDue` queries since this store was created, as
   * DynamoDB reported them (ReturnConsumedCapacity TOTAL). Other calls are not counted,
   * so that the figure shows the cost of finding due work.
   */
  get consumedReadCapacity(): number {
    return this.#consumedReadCapacity;
  }

  async get(id: string): Promise<CertificateRecord | undefined> {
    const output = await this.#call(`get certificate record ${id}`, () =>
      this.#documents.send(
        new GetCommand({
          TableName: this.#tableName,
          Key: { [TABLE_PARTITION_KEY]: certificateKey(id) },
          ConsistentRead: true,
        }),
      ),
    );
    return output.Item ? recordFromItem(output.Item) : undefined;
  }

  async create(record: Omit<CertificateRecord, 'version'>): Promise<CertificateRecord> {
    const stored: CertificateRecord = { ...record, version: 1 };
    this.#checkShard(stored);
    const item = recordToItem(stored);
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': TABLE_PARTITION_KEY },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new CertloopError('conflict', `certificate record ${record.id} already exists`, {
          source: RECORDS_SOURCE,
          cause: error,
        });
      }
      throw this.#translate(error, `create certificate record ${record.id}`);
    }
    return recordFromItem(item);
  }

  async put(record: CertificateRecord, expectedVersion: number): Promise<CertificateRecord> {
    const stored: CertificateRecord = { ...record, version: expectedVersion + 1 };
    this.#checkShard(stored);
    const item = recordToItem(stored);
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: item,
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': expectedVersion },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new CertloopError(
          'conflict',
          `certificate record ${record.id} is not at version ${expectedVersion} (missing or changed since read)`,
          { source: RECORDS_SOURCE, cause: error },
        );
      }
      throw this.#translate(error, `put certificate record ${record.id}`);
    }
    return recordFromItem(item);
  }

  async acquireLease(
    id: string,
    owner: string,
    now: Instant,
    durationMs: number,
  ): Promise<CertificateRecord | undefined> {
    try {
      const output = await this.#documents.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [TABLE_PARTITION_KEY]: certificateKey(id) },
          ConditionExpression:
            'attribute_exists(#pk) AND (attribute_not_exists(#lease) OR #lease.#until < :now)',
          UpdateExpression: 'SET #lease = :lease, #version = #version + :one, #updatedAt = :now',
          ExpressionAttributeNames: {
            '#pk': TABLE_PARTITION_KEY,
            '#lease': 'lease',
            '#until': 'until',
            '#version': 'version',
            '#updatedAt': 'updatedAt',
          },
          ExpressionAttributeValues: {
            ':now': now,
            ':one': 1,
            ':lease': { owner, until: now + durationMs },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return output.Attributes ? recordFromItem(output.Attributes) : undefined;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw this.#translate(error, `acquire lease on certificate record ${id}`);
    }
  }

  async findDue(
    now: Instant,
    limit: number,
    classes?: readonly DueClass[],
  ): Promise<DueRecordRef[]> {
    const wanted = Math.floor(limit);
    if (!(wanted >= 1) || classes?.length === 0) return [];
    const perShard = await Promise.all(
      Array.from({ length: this.#shards }, (_, shard) =>
        this.#dueInShard(shard, now, wanted, classes),
      ),
    );
    return perShard
      .flat()
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || compareIds(a.id, b.id))
      .slice(0, wanted);
  }

  /** A Query on the issued-by index with `Limit`: reads follow `limit`, not the table. */
  async findIssuedBy(key: string, limit: number): Promise<string[]> {
    const wanted = Math.floor(limit);
    if (!(wanted >= 1)) return [];
    const ids: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.#issuedByPage(key, startKey, {
        Limit: wanted - ids.length,
      });
      for (const item of page.Items ?? []) {
        const id = idFromCertificateKey(item[TABLE_PARTITION_KEY]);
        if (id !== undefined) ids.push(id);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && ids.length < wanted);
    return ids.slice(0, wanted);
  }

  /** Select COUNT on the issued-by index: reads follow the records under `key`. */
  async countIssuedBy(key: string): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.#issuedByPage(key, startKey, {
        Select: 'COUNT',
      });
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  #issuedByPage(
    key: string,
    startKey: Record<string, unknown> | undefined,
    shape: { Limit?: number; Select?: 'COUNT' },
  ): Promise<QueryCommandOutput> {
    return this.#call(`find records issued by ${key}`, () =>
      this.#documents.send(
        new QueryCommand({
          TableName: this.#tableName,
          IndexName: ISSUED_BY_INDEX_NAME,
          KeyConditionExpression: '#issuedBy = :key',
          ExpressionAttributeNames: { '#issuedBy': ISSUED_BY_INDEX_PARTITION_KEY },
          ExpressionAttributeValues: { ':key': key },
          ...shape,
          ExclusiveStartKey: startKey,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
  }

  /**
   * One Scan page (`Limit` items examined, consistent) of certificate items without the
   * `issuedBy` attribute: written before the issued-by index existed, or parked (which
   * the index leaves out; rewriting them changes nothing). The cursor is the last key.
   */
  async listUnindexed(
    limit: number,
    cursor?: string,
  ): Promise<{ records: CertificateRecord[]; cursor?: string }> {
    const page: ScanCommandOutput = await this.#call('list unindexed certificate records', () =>
      this.#documents.send(
        new ScanCommand({
          TableName: this.#tableName,
          ConsistentRead: true,
          Limit: Math.max(1, Math.floor(limit)),
          FilterExpression: '#kind = :kind AND attribute_not_exists(#issuedBy)',
          ExpressionAttributeNames: {
            '#kind': ITEM_KIND_ATTRIBUTE,
            '#issuedBy': ISSUED_BY_INDEX_PARTITION_KEY,
          },
          ExpressionAttributeValues: { ':kind': CERTIFICATE_ITEM_KIND },
          ...(cursor !== undefined ? { ExclusiveStartKey: { [TABLE_PARTITION_KEY]: cursor } } : {}),
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    const next = page.LastEvaluatedKey?.[TABLE_PARTITION_KEY];
    return {
      records: (page.Items ?? []).map((item) => recordFromItem(item)),
      ...(typeof next === 'string' ? { cursor: next } : {}),
    };
  }

  async list(): Promise<CertificateRecord[]> {
    const records: CertificateRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: ScanCommandOutput = await this.#call('list certificate records', () =>
        this.#documents.send(
          new ScanCommand({
            TableName: this.#tableName,
            ConsistentRead: true,
            FilterExpression: '#kind = :kind',
            ExpressionAttributeNames: { '#kind': ITEM_KIND_ATTRIBUTE },
            ExpressionAttributeValues: { ':kind': CERTIFICATE_ITEM_KIND },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) records.push(recordFromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records.sort((a, b) => compareIds(a.id, b.id));
  }

  async delete(id: string): Promise<void> {
    await this.#call(`delete certificate record ${id}`, () =>
      this.#documents.send(
        new DeleteCommand({
          TableName: this.#tableName,
          Key: { [TABLE_PARTITION_KEY]: certificateKey(id) },
        }),
      ),
    );
  }

  /**
   * Oldest due entries of one shard, at most `limit`, paginating only while short. With
   * `classes`, a filter on the projected `dueClass`: DynamoDB applies `Limit` before the
   * filter, so such a query reads whole pages (up to 1 MB each) instead.
   */
  async #dueInShard(
    shard: number,
    now: Instant,
    limit: number,
    classes: readonly DueClass[] | undefined,
  ): Promise<DueRecordRef[]> {
    const due: DueRecordRef[] = [];
    const filter = classes ? classFilter(classes) : undefined;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.#call(`find due records in shard ${shard}`, () =>
        this.#documents.send(
          new QueryCommand({
            TableName: this.#tableName,
            IndexName: DUE_INDEX_NAME,
            KeyConditionExpression: '#shard = :shard AND #next <= :now',
            ExpressionAttributeNames: {
              '#shard': DUE_INDEX_PARTITION_KEY,
              '#next': DUE_INDEX_SORT_KEY,
              ...filter?.names,
            },
            ExpressionAttributeValues: { ':shard': shard, ':now': now, ...filter?.values },
            ScanIndexForward: true,
            ...(filter ? { FilterExpression: filter.expression } : { Limit: limit - due.length }),
            ExclusiveStartKey: startKey,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      this.#countReads(page.ConsumedCapacity);
      for (const item of page.Items ?? []) {
        const id = idFromCertificateKey(item[TABLE_PARTITION_KEY]);
        const nextAttemptAt = item[DUE_INDEX_SORT_KEY];
        // Other item kinds could share the index; only certificate records count.
        if (id === undefined || typeof nextAttemptAt !== 'number') continue;
        const dueClass = item[DUE_CLASS_ATTRIBUTE];
        const issuer = item[DUE_INDEX_ISSUER_ATTRIBUTE];
        due.push({
          id,
          nextAttemptAt,
          ...(DUE_CLASSES.includes(dueClass) ? { dueClass: dueClass as DueClass } : {}),
          ...(typeof issuer === 'string' ? { issuer } : {}),
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && due.length < limit);
    return due.slice(0, limit);
  }

  #countReads(capacity: ConsumedCapacity | undefined): void {
    const units = capacity?.ReadCapacityUnits ?? capacity?.CapacityUnits ?? 0;
    this.#consumedReadCapacity += units;
  }

  #checkShard(record: CertificateRecord): void {
    if (!Number.isInteger(record.shard) || record.shard < 0 || record.shard >= this.#shards) {
      throw new RangeError(
        `certificate record ${record.id} has shard ${record.shard}; this table has shards 0..${this.#shards - 1}`,
      );
    }
  }

  async #call<T>(action: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw this.#translate(error, action);
    }
  }

  #translate(error: unknown, action: string): CertloopError {
    return translateDynamoDbError(error, { tableName: this.#tableName, action });
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `dueClass IN (...)` over the due index's projected class attribute. */
function classFilter(classes: readonly DueClass[]): {
  expression: string;
  names: Record<string, string>;
  values: Record<string, string>;
} {
  const values = Object.fromEntries(classes.map((name, i) => [`:class${i}`, name]));
  return {
    expression: `#dueClass IN (${Object.keys(values).join(', ')})`,
    names: { '#dueClass': DUE_CLASS_ATTRIBUTE },
    values,
  };
}
