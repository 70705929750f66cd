import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { CERTLOOP_DEFAULTS, type CertLoopProps } from './certloop/certloop.js';
import type { ChallengeZone } from './certloop/challenge-zones.js';
import { LETS_ENCRYPT_STAGING } from './certloop/issuers.js';

/**
 * The CDK context keys of the certloop app (`cdk.json` or `-c key=value`). Values from
 * `cdk.json` arrive typed; values from `-c` arrive as strings, so lists are JSON.
 */
export const CONTEXT_KEYS = {
  /** ACME directory of the single issuer `default`. Default: Let's Encrypt staging. */
  acmeDirectoryUrl: 'acmeDirectoryUrl',
  /** Contact email of the ACME account. Optional. */
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
  /** Log retention of the functions, in days (a CloudWatch Logs value). Default 90. */
  logRetentionDays: 'logRetentionDays',
  /** JSON list of KMS key ARNs that encrypt certificate secrets. Default []. */
  secretEncryptionKeyArns: 'secretEncryptionKeyArns',
} as const;

/** The documented defaults of the context keys (what `cdk.json` holds). */
export const CONTEXT_DEFAULTS = {
  [CONTEXT_KEYS.acmeDirectoryUrl]: LETS_ENCRYPT_STAGING,
  [CONTEXT_KEYS.hostedZones]: [] as ChallengeZone[],
  [CONTEXT_KEYS.plannerSchedule]: CERTLOOP_DEFAULTS.plannerSchedule,
  [CONTEXT_KEYS.sweepSchedule]: CERTLOOP_DEFAULTS.sweepSchedule,
  [CONTEXT_KEYS.workerMaxConcurrency]: CERTLOOP_DEFAULTS.workerMaxConcurrency,
  [CONTEXT_KEYS.logRetentionDays]: CERTLOOP_DEFAULTS.logRetentionDays,
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
  const directoryUrl = optionalString(node, CONTEXT_KEYS.acmeDirectoryUrl) ?? LETS_ENCRYPT_STAGING;
  const contactEmail = optionalString(node, CONTEXT_KEYS.contactEmail);
  const allowedSuffixes = strings(node, CONTEXT_KEYS.allowedSuffixes, true);
  const notificationEmail = optionalString(node, CONTEXT_KEYS.notificationEmail);
  const secretEncryptionKeyArns = strings(node, CONTEXT_KEYS.secretEncryptionKeyArns, true);
  return {
    issuers: { default: { directoryUrl, ...(contactEmail ? { contactEmail } : {}) } },
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
    logRetention: retention(node),
    ...(secretEncryptionKeyArns ? { secretEncryptionKeyArns } : {}),
  };
}
