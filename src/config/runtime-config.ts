import { accessSync, constants } from 'node:fs';
import * as z from 'zod/mini';
import { DEFAULT_MAX_NAMES } from '../core/domain-names.js';
import { issuerIdentity } from '../core/issuer-identity.js';
import { DEFAULT_ORDER_BUDGET, type OrderBudget } from '../core/renewal-budget.js';
import { ConfigError, type Env, wholeNumber } from './env-values.js';
import { ENV } from './environment.js';
import { DEFAULT_ACCOUNT_KEY_PREFIX } from './shared-names.js';
import './zod-messages.js';

/**
 * External Account Binding (RFC 8555 section 7.3.4): the key id the CA gave, and where
 * the HMAC key is kept (never the key itself: not in context, environment or template).
 * Deployments name a Secrets Manager secret; local mode may name a file.
 */
const eabSchema = z
  .strictObject({
    keyId: z.string().check(z.minLength(1, 'the EAB key id the CA gave must not be empty')),
    hmacKeySecretArn: z.optional(
      z
        .string()
        .check(
          z.regex(
            /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/,
            'a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
          ),
        ),
    ),
    /** Local mode only: a file holding the HMAC key (base64url). */
    hmacKeyFile: z.optional(z.string().check(z.minLength(1))),
  })
  .check(
    z.refine(
      (eab) => (eab.hmacKeySecretArn === undefined) !== (eab.hmacKeyFile === undefined),
      'give the HMAC key as exactly one of hmacKeySecretArn, hmacKeyFile',
    ),
  );
export type EabConfig = z.infer<typeof eabSchema>;

const issuerSchema = z.strictObject({
  // ACME runs over HTTPS (RFC 8555 section 6.1): a plain-http directory is a typo or a trap.
  directoryUrl: z.url({ protocol: /^https$/, error: 'must be an https:// ACME directory URL' }),
  contactEmail: z.optional(z.email()),
  /** PEM file of an extra CA to trust for the directory's HTTPS (a local pebble). */
  trustedCaFile: z.optional(z.string().check(z.minLength(1))),
  /**
   * The CA exempts renewals that name their predecessor (`replaces`, RFC 9773) from its
   * order limits. Default: true for Let's Encrypt, false otherwise.
   */
  ariRenewalsExempt: z.optional(z.boolean('must be true or false')),
  /** External Account Binding, for CAs that require it (ZeroSSL, Google Trust Services). */
  eab: z.optional(eabSchema),
  /** The ACME profile of records that name none (`certloop:profile`). Default: the CA's. */
  profile: z.optional(
    z
      .string()
      .check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'an ACME profile name (letters, digits, . _ -)')),
  ),
});
export type IssuerConfig = z.infer<typeof issuerSchema>;

/** Whether the issuer's CA exempts replacing renewals (Let's Encrypt does, unless set). */
export function exemptsReplacingOrders(issuer: IssuerConfig): boolean {
  if (issuer.ariRenewalsExempt !== undefined) return issuer.ariRenewalsExempt;
  return /(^|\.)api\.letsencrypt\.org$/.test(new URL(issuer.directoryUrl).hostname);
}

/** The names of the issuers whose replacing renewals do not spend the order budget. */
export function exemptIssuerNames(issuers: Record<string, IssuerConfig>): string[] {
  return Object.entries(issuers)
    .filter(([, issuer]) => exemptsReplacingOrders(issuer))
    .map(([name]) => name);
}

export interface HostedZoneConfig {
  hostedZoneId: string;
  domain: string;
  roleArn?: string;
}

export type SecretStoreConfig =
  | { kind: 'secrets-manager'; accountKeyPrefix: string }
  | { kind: 'directory'; root: string };

export type DnsConfig =
  | { kind: 'route53'; zones: HostedZoneConfig[] }
  | { kind: 'challtestsrv'; managementUrl: string; dnsServer: string };

