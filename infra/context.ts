import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { readIssuerList } from '../src/config/issuer-list.js';
import { NOTIFY_ON, type NotifyOn } from './certloop/announcements.js';
import {
  CERTLOOP_DEFAULTS,
  type CertLoopProps,
  type OrderBudgetProps,
} from './certloop/certloop.js';
import type { ChallengeZone } from './certloop/challenge-zones.js';
import { type CertLoopIssuer, LETS_ENCRYPT_STAGING } from './certloop/issuers.js';

/**
 * The CDK context keys of the certloop app (`cdk.json` or `-c key=value`). Values from
 * `cdk.json` arrive typed; values from `-c` arrive as strings, so lists are JSON.
 */
export const CONTEXT_KEYS = {
  /**
   * JSON list of issuers: {name, directoryUrl, contactEmail?, eab?: {keyId,
   * hmacKeySecretArn}, profile?, ariRenewalsExempt?, default?}. Not together with
   * acmeDirectoryUrl or contactEmail. Default: the shorthand below.
   */
  issuers: 'issuers',
  /**
   * One-issuer shorthand: ACME directory of the single issuer `default`. Default: Let's
   * Encrypt staging (not in cdk.json, so that `issuers` can be given instead).
   */
  acmeDirectoryUrl: 'acmeDirectoryUrl',
  /** One-issuer shorthand: contact email of the ACME account. Optional. */
  contactEmail: 'contactEmail',
  /** JSON list of {hostedZoneId, domain, roleArn?}. Default []. */
  hostedZones: 'hostedZones',
  /** JSON list (or space/comma-separated) of DNS suffixes. Default: the zones' domains. */
  allowedSuffixes: 'allowedSuffixes',
  /** EventBridge schedule expression of the planner. Default rate(5 minutes). */
  plannerSchedule: 'plannerSchedule',
  /** EventBridge schedule expression of the sweep. Default rate(1 hour). */
  sweepSchedule: 'sweepSchedule',
  /** Most concurrent worker invocations (2-1000). Default 5. */
  workerMaxConcurrency: 'workerMaxConcurrency',
  /** Email subscribed to the notice topic. Optional. */
  notificationEmail: 'notificationEmail',
  /** Which events reach the notice topic: none, failures or all. Default failures. */
  notifyOn: 'notifyOn',
  /** Log retention of the functions, in days (a CloudWatch Logs value). Default 90. */
  logRetentionDays: 'logRetentionDays',
  /** JSON list of KMS key ARNs that encrypt certificate secrets. Default []. */
  secretEncryptionKeyArns: 'secretEncryptionKeyArns',
  /** JSON object {orders?, windowHours?, slackSeconds?}: the CA's new-order budget. Default 300 / 3 / 600. */
  orderBudget: 'orderBudget',
  /** Records the planner switches to the default issuer per run (1-1000). Default 30. */
  rotationBatch: 'rotationBatch',
  /** JSON list (or space/comma-separated) of STEK set ids. Default [] (no STEK function). */
  stekSets: 'stekSets',
  /** EventBridge schedule expression of the STEK rotation. Default rate(1 hour). */
  stekSchedule: 'stekSchedule',
  /** true: certificates tagged certloop:acm are also imported into ACM. Default false. */
  acmImport: 'acmImport',
} as const;

/**
 * The documented defaults of the context keys (what `cdk.json` holds). The issuer is not
 * among them: `issuers` and the `acmeDirectoryUrl` shorthand exclude each other, so
 * neither may come from cdk.json; with neither, the issuer `default` is Let's Encrypt
 * staging.
 */
export const CONTEXT_DEFAULTS = {
  [CONTEXT_KEYS.hostedZones]: [] as ChallengeZone[],
  [CONTEXT_KEYS.plannerSchedule]: CERTLOOP_DEFAULTS.plannerSchedule,
  [CONTEXT_KEYS.sweepSchedule]: CERTLOOP_DEFAULTS.sweepSchedule,
  [CONTEXT_KEYS.workerMaxConcurrency]: CERTLOOP_DEFAULTS.workerMaxConcurrency,
  [CONTEXT_KEYS.logRetentionDays]: CERTLOOP_DEFAULTS.logRetentionDays,
  [CONTEXT_KEYS.rotationBatch]: CERTLOOP_DEFAULTS.rotationBatch,
  [CONTEXT_KEYS.orderBudget]: { ...CERTLOOP_DEFAULTS.orderBudget },
  [CONTEXT_KEYS.stekSets]: [] as string[],
  [CONTEXT_KEYS.stekSchedule]: CERTLOOP_DEFAULTS.stekSchedule,
  [CONTEXT_KEYS.acmImport]: false,
};

