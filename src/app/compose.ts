import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AcmeClientCa } from '../adapters/acme/acme-client-ca.js';
import { Route53Dns01Solver } from '../adapters/aws/route53-dns01-solver.js';
import { SecretsManagerRegistrationSource } from '../adapters/aws/secrets-manager-registration-source.js';
import { SecretsManagerSecretStore } from '../adapters/aws/secrets-manager-secret-store.js';
import { SqsWorkQueue } from '../adapters/aws/sqs-work-queue.js';
import { NodeKeyFactory } from '../adapters/crypto/node-key-factory.js';
import { DynamoDbControlRecords } from '../adapters/dynamodb/dynamodb-control-records.js';
import { DynamoDbRecordStore } from '../adapters/dynamodb/dynamodb-record-store.js';
import { ChalltestsrvDns01Solver } from '../adapters/local/challtestsrv-dns01-solver.js';
import { DirectorySecretStore } from '../adapters/local/directory-secret-store.js';
import { StructuredLogger } from '../adapters/logging/powertools-logger.js';
import type {
  DnsConfig,
  PlannerConfig,
  RuntimeConfig,
  SecretStoreConfig,
} from '../config/runtime-config.js';
import { DEFAULT_ORDER_BUDGET } from '../core/renewal-budget.js';
import type { Random } from '../core/time.js';
import type { AcmeCa } from '../ports/acme-ca.js';
import type { Clock } from '../ports/clock.js';
import type { Dns01Solver } from '../ports/dns01-solver.js';
import type { Logger } from '../ports/logger.js';
import type { RegistrationSource } from '../ports/registration-source.js';
import type { SecretStore } from '../ports/secret-store.js';
import type { ForceRenewalDeps } from '../services/force-renewal.js';
import type { IssuanceDeps } from '../services/issue-certificates.js';
import { type PlannerDeps, type PlanReport, planDueWork } from '../services/plan-due-work.js';
import { reconcileIssuer } from '../services/reconcile-issuer.js';
import type { RegistrationDeps } from '../services/register-certificates.js';
import { runTick, type TickReport } from '../services/run-tick.js';
import { type SweepReport, sweepRegistrations } from '../services/sweep-registrations.js';

export interface Runtime {
  config: RuntimeConfig;
  issuance: IssuanceDeps;
  registration: RegistrationDeps;
  renewal: ForceRenewalDeps;
  tick(): Promise<TickReport>;
  /** Reads every registered secret's tags into records (`undefined` for stores without tags). */
  sweep?: () => Promise<SweepReport>;
}