export interface RuntimeConfig {
  tableName: string;
  issuers: Record<string, IssuerConfig>;
  defaultIssuer: string;
  allowedSuffixes: string[];
  maxNames: number;
  secretStore: SecretStoreConfig;
  dns: DnsConfig;
  leaseMs: number;
  batchSize: number;
  concurrency: number;
  maxRecordsPerTick: number;
  /** Records tagged `certloop:acm` are imported into ACM (Secrets Manager deployments only). */
  acmImport: boolean;
  /**
   * The CA's new-order budget: bulk forced renewals are spread over it, and local mode's
   * planner admits due work within it.
   */
  budget: OrderBudget;
}

/** What the planner needs: where the records are and where the work goes. */
export interface PlannerConfig {
  tableName: string;
  queueUrl: string;
  maxRecordsPerTick: number;
  /**
   * With a target issuer, each planner run first moves a batch of records toward it and
   * toward the issuers' identities (`issuerIdentity` of each issuer in CERTLOOP_ISSUERS;
   * empty without it: the rotation then goes by name only).
   */
  issuerRotation?: { target: string; batch: number; identities: Record<string, string> };
  /**
   * The CA's new-order budget due work is admitted within; set when any
   * CERTLOOP_BUDGET_* variable is, else the planner uses DEFAULT_ORDER_BUDGET.
   */
  budget?: OrderBudget;
  /** Issuers whose replacing renewals are admitted outside the budget (from CERTLOOP_ISSUERS). */
  exemptIssuers?: string[];
}

// The readers below throw ConfigError; callers may import it from here or env-values.
export { ConfigError } from './env-values.js';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/**
 * CERTLOOP_LOG_LEVEL, read by the logger itself (it exists before any config): checked
 * here so that a typo fails the cold start instead of quietly logging at INFO.
 */
