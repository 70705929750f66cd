/**
 * Benchmark P2, batch issuance. Run: `npx tsx bench/batch-issue.ts [--quick] [--workers n]`
 * (50 certificates, or 10 with --quick; 2 s simulated DNS propagation per wait). Prints
 * the three figures and min(certbot, lego) / certloop (target >= 10); `measureBatchIssue`
 * is the same measurement for bench/run.ts (keys `batchIssue.certloopSeconds`,
 * `batchIssue.certbotSeconds`, `batchIssue.legoSeconds`).
 *
 * What is measured: the wall time to issue `count` single-name certificates (EC P-256
 * keys, the default of all three clients) from ONE local pebble, with pebble-challtestsrv
 * as the DNS server pebble validates DNS-01 against. pebble is started by `startPebble`
 * (src/local/pebble-server.ts): PEBBLE_VA_NOSLEEP=1 (no artificial validation delay),
 * PEBBLE_WFE_NONCEREJECT=0 and PEBBLE_AUTHZREUSE=0, and every peer asks for names of its
 * own (`c0001.certloop.bench.test`, `b0001.certbot.bench.test`,
 * `l0001.lego.bench.test`, ...), so no peer can reuse another's valid authorizations.
 * The peers run one after the other (certloop, certbot, lego) on the same pebble, never
 * at the same time. The DNS propagation of a real provider is simulated by a sleep of
 * `dnsDelayMs` (2 s) each time a client waits for its TXT values to propagate: once per
 * wait, whatever the number of values published before it.
 *
 * certloop (`certloopSeconds`): the real worker path, composed as functions/worker.ts
 * composes it: `readRuntimeConfig` on a worker environment (CERTLOOP_DNS=challtestsrv,
 * CERTLOOP_SECRET_STORE=directory in a temp folder, one issuer: the pebble directory with
 * its listener certificate as trustedCaFile; every other setting at its default, so 10
 * records in parallel inside a batch), `composeRuntime` (dynalite in-process for
 * DynamoDB, AcmeClientCa, ChalltestsrvDns01Solver, DirectorySecretStore,
 * NodeKeyFactory), then `createWorkerHandler`. The DNS-01 solver is decorated
 * (`decorateDns`) so that `waitForPropagation` sleeps `dnsDelayMs` after the real wait
 * returns. `count` records are registered first (not timed). Then the records are handed
 * to the handler as SQS events the way the deployed event source delivers them: batches
 * of WORKER_BATCH_SIZE (10) messages, one batch per invocation (one DNS wait per batch),
 * at most `workers` invocations at a time (default CERTLOOP_DEFAULTS.workerMaxConcurrency,
 * 5, the deployed maximum concurrency), each concurrent invocation with its own runtime
 * (one Lambda instance each: own clients, own lease owner; they share the table and the
 * secret store, as instances share DynamoDB and Secrets Manager). 50 certificates are 5
 * full batches. Timed: from the first invocation to the return of the last one, so the
 * first lease write before the first order and the TXT cleanup after the last
 * certificate are included, and so is the ACME account creation (the account key is not
 * made beforehand). Afterwards every record must be `active` with a current serial and
 * every secret's `current` version must hold a certificate for its name whose public key
 * matches privkey.pem; otherwise the measurement throws.
 *
 * certbot (`certbotSeconds`): `certbot certonly --manual --preferred-challenges dns
 * --manual-auth-hook <auth.sh> --manual-cleanup-hook <cleanup.sh> --server <pebble
 * directory> -d <name> --non-interactive --agree-tos -m bench@example.test
 * --no-eff-email --config-dir/--work-dir/--logs-dir <temp>`, once per certificate,
 * sequentially: certbot takes a lock on its config folder and issues one lineage per
 * run, so a certbot user issues 50 single-name certificates as 50 runs in a row. The
 * account is registered by the first run (timed), as a user's first run does.
 * REQUESTS_CA_BUNDLE is pebble's listener certificate. auth.sh sets the TXT value
 * through challtestsrv's management API (`POST /set-txt`) with curl and sleeps the
 * delay (the manual plugin has no propagation wait of its own); cleanup.sh clears it
 * (`POST /clear-txt`).
 *
 * lego (`legoSeconds`): `lego --server <pebble directory> --email bench@example.test
 * --accept-tos --dns exec --dns.disable-cp --dns.resolvers <challtestsrv DNS>
 * --path <temp> -d <name> run`, once per certificate, sequentially (one run per
 * certificate, as with certbot; the account is registered by the first run, timed),
 * with LEGO_CA_CERTIFICATES = pebble's listener certificate and EXEC_PATH = exec.sh.
 * lego calls `exec.sh present|cleanup <fqdn> <value>`; present sets the TXT value through
 * challtestsrv and sleeps the delay, cleanup clears it. lego then checks the value itself
 * on challtestsrv (`--dns.disable-cp`: the recursive answer is enough, challtestsrv has
 * no NS records to walk). lego sleeps its polling interval before that first check;
 * EXEC_POLLING_INTERVAL=0 so that lego, like the other two, pays the simulated
 * propagation exactly once (its default, 2 s, would add a second 2 s wait per
 * certificate and inflate the ratio in certloop's favour); EXEC_PROPAGATION_TIMEOUT=30
 * bounds a failing check.
 *
 * Why certloop runs batches in parallel and the others run in a row: each is driven the
 * way it is used. certloop's deployed event source runs up to 5 worker invocations at
 * once; certbot and lego have no way to issue separate certificates in one run, and
 * their users script one run per certificate (certbot also locks its config folder, so
 * runs sharing one account cannot overlap). `--workers 1` shows certloop with a single
 * worker working through the batches one after the other.
 *
 * certbot and lego are timed from the start of the first run to the exit of the last.
 * Every run must exit 0 and leave its certificate and key files (certbot:
 * `live/<name>/{fullchain,privkey}.pem`; lego: `certificates/<name>.{crt,key}`), with
 * the same name and key checks as certloop; a failure throws with the run's output tail.
 * The clients are the Debian packages (certbot 2.1, lego 4.9), installed by
 * scripts/ensure-bench-tools.sh, which this benchmark runs first. Key material is never
 * printed: keys are read only to compare them with their certificates. The engine's
 * warnings and errors go to the bench log; CERTLOOP_BENCH_VERBOSE=1 adds its info and
 * debug lines (with timestamps) to see where the time goes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { CERTLOOP_DEFAULTS } from '../infra/certloop/certloop.js';
import { WORKER_BATCH_SIZE } from '../infra/certloop/work-queue.js';
import { ensureTable } from '../src/adapters/dynamodb/ensure-table.js';
import type { MetricsSink } from '../src/adapters/logging/powertools-metrics.js';
import { composeRuntime } from '../src/app/compose.js';
import { createWorkerHandler } from '../src/app/handlers.js';
import { ENV } from '../src/config/environment.js';
import { readRuntimeConfig } from '../src/config/runtime-config.js';
import { startDynalite } from '../src/local/dynalite-server.js';
import { type PebbleServer, startPebble } from '../src/local/pebble-server.js';
import type { Dns01Solver } from '../src/ports/dns01-solver.js';
import type { LogFields, Logger } from '../src/ports/logger.js';
import { registerCertificate } from '../src/services/register-certificates.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SUFFIX = 'bench.test';
const EMAIL = 'bench@example.test';
const TABLE_NAME = 'certloop-bench-batch-issue';
/** Longest a single certbot or lego run may take before it counts as hung. */
const RUN_TIMEOUT_MS = 180_000;
const TAIL_LINES = 30;

