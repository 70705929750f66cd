/**
 * certloop benchmarks. Run: `npx tsx bench/run.ts [--quick]` (or `npm run bench`).
 * Prints a table and writes bench/results/latest.json (only figures that were measured).
 * `npx tsx bench/run.ts --p3` measures P3 alone and only prints it.
 *
 * P1 tick cost (read capacity units, RCU, as DynamoDB reports them):
 *   An in-process, in-memory dynalite; one records table per size, created with
 *   `ensureTable`. Each table gets N records (1,000 and 100,000; with --quick 1,000 and
 *   10,000) written with BatchWriteItem (25 items a request, several requests in flight),
 *   through `recordToItem` (so `pk = cert#<id>`, as the store writes them). Exactly 100 of
 *   the N are due (`nextAttemptAt` <= now), spread evenly over the ids; the rest are due
 *   in the future. Every record's shard is `shardFor(id)`.
 *   - tickCost.due100of1k / due100of100k (due100of10k with --quick): the growth of the
 *     store's `consumedReadCapacity` over ONE `findDue(now, 500)`.
 *   - tickCost.scan100k (scan10k with --quick): a full Scan of the large table, default
 *     (eventually consistent) reads like the due index, ReturnConsumedCapacity TOTAL,
 *     summed over all pages.
 *   Ratios printed (not stored): due(large) / due(1k), target <= 1.5, and
 *   scan(large) / due(large), target >= 100. A miss is reported, not hidden.
 *
 * P3 size and start:
 *   - bundle.<function>Bytes: `npx cdk synth -q` runs first if cdk.out is missing or older
 *     than src/, functions/, infra/, cdk.json or package-lock.json; then the byte size of
 *     each function's asset directory, read by `bundleSizes` from infra/bundle-sizes.ts.
 *     Target: worker <= 700 KB (WORKER_BUDGET_BYTES; the earlier 300 KiB is retired).
 *   - coldInitMs: median of 5 fresh `node` processes, each timing (performance.now) one
 *     `require` of the worker bundle (cdk.out asset index.js, copied to a temporary
 *     index.cjs because this package is "type": "module"), with dummy AWS region and
 *     credentials, CERTLOOP_TABLE_NAME, CERTLOOP_ISSUERS (an https directory URL) and
 *     CERTLOOP_HOSTED_ZONES set, and NODE_PATH pointing at this repo's node_modules for
 *     the @aws-sdk/* packages the bundle leaves external. Target: at most
 *     COLD_INIT_MAX_RATIO (2) times the peer below, measured in the same run.
 *   - coldInitSdkOnlyMs, the peer, measured in the same run, interleaved: a file that only
 *     requires the @aws-sdk/* packages the worker bundle requires. Absolute times move
 *     with the machine's load; the ratio worker / peer is what certloop adds.
 *   - coldInitAcmeOnlyMs, a breakdown (not a peer), interleaved too: acme-client's modules
 *     as the worker loads them, bundled alone with the same settings; the worker minus
 *     the peer minus this is what certloop's own code and its other libraries cost.
 *   - x509FirstUseMs: in that same acme-client-only process, after the require, the time
 *     of acme-client's first X.509 call (`splitPemChain('')`). The bundles load
 *     @peculiar/x509 on first use (infra/bundling/lazy-peculiar-x509.cjs): this is the
 *     time taken out of cold init, paid once per function instance that issues, while
 *     the issuance waits for DNS (NodeKeyFactory.warmUp). Printed so that the cold-init
 *     figure never hides where the time went.
 *
 * P2 batch issuance (bench/batch-issue.ts explains it at the top): 50 single-name
 *   certificates (10 with --quick) from one local pebble with a simulated DNS propagation
 *   of 2 s per wait, certloop's worker path against certbot and lego (Debian packages,
 *   installed by scripts/ensure-bench-tools.sh), one after the other on the same pebble.
 *   Keys batchIssue.certloopSeconds / certbotSeconds / legoSeconds; target: certloop at
 *   least 10 x faster than the faster peer.
 *
 * P4 CA budget simulation (bench/budget-sim.ts explains it at the top): 10,000
 *   certificates of 90 days (1,000 with --quick, budget scaled to the fleet) over 180
 *   simulated days, the real planner every 5 minutes on a manual clock. Keys
 *   budget.maxOrdersPer3h (target <= the budget, 300) and budget.latestRenewalFraction
 *   (target <= 0.72). Then per lifetime (90 days, 45 days, 160 hours), without and with
 *   ARI-exempt renewals (`simulateLifetimes`): budget.lifetimes, each with the most
 *   budgeted orders in any 3 h (target <= the budget) and the late renewals (target 0);
 *   a fleet whose steady state does not fit the budget is reported, not simulated.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import Table from 'cli-table3';
import { buildSync } from 'esbuild';
import { bundleSizes, WORKER_BUDGET_BYTES } from '../infra/bundle-sizes.js';
import { BUNDLE_SETTINGS } from '../infra/bundling/bundle-settings.js';
import { FUNCTION_ENTRIES } from '../infra/certloop/certloop-function.js';
import { DynamoDbRecordStore } from '../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../src/adapters/dynamodb/ensure-table.js';
import { recordToItem } from '../src/adapters/dynamodb/table-schema.js';
import { DAY } from '../src/core/time.js';
import { startDynalite } from '../src/local/dynalite-server.js';
import { aRecord, RECORD_CREATED_AT } from '../test/support/record-builder.js';
import { measureBatchIssue } from './batch-issue.js';
import { lifetimeTable, simulateLifetimes } from './budget-lifetimes.js';
import { P4_TARGETS } from './budget-sim.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = process.argv.includes('--quick');
/** `--p3`: only P3 (bundle sizes and cold init), printed; latest.json is left as it is. */
const P3_ONLY = process.argv.includes('--p3');
const DUE_COUNT = 100;
const SMALL = 1_000;
const LARGE = QUICK ? 10_000 : 100_000;
const BATCH = 25;
const IN_FLIGHT = 8;
const COLD_RUNS = 5;
/** Worker cold init may cost at most this many times its SDK-only peer's (same run). */
const COLD_INIT_MAX_RATIO = 2;
/** The tick's "now": fixed, so that runs are repeatable. */
const NOW = RECORD_CREATED_AT + 30 * DAY;