export function checkLogLevel(env: Env): void {
  const level = env[ENV.logLevel]?.trim();
  if (level && !(LOG_LEVELS as readonly string[]).includes(level.toUpperCase())) {
    throw new ConfigError(ENV.logLevel, `"${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
}

function required(env: Env, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, `is not set; it must hold ${what}`);
  return value;
}

export function readIssuers(env: Env): Record<string, IssuerConfig> {
  const parsed = z
    .record(
      z
        .string()
        .check(
          z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'issuer names are lower-case letters, digits and -'),
        ),
      issuerSchema,
    )
    .safeParse(
      readJson(
        env,
        ENV.issuers,
        'a JSON object of named ACME issuers, e.g. {"default":{"directoryUrl":"https://acme-v02.api.letsencrypt.org/directory"}}',
      ),
    );
  if (!parsed.success) throw firstIssue(ENV.issuers, parsed.error);
  for (const [issuer, { trustedCaFile }] of Object.entries(parsed.data)) {
    if (trustedCaFile === undefined) continue;
    try {
      accessSync(trustedCaFile, constants.R_OK);
    } catch (error) {
      throw new ConfigError(
        ENV.issuers,
        `${issuer}.trustedCaFile: ${trustedCaFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  if (Object.keys(parsed.data).length === 0)
    throw new ConfigError(ENV.issuers, 'names no issuer; configure at least one');
  return parsed.data;
}

const hostedZonesSchema = z
  .array(
    z.object({
      hostedZoneId: z
        .string()
        .check(
          z.regex(/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/, 'a hosted zone id such as Z0123456789ABC'),
        ),
      domain: z
        .string()
        .check(z.regex(/^([a-z0-9-]+\.)+[a-z0-9-]+$/, 'a lower-case DNS name such as example.com')),
      roleArn: z.optional(
        z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN')),
      ),
    }),
  )
  .check(z.minLength(1, 'list at least one hosted zone'));

function readJson(env: Env, name: string, what: string): unknown {
  const raw = required(env, name, what);
  try {
    return JSON.parse(raw);
  } catch {
    throw new ConfigError(name, 'is not valid JSON');
  }
}

function firstIssue(name: string, error: z.core.$ZodError): ConfigError {
  const issue = error.issues[0];
  // A record key that fails its own schema: report that schema's message, not zod's
  // generic "Invalid key in record".
  const nested = issue?.code === 'invalid_key' ? issue.issues[0] : undefined;
  return new ConfigError(
    name,
    `${issue?.path.join('.') || 'value'}: ${nested?.message ?? issue?.message ?? 'invalid'}`,
  );
}

function readTableName(env: Env): string {
  const tableName = required(env, ENV.tableName, 'the DynamoDB table name');
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) {
    throw new ConfigError(
      ENV.tableName,
      `"${tableName}" is not a valid DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)`,
    );
  }
  return tableName;
}

function readSecretStore(env: Env): SecretStoreConfig {
  const kind = env[ENV.secretStore]?.trim() || 'secrets-manager';
  if (kind === 'secrets-manager') {
    const accountKeyPrefix = env[ENV.accountKeyPrefix]?.trim() || DEFAULT_ACCOUNT_KEY_PREFIX;
    if (!/^[A-Za-z0-9/_+=.@-]{1,400}$/.test(accountKeyPrefix)) {
      throw new ConfigError(
        ENV.accountKeyPrefix,
        `"${accountKeyPrefix}" holds characters a secret name cannot`,
      );
    }
    return { kind, accountKeyPrefix };
  }
  if (kind === 'directory') {
    return {
      kind,
      root: required(env, ENV.secretStoreDir, 'the directory certificates are written to'),
    };
  }
  throw new ConfigError(ENV.secretStore, `"${kind}" is not one of secrets-manager, directory`);
}

function readDns(env: Env): DnsConfig {
  const kind = env[ENV.dns]?.trim() || 'route53';
  if (kind === 'route53') {
    const parsed = hostedZonesSchema.safeParse(
      readJson(
        env,
        ENV.hostedZones,
        'a JSON list of hosted zones, e.g. [{"hostedZoneId":"Z0123456789ABC","domain":"example.com"}]',
      ),
    );
    if (!parsed.success) throw firstIssue(ENV.hostedZones, parsed.error);
    const zones = parsed.data.map((zone) => ({
      ...zone,
      hostedZoneId: zone.hostedZoneId.replace('/hostedzone/', ''),
    }));
    return { kind, zones };
  }
  if (kind === 'challtestsrv') {
    const managementUrl = required(
      env,
      ENV.challtestsrvUrl,
      'the pebble-challtestsrv management URL',
    );
    if (!URL.canParse(managementUrl) || !/^https?:\/\//.test(managementUrl))
      throw new ConfigError(
        ENV.challtestsrvUrl,
        `"${managementUrl}" is not an HTTP URL (it must start with http:// or https://)`,
      );
    const dnsServer = required(
      env,
      ENV.challtestsrvDns,
      'the host:port of the pebble-challtestsrv DNS server',
    );
    if (!/^[^\s:]+:\d{1,5}$/.test(dnsServer))
      throw new ConfigError(ENV.challtestsrvDns, `"${dnsServer}" is not host:port`);
    return { kind, managementUrl, dnsServer };
  }
  throw new ConfigError(ENV.dns, `"${kind}" is not one of route53, challtestsrv`);
}

function readAllowedSuffixes(env: Env, dns: DnsConfig): string[] {
  const raw = env[ENV.allowedSuffixes]?.trim();
  if (!raw) {
    if (dns.kind === 'route53') return dns.zones.map((zone) => zone.domain);
    throw new ConfigError(
      ENV.allowedSuffixes,
      'is not set; it must hold the DNS suffixes certificates may be requested under',
    );
  }
  const suffixes = raw
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((s) => s.toLowerCase().replace(/\.$/, ''));
  for (const suffix of suffixes) {
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(suffix)) {
      throw new ConfigError(
        ENV.allowedSuffixes,
        `"${suffix}" is not a DNS suffix with at least two labels`,
      );
    }
  }
  return suffixes;
}

/**
 * Reads and checks the whole runtime configuration of the issuing functions before any
 * client is created, so a deployment with a missing or malformed setting fails at cold
 * start with a message naming the variable, and calls no service.
 */
export function readRuntimeConfig(env: Env = process.env): RuntimeConfig {
  checkLogLevel(env);
  const tableName = readTableName(env);
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
  const secretStore = readSecretStore(env);
  const dns = readDns(env);
  return {
    tableName,
    issuers,
    defaultIssuer,
    allowedSuffixes: readAllowedSuffixes(env, dns),
    maxNames: wholeNumber(env, ENV.maxNames, DEFAULT_MAX_NAMES, 1, 100),
    secretStore,
    dns,
    leaseMs: wholeNumber(env, ENV.leaseSeconds, 900, 60, 86_400) * 1000,
    batchSize: wholeNumber(env, ENV.batchSize, 50, 1, 500),
    concurrency: wholeNumber(env, ENV.concurrency, 10, 1, 100),
    maxRecordsPerTick: wholeNumber(env, ENV.maxRecordsPerTick, 500, 1, 10_000),
    acmImport: readAcmImport(env, secretStore),
    budget: readBudget(env),
  };
}

function readAcmImport(env: Env, secretStore: SecretStoreConfig): boolean {
  const raw = env[ENV.acmImport]?.trim();
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw !== 'true') throw new ConfigError(ENV.acmImport, `"${raw}" is not true or false`);
  if (secretStore.kind !== 'secrets-manager') {
    throw new ConfigError(
      ENV.acmImport,
      `ACM import needs the secrets-manager store (${ENV.secretStore} is "${secretStore.kind}")`,
    );
  }
  return true;
}

/** CERTLOOP_BUDGET_*: the CA's new-order budget (defaults: DEFAULT_ORDER_BUDGET). */
export function readBudget(env: Env = process.env): OrderBudget {
  return {
    orders: wholeNumber(env, ENV.budgetOrders, DEFAULT_ORDER_BUDGET.orders, 1, 100_000),
    windowMs:
      wholeNumber(env, ENV.budgetWindowHours, DEFAULT_ORDER_BUDGET.windowMs / 3_600_000, 1, 168) *
      3_600_000,
    slackMs:
      wholeNumber(env, ENV.budgetSlackSeconds, DEFAULT_ORDER_BUDGET.slackMs / 1000, 0, 86_400) *
      1000,
  };
}

const budgetVariables = [ENV.budgetOrders, ENV.budgetWindowHours, ENV.budgetSlackSeconds];

/** The planner's configuration: the table, the queue and the order budget. */
export function readPlannerConfig(env: Env = process.env): PlannerConfig {
  checkLogLevel(env);
  const tableName = readTableName(env);
  const queueUrl = required(env, ENV.queueUrl, 'the URL of the SQS work queue');
  if (!URL.canParse(queueUrl) || !/^https?:/.test(queueUrl)) {
    throw new ConfigError(ENV.queueUrl, `"${queueUrl}" is not an SQS queue URL`);
  }
  const target = env[ENV.defaultIssuer]?.trim();
  if (target && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(target)) {
    throw new ConfigError(
      ENV.defaultIssuer,
      `"${target}" is not an issuer name (lower-case letters, digits and -)`,
    );
  }
  const issuers = env[ENV.issuers]?.trim() ? readIssuers(env) : undefined;
  const identities = Object.fromEntries(
    Object.entries(issuers ?? {}).map(([name, issuer]) => [name, issuerIdentity(issuer)]),
  );
  return {
    tableName,
    queueUrl,
    maxRecordsPerTick: wholeNumber(env, ENV.maxRecordsPerTick, 500, 1, 10_000),
    ...(target
      ? {
          issuerRotation: {
            target,
            batch: wholeNumber(env, ENV.rotationBatch, 30, 1, 1000),
            identities,
          },
        }
      : {}),
    ...(budgetVariables.some((name) => env[name]?.trim()) ? { budget: readBudget(env) } : {}),
    ...(issuers ? { exemptIssuers: exemptIssuerNames(issuers) } : {}),
  };
}
