import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { translateDynamoDbError } from './errors.js';
import { recordsTableDefinition } from './table-schema.js';

export interface EnsureTableOptions {
  /** Longest wait for the table to become ACTIVE, in seconds (default 120). */
  maxWaitSeconds?: number;
}

/**
 * Creates the records table (shape from table-schema.ts) unless it exists, then waits
 * until it is ACTIVE. For local mode and tests; on AWS the table comes from the stack.
 * Returns whether this call created it.
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: EnsureTableOptions = {},
): Promise<{ created: boolean }> {
  let created = false;
  try {
    if (!(await tableExists(client, tableName))) {
      try {
        await client.send(new CreateTableCommand(recordsTableDefinition(tableName)));
        created = true;
      } catch (error) {
        // Someone else created it between our DescribeTable and CreateTable.
        if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
      }
    }
    await waitUntilTableExists(
      { client, minDelay: 1, maxDelay: 5, maxWaitTime: options.maxWaitSeconds ?? 120 },
      { TableName: tableName },
    );
  } catch (error) {
    throw translateDynamoDbError(error, { tableName, action: `ensure table ${tableName}` });
  }
  return { created };
}

async function tableExists(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return false;
    throw error;
  }
}
