import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../adapters/dynamodb/ensure-table.js';
import { StructuredLogger } from '../adapters/logging/powertools-logger.js';
import { composeRuntime, type Runtime } from '../app/compose.js';
import { composeStekRotation } from '../app/compose-stek.js';
import type { RuntimeConfig } from '../config/runtime-config.js';
import type { CertificateRecord } from '../core/certificate-record.js';
import { DEFAULT_ORDER_BUDGET } from '../core/renewal-budget.js';
import { DEFAULT_STEK_POLICY } from '../core/stek-ring.js';
import type { PlanAndIssueReport } from '../services/plan-and-issue.js';
import { registerCertificate } from '../services/register-certificates.js';
import { type AcmeFront, startAcmeFront } from './acme-front.js';
import { startDynalite } from './dynalite-server.js';
import { type LocalConfig, readLocalConfig } from './local-config.js';
import { type PebbleServer, startPebble } from './pebble-server.js';

export const LOCAL_TABLE_NAME = 'certloop-local';

/** Rotation errors carry set ids and causes, never key bytes (see rotate-stek.ts). */
function reportRotationFailure(logger: StructuredLogger, error: Error): void {
  logger.error('session-ticket-key rotation failed; certificates go on', { error: error.message });
}
/** Written into the state folder while a runner serves the local DynamoDB API. */
export const LOCAL_ENDPOINT_FILE = 'endpoint.json';
/** The issuers local mode runs with (CERTLOOP_ISSUERS form), for `certloop renew --ari-check`. */
export const LOCAL_ISSUERS_FILE = 'issuers.json';
/** Lifetime of the embedded CA's certificates: 90 days. */
export const EMBEDDED_CA_LIFETIME_SECONDS = 90 * 86_400;
/** Written into the state folder while the embedded CA runs: its directory and management URLs. */
export const EMBEDDED_CA_FILE = 'embedded-ca.json';

export interface LocalRunOptions {
  configPath: string;
  /** Everything local mode keeps: dynamodb/, secrets/, pebble/. */
  stateDir: string;
  /** Run one tick and return (for scripts and tests). */
  once?: boolean;
  /** Stops the loop. */
  signal?: AbortSignal;
  /** Called after every tick with the report and all records (the CLI prints a table). */
  onTick?: (report: PlanAndIssueReport, records: CertificateRecord[], runtime: Runtime) => void;
}

/**
 * Local mode: the same services as on AWS, on one machine with no AWS account.
 * dynalite serves the DynamoDB API in this process (data under <state>/dynamodb),
 * certificates go to a directory store (<state>/secrets), and, unless the config names
 * an ACME directory, a pebble CA with pebble-challtestsrv as DNS is started here and
 * stopped when the run ends.
 */
