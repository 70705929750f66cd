import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbControlRecords } from '../adapters/dynamodb/dynamodb-control-records.js';
import { DynamoDbRecordStore } from '../adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../adapters/dynamodb/ensure-table.js';
import { startDynalite } from './dynalite-server.js';
import { LOCAL_ENDPOINT_FILE, LOCAL_TABLE_NAME } from './runner.js';

export interface LocalRecords {
  records: DynamoDbRecordStore;
  control: DynamoDbControlRecords;
  close(): Promise<void>;
}

async function runnerEndpoint(stateDir: string): Promise<string | undefined> {
  try {
    const { dynamodb, pid } = JSON.parse(
      await readFile(join(stateDir, LOCAL_ENDPOINT_FILE), 'utf8'),
    ) as { dynamodb: string; pid: number };
    process.kill(pid, 0); // throws when the runner is gone
    return dynamodb;
  } catch {
    return undefined;
  }
}

/**
 * The records of a local-mode state folder, for `certloop status` and `renew`: through
 * the running `npm start` (which holds the database open) when there is one, else by
 * opening the database here.
 */
export async function openLocalRecords(stateDirectory: string): Promise<LocalRecords> {
  const stateDir = resolve(stateDirectory);
  if (!existsSync(join(stateDir, 'dynamodb'))) {
    throw new Error(
      `no local-mode state in ${stateDir}: run \`npm start\` first, or pass --state-dir`,
    );
  }
  let endpoint = await runnerEndpoint(stateDir);
  let close = async () => {};
  if (!endpoint) {
    const dynalite = await startDynalite({ path: join(stateDir, 'dynamodb') });
    endpoint = dynalite.endpoint;
    close = () => dynalite.close();
  }
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const client = new DynamoDBClient({});
  await ensureTable(client, LOCAL_TABLE_NAME);
  return {
    records: new DynamoDbRecordStore({ client, tableName: LOCAL_TABLE_NAME }),
    control: new DynamoDbControlRecords({ client, tableName: LOCAL_TABLE_NAME }),
    close: async () => {
      client.destroy();
      await close();
    },
  };
}
