import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runNodeLogged } from '../support/run-logged.js';

/** The AWS SDK's warning, as @aws-sdk/core prints it on Node < 22. */
const SDK_NODE_WARNING = /NodeVersionSupportWarning|will require node >=|You are running node v/i;
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/** A local port nothing listens on: every SDK request to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Dummy credentials and an unreachable endpoint; the user's own switch unset. */
async function sdkEnvironment(): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAWARNINGTEST00000',
    AWS_SECRET_ACCESS_KEY: 'warning-test',
    AWS_ENDPOINT_URL: `http://127.0.0.1:${await closedPort()}`,
    AWS_MAX_ATTEMPTS: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    CERTLOOP_TABLE_NAME: '',
  };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  delete env.NODE_NO_WARNINGS;
  delete env.NODE_OPTIONS;
  return env;
}

function runNode(args: string[], env: NodeJS.ProcessEnv) {
  return runNodeLogged(args, { logName: 'cli-node-version-warning', env });
}

describe("the AWS SDK's Node-version warning", () => {
  it.runIf(NODE_MAJOR < 22)(
    'is printed by a plain SDK client on this Node (the check below would see it)',
    async () => {
      const plain = await runNode(
        [
          '--input-type=module',
          '-e',
          "import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';" +
            'await new DynamoDBClient({}).send(new ListTablesCommand({})).catch(() => {});',
        ],
        await sdkEnvironment(),
      );
      expect(plain.stderr).toMatch(SDK_NODE_WARNING);
    },
  );

  it('is not printed by `certloop status --table` against an unreachable DynamoDB', async () => {
    const result = await runNode(
      ['bin/certloop.mjs', 'status', '--table', 'certloop-unreachable'],
      await sdkEnvironment(),
    );
    // The command built a DynamoDB client and failed on the refused connection...
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/certloop: list certificate records: .*ECONNREFUSED/);
    // ...and said nothing about Node versions.
    expect(result.stderr).not.toMatch(SDK_NODE_WARNING);
    expect(result.stderr).not.toMatch(/Warning:/);
  });
});
