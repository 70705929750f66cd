/**
 * The part of the runtime that registers and schedules certificates without issuing
 * them: the records table, the secret store (to list tagged secrets), registration and
 * forced renewal. The sweep and Renew functions are composed from this alone, so their
 * bundles hold no issuance adapter (acme-client, X.509, Route 53); compose.ts builds the
 * issuing runtime on top of it.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AcmeDirectory, acmeAgent } from '../adapters/acme/acme-directory.js';
import { EventBridgeEventBus } from '../adapters/aws/eventbridge-event-bus.js';
import { SecretsManagerRegistrationSource } from '../adapters/aws/secrets-manager-registration-source.js';
import { SecretsManagerSecretStore } from '../adapters/aws/secrets-manager-secret-store.js';
import { DynamoDbControlRecords } from '../adapters/dynamodb/dynamodb-control-records.js';
import { DynamoDbRecordStore } from '../adapters/dynamodb/dynamodb-record-store.js';
import { DirectorySecretStore } from '../adapters/local/directory-secret-store.js';
import { StructuredLogger } from '../adapters/logging/powertools-logger.js';
import { MemoryEventBus } from '../adapters/memory/memory-event-bus.js';
import {
  exemptIssuerNames,
  type IssuerConfig,
  type RuntimeConfig,
  type SecretStoreConfig,
} from '../config/runtime-config.js';
import type { OrderBudget } from '../core/renewal-budget.js';
import type { Random } from '../core/time.js';
import type { Clock } from '../ports/clock.js';
import type { EventBus } from '../ports/event-bus.js';
import type { Logger } from '../ports/logger.js';
import type { RegistrationSource } from '../ports/registration-source.js';
import type { SecretStore } from '../ports/secret-store.js';
import type { ForceRenewalDeps } from '../services/force-renewal.js';
import type { RecheckDeps } from '../services/recheck-renewal-info.js';
import type { RegistrationDeps } from '../services/register-certificates.js';
import { type SweepReport, sweepRegistrations } from '../services/sweep-registrations.js';
import { systemClock } from './system-clock.js';

export interface RegistrationRuntime {
  registration: RegistrationDeps;
  renewal: ForceRenewalDeps;
  /** Re-checks the CA's renewal information (Renew `ariCheck`); needs no ACME account. */
  recheck: RecheckDeps;
  /** The order budget and the issuers exempting ARI renewals, for the capacity line. */
  capacity: { budget: OrderBudget; exemptIssuers: ReadonlySet<string> };
  secrets: SecretStore;
  /** Where announcements go: EventBridge's default bus with Secrets Manager, memory in local mode. */
  bus: EventBus;
  /** Where tagged secrets are listed (`undefined` for stores without tags). */
  source?: RegistrationSource;
  /**
   * Reads every registered secret's tags into records and announces those it wrote
   * invalid (`undefined` without a source).
   */
  sweep?: () => Promise<SweepReport>;
}

/** Builds the registration runtime; makes no network call. */
export function composeRegistration(
  config: RuntimeConfig,
  options: { clock?: Clock; logger?: Logger; random?: Random; bus?: EventBus } = {},
): RegistrationRuntime {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? new StructuredLogger();
  const dynamodb = new DynamoDBClient({});
  const records = new DynamoDbRecordStore({ client: dynamodb, tableName: config.tableName });
  const { secrets, source } = secretStoreFor(config.secretStore, clock);
  const bus =
    options.bus ??
    (config.secretStore.kind === 'secrets-manager'
      ? new EventBridgeEventBus({ client: new EventBridgeClient({}), logger })
      : new MemoryEventBus());
  const registration: RegistrationDeps = {
    records,
    clock,
    logger,
    policy: { allowedSuffixes: config.allowedSuffixes, maxNames: config.maxNames },
    issuerNames: Object.keys(config.issuers),
    defaultIssuer: config.defaultIssuer,
    acmImport: config.acmImport,
  };
  const renewal: ForceRenewalDeps = {
    records,
    control: new DynamoDbControlRecords({ client: dynamodb, tableName: config.tableName }),
    clock,
    logger,
    budget: config.budget,
  };
  return {
    registration,
    renewal,
    capacity: { budget: config.budget, exemptIssuers: new Set(exemptIssuerNames(config.issuers)) },
    recheck: {
      records,
      clock,
      logger,
      random: options.random ?? Math.random,
      issuers: renewalInfoSources(config.issuers),
    },
    secrets,
    bus,
    ...(source ? { source, sweep: () => sweepRegistrations(registration, source, { bus }) } : {}),
  };
}

function secretStoreFor(
  config: SecretStoreConfig,
  clock: Clock,
): { secrets: SecretStore; source?: RegistrationSource } {
  if (config.kind === 'directory') {
    return { secrets: new DirectorySecretStore({ root: config.root, clock }) };
  }
  const client = new SecretsManagerClient({});
  return {
    secrets: new SecretsManagerSecretStore({ client, accountKeyPrefix: config.accountKeyPrefix }),
    source: new SecretsManagerRegistrationSource({ client }),
  };
}

/**
 * The renewal information readers of the configured issuers: unauthenticated reads of
 * each CA's directory, made on first use, so no ACME account (and no acme-client) is
 * needed here.
 */
export function renewalInfoSources(
  issuers: Record<string, IssuerConfig>,
): (name: string) => AcmeDirectory | undefined {
  const made = new Map<string, AcmeDirectory>();
  return (name) => {
    const issuer = issuers[name];
    if (!issuer) return undefined;
    let directory = made.get(name);
    if (!directory) {
      const agent = acmeAgent(
        issuer.trustedCaFile ? readFileSync(issuer.trustedCaFile, 'utf8') : undefined,
      );
      directory = new AcmeDirectory({
        directoryUrl: issuer.directoryUrl,
        ...(agent ? { agent } : {}),
      });
      made.set(name, directory);
    }
    return directory;
  };
}
