/**
 * Issuer rotation read cost (issue 15): read capacity units (RCU) per planner run while
 * the default issuer's directory URL changes under a fleet of N certificates (default
 * 10,000), next to P1 (one `findDue(now, 500)`) measured on the same table in the same
 * run. Run: `npx tsx bench/rotation-reads.ts [--records N] [--batch B] [--runs R]`.
 *
 * An in-process dynalite; one records table created with `ensureTable` (so with the
 * `issued-by` index). N records, each holding a certificate issued by `default` under
 * the staging directory URL (stamped, `recordToItem` derives the index key), written
 * with BatchWriteItem; exactly 100 are due at NOW (as P1). Every DynamoDB command of
 * the planner is sent with ReturnConsumedCapacity TOTAL by a client middleware, which
 * sums the read units (GetItem, Query, Scan) and the write units (PutItem) per run.
 *
 * 1. The runs after the upgrade: the identities are first seen (the baseline) and the
 *    one-time upgrade pass walks the table, a Scan page per run, until every item is
 *    indexed (the loaded items already are; the pass still has to look). Then one run
 *    of a converged fleet.
 * 2. The directory URL changes to production. Run 1 starts the rotation (it counts the
 *    unconverged records once: Select COUNT on the stale key), the later runs each
 *    switch a batch. Between runs the worker is simulated: every record switched is
 *    re-issued (stamped with production, marker cleared) with a plain put; the due
 *    records that are not part of the rotation are left due.
 * 3. For comparison, the cost of the Scan the previous rotation step made every run.
 * Prints one table and a JSON line; writes no file (bench/run.ts may wire it in).
 */
