import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerStekStore } from '../adapters/aws/secrets-manager-stek-store.js';
import { DynamoDbStekLocks } from '../adapters/dynamodb/dynamodb-stek-locks.js';
import { DirectoryStekStore } from '../adapters/local/directory-stek-store.js';
import { StructuredLogger } from '../adapters/logging/powertools-logger.js';
import type { StekConfig, StekStoreConfig } from '../config/stek-environment.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { StekSetStore } from '../ports/stek-store.js';
import {
  rotateStekSets,
  type StekRotationDeps,
  type StekRotationReport,
} from '../services/rotate-stek.js';

export interface StekRuntime {
  config: StekConfig;
  deps: StekRotationDeps;
  /** Rotates every configured set once. */
  rotate(): Promise<StekRotationReport>;
}

export interface ComposeStekOptions {
  clock?: Clock;
  logger?: Logger;
  owner?: string;
}

/**
 * Composition root of the STEK rotation: the configured ring store, the lease lock in
 * the records table, node:crypto randomness. Creating it makes no network call; AWS
 * clients find endpoint, region and credentials the standard way.
 */
export function composeStekRotation(
  config: StekConfig,
  options: ComposeStekOptions = {},
): StekRuntime {
  const deps: StekRotationDeps = {
    store: stekStoreFor(config.store),
    locks: new DynamoDbStekLocks({ client: new DynamoDBClient({}), tableName: config.tableName }),
    clock: options.clock ?? { now: () => Date.now() },
    logger: options.logger ?? new StructuredLogger({ serviceName: 'certloop-stek' }),
    randomBytes: (length) => new Uint8Array(randomBytes(length)),
    policy: config.policy,
    owner: options.owner ?? `${hostname()}:${process.pid}:${randomUUID()}`,
    leaseMs: config.leaseMs,
  };
  return { config, deps, rotate: () => rotateStekSets(deps, config.setIds) };
}

/** The ring store a configuration names (also used by `certloop stek export`). */
export function stekStoreFor(store: StekStoreConfig): StekSetStore {
  return store.kind === 'directory'
    ? new DirectoryStekStore({ root: store.root })
    : new SecretsManagerStekStore({ client: new SecretsManagerClient({}) });
}
