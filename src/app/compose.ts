import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AcmeClientCa } from '../adapters/acme/acme-client-ca.js';
import { NodeKeyFactory } from '../adapters/crypto/node-key-factory.js';
import { DynamoDbRecordStore } from '../adapters/dynamodb/dynamodb-record-store.js';
import { ChalltestsrvDns01Solver } from '../adapters/local/challtestsrv-dns01-solver.js';
import { DirectorySecretStore } from '../adapters/local/directory-secret-store.js';
import { StructuredLogger } from '../adapters/logging/powertools-logger.js';
import type { RuntimeConfig } from '../config/runtime-config.js';
import type { Random } from '../core/time.js';
import type { AcmeCa } from '../ports/acme-ca.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { IssuanceDeps } from '../services/issue-certificates.js';
import type { RegistrationDeps } from '../services/register-certificates.js';
import { runTick, type TickReport } from '../services/run-tick.js';

export interface Runtime {
  config: RuntimeConfig;
  issuance: IssuanceDeps;
  registration: RegistrationDeps;
  tick(): Promise<TickReport>;
}

export interface ComposeOptions {
  clock?: Clock;
  logger?: Logger;
  random?: Random;
  /** Lease owner; unique per process by default. */
  owner?: string;
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
  const records = new DynamoDbRecordStore({
    client: new DynamoDBClient({}),
    tableName: config.tableName,
  });
  const secrets = new DirectorySecretStore({ root: config.secretStore.root, clock });
  const dns = new ChalltestsrvDns01Solver({
    managementUrl: config.dns.managementUrl,
    dnsServer: config.dns.dnsServer,
  });

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
  return {
    config,
    issuance,
    registration,
    tick: () =>
      runTick(issuance, { batchSize: config.batchSize, maxRecords: config.maxRecordsPerTick }),
  };
}