export interface BatchIssueOptions {
  /** Certificates each peer issues (one name each). */
  count: number;
  /** Simulated DNS propagation: slept once per wait for propagation. */
  dnsDelayMs: number;
  log: (message: string) => void;
  /** Concurrent worker invocations for certloop. Default: the deployed maximum (5). */
  workers?: number;
}

export interface BatchIssueResult {
  certloopSeconds: number;
  certbotSeconds: number;
  legoSeconds: number;
  count: number;
}

type Peer = 'certloop' | 'certbot' | 'lego';

function names(peer: Peer, count: number): string[] {
  const letter = peer.charAt(0);
  return Array.from(
    { length: count },
    (_, i) => `${letter}${String(i + 1).padStart(4, '0')}.${peer}.${SUFFIX}`,
  );
}

function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

// ---------------------------------------------------------------- checks shared by all peers

/** The first certificate of a PEM file (a leaf followed by its chain). */
function leafOf(pem: string, file: string): X509Certificate {
  const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!block) throw new Error(`${file} holds no certificate`);
  return new X509Certificate(block[0]);
}

/**
 * Throws unless `certFile` starts with a certificate for exactly `name` whose public key
 * belongs to the private key in `keyFile`. Never puts key material in the error.
 */
async function checkPair(peer: Peer, name: string, certFile: string, keyFile: string) {
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  } catch (error) {
    throw new Error(`${peer}: certificate files of ${name} missing: ${(error as Error).message}`);
  }
  const leaf = leafOf(certPem, certFile);
  const sans = (leaf.subjectAltName ?? '').split(/,\s*/);
  if (sans.length !== 1 || sans[0] !== `DNS:${name}`) {
    throw new Error(`${peer}: ${certFile} names ${leaf.subjectAltName ?? 'nothing'}, not ${name}`);
  }
  let matches = false;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    matches = false;
  }
  if (!matches) throw new Error(`${peer}: the key in ${keyFile} does not match ${certFile}`);
}

