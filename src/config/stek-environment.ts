/**
 * Environment of the STEK rotation function, names defined once (the CDK construct sets
 * them from these constants). `readStekConfig` checks everything before any client is
 * created and throws a ConfigError naming the variable.
 */
import { DEFAULT_STEK_POLICY, type StekPolicy } from '../core/stek-ring.js';
import { HOUR } from '../core/time.js';
import { ConfigError, type Env, wholeNumber } from './env-values.js';
import { ENV } from './environment.js';
import { checkLogLevel } from './runtime-config.js';

export const STEK_ENV = {
  /** DynamoDB records table that holds the STEK lease items (`stek#<set>`). */
  tableName: ENV.tableName,
  /**
   * JSON array of STEK set ids, e.g. ["certloop/stek/web", "arn:aws:secretsmanager:..."].
   * With the Secrets Manager store the set id is the secret's name or ARN.
   */
  sets: 'CERTLOOP_STEK_SETS',
  /** `secrets-manager` (default) or `directory` (local mode). */
  store: 'CERTLOOP_STEK_STORE',
  /** Root folder of the directory store (rings in <dir>/stek/<set>.json). */
  storeDir: 'CERTLOOP_STEK_STORE_DIR',
  /** Hours each key encrypts; a new key every period. Default 12. */
  periodHours: 'CERTLOOP_STEK_PERIOD_HOURS',
  /** Hours a key is kept after it stops encrypting. Default 24 (at least the period). */
  retentionHours: 'CERTLOOP_STEK_RETENTION_HOURS',
  /** Lease length in seconds. Default 300. */
  leaseSeconds: 'CERTLOOP_STEK_LEASE_SECONDS',
} as const;

export type StekStoreConfig = { kind: 'secrets-manager' } | { kind: 'directory'; root: string };

export interface StekConfig {
  tableName: string;
  setIds: string[];
  store: StekStoreConfig;
  policy: StekPolicy;
  leaseMs: number;
}

export function readStekConfig(env: Env): StekConfig {
  checkLogLevel(env);
  const tableName = env[STEK_ENV.tableName]?.trim();
  if (!tableName) {
    throw new ConfigError(
      STEK_ENV.tableName,
      'is not set; it must name the DynamoDB records table',
    );
  }
  const setIds = readSets(env);
  const store = readStore(env);
  const periodMs = hours(env, STEK_ENV.periodHours, DEFAULT_STEK_POLICY.periodMs / HOUR, 1, 24 * 7);
  const retentionMs = hours(
    env,
    STEK_ENV.retentionHours,
    Math.max(DEFAULT_STEK_POLICY.retentionMs / HOUR, periodMs / HOUR),
    1,
    24 * 30,
  );
  if (retentionMs < periodMs) {
    throw new ConfigError(
      STEK_ENV.retentionHours,
      `must be at least ${STEK_ENV.periodHours} (${periodMs / HOUR}) so that hosts can decrypt the previous key's tickets`,
    );
  }
  const leaseSeconds = wholeNumber(env, STEK_ENV.leaseSeconds, 300, 10, 3600);
  return {
    tableName,
    setIds,
    store,
    policy: { periodMs, retentionMs },
    leaseMs: leaseSeconds * 1000,
  };
}

function readSets(env: Env): string[] {
  const raw = env[STEK_ENV.sets]?.trim();
  if (!raw) {
    throw new ConfigError(
      STEK_ENV.sets,
      'is not set; it must hold a JSON array of STEK set ids, e.g. ["certloop/stek/web"]',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError(STEK_ENV.sets, 'is not valid JSON');
  }
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((entry) => typeof entry === 'string' && entry.trim() !== '')
  ) {
    throw new ConfigError(STEK_ENV.sets, 'must be a non-empty JSON array of non-empty strings');
  }
  const sets = value as string[];
  if (new Set(sets).size !== sets.length) {
    throw new ConfigError(STEK_ENV.sets, 'names a set twice');
  }
  return sets;
}

function readStore(env: Env): StekStoreConfig {
  const kind = env[STEK_ENV.store]?.trim() || 'secrets-manager';
  if (kind === 'secrets-manager') return { kind };
  if (kind === 'directory') {
    const root = env[STEK_ENV.storeDir]?.trim();
    if (!root) {
      throw new ConfigError(STEK_ENV.storeDir, `is not set; ${STEK_ENV.store}=directory needs it`);
    }
    return { kind, root };
  }
  throw new ConfigError(STEK_ENV.store, `"${kind}" is not secrets-manager or directory`);
}

function hours(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback * HOUR;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(name, `"${raw}" is not a number of hours between ${min} and ${max}`);
  }
  return Math.round(value * HOUR);
}
