import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { TABLE_PARTITION_KEY } from '../../config/shared-names.js';
import { CertloopError } from '../../core/errors.js';
import type { ControlRecord, ControlRecords } from '../../ports/control-records.js';
import { isConditionalCheckFailed, translateDynamoDbError } from './errors.js';
import { ITEM_KIND_ATTRIBUTE } from './table-schema.js';

/** Partition key prefix of control documents; they carry no index attributes. */
export const CONTROL_KEY_PREFIX = 'control#';
export const CONTROL_ITEM_KIND = 'control';

/**
 * ControlRecords in the records table, as items `control#<name>` with `value` and
 * `version`. They have no `shard`/`nextAttemptAt`, so the due index never sees them,
 * and `kind = control` keeps them out of the certificate listing.
 */
export class DynamoDbControlRecords implements ControlRecords {
  readonly #documents: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.#documents = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#tableName = options.tableName;
  }

  async get<T>(name: string): Promise<ControlRecord<T> | undefined> {
    try {
      const output = await this.#documents.send(
        new GetCommand({
          TableName: this.#tableName,
          Key: { [TABLE_PARTITION_KEY]: CONTROL_KEY_PREFIX + name },
          ConsistentRead: true,
        }),
      );
      if (!output.Item) return undefined;
      return { value: output.Item.value as T, version: Number(output.Item.version) };
    } catch (error) {
      throw translateDynamoDbError(error, {
        tableName: this.#tableName,
        action: `get control record ${name}`,
      });
    }
  }

  async put<T>(name: string, value: T, expectedVersion: number | undefined): Promise<number> {
    const version = (expectedVersion ?? 0) + 1;
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#tableName,
          Item: {
            [TABLE_PARTITION_KEY]: CONTROL_KEY_PREFIX + name,
            [ITEM_KIND_ATTRIBUTE]: CONTROL_ITEM_KIND,
            value,
            version,
          },
          ConditionExpression:
            expectedVersion === undefined ? 'attribute_not_exists(#pk)' : '#version = :expected',
          ExpressionAttributeNames:
            expectedVersion === undefined
              ? { '#pk': TABLE_PARTITION_KEY }
              : { '#version': 'version' },
          ...(expectedVersion === undefined
            ? {}
            : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      );
      return version;
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new CertloopError(
          'conflict',
          `control record ${name} changed (expected version ${expectedVersion ?? 'none'})`,
          { source: 'records' },
        );
      }
      throw translateDynamoDbError(error, {
        tableName: this.#tableName,
        action: `put control record ${name}`,
      });
    }
  }
}