// ---------------------------------------------------------------- certloop

/**
 * Passes warnings and errors to the bench log; info and debug lines only with
 * CERTLOOP_BENCH_VERBOSE=1 (they cost time, and the measurement is of the engine).
 */
class BenchLogger implements Logger {
  readonly #verbose = process.env.CERTLOOP_BENCH_VERBOSE === '1';

  constructor(
    private readonly sink: (message: string) => void,
    private readonly fields: LogFields = {},
  ) {}

  debug(message: string, fields?: LogFields): void {
    if (this.#verbose) this.#emit('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    if (this.#verbose) this.#emit('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.#emit('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.#emit('error', message, fields);
  }

  child(fields: LogFields): Logger {
    return new BenchLogger(this.sink, { ...this.fields, ...fields });
  }

  #emit(level: string, message: string, fields?: LogFields): void {
    // KeyMaterial renders as a placeholder in JSON, and the engine never logs keys.
    const at = new Date().toISOString().slice(11, 23);
    this.sink(
      `certloop ${level} ${at}: ${message} ${JSON.stringify({ ...this.fields, ...fields })}`,
    );
  }
}

const NO_METRICS: MetricsSink = { count() {}, gauge() {}, flush() {} };

function sqsEvent(ids: string[], batch: number): SQSEvent {
  return {
    Records: ids.map(
      (id, i) =>
        ({
          messageId: `bench-${batch}-${i}`,
          receiptHandle: `bench-${batch}-${i}`,
          body: JSON.stringify({ id, dueAt: Date.now() }),
          attributes: {},
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:certloop-bench-work',
          awsRegion: 'us-east-1',
        }) as unknown as SQSRecord,
    ),
  };
}

