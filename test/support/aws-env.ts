import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynalite } from '../../src/local/dynalite-server.js';

export interface DynaliteEnv {
  /** The dynalite endpoint also placed in AWS_ENDPOINT_URL_DYNAMODB. */
  endpoint: string;
  /** A client built without an explicit endpoint: it finds dynalite through the env. */
  client: DynamoDBClient;
  /** Destroys the client, stops dynalite and restores the environment. */
  teardown(): Promise<void>;
}

const ENV = {
  AWS_ENDPOINT_URL_DYNAMODB: undefined as string | undefined,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'certloop-test-access-key',
  AWS_SECRET_ACCESS_KEY: 'certloop-test-secret-key',
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
} satisfies Record<string, string | undefined>;

/**
 * Starts an in-memory dynalite and points the standard AWS environment at it, the way
 * production points the SDK at DynamoDB: region and credentials from the environment, the
 * endpoint from AWS_ENDPOINT_URL_DYNAMODB. Test files run in their own processes, so
 * changing process.env here touches no other file.
 */
export async function useDynaliteEnv(): Promise<DynaliteEnv> {
  const server = await startDynalite();
  const saved = new Map<string, string | undefined>();
  const wanted: Record<string, string | undefined> = {
    ...ENV,
    AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
  };
  for (const [name, value] of Object.entries(wanted)) {
    saved.set(name, process.env[name]);
    setEnv(name, value);
  }
  const client = new DynamoDBClient({});
  return {
    endpoint: server.endpoint,
    client,
    async teardown() {
      client.destroy();
      await server.close();
      for (const [name, value] of saved) setEnv(name, value);
    },
  };
}

let tables = 0;

/** A table name not used before in this process (DynamoDB wants 3 to 255 characters). */
export function freshTableName(prefix = 'certloop-records'): string {
  tables += 1;
  return `${prefix}-${process.pid}-${tables}`;
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