class ContextError extends Error {
  constructor(key: string, problem: string) {
    super(`CDK context "${key}": ${problem}`);
    this.name = 'ContextError';
  }
}

function optionalString(node: Node, key: string): string | undefined {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw new ContextError(key, 'must be a string');
  return raw.trim() || undefined;
}

function list(node: Node, key: string, splitPlain: boolean): unknown[] | undefined {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (Array.isArray(raw)) return raw;
  if (typeof raw !== 'string') throw new ContextError(key, 'must be a JSON list');
  const text = raw.trim();
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // reported below
    }
    throw new ContextError(key, 'is not a valid JSON list');
  }
  if (splitPlain) return text.split(/[\s,]+/).filter(Boolean);
  throw new ContextError(
    key,
    'must be a JSON list, e.g. \'[{"hostedZoneId":"Z0123","domain":"example.com"}]\'',
  );
}

function flag(node: Node, key: string): boolean {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '' || raw === false || raw === 'false') {
    return false;
  }
  if (raw === true || raw === 'true') return true;
  throw new ContextError(key, `must be true or false, not ${JSON.stringify(raw)}`);
}

function integer(node: Node, key: string, fallback: number): number {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
  if (!Number.isInteger(value))
    throw new ContextError(key, `"${String(raw)}" is not a whole number`);
  return value;
}

function schedule(node: Node, key: string, fallback: string): events.Schedule {
  const expression = optionalString(node, key) ?? fallback;
  if (!/^(rate|cron)\(.+\)$/.test(expression)) {
    throw new ContextError(
      key,
      `"${expression}" is not an EventBridge rate(...) or cron(...) expression`,
    );
  }
  return events.Schedule.expression(expression);
}

function hostedZones(node: Node): ChallengeZone[] {
  const entries = list(node, CONTEXT_KEYS.hostedZones, false) ?? [];
  return entries.map((entry, index) => {
    const zone = entry as Partial<Record<keyof ChallengeZone, unknown>>;
    if (typeof zone?.hostedZoneId !== 'string' || typeof zone.domain !== 'string') {
      throw new ContextError(
        CONTEXT_KEYS.hostedZones,
        `entry ${index} needs "hostedZoneId" and "domain" strings`,
      );
    }
    if (zone.roleArn !== undefined && typeof zone.roleArn !== 'string') {
      throw new ContextError(
        CONTEXT_KEYS.hostedZones,
        `entry ${index}: "roleArn" must be a string`,
      );
    }
    return {
      hostedZoneId: zone.hostedZoneId,
      domain: zone.domain,
      ...(zone.roleArn ? { roleArn: zone.roleArn } : {}),
    };
  });
}

function strings(node: Node, key: string, splitPlain: boolean): string[] | undefined {
  const entries = list(node, key, splitPlain);
  if (entries === undefined) return undefined;
  if (!entries.every((entry) => typeof entry === 'string')) {
    throw new ContextError(key, 'must list strings');
  }
  return entries as string[];
}

const ORDER_BUDGET_FIELDS = ['orders', 'windowHours', 'slackSeconds'] as const;

function orderBudget(node: Node): OrderBudgetProps | undefined {
  const key = CONTEXT_KEYS.orderBudget;
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ContextError(key, 'is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ContextError(key, 'must be a JSON object, e.g. \'{"orders":300,"windowHours":3}\'');
  }
  const budget: Record<string, number> = {};
  for (const [field, entry] of Object.entries(value)) {
    if (!(ORDER_BUDGET_FIELDS as readonly string[]).includes(field)) {
      throw new ContextError(
        key,
        `unknown field "${field}" (known: ${ORDER_BUDGET_FIELDS.join(', ')})`,
      );
    }
    if (typeof entry !== 'number' || !Number.isInteger(entry)) {
      throw new ContextError(key, `"${field}" must be a whole number`);
    }
    budget[field] = entry;
  }
  return budget;
}

/**
 * The issuers: the `issuers` list (checked by readIssuerList, so a malformed issuer is
 * refused with the functions' own cold-start message), or the one-issuer shorthand
 * `acmeDirectoryUrl` / `contactEmail`; never both.
 */
