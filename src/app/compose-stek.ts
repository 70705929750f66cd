import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeEventBus } from '../adapters/aws/eventbridge-event-bus.js';
import { SecretsManagerStekStore } from '../adapters/aws/secrets-manager-stek-store.js';
import { DynamoDbStekLocks } from '../adapters/dynamodb/dynamodb-stek-locks.js';
import { DirectoryStekStore } from '../adapters/local/directory-stek-store.js';
import { StructuredLogger } from '../adapters/logging/powertools-logger.js';
import { MemoryEventBus } from '../adapters/memory/memory-event-bus.js';
import type { StekConfig, StekStoreConfig } from '../config/stek-environment.js';
import { stekRotated } from '../core/certificate-events.js';
import type { Clock } from '../ports/clock.js';
import type { EventBus } from '../ports/event-bus.js';
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
  /** Rotates every configured set once, then announces the rotated ones. */
  rotate(): Promise<StekRotationReport & { eventsFailed: number }>;
}

export interface ComposeStekOptions {
  clock?: Clock;
  logger?: Logger;
  owner?: string;
  /** Where `STEK Rotated` goes; default: EventBridge with Secrets Manager, memory locally. */
  bus?: EventBus;
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
  const bus =
    options.bus ??
    (config.store.kind === 'secrets-manager'
      ? new EventBridgeEventBus({ client: new EventBridgeClient({}), logger: deps.logger })
      : new MemoryEventBus());
  return {
    config,
    deps,
    rotate: async () => {
      const report = await rotateStekSets(deps, config.setIds);
      // After the rings are published; never key bytes, only the set and generation.
      const events = report.sets.flatMap((set) =>
        set.outcome === 'rotated' ? [stekRotated(set.setId, set.generation, report.startedAt)] : [],
      );
      const sent = events.length > 0 ? await bus.publish(events) : { failed: 0 };
      return { ...report, eventsFailed: sent.failed };
    },
  };
}

/** The ring store a configuration names (also used by `certloop stek export`). */
export function stekStoreFor(store: StekStoreConfig): StekSetStore {
  return store.kind === 'directory'
    ? new DirectoryStekStore({ root: store.root })
    : new SecretsManagerStekStore({ client: new SecretsManagerClient({}) });
}