/** The SDK finds dynalite through the standard variables; restored afterwards. */
async function withDynaliteEnv<T>(endpoint: string, action: () => Promise<T>): Promise<T> {
  const settings: Record<string, string> = {
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  };
  const saved = Object.fromEntries(Object.keys(settings).map((k) => [k, process.env[k]]));
  Object.assign(process.env, settings);
  try {
    return await action();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

async function measureCertloop(
  pebble: PebbleServer,
  caFile: string,
  dir: string,
  options: BatchIssueOptions,
  workers: number,
): Promise<number> {
  const ids = names('certloop', options.count);
  const secretsRoot = join(dir, 'certloop-secrets');
  const dynalite = await startDynalite();
  try {
    return await withDynaliteEnv(dynalite.endpoint, async () => {
      const admin = new DynamoDBClient({});
      await ensureTable(admin, TABLE_NAME);
      admin.destroy();

      // The worker's environment, read by the worker's own configuration reader.
      const config = readRuntimeConfig({
        [ENV.tableName]: TABLE_NAME,
        [ENV.issuers]: JSON.stringify({
          default: {
            directoryUrl: pebble.directoryUrl,
            contactEmail: EMAIL,
            trustedCaFile: caFile,
          },
        }),
        [ENV.allowedSuffixes]: `certloop.${SUFFIX}`,
        [ENV.secretStore]: 'directory',
        [ENV.secretStoreDir]: secretsRoot,
        [ENV.dns]: 'challtestsrv',
        [ENV.challtestsrvUrl]: pebble.challtestsrvUrl,
        [ENV.challtestsrvDns]: pebble.dnsServer,
      });
      const logger = new BenchLogger(options.log);
      let waits = 0;
      const delayed = (dns: Dns01Solver): Dns01Solver => ({
        present: (records) => dns.present(records),
        async waitForPropagation(records) {
          await dns.waitForPropagation(records);
          waits += 1;
          await new Promise((done) => setTimeout(done, options.dnsDelayMs));
        },
        cleanup: (records) => dns.cleanup(records),
      });

      const registrar = composeRuntime(config, { logger, owner: 'bench-registration' });
      for (const id of ids) {
        const outcome = await registerCertificate(registrar.registration, { id, domains: [id] });
        if (outcome !== 'created') throw new Error(`certloop: registering ${id} gave ${outcome}`);
      }

      // One runtime per concurrent invocation, as each Lambda instance composes its own.
      const handlers = Array.from({ length: workers }, (_, i) =>
        createWorkerHandler(
          composeRuntime(config, { logger, owner: `bench-worker-${i + 1}`, decorateDns: delayed }),
          NO_METRICS,
        ),
      );
      const batches: string[][] = [];
      for (let i = 0; i < ids.length; i += WORKER_BATCH_SIZE) {
        batches.push(ids.slice(i, i + WORKER_BATCH_SIZE));
      }
      const failed: string[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        handlers.map(async (handler) => {
          while (next < batches.length) {
            const index = next++;
            const response = await handler(sqsEvent(batches[index] as string[], index));
            failed.push(...response.batchItemFailures.map((f) => f.itemIdentifier));
            options.log(
              `certloop: batch ${index + 1}/${batches.length} done at ${secondsSince(started).toFixed(1)} s`,
            );
          }
        }),
      );
      const seconds = secondsSince(started);
      options.log(
        `certloop: ${ids.length} certificates in ${seconds.toFixed(2)} s, ${batches.length} batches, ` +
          `${waits} propagation waits, ${Math.min(workers, batches.length)} concurrent invocations`,
      );
      if (failed.length > 0) {
        throw new Error(`certloop: the worker reported ${failed.length} failed messages`);
      }

      let written = 0;
      for (const id of ids) {
        const record = await registrar.registration.records.get(id);
        if (record?.status !== 'active' || !record.current?.serial) {
          throw new Error(
            `certloop: record ${id} is ${record?.status ?? 'missing'}: ${record?.lastError?.message ?? 'no error recorded'}`,
          );
        }
        const version = await realpath(join(secretsRoot, 'certs', id, 'current'));
        await checkPair('certloop', id, join(version, 'cert.pem'), join(version, 'privkey.pem'));
        written += 1;
      }
      if (written !== options.count) {
        throw new Error(`certloop: ${written} certificates written, not ${options.count}`);
      }
      return seconds;
    });
  } finally {
    await dynalite.close();
  }
}

// ---------------------------------------------------------------- certbot and lego

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  tail: string;
}

/** Runs a command to its end, keeping the last lines of its output for errors. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const keep = (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n'));
      if (lines.length > TAIL_LINES * 4) lines.splice(0, lines.length - TAIL_LINES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, tail: lines.slice(-TAIL_LINES).join('\n') });
    });
  });
}

function checkRun(peer: Peer, name: string, result: RunResult): void {
  if (result.code === 0) return;
  const how = result.signal ? `was killed by ${result.signal}` : `exited ${result.code}`;
  throw new Error(`${peer} for ${name} ${how}. Last output:\n${result.tail}`);
}

/** A shell script, written once to the temp dir, mode 0700. */
async function script(path: string, body: string): Promise<string> {
  await writeFile(path, `#!/bin/sh\nset -eu\n${body}`);
  await chmod(path, 0o700);
  return path;
}

/**
 * The DNS hooks, as a user would write them for a DNS API: set or clear the TXT value
 * through challtestsrv's management API (JSON built with printf), and after setting it
 * wait the propagation delay.
 */
function hookScripts(managementUrl: string, delayMs: number) {
  const post = `post() { curl -sS --fail --max-time 5 -X POST -d "$2" '${managementUrl}'"/$1"; }\n`;
  const delay = `sleep ${delayMs / 1000}`;
  return {
    certbotAuth: [
      post,
      `post set-txt "$(printf '{"host":"_acme-challenge.%s.","value":"%s"}' "$CERTBOT_DOMAIN" "$CERTBOT_VALIDATION")"\n`,
      `${delay}\n`,
    ].join(''),
    certbotCleanup: [
      post,
      `post clear-txt "$(printf '{"host":"_acme-challenge.%s."}' "$CERTBOT_DOMAIN")"\n`,
    ].join(''),
    legoExec: [
      post,
      'case "$1" in\n',
      `  present) post set-txt "$(printf '{"host":"%s","value":"%s"}' "$2" "$3")"; ${delay} ;;\n`,
      `  cleanup) post clear-txt "$(printf '{"host":"%s"}' "$2")" ;;\n`,
      '  *) echo "unknown command: $1" >&2; exit 2 ;;\n',
      'esac\n',
    ].join(''),
  };
}

async function measureSequential(
  peer: Peer,
  options: BatchIssueOptions,
  issueOne: (name: string) => Promise<void>,
): Promise<number> {
  const list = names(peer, options.count);
  const started = performance.now();
  for (const [i, name] of list.entries()) {
    await issueOne(name);
    if ((i + 1) % 10 === 0 || i + 1 === list.length) {
      options.log(`${peer}: ${i + 1}/${list.length} at ${secondsSince(started).toFixed(1)} s`);
    }
  }
  return secondsSince(started);
}

async function measureCertbot(
  pebble: PebbleServer,
  caFile: string,
  dir: string,
  options: BatchIssueOptions,
): Promise<number> {
  const home = join(dir, 'certbot');
  const hooks = hookScripts(pebble.challtestsrvUrl, options.dnsDelayMs);
  const auth = await script(join(dir, 'certbot-auth.sh'), hooks.certbotAuth);
  const cleanup = await script(join(dir, 'certbot-cleanup.sh'), hooks.certbotCleanup);
  const env = { ...process.env, REQUESTS_CA_BUNDLE: caFile };
  const folders = ['config', 'work', 'logs'].map((f) => join(home, f));
  await Promise.all(folders.map((f) => mkdir(f, { recursive: true })));
  const [configDir, workDir, logsDir] = folders as [string, string, string];
  const seconds = await measureSequential('certbot', options, async (name) => {
    const result = await run(
      'certbot',
      [
        'certonly',
        '--manual',
        '--preferred-challenges',
        'dns',
        '--manual-auth-hook',
        auth,
        '--manual-cleanup-hook',
        cleanup,
        '--server',
        pebble.directoryUrl,
        '-d',
        name,
        '--non-interactive',
        '--agree-tos',
        '-m',
        EMAIL,
        '--no-eff-email',
        '--config-dir',
        configDir,
        '--work-dir',
        workDir,
        '--logs-dir',
        logsDir,
      ],
      env,
    );
    checkRun('certbot', name, result);
  });
  for (const name of names('certbot', options.count)) {
    const live = join(configDir, 'live', name);
    await checkPair('certbot', name, join(live, 'fullchain.pem'), join(live, 'privkey.pem'));
  }
  return seconds;
}

async function measureLego(
  pebble: PebbleServer,
  caFile: string,
  dir: string,
  options: BatchIssueOptions,
): Promise<number> {
  const path = join(dir, 'lego');
  const hooks = hookScripts(pebble.challtestsrvUrl, options.dnsDelayMs);
  const exec = await script(join(dir, 'lego-exec.sh'), hooks.legoExec);
  const env = {
    ...process.env,
    LEGO_CA_CERTIFICATES: caFile,
    EXEC_PATH: exec,
    EXEC_POLLING_INTERVAL: '0',
    EXEC_PROPAGATION_TIMEOUT: '30',
  };
  const seconds = await measureSequential('lego', options, async (name) => {
    const result = await run(
      'lego',
      [
        '--server',
        pebble.directoryUrl,
        '--email',
        EMAIL,
        '--accept-tos',
        '--dns',
        'exec',
        '--dns.disable-cp',
        '--dns.resolvers',
        pebble.dnsServer,
        '--path',
        path,
        '-d',
        name,
        'run',
      ],
      env,
    );
    checkRun('lego', name, result);
  });
  for (const name of names('lego', options.count)) {
    const base = join(path, 'certificates', name);
    await checkPair('lego', name, `${base}.crt`, `${base}.key`);
  }
  return seconds;
}

// ---------------------------------------------------------------- the measurement

/** Runs scripts/ensure-bench-tools.sh: installs certbot and lego as root, else says how. */
function ensureTools(): void {
  const setup = spawnSync('bash', [join(ROOT, 'scripts', 'ensure-bench-tools.sh')], {
    encoding: 'utf8',
  });
  if (setup.status !== 0) {
    throw new Error(`the P2 peers are missing (scripts/ensure-bench-tools.sh):\n${setup.stderr}`);
  }
}

export async function measureBatchIssue(options: BatchIssueOptions): Promise<BatchIssueResult> {
  const { count, dnsDelayMs } = options;
  if (!Number.isInteger(count) || count < 1 || count > 9999) {
    throw new RangeError('count must be a whole number from 1 to 9999');
  }
  if (!Number.isFinite(dnsDelayMs) || dnsDelayMs < 0) {
    throw new RangeError('dnsDelayMs must be a number of milliseconds, 0 or more');
  }
  const workers = options.workers ?? CERTLOOP_DEFAULTS.workerMaxConcurrency;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError('workers must be a whole number, 1 or more');
  }
  ensureTools();
  const dir = await mkdtemp(join(tmpdir(), 'certloop-bench-p2-'));
  let pebble: PebbleServer | undefined;
  try {
    pebble = await startPebble();
    const caFile = join(dir, 'pebble-listener-ca.pem');
    await writeFile(caFile, pebble.listenerCaPem);
    options.log(
      `P2: ${count} certificates per peer, ${dnsDelayMs} ms simulated propagation per wait, ` +
        `pebble at ${pebble.directoryUrl}`,
    );
    const certloopSeconds = await measureCertloop(pebble, caFile, dir, options, workers);
    const certbotSeconds = await measureCertbot(pebble, caFile, dir, options);
    const legoSeconds = await measureLego(pebble, caFile, dir, options);
    return {
      certloopSeconds: round2(certloopSeconds),
      certbotSeconds: round2(certbotSeconds),
      legoSeconds: round2(legoSeconds),
      count,
    };
  } finally {
    await pebble?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- standalone entry

const entry = process.argv[1];
if (entry !== undefined && resolve(entry) === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const workersFlag = process.argv.indexOf('--workers');
  const workers = workersFlag > 0 ? Number(process.argv[workersFlag + 1]) : undefined;
  const count = quick ? 10 : 50;
  const dnsDelayMs = 2_000;
  const started = performance.now();
  const result = await measureBatchIssue({
    count,
    dnsDelayMs,
    log: (message) => console.error(`[bench] ${message}`),
    ...(workers === undefined ? {} : { workers }),
  });
  const ratio = Math.min(result.certbotSeconds, result.legoSeconds) / result.certloopSeconds;
  console.log(
    `P2 batch issuance${quick ? ' [quick]' : ''}: ${count} single-name certificates, ` +
      `${dnsDelayMs / 1000} s simulated DNS propagation per wait`,
  );
  console.log(`  batchIssue.certloopSeconds  ${result.certloopSeconds}`);
  console.log(`  batchIssue.certbotSeconds   ${result.certbotSeconds}`);
  console.log(`  batchIssue.legoSeconds      ${result.legoSeconds}`);
  console.log(
    `  min(certbot, lego) / certloop = ${ratio.toFixed(1)} (target >= 10): ${ratio >= 10 ? 'PASS' : 'MISS'}`,
  );
  console.log(JSON.stringify({ batchIssue: result }));
  console.error(`[bench] total ${secondsSince(started).toFixed(1)} s`);
}
