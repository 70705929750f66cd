import { z } from 'zod';
import { DEFAULT_MAX_NAMES } from '../core/domain-names.js';
import { ENV } from './environment.js';

const issuerSchema = z.object({
  directoryUrl: z.url({ protocol: /^https?$/ }),
  contactEmail: z.email().optional(),
  /** PEM file of an extra CA to trust for the directory's HTTPS (a local pebble). */
  trustedCaFile: z.string().min(1).optional(),
});
export type IssuerConfig = z.infer<typeof issuerSchema>;

export interface RuntimeConfig {
  tableName: string;
  issuers: Record<string, IssuerConfig>;
  defaultIssuer: string;
  allowedSuffixes: string[];
  maxNames: number;
  secretStore: { kind: 'directory'; root: string };
  dns: { kind: 'challtestsrv'; managementUrl: string; dnsServer: string };
  leaseMs: number;
  batchSize: number;
  concurrency: number;
  maxRecordsPerTick: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, `is not set; it must hold ${what}`);
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `"${raw}" is not a whole number between ${min} and ${max}`);
  }
  return value;
}

function readIssuers(env: Env): Record<string, IssuerConfig> {
  const raw = required(
    env,
    ENV.issuers,
    'a JSON object of named ACME issuers, e.g. {"default":{"directoryUrl":"https://acme-v02.api.letsencrypt.org/directory"}}',
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(ENV.issuers, 'is not valid JSON');
  }
  const result = z
    .record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/), issuerSchema)
    .safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(
      ENV.issuers,
      `${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  if (Object.keys(result.data).length === 0)
    throw new ConfigError(ENV.issuers, 'names no issuer; configure at least one');
  return result.data;
}

/**
 * Reads and checks the whole runtime configuration before any client is created, so a
 * deployment with a missing or malformed setting fails at cold start with a message
 * naming the variable, and calls no service.
 */
export function readRuntimeConfig(env: Env = process.env): RuntimeConfig {
  const tableName = required(env, ENV.tableName, 'the DynamoDB table name');
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) {
    throw new ConfigError(
      ENV.tableName,
      `"${tableName}" is not a valid DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)`,
    );
  }
  const issuers = readIssuers(env);
  const names = Object.keys(issuers);
  const defaultIssuer =
    env[ENV.defaultIssuer]?.trim() || (names.length === 1 ? (names[0] as string) : 'default');
  if (!issuers[defaultIssuer]) {
    throw new ConfigError(
      ENV.defaultIssuer,
      `"${defaultIssuer}" is not one of the configured issuers (${names.join(', ')})`,
    );
  }
  const allowedSuffixes = required(
    env,
    ENV.allowedSuffixes,
    'the DNS suffixes certificates may be requested under',
  )
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((s) => s.toLowerCase().replace(/\.$/, ''));
  for (const suffix of allowedSuffixes) {
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(suffix)) {
      throw new ConfigError(
        ENV.allowedSuffixes,
        `"${suffix}" is not a DNS suffix with at least two labels`,
      );
    }
  }
  const root = required(env, ENV.secretStoreDir, 'the directory certificates are written to');
  const managementUrl = required(
    env,
    ENV.challtestsrvUrl,
    'the pebble-challtestsrv management URL',
  );
  if (!URL.canParse(managementUrl))
    throw new ConfigError(ENV.challtestsrvUrl, `"${managementUrl}" is not a URL`);
  const dnsServer = required(
    env,
    ENV.challtestsrvDns,
    'the host:port of the pebble-challtestsrv DNS server',
  );
  if (!/^[^\s:]+:\d{1,5}$/.test(dnsServer))
    throw new ConfigError(ENV.challtestsrvDns, `"${dnsServer}" is not host:port`);

  return {
    tableName,
    issuers,
    defaultIssuer,
    allowedSuffixes,
    maxNames: integer(env, ENV.maxNames, DEFAULT_MAX_NAMES, 1, 100),
    secretStore: { kind: 'directory', root },
    dns: { kind: 'challtestsrv', managementUrl, dnsServer },
    leaseMs: integer(env, ENV.leaseSeconds, 900, 60, 86_400) * 1000,
    batchSize: integer(env, ENV.batchSize, 50, 1, 500),
    concurrency: integer(env, ENV.concurrency, 10, 1, 100),
    maxRecordsPerTick: integer(env, ENV.maxRecordsPerTick, 500, 1, 10_000),
  };
}
