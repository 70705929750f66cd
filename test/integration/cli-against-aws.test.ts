import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { DAY } from '../../src/core/time.js';
import { type DynaliteEnv, useDynaliteEnv } from '../support/aws-env.js';
import { aRecord } from '../support/record-builder.js';

const run = promisify(execFile);
const logFile = join(process.cwd(), 'test', '.logs', `cli-aws-${process.pid}.log`);

// The CLI against "AWS": a DynamoDB table reached through the standard credential chain
// and AWS_ENDPOINT_URL_DYNAMODB (dynalite here), as an operator's shell would.
describe('certloop status and renew against a DynamoDB table', () => {
  let dynalite: DynaliteEnv;
  const table = 'cli-records';

  beforeAll(async () => {
    dynalite = await useDynaliteEnv();
    await ensureTable(dynalite.client, table);
    const records = new DynamoDbRecordStore({ client: dynalite.client, tableName: table });
    const now = Date.now();
    for (const [name, serial] of [
      ['tls/www', '0AB1'],
      ['tls/api', '0CD2'],
    ] as const) {
      const id = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
      const domains = [`${name.slice(4)}.example.com`];
      await records.create(
        aRecord({
          id,
          domains,
          status: 'active',
          current: {
            serial,
            notBefore: now,
            notAfter: now + 90 * DAY,
            domains,
            keyType: 'ec-p256',
            issuer: 'default',
            issuedAt: now,
          },
          renewAt: now + 60 * DAY,
          nextAttemptAt: now + 60 * DAY,
        }),
      );
    }
  });
  afterAll(async () => {
    await dynalite?.teardown();
  });

  async function certloop(...args: string[]) {
    const { stdout, stderr } = await run(process.execPath, ['bin/certloop.mjs', ...args], {
      cwd: process.cwd(),
      env: { ...process.env },
    });
    appendFileSync(logFile, stdout + stderr);
    return stdout;
  }

  it('lists the records of the table named by --table', async () => {
    const rows = JSON.parse(await certloop('status', '--table', table, '--json')) as Array<{
      id: string;
      current: { serial: string };
    }>;
    expect(rows.map((r) => r.current.serial).sort()).toEqual(['0AB1', '0CD2']);
  });

  it('forces a renewal by serial in the table, with its reason', async () => {
    const report = JSON.parse(
      await certloop(
        'renew',
        '--table',
        table,
        '--serial',
        '0a:b1',
        '--reason',
        'CA notice',
        '--json',
      ),
    ) as { scheduled: number; matched: Array<{ id: string }> };
    expect(report.scheduled).toBe(1);
    expect(report.matched[0]?.id).toMatch(/tls\/www/);
    const records = new DynamoDbRecordStore({ client: dynalite.client, tableName: table });
    const www = (await records.list()).find((r) => r.id.includes('tls/www'));
    expect(www?.forceRenewal?.reason).toBe('CA notice');
    expect(www?.nextAttemptAt).toBeLessThanOrEqual(Date.now());
  });
});