export async function runLocal(options: LocalRunOptions): Promise<void> {
  const config = await readLocalConfig(options.configPath);
  const stateDir = resolve(options.stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const logger = new StructuredLogger({ serviceName: 'certloop-local' });

  const dynalite = await startDynalite({ path: join(stateDir, 'dynamodb') });
  // Other certloop commands (status, renew) reach this dynalite while the runner holds
  // its database open.
  const endpointFile = join(stateDir, LOCAL_ENDPOINT_FILE);
  await writeFile(endpointFile, JSON.stringify({ dynamodb: dynalite.endpoint, pid: process.pid }));
  let pebble: PebbleServer | undefined;
  let front: AcmeFront | undefined;
  const embeddedCaFile = join(stateDir, EMBEDDED_CA_FILE);
  try {
    // Local only: the SDK finds dynalite through its standard endpoint variable, and
    // needs a region and some credentials, which dynalite ignores.
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynalite.endpoint;
    process.env.AWS_REGION ??= 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    await ensureTable(new DynamoDBClient({}), LOCAL_TABLE_NAME);

    let acme: LocalConfig['acme'];
    let dns: { challtestsrvUrl: string; challtestsrvDns: string };
    if (config.acme && config.dns) {
      acme = config.acme;
      dns = config.dns;
    } else {
      // 90-day certificates, like Let's Encrypt's `classic` profile, so the status table
      // shows the renewal rules and windows a real fleet has (pebble's default is 5 years).
      pebble = await startPebble({
        stateDir: join(stateDir, 'pebble'),
        certificateValidityPeriod: EMBEDDED_CA_LIFETIME_SECONDS,
      });
      // The embedded CA is pebble behind the ACME front, which adds ARI (renewalInfo),
      // `replaces` and profiles; certloop talks to the front only.
      front = await startAcmeFront({
        upstream: { directoryUrl: pebble.directoryUrl, listenerCaPem: pebble.listenerCaPem },
      });
      const trustedCaFile = join(stateDir, 'acme-front-listener-ca.pem');
      await writeFile(trustedCaFile, front.listenerCaPem);
      // Where to reach the front's management API while this runner lives (ports change
      // every run): `curl "$(jq -r .managementUrl <state>/embedded-ca.json)/certificates"`.
      await writeFile(
        embeddedCaFile,
        JSON.stringify({ directoryUrl: front.directoryUrl, managementUrl: front.managementUrl }),
      );
      acme = { directoryUrl: front.directoryUrl, trustedCaFile };
      dns = { challtestsrvUrl: pebble.challtestsrvUrl, challtestsrvDns: pebble.dnsServer };
      logger.info('started the embedded CA (pebble behind the ACME front: ARI and profiles)', {
        directoryUrl: front.directoryUrl,
        managementUrl: front.managementUrl,
        dnsServer: pebble.dnsServer,
      });
    }

    const runtimeConfig: RuntimeConfig = {
      tableName: LOCAL_TABLE_NAME,
      issuers: { default: acme },
      defaultIssuer: 'default',
      allowedSuffixes: config.allowedSuffixes,
      maxNames: 100,
      secretStore: { kind: 'directory', root: join(stateDir, 'secrets') },
      dns: {
        kind: 'challtestsrv',
        managementUrl: dns.challtestsrvUrl,
        dnsServer: dns.challtestsrvDns,
      },
      leaseMs: 5 * 60_000,
      batchSize: 50,
      concurrency: 10,
      maxRecordsPerTick: 500,
      // Local mode has no ACM to import into.
      acmImport: false,
      budget: DEFAULT_ORDER_BUDGET,
    };
    const runtime = composeRuntime(runtimeConfig, { logger });
    // `certloop renew --ari-check` reads the issuers from here (CERTLOOP_ISSUERS form).
    await writeFile(join(stateDir, LOCAL_ISSUERS_FILE), JSON.stringify(runtimeConfig.issuers));

    for (const certificate of config.certificates) {
      await registerCertificate(runtime.registration, {
        id: certificate.name,
        registeredBy: 'config',
        domains: certificate.domains,
        wildcards: certificate.wildcards,
        ...(certificate.key ? { keyType: certificate.key } : {}),
        ...(certificate.profile ? { profile: certificate.profile } : {}),
        ...(certificate.issuer ? { issuer: certificate.issuer } : {}),
      });
    }

    const stek =
      config.stekSets.length > 0
        ? composeStekRotation(
            {
              tableName: LOCAL_TABLE_NAME,
              setIds: config.stekSets,
              store: { kind: 'directory', root: join(stateDir, 'secrets') },
              policy: DEFAULT_STEK_POLICY,
              leaseMs: 5 * 60_000,
            },
            { logger },
          )
        : undefined;

    while (!options.signal?.aborted) {
      // A failed ticket-key rotation is reported by rotate() and never stops certificates.
      if (stek) await stek.rotate().catch((error: Error) => reportRotationFailure(logger, error));
      // The AWS pipeline in one process: the planner's budget, then the worker's batches.
      const report = await runtime.tick();
      options.onTick?.(report, await runtime.registration.records.list(), runtime);
      if (options.once) break;
      try {
        await sleep(config.tickIntervalSeconds * 1000, undefined, { signal: options.signal });
      } catch {
        break;
      }
    }
  } finally {
    await rm(endpointFile, { force: true });
    await rm(embeddedCaFile, { force: true });
    await front?.stop();
    await pebble?.stop();
    await dynalite.close();
    logger.info('local mode stopped');
  }
}