function issuers(node: Node): Pick<CertLoopProps, 'issuers' | 'defaultIssuer'> {
  const key = CONTEXT_KEYS.issuers;
  const directoryUrl = optionalString(node, CONTEXT_KEYS.acmeDirectoryUrl);
  const contactEmail = optionalString(node, CONTEXT_KEYS.contactEmail);
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') {
    return {
      issuers: {
        default: {
          directoryUrl: directoryUrl ?? LETS_ENCRYPT_STAGING,
          ...(contactEmail ? { contactEmail } : {}),
        },
      },
    };
  }
  const shorthand = [
    ...(directoryUrl !== undefined ? [CONTEXT_KEYS.acmeDirectoryUrl] : []),
    ...(contactEmail !== undefined ? [CONTEXT_KEYS.contactEmail] : []),
  ];
  if (shorthand.length > 0) {
    throw new ContextError(
      key,
      `cannot be combined with the one-issuer shorthand ${shorthand.map((k) => `"${k}"`).join(' and ')}; ` +
        'give the directory URL and contact email in the issuers list instead',
    );
  }
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ContextError(key, 'is not valid JSON');
    }
  }
  let set: ReturnType<typeof readIssuerList>;
  try {
    set = readIssuerList(value);
  } catch (error) {
    throw new ContextError(key, (error as Error).message);
  }
  const props: Record<string, CertLoopIssuer> = {};
  for (const [name, issuer] of Object.entries(set.issuers)) {
    props[name] = {
      directoryUrl: issuer.directoryUrl,
      ...(issuer.contactEmail !== undefined ? { contactEmail: issuer.contactEmail } : {}),
      ...(issuer.ariRenewalsExempt !== undefined
        ? { ariRenewalsExempt: issuer.ariRenewalsExempt }
        : {}),
      // readIssuerList refuses an HMAC key file: a deployed issuer has the secret's ARN.
      ...(issuer.eab?.hmacKeySecretArn
        ? { eab: { keyId: issuer.eab.keyId, hmacKeySecretArn: issuer.eab.hmacKeySecretArn } }
        : {}),
      ...(issuer.profile !== undefined ? { profile: issuer.profile } : {}),
    };
  }
  return { issuers: props, defaultIssuer: set.defaultIssuer };
}

function retention(node: Node): logs.RetentionDays {
  const days = integer(node, CONTEXT_KEYS.logRetentionDays, CERTLOOP_DEFAULTS.logRetentionDays);
  const allowed = Object.values(logs.RetentionDays).filter(
    (value): value is logs.RetentionDays => typeof value === 'number',
  );
  const found = allowed.find((value) => value === days);
  if (found === undefined) {
    throw new ContextError(
      CONTEXT_KEYS.logRetentionDays,
      `${days} is not a CloudWatch Logs retention; use one of ${allowed.filter((d) => d > 0).join(', ')}`,
    );
  }
  return found;
}

/** The CertLoop props that the app's context describes; unset keys keep their defaults. */
export function certLoopPropsFromContext(node: Node): CertLoopProps {
  const allowedSuffixes = strings(node, CONTEXT_KEYS.allowedSuffixes, true);
  const notificationEmail = optionalString(node, CONTEXT_KEYS.notificationEmail);
  const notifyOn = optionalString(node, CONTEXT_KEYS.notifyOn);
  if (notifyOn !== undefined && !(NOTIFY_ON as readonly string[]).includes(notifyOn)) {
    throw new ContextError(
      CONTEXT_KEYS.notifyOn,
      `"${notifyOn}" is not one of ${NOTIFY_ON.join(', ')}`,
    );
  }
  const secretEncryptionKeyArns = strings(node, CONTEXT_KEYS.secretEncryptionKeyArns, true);
  const budget = orderBudget(node);
  const stekSets = strings(node, CONTEXT_KEYS.stekSets, true);
  return {
    ...issuers(node),
    hostedZones: hostedZones(node),
    ...(allowedSuffixes ? { allowedSuffixes } : {}),
    plannerSchedule: schedule(
      node,
      CONTEXT_KEYS.plannerSchedule,
      CERTLOOP_DEFAULTS.plannerSchedule,
    ),
    sweepSchedule: schedule(node, CONTEXT_KEYS.sweepSchedule, CERTLOOP_DEFAULTS.sweepSchedule),
    workerMaxConcurrency: integer(
      node,
      CONTEXT_KEYS.workerMaxConcurrency,
      CERTLOOP_DEFAULTS.workerMaxConcurrency,
    ),
    ...(notificationEmail ? { notificationEmail } : {}),
    ...(notifyOn ? { notifyOn: notifyOn as NotifyOn } : {}),
    logRetention: retention(node),
    ...(secretEncryptionKeyArns ? { secretEncryptionKeyArns } : {}),
    ...(budget ? { orderBudget: budget } : {}),
    rotationBatch: integer(node, CONTEXT_KEYS.rotationBatch, CERTLOOP_DEFAULTS.rotationBatch),
    ...(stekSets ? { stekSets } : {}),
    stekSchedule: schedule(node, CONTEXT_KEYS.stekSchedule, CERTLOOP_DEFAULTS.stekSchedule),
    acmImport: flag(node, CONTEXT_KEYS.acmImport),
  };
}