type Row = [figure: string, measured: string, target: string, result: string];

function label(n: number): string {
  return n >= 1000 ? `${n / 1000}k` : String(n);
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

function seconds(sinceMs: number): string {
  return `${((performance.now() - sinceMs) / 1000).toFixed(1)} s`;
}

function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'MISS';
}

// ---------------------------------------------------------------- P1 tick cost

/** Writes `count` records, exactly DUE_COUNT of them due at NOW, spread over the ids. */
async function loadRecords(
  documents: DynamoDBDocumentClient,
  tableName: string,
  count: number,
): Promise<void> {
  const step = count / DUE_COUNT;
  const items = Array.from({ length: count }, (_, i) => {
    const id = `secret/r${String(i).padStart(6, '0')}.example.test`;
    const due = i % step === 0;
    const nextAttemptAt = due ? NOW - (i + 1) * 1000 : NOW + DAY + i * 1000;
    return recordToItem({
      ...aRecord({ id, domains: [`r${i}.example.test`], nextAttemptAt }),
      version: 1,
    });
  });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const chunk = items.slice(next, next + BATCH);
      next += BATCH;
      let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 20) throw new Error(`BatchWriteItem kept leaving items unprocessed`);
        const output = await documents.send(
          new BatchWriteCommand({ RequestItems: { [tableName]: requests } }),
        );
        requests = (output.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

async function fullScanCapacity(client: DynamoDBClient, tableName: string): Promise<number> {
  let units = 0;
  let items = 0;
  let startKey: ScanCommandOutput['LastEvaluatedKey'];
  do {
    const page: ScanCommandOutput = await client.send(
      new ScanCommand({
        TableName: tableName,
        ReturnConsumedCapacity: 'TOTAL',
        ExclusiveStartKey: startKey,
      }),
    );
    units += page.ConsumedCapacity?.ReadCapacityUnits ?? page.ConsumedCapacity?.CapacityUnits ?? 0;
    items += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  log(`scan of ${tableName}: ${items} items`);
  return units;
}

interface TickCost {
  dueSmall: number;
  dueLarge: number;
  scanLarge: number;
}

async function measureTickCost(): Promise<TickCost> {
  const server = await startDynalite();
  const client = new DynamoDBClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const documents = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  try {
    const dueCost = async (count: number): Promise<{ tableName: string; units: number }> => {
      const tableName = `certloop-bench-${label(count)}`;
      await ensureTable(client, tableName);
      const started = performance.now();
      await loadRecords(documents, tableName, count);
      log(`loaded ${count} records into ${tableName} in ${seconds(started)}`);
      const store = new DynamoDbRecordStore({ client, tableName });
      const before = store.consumedReadCapacity;
      const due = await store.findDue(NOW, 500);
      const units = store.consumedReadCapacity - before;
      if (due.length !== DUE_COUNT) {
        throw new Error(`findDue on ${tableName} returned ${due.length} records, not ${DUE_COUNT}`);
      }
      log(`findDue(now, 500) on ${tableName}: ${due.length} due, ${units} RCU`);
      return { tableName, units };
    };
    const small = await dueCost(SMALL);
    const large = await dueCost(LARGE);
    const started = performance.now();
    const scanLarge = await fullScanCapacity(client, large.tableName);
    log(`scan took ${seconds(started)}`);
    return { dueSmall: small.units, dueLarge: large.units, scanLarge };
  } finally {
    client.destroy();
    await server.close();
  }
}

// ---------------------------------------------------------------- P3 size and start

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce(
    (newest, name) => Math.max(newest, newestMtime(join(path, name))),
    stat.mtimeMs,
  );
}

/**
 * Runs `cdk synth` into `assemblyDir` unless it is newer than everything the bundles come
 * from. `context` adds `-c key=value` options (and `-o assemblyDir`).
 */
function ensureAssembly(assemblyDir: string, context: Record<string, string> = {}): void {
  const manifest = join(assemblyDir, 'manifest.json');
  const sources = Math.max(
    ...['src', 'functions', 'infra', 'cdk.json', 'package-lock.json'].map((p) =>
      newestMtime(join(ROOT, p)),
    ),
  );
  if (existsSync(manifest) && statSync(manifest).mtimeMs >= sources) {
    log(`${assemblyDir} is up to date; not synthesizing`);
    return;
  }
  const args = ['cdk', 'synth', '-q'];
  if (Object.keys(context).length > 0) {
    args.push('-o', assemblyDir);
    for (const [key, value] of Object.entries(context)) args.push('-c', `${key}=${value}`);
  }
  log(`${assemblyDir} is missing or older than the sources: running npx ${args.join(' ')}`);
  const started = performance.now();
  const synth = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8' });
  if (synth.status !== 0) {
    throw new Error(`cdk synth failed (${synth.status}):\n${synth.stdout}\n${synth.stderr}`);
  }
  log(`cdk synth took ${seconds(started)}`);
}

/** The asset directory of the worker function, found the way bundleSizes finds them. */
function workerAssetDir(assemblyDir: string): string {
  for (const file of readdirSync(assemblyDir).filter((n) => n.endsWith('.template.json'))) {
    const template = JSON.parse(readFileSync(join(assemblyDir, file), 'utf8')) as {
      Resources?: Record<
        string,
        {
          Type?: string;
          Metadata?: Record<string, unknown>;
          Properties?: { Code?: { S3Key?: unknown } };
        }
      >;
    };
    for (const resource of Object.values(template.Resources ?? {})) {
      const path = resource.Metadata?.['aws:cdk:path'];
      const key = resource.Properties?.Code?.S3Key;
      if (resource.Type !== 'AWS::Lambda::Function' || typeof path !== 'string') continue;
      if (!path.split('/').includes('Worker') || typeof key !== 'string') continue;
      return join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
    }
  }
  throw new Error(`no Worker function in ${assemblyDir}`);
}

const COLD_INIT_SCRIPT = `
const { performance } = require('node:perf_hooks');
const started = performance.now();
const loaded = require(process.argv[1]);
const ms = performance.now() - started;
let firstUseMs;
if (process.argv[2] === 'x509-first-use') {
  const firstUse = performance.now();
  loaded.acmeCrypto.splitPemChain('');
  firstUseMs = performance.now() - firstUse;
}
process.stdout.write(JSON.stringify({ ms, firstUseMs }) + '\\n');
process.exit(0);
`;

/**
 * The peer for cold init: a file that requires only the AWS SDK packages the worker
 * bundle leaves external (read from its `require("@aws-sdk/...")` calls). Every Lambda
 * function using those clients pays this; the ratio shows what certloop adds on top.
 */
function sdkOnlyPeer(bundleSource: string): string {
  const packages = [...new Set(bundleSource.match(/require\("@aws-sdk\/[^"]+"\)/g) ?? [])];
  return `${packages.join(';\n')};\n`;
}

/**
 * Not a peer but a breakdown: acme-client's modules as the worker loads them
 * (src/adapters/acme/acme-client-modules.ts), bundled alone with the worker's settings.
 * Its cold init is the part of the worker's that acme-client brings.
 */
function bundleAcmeClientAlone(outfile: string): void {
  buildSync({
    ...BUNDLE_SETTINGS,
    alias: { ...BUNDLE_SETTINGS.alias },
    external: [...BUNDLE_SETTINGS.external],
    entryPoints: [join(ROOT, 'src', 'adapters', 'acme', 'acme-client-modules.ts')],
    outfile,
    logLevel: 'error',
  });
}

/**
 * Cold init times of the worker bundle, of its SDK-only peer and of acme-client alone,
 * interleaved run by run.
 */
function coldInitRuns(bundle: string): {
  worker: number[];
  sdkOnly: number[];
  acmeOnly: number[];
  x509FirstUse: number[];
  sdkPackages: number;
} {
  const dir = mkdtempSync(join(tmpdir(), 'certloop-bench-'));
  try {
    const copy = join(dir, 'index.cjs');
    copyFileSync(bundle, copy);
    const peerSource = sdkOnlyPeer(readFileSync(bundle, 'utf8'));
    const peer = join(dir, 'sdk-only.cjs');
    writeFileSync(peer, peerSource);
    const acme = join(dir, 'acme-client-only.cjs');
    bundleAcmeClientAlone(acme);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_PATH: join(ROOT, 'node_modules'),
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIABENCHBENCHBENCH0',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'certloop-bench-worker',
      CERTLOOP_TABLE_NAME: 'certloop-bench',
      CERTLOOP_ISSUERS: JSON.stringify({
        default: { directoryUrl: 'https://acme.example.test/directory' },
      }),
      CERTLOOP_HOSTED_ZONES: JSON.stringify([
        { hostedZoneId: 'Z0123456789ABC', domain: 'example.test' },
      ]),
    };
    const once = (file: string, ...extra: string[]): { ms: number; firstUseMs?: number } => {
      const run = spawnSync(process.execPath, ['-e', COLD_INIT_SCRIPT, file, ...extra], {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      const line = run.stdout.trim().split('\n').pop() ?? '';
      if (run.status !== 0 || !line.startsWith('{')) {
        throw new Error(`cold init run failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
      }
      return JSON.parse(line) as { ms: number; firstUseMs?: number };
    };
    const worker: number[] = [];
    const sdkOnly: number[] = [];
    const acmeOnly: number[] = [];
    const x509FirstUse: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      sdkOnly.push(once(peer).ms);
      worker.push(once(copy).ms);
      const acmeRun = once(acme, 'x509-first-use');
      acmeOnly.push(acmeRun.ms);
      x509FirstUse.push(acmeRun.firstUseMs ?? Number.NaN);
    }
    return {
      worker,
      sdkOnly,
      acmeOnly,
      x509FirstUse,
      sdkPackages: peerSource.split('\n').filter(Boolean).length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

interface SizeAndStart {
  bundles: Record<string, number>;
  coldInit: number[];
  coldInitSdkOnly: number[];
  coldInitAcmeOnly: number[];
  x509FirstUse: number[];
  sdkPackages: number;
}

function measureSizeAndStart(): SizeAndStart {
  const assemblyDir = join(ROOT, 'cdk.out');
  ensureAssembly(assemblyDir);
  const sizes = bundleSizes(assemblyDir);
  const bundles: Record<string, number> = {};
  for (const name of Object.keys(FUNCTION_ENTRIES)) {
    const construct = name.charAt(0).toUpperCase() + name.slice(1);
    const size = sizes.find((s) => s.path.split('/').includes(construct));
    if (size) {
      bundles[name] = size.bytes;
      continue;
    }
    // The RotateStek function exists only when the stekSets context is not empty, and
    // cdk.json has none: synthesize once more, with one STEK set, into a scratch assembly.
    const scratch = join(tmpdir(), 'certloop-bench-cdk.out-stek');
    ensureAssembly(scratch, { stekSets: 'bench' });
    const extra = bundleSizes(scratch).find((s) => s.path.split('/').includes(construct));
    if (extra) {
      bundles[name] = extra.bytes;
      log(`${name}: not in cdk.out (stekSets is empty); measured from ${scratch}`);
    } else {
      log(`no bundle for ${name} in ${assemblyDir} or ${scratch}`);
    }
  }
  const started = performance.now();
  const cold = coldInitRuns(join(workerAssetDir(assemblyDir), 'index.js'));
  log(
    `${COLD_RUNS} cold inits took ${seconds(started)}: worker ${cold.worker.map((ms) => ms.toFixed(1)).join(', ')} ms; SDK only ${cold.sdkOnly.map((ms) => ms.toFixed(1)).join(', ')} ms; acme-client alone ${cold.acmeOnly.map((ms) => ms.toFixed(1)).join(', ')} ms; its X.509 stack on first use ${cold.x509FirstUse.map((ms) => ms.toFixed(1)).join(', ')} ms`,
  );
  return {
    bundles,
    coldInit: cold.worker,
    coldInitSdkOnly: cold.sdkOnly,
    coldInitAcmeOnly: cold.acmeOnly,
    x509FirstUse: cold.x509FirstUse,
    sdkPackages: cold.sdkPackages,
  };
}

// ---------------------------------------------------------------- report

/** P3: bundle sizes and the worker's cold init against its SDK-only peer. */
function measureP3(rows: Row[], json: Record<string, unknown>): void {
  const p3Started = performance.now();
  const p3 = measureSizeAndStart();
  log(`P3 took ${seconds(p3Started)}`);
  json.bundle = Object.fromEntries(
    Object.entries(p3.bundles).map(([name, bytes]) => [`${name}Bytes`, bytes]),
  );
  for (const [name, bytes] of Object.entries(p3.bundles)) {
    const isWorker = name === 'worker';
    rows.push([
      `P3 ${name} bundle (bytes)`,
      `${bytes} (${(bytes / 1024).toFixed(1)} KiB)`,
      isWorker ? `<= ${WORKER_BUDGET_BYTES}` : '',
      isWorker ? verdict(bytes <= WORKER_BUDGET_BYTES) : '',
    ]);
  }
  const coldInitMs = Math.round(median(p3.coldInit) * 10) / 10;
  const sdkOnlyMs = Math.round(median(p3.coldInitSdkOnly) * 10) / 10;
  json.coldInitMs = coldInitMs;
  json.coldInitSdkOnlyMs = sdkOnlyMs;
  const acmeOnlyMs = Math.round(median(p3.coldInitAcmeOnly) * 10) / 10;
  json.coldInitAcmeOnlyMs = acmeOnlyMs;
  const x509FirstUseMs = Math.round(median(p3.x509FirstUse) * 10) / 10;
  json.x509FirstUseMs = x509FirstUseMs;
  const ratio = coldInitMs / sdkOnlyMs;
  json.coldInitRatio = Math.round(ratio * 100) / 100;
  rows.push(
    [`P3 worker cold init, median of ${COLD_RUNS} (ms)`, String(coldInitMs), '', ''],
    [
      `P3 peer: require of its ${p3.sdkPackages} AWS SDK packages only (ms)`,
      String(sdkOnlyMs),
      '',
      '',
    ],
    [
      'P3 breakdown: acme-client alone, bundled like the worker (ms)',
      `${acmeOnlyMs} (rest of the worker: ${(coldInitMs - sdkOnlyMs - acmeOnlyMs).toFixed(1)})`,
      '',
      '',
    ],
    [
      'P3 not in cold init: @peculiar/x509 on first use, in the DNS wait (ms)',
      String(x509FirstUseMs),
      '',
      '',
    ],
    [
      'P3 worker cold init / peer',
      ratio.toFixed(2),
      `<= ${COLD_INIT_MAX_RATIO}`,
      verdict(ratio <= COLD_INIT_MAX_RATIO),
    ],
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  if (P3_ONLY) {
    const rows: Row[] = [];
    measureP3(rows, {});
    const table = new Table({ head: ['Figure', 'Measured', 'Target', 'Result'] });
    table.push(...rows);
    console.log('certloop bench, P3 only (bench/results/latest.json not written)');
    console.log(table.toString());
    return;
  }
  if (QUICK) log(`--quick: the large table has ${LARGE} records, not 100,000`);
  const rows: Row[] = [];
  const json: Record<string, unknown> = {};

  const p1Started = performance.now();
  const tick = await measureTickCost();
  log(`P1 took ${seconds(p1Started)}`);
  const small = label(SMALL);
  const large = label(LARGE);
  json.tickCost = {
    [`due100of${small}`]: tick.dueSmall,
    [`due100of${large}`]: tick.dueLarge,
    [`scan${large}`]: tick.scanLarge,
  };
  const growth = tick.dueLarge / tick.dueSmall;
  const scanRatio = tick.scanLarge / tick.dueLarge;
  rows.push(
    [`P1 findDue, 100 due of ${small} (RCU)`, String(tick.dueSmall), '', ''],
    [
      `P1 findDue, 100 due of ${large} (RCU)${QUICK ? ' [quick]' : ''}`,
      String(tick.dueLarge),
      '',
      '',
    ],
    [`P1 full Scan of ${large} (RCU)${QUICK ? ' [quick]' : ''}`, String(tick.scanLarge), '', ''],
    [`P1 due100of${large} / due100of${small}`, growth.toFixed(2), '<= 1.5', verdict(growth <= 1.5)],
    [
      `P1 scan${large} / due100of${large}`,
      scanRatio.toFixed(1),
      '>= 100',
      verdict(scanRatio >= 100),
    ],
  );

  const p2Started = performance.now();
  const batch = await measureBatchIssue({ count: QUICK ? 10 : 50, dnsDelayMs: 2000, log });
  log(`P2 took ${seconds(p2Started)}`);
  json.batchIssue = {
    certloopSeconds: batch.certloopSeconds,
    certbotSeconds: batch.certbotSeconds,
    legoSeconds: batch.legoSeconds,
  };
  const fasterPeer = Math.min(batch.certbotSeconds, batch.legoSeconds);
  const speedup = fasterPeer / batch.certloopSeconds;
  rows.push(
    [`P2 certloop, ${batch.count} certificates (s)`, String(batch.certloopSeconds), '', ''],
    [`P2 certbot, ${batch.count} certificates (s)`, String(batch.certbotSeconds), '', ''],
    [`P2 lego, ${batch.count} certificates (s)`, String(batch.legoSeconds), '', ''],
    ['P2 faster peer / certloop', speedup.toFixed(1), '>= 10', verdict(speedup >= 10)],
  );

  measureP3(rows, json);

  const p4Started = performance.now();
  const lifetimes = await simulateLifetimes({ certificates: QUICK ? 1_000 : 10_000, log });
  log(`P4 took ${seconds(p4Started)}`);
  const sim = lifetimes.find((run) => run.lifetimeMs === 90 * DAY && !run.ari)?.result;
  if (!sim) throw new Error('P4: the 90-day fleet without ARI was not simulated');
  json.budget = {
    maxOrdersPer3h: sim.maxOrdersPer3h,
    latestRenewalFraction: Number(sim.latestRenewalFraction.toFixed(4)),
    lifetimes: lifetimes.map((run) => ({
      label: run.label,
      budgetedPerWindow: Number(run.capacity.ordersPerWindow.toFixed(1)),
      fits: run.capacity.fits,
      ...(run.result
        ? {
            maxBudgetedPer3h: run.result.maxBudgetedPer3h,
            maxOrdersPer3h: run.result.maxOrdersPer3h,
            lateRenewals: run.result.lateRenewals,
            renewals: run.result.renewals,
          }
        : {}),
    })),
  };
  rows.push(
    [
      `P4 most orders in any 3 h, ${sim.certificates} certificates, ${sim.days} days`,
      String(sim.maxOrdersPer3h),
      `<= ${sim.budget.orders}`,
      verdict(sim.maxOrdersPer3h <= sim.budget.orders),
    ],
    [
      'P4 latest renewal, fraction of lifetime',
      sim.latestRenewalFraction.toFixed(4),
      `<= ${P4_TARGETS.latestRenewalFraction}`,
      verdict(sim.latestRenewalFraction <= P4_TARGETS.latestRenewalFraction),
    ],
  );

  const table = new Table({ head: ['Figure', 'Measured', 'Target', 'Result'] });
  table.push(...rows);
  console.log(QUICK ? `certloop bench (--quick: ${large} records, not 100k)` : 'certloop bench');
  console.log(table.toString());
  console.log(lifetimeTable(lifetimes));

  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  console.log(`wrote bench/results/latest.json; total ${seconds(started)}`);
}

await main();
