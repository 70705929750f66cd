import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { stekLockKey, TABLE_PARTITION_KEY } from '../../config/shared-names.js';
import { CertloopError } from '../../core/errors.js';
import type { Instant } from '../../core/time.js';
import type { StekCommit, StekLease, StekLocks } from '../../ports/stek-store.js';
import { isConditionalCheckFailed, RECORDS_SOURCE, translateDynamoDbError } from './errors.js';
import { ITEM_KIND_ATTRIBUTE } from './table-schema.js';

/** `kind` of a STEK lock item. */
export const STEK_LOCK_ITEM_KIND = 'stek-lock';
export interface DynamoDbStekLocksOptions {
  client: DynamoDBClient;
  tableName: string;
}

/**
 * StekLocks in the records table (table-schema.ts). One item per set:
 *
 *   pk = "stek#<set id>", kind = "stek-lock", setId, owner, until (epoch ms),
 *   version (fencing token), updatedAt, and after a committed rotation
 *   lastRotatedAt and ringVersion.
 *
 * These items never get `nextAttemptAt` (nor `shard`), so they stay out of the sparse
 * due index, and the certificate `list` filters them out by `kind`. Every expression
 * names its attributes through ExpressionAttributeNames (`owner`, `until`, `version`
 * are reserved words or close to them). Acquiring is one conditional UpdateItem
 * (no item, or `until < now`) that also creates the item on first use; commit and
 * release condition on the version the holder got.
 */
export class DynamoDbStekLocks implements StekLocks {
  readonly #documents: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: DynamoDbStekLocksOptions) {
    this.#documents = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#tableName = options.tableName;
  }

  async acquire(
    setId: string,
    owner: string,
    now: Instant,
    durationMs: number,
  ): Promise<StekLease | undefined> {
    try {
      const output = await this.#documents.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [TABLE_PARTITION_KEY]: stekLockKey(setId) },
          ConditionExpression: 'attribute_not_exists(#pk) OR #until < :now',
          UpdateExpression:
            'SET #kind = :kind, #setId = :setId, #owner = :owner, #until = :until, ' +
            '#version = if_not_exists(#version, :zero) + :one, #updatedAt = :now',
          ExpressionAttributeNames: {
            '#pk': TABLE_PARTITION_KEY,
            '#kind': ITEM_KIND_ATTRIBUTE,
            '#setId': 'setId',
            '#owner': 'owner',
            '#until': 'until',
            '#version': 'version',
            '#updatedAt': 'updatedAt',
          },
          ExpressionAttributeValues: {
            ':now': now,
            ':kind': STEK_LOCK_ITEM_KIND,
            ':setId': setId,
            ':owner': owner,
            ':until': now + durationMs,
            ':zero': 0,
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = output.Attributes ?? {};
      return {
        setId,
        owner,
        until: Number(item.until),
        version: Number(item.version),
        ...(typeof item.lastRotatedAt === 'number' ? { lastRotatedAt: item.lastRotatedAt } : {}),
        ...(typeof item.ringVersion === 'number' ? { ringVersion: item.ringVersion } : {}),
      };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw this.#translate(error, `acquire STEK lease ${setId}`);
    }
  }

  async commit(setId: string, version: number, facts: StekCommit): Promise<void> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [TABLE_PARTITION_KEY]: stekLockKey(setId) },
          ConditionExpression: '#version = :version',
          UpdateExpression:
            'SET #lastRotatedAt = :at, #ringVersion = :ringVersion, #updatedAt = :at',
          ExpressionAttributeNames: {
            '#version': 'version',
            '#lastRotatedAt': 'lastRotatedAt',
            '#ringVersion': 'ringVersion',
            '#updatedAt': 'updatedAt',
          },
          ExpressionAttributeValues: {
            ':version': version,
            ':at': facts.lastRotatedAt,
            ':ringVersion': facts.ringVersion,
          },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new CertloopError(
          'conflict',
          `STEK lock ${setId} is not at version ${version} (lease lost)`,
          { source: RECORDS_SOURCE, cause: error },
        );
      }
      throw this.#translate(error, `commit STEK rotation ${setId}`);
    }
  }

  async release(setId: string, version: number): Promise<void> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { [TABLE_PARTITION_KEY]: stekLockKey(setId) },
          ConditionExpression: '#version = :version',
          UpdateExpression: 'SET #until = :zero',
          ExpressionAttributeNames: { '#version': 'version', '#until': 'until' },
          ExpressionAttributeValues: { ':version': version, ':zero': 0 },
        }),
      );
    } catch (error) {
      // Someone else holds it now: nothing of ours to release.
      if (isConditionalCheckFailed(error)) return;
      throw this.#translate(error, `release STEK lease ${setId}`);
    }
  }

  #translate(error: unknown, action: string): CertloopError {
    return translateDynamoDbError(error, { tableName: this.#tableName, action });
  }
}