import { performance } from 'node:perf_hooks';
import { DynamoDBClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import Table from 'cli-table3';
import { DynamoDbControlRecords } from '../src/adapters/dynamodb/dynamodb-control-records.js';
import { DynamoDbRecordStore } from '../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../src/adapters/dynamodb/ensure-table.js';
import { recordToItem } from '../src/adapters/dynamodb/table-schema.js';
import { MemoryWorkQueue } from '../src/adapters/memory/memory-work-queue.js';
import { plannerRun } from '../src/app/compose-planner.js';
import type { CertificateRecord } from '../src/core/certificate-record.js';
import { issuedBy, type RotationState } from '../src/core/issuer-rotation.js';
import { HOUR } from '../src/core/time.js';
import { startDynalite } from '../src/local/dynalite-server.js';
import type { Clock } from '../src/ports/clock.js';
import type { Logger } from '../src/ports/logger.js';
import { ISSUER_ROTATION } from '../src/services/reconcile-issuer.js';
import { aRecord, RECORD_CREATED_AT } from '../test/support/record-builder.js';

const DAY = 24 * HOUR;
const STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
const PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
const NOW = RECORD_CREATED_AT + 30 * DAY;
const DUE_COUNT = 100;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer`);
  return value;
}

const RECORDS = option('records', 10_000);
const BATCH = option('batch', 30);
const RUNS = option('runs', 6);

function log(message: string): void {
  console.error(`[rotation-bench] ${message}`);
}

const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => quiet,
} as unknown as Logger;

function record(i: number): CertificateRecord {
  const id = `secret/r${String(i).padStart(6, '0')}.example.test`;
  const due = i % (RECORDS / DUE_COUNT) === 0;
  const issuedAt = NOW - 10 * DAY;
  return {
    ...aRecord({
      id,
      domains: [`r${i}.example.test`],
      status: 'active',
      current: {
        serial: `s${i}`,
        notBefore: issuedAt,
        notAfter: issuedAt + 90 * DAY,
        domains: [`r${i}.example.test`],
        keyType: 'ec-p256',
        issuer: 'default',
        issuerIdentity: STAGING,
        issuedAt,
      },
      renewAt: issuedAt + 60 * DAY,
      nextAttemptAt: due ? NOW - (i + 1) * 1000 : issuedAt + 60 * DAY + i * 1000,
    }),
    version: 1,
  };
}

async function load(documents: DynamoDBDocumentClient, tableName: string): Promise<void> {
  const items = Array.from({ length: RECORDS }, (_, i) => recordToItem(record(i)));
  let next = 0;
  const writer = async (): Promise<void> => {
    while (next < items.length) {
      const chunk = items.slice(next, next + 25);
      next += 25;
      let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const output = await documents.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
        );
        requests = (output.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, writer));
}

interface Units {
  reads: number;
  writes: number;
  calls: Record<string, number>;
}

async function main(): Promise<void> {
  const server = await startDynalite();
  const clientConfig = {
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  };
  const client = new DynamoDBClient(clientConfig);
  const plannerClient = new DynamoDBClient(clientConfig);
  let units: Units = { reads: 0, writes: 0, calls: {} };
  plannerClient.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const name = context.commandName ?? 'unknown';
      const capacity = (
        result.output as {
          ConsumedCapacity?: { CapacityUnits?: number; ReadCapacityUnits?: number };
        }
      ).ConsumedCapacity;
      const spent = capacity?.ReadCapacityUnits ?? capacity?.CapacityUnits ?? 0;
      if (name === 'PutItemCommand' || name === 'UpdateItemCommand') units.writes += spent;
      else units.reads += spent;
      units.calls[name] = (units.calls[name] ?? 0) + 1;
      return result;
    },
    { step: 'initialize', name: 'consumedCapacity' },
  );
  const documents = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  try {
    const tableName = 'certloop-rotation-bench';
    await ensureTable(client, tableName);
    const started = performance.now();
    await load(documents, tableName);
    log(`loaded ${RECORDS} records in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    // P1 on the same table: one findDue(now, 500).
    const p1Store = new DynamoDbRecordStore({ client, tableName });
    const due = await p1Store.findDue(NOW, 500);
    const p1 = p1Store.consumedReadCapacity;
    log(`P1 findDue(now, 500): ${due.length} due, ${p1} RCU`);

    let now = NOW;
    const clock: Clock = { now: () => now };
    const records = new DynamoDbRecordStore({ client, tableName });
    const identities = { default: STAGING };
    const queue = new MemoryWorkQueue();
    const planner = () =>
      plannerRun(
        {
          records: new DynamoDbRecordStore({ client: plannerClient, tableName }),
          control: new DynamoDbControlRecords({ client: plannerClient, tableName }),
          queue,
          clock,
          logger: quiet,
          budget: { orders: 1_000_000, windowMs: 3 * HOUR, slackMs: 0 },
        },
        {
          maxRecordsPerTick: 500,
          issuerRotation: { target: 'default', batch: BATCH, identities: { ...identities } },
        },
      )();
    const measure = async (): Promise<Units> => {
      units = { reads: 0, writes: 0, calls: {} };
      await planner();
      queue.take(100_000);
      now += 5 * 60_000;
      return units;
    };
    /** The worker's effect on what the rotation switched: re-issued under production. */
    const reissueSwitched = async (): Promise<number> => {
      let count = 0;
      const switched = await records.findIssuedBy(
        issuedBy('follows-to', 'default', PRODUCTION),
        RECORDS,
      );
      for (const id of switched) {
        const stored = await records.get(id);
        if (!stored || stored.issuerIdentity === undefined) continue;
        const { issuerIdentity: _marker, ...settled } = stored;
        await records.put(
          {
            ...settled,
            current: {
              ...(stored.current as NonNullable<CertificateRecord['current']>),
              issuerIdentity: PRODUCTION,
              issuedAt: now,
            },
            nextAttemptAt: now + 60 * DAY,
          },
          stored.version,
        );
        count += 1;
      }
      return count;
    };

    const rows: [string, string, string][] = [];
    const callText = (u: Units) =>
      Object.entries(u.calls)
        .map(([name, n]) => `${name.replace('Command', '')} ${n}`)
        .join(', ');
    // The runs after the upgrade: the identities become the baseline, and the one-time
    // upgrade pass walks the table (a Scan page per run) until every item is indexed.
    const control = new DynamoDbControlRecords({ client, tableName });
    const upgrade: Units[] = [];
    do upgrade.push(await measure());
    while (
      !(await control.get<RotationState>(ISSUER_ROTATION))?.value.indexed &&
      upgrade.length < 1000
    );
    const upgradeMean = upgrade.reduce((sum, u) => sum + u.reads, 0) / upgrade.length;
    rows.push([
      `upgrade pass: ${upgrade.length} runs (one Scan page each), mean`,
      upgradeMean.toFixed(1),
      callText(upgrade[0] as Units),
    ]);
    const baseline = await measure();
    rows.push(['converged run (nothing to rotate)', baseline.reads.toFixed(1), callText(baseline)]);

    identities.default = PRODUCTION;
    const perRun: Units[] = [];
    for (let run = 0; run < RUNS; run++) {
      const u = await measure();
      perRun.push(u);
      const switched = await reissueSwitched();
      rows.push([
        `rotation run ${run + 1}${run === 0 ? ' (start: counts once)' : ''}, ${switched} switched`,
        u.reads.toFixed(1),
        callText(u),
      ]);
    }
    const steady = perRun.slice(1);
    const steadyMean = steady.reduce((sum, u) => sum + u.reads, 0) / Math.max(1, steady.length);

    let scanUnits = 0;
    let startKey: ScanCommandOutput['LastEvaluatedKey'];
    do {
      const page: ScanCommandOutput = await client.send(
        new ScanCommand({
          TableName: tableName,
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
          ExclusiveStartKey: startKey,
        }),
      );
      scanUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    rows.push(['P1: findDue(now, 500), same table', p1.toFixed(1), `${due.length} due`]);
    rows.push([
      'previous rotation step: consistent Scan of the table (every run)',
      scanUnits.toFixed(1),
      'Scan',
    ]);

    const table = new Table({ head: [`${RECORDS} records, batch ${BATCH}`, 'RCU', 'calls'] });
    for (const row of rows) table.push(row);
    console.log(table.toString());
    console.log(
      JSON.stringify({
        records: RECORDS,
        batch: BATCH,
        p1DueRcu: p1,
        upgradeRuns: upgrade.length,
        upgradeRunRcuMean: Number(upgradeMean.toFixed(2)),
        convergedRunRcu: baseline.reads,
        rotationStartRunRcu: perRun[0]?.reads,
        rotationSteadyRunRcuMean: Number(steadyMean.toFixed(2)),
        rotationSteadyRunRcuMax: Math.max(...steady.map((u) => u.reads)),
        rotationRunWcu: perRun.map((u) => u.writes),
        previousScanRcu: scanUnits,
      }),
    );
  } finally {
    client.destroy();
    plannerClient.destroy();
    await server.close();
  }
}

await main();