export interface ComposeOptions {
  clock?: Clock;
  logger?: Logger;
  random?: Random;
  /** Lease owner; unique per process by default. */
  owner?: string;
  /** Wraps the configured DNS-01 solver (tests mirror Route 53 writes to a real DNS server). */
  decorateDns?: (solver: Dns01Solver) => Dns01Solver;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * The one composition root: turns a checked RuntimeConfig into services wired to their
 * adapters. Built once per cold start by the functions, and once per run by local mode.
 * Creating it makes no network call; clients connect on first use. DynamoDB endpoints
 * come from the SDK's standard AWS_ENDPOINT_URL(_DYNAMODB) variables.
 */
export function composeRuntime(config: RuntimeConfig, options: ComposeOptions = {}): Runtime {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? new StructuredLogger();
  const random = options.random ?? Math.random;
  const dynamodb = new DynamoDBClient({});
  const records = new DynamoDbRecordStore({ client: dynamodb, tableName: config.tableName });
  const { secrets, source } = secretStoreFor(config.secretStore, clock);
  const configured = dnsSolverFor(config.dns);
  const dns = options.decorateDns ? options.decorateDns(configured) : configured;

  const cas = new Map<string, AcmeCa>();
  const issuers = (name: string): AcmeCa | undefined => {
    const issuer = config.issuers[name];
    if (!issuer) return undefined;
    const known = cas.get(name);
    if (known) return known;
    const ca = new AcmeClientCa({
      directoryUrl: issuer.directoryUrl,
      ...(issuer.contactEmail ? { contactEmail: issuer.contactEmail } : {}),
      ...(issuer.trustedCaFile ? { trustedCaPem: readFileSync(issuer.trustedCaFile, 'utf8') } : {}),
      secrets,
      logger,
    });
    cas.set(name, ca);
    return ca;
  };

  const policy = { allowedSuffixes: config.allowedSuffixes, maxNames: config.maxNames };
  const issuance: IssuanceDeps = {
    records,
    secrets,
    issuers,
    dns,
    keys: new NodeKeyFactory(),
    clock,
    logger,
    random,
    policy,
    owner: options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    leaseMs: config.leaseMs,
    concurrency: config.concurrency,
  };
  const registration: RegistrationDeps = {
    records,
    clock,
    logger,
    policy,
    issuerNames: Object.keys(config.issuers),
    defaultIssuer: config.defaultIssuer,
  };
  const renewal: ForceRenewalDeps = {
    records,
    control: new DynamoDbControlRecords({ client: dynamodb, tableName: config.tableName }),
    clock,
    logger,
    budget: config.budget,
  };
  return {
    config,
    issuance,
    registration,
    renewal,
    tick: () =>
      runTick(issuance, { batchSize: config.batchSize, maxRecords: config.maxRecordsPerTick }),
    ...(source ? { sweep: () => sweepRegistrations(registration, source) } : {}),
  };
}

function secretStoreFor(
  config: SecretStoreConfig,
  clock: Clock,
): { secrets: SecretStore; source?: RegistrationSource } {
  if (config.kind === 'directory') {
    return { secrets: new DirectorySecretStore({ root: config.root, clock }) };
  }
  const store = new SecretsManagerSecretStore({
    client: new SecretsManagerClient({}),
    accountKeyPrefix: config.accountKeyPrefix,
  });
  return { secrets: store, source: new SecretsManagerRegistrationSource(store) };
}

function dnsSolverFor(config: DnsConfig): Dns01Solver {
  if (config.kind === 'challtestsrv') {
    return new ChalltestsrvDns01Solver({
      managementUrl: config.managementUrl,
      dnsServer: config.dnsServer,
    });
  }
  return new Route53Dns01Solver({ zones: config.zones, client: new Route53Client({}) });
}

/**
 * The planner's wiring: the records table, the SQS work queue, and the order ledger (a
 * control document in the same table) that keeps admissions within the CA's order
 * budget (`config.budget`, else DEFAULT_ORDER_BUDGET). With a target issuer
 * configured, each run first takes one issuer-rotation step (a single GetItem once the
 * fleet is on the target); a rotation failure is logged and never blocks planning.
 */
export function composePlanner(
  config: PlannerConfig,
  options: ComposeOptions = {},
): { plan(): Promise<PlanReport> } {
  const dynamodb = new DynamoDBClient({});
  const control = new DynamoDbControlRecords({ client: dynamodb, tableName: config.tableName });
  const deps: PlannerDeps = {
    records: new DynamoDbRecordStore({ client: dynamodb, tableName: config.tableName }),
    queue: new SqsWorkQueue({ client: new SQSClient({}), queueUrl: config.queueUrl }),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? new StructuredLogger(),
    budget: config.budget ?? DEFAULT_ORDER_BUDGET,
    control,
  };
  const rotation = config.issuerRotation;
  return {
    async plan() {
      if (rotation) {
        try {
          await reconcileIssuer(deps, rotation.target, rotation.batch);
        } catch (error) {
          deps.logger.error('issuer rotation step failed; planning goes on', {
            error: (error as Error).message,
          });
        }
      }
      return planDueWork(deps, config.maxRecordsPerTick);
    },
  };
}
