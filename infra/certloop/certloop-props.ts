import type * as events from 'aws-cdk-lib/aws-events';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { NotifyOn } from './announcements.js';
import type { ChallengeZone } from './challenge-zones.js';
import type { CertLoopIssuer } from './issuers.js';

/** Defaults of CertLoopProps (and of the CDK app's context keys). */
export const CERTLOOP_DEFAULTS = {
  plannerSchedule: 'rate(5 minutes)',
  sweepSchedule: 'rate(1 hour)',
  workerMaxConcurrency: 5,
  logRetentionDays: 90,
  expiryAlarmDays: 14,
  failureAlarmThreshold: 3,
  rotationBatch: 30,
  stekSchedule: 'rate(1 hour)',
  orderBudget: { orders: 300, windowHours: 3, slackSeconds: 600 },
} as const;

/** The CA's new-order budget that forced renewals of many certificates are spread over. */
export interface OrderBudgetProps {
  /**
   * New orders allowed per window. Let's Encrypt allows 300 new orders per account
   * every 3 hours; keep this at or below your CA's limit.
   * @default 300
   */
  readonly orders?: number;
  /**
   * The window in hours (1-168).
   * @default 3
   */
  readonly windowHours?: number;
  /**
   * Longest delay in seconds between a renewal's slot and its order (planner period plus
   * queue); keep it at least the planner period.
   * @default 600
   */
  readonly slackSeconds?: number;
}

export interface CertLoopProps {
  /**
   * Named ACME issuers; a secret picks one with the `certloop:issuer` tag. Checked at
   * synth by the functions' own reader (https directories, no unknown fields). An issuer
   * with `eab` names the Secrets Manager secret of its HMAC key: the worker may read
   * exactly those secrets.
   * @default { default: { directoryUrl: LETS_ENCRYPT_STAGING } } (untrusted test certificates)
   */
  readonly issuers?: Record<string, CertLoopIssuer>;
  /**
   * The issuer of secrets that name none, and the target of the issuer rotation: a
   * change moves the records that follow it, a batch per planner run. Must name one of
   * `issuers` (synth fails otherwise).
   * @default - the only issuer, or the one named `default`
   */
  readonly defaultIssuer?: string;
  /**
   * Route 53 hosted zones for DNS-01 challenges. With none, the construct grants no
   * Route 53 access at all, synthesizes with a warning, and the worker and sweep refuse
   * to start until zones are given.
   * @default []
   */
  readonly hostedZones?: ChallengeZone[];
  /**
   * DNS suffixes that certificate names must fall under (names outside become `invalid`).
   * @default - the hosted zones' domains
   */
  readonly allowedSuffixes?: string[];
  /**
   * When the planner looks for due records and queues them.
   * @default events.Schedule.rate(Duration.minutes(5))
   */
  readonly plannerSchedule?: events.Schedule;
  /**
   * When the registration sweep re-reads every tagged secret (tag changes also trigger it).
   * @default events.Schedule.rate(Duration.hours(1))
   */
  readonly sweepSchedule?: events.Schedule;
  /**
   * Most concurrent worker invocations driven by the queue (2-1000). Each works on up to
   * 10 certificates; this is the lever that keeps issuance inside the CA's rate limits.
   * @default 5
   */
  readonly workerMaxConcurrency?: number;
  /**
   * An email address subscribed to the notice topic (alarms and their recovery).
   * @default - no subscription
   */
  readonly notificationEmail?: string;
  /**
   * Which certloop events (EventBridge, source `certloop`) also reach the notice topic as
   * readable messages: `failures` (renewal failures and invalid certificates), `all`
   * (also every issuance and STEK rotation) or `none`.
   * @default 'failures'
   */
  readonly notifyOn?: NotifyOn;
  /**
   * How long the functions' log groups keep their events.
   * @default logs.RetentionDays.THREE_MONTHS (90 days)
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * ARNs of customer-managed KMS keys that encrypt registered certificate secrets; the
   * worker may use them through Secrets Manager only (kms:ViaService). Secrets under the
   * AWS-managed key `aws/secretsmanager` need nothing.
   * @default [] (no KMS grant: the AWS-managed key only)
   */
  readonly secretEncryptionKeyArns?: string[];
  /**
   * Name prefix of the ACME account-key secrets the worker creates.
   * @default 'certloop/acme-account/'
   */
  readonly accountKeyPrefix?: string;
  /**
   * Where the dashboard's days-to-expiry graph draws its reference line. No alarm uses
   * it: the expiry alarm fires on certificates at risk for their own lifetime (under
   * min(14 days, a third of the lifetime) left, or a sixth of the lifetime late).
   * @default 14
   */
  readonly expiryAlarmDays?: number;
  /**
   * Alarm when at least this many certificate attempts fail within one hour.
   * @default 3
   */
  readonly failureAlarmThreshold?: number;
  /**
   * The CA's new-order budget the Renew function spreads forced renewals over.
   * @default { orders: 300, windowHours: 3, slackSeconds: 600 } (Let's Encrypt's new-order limit per account)
   */
  readonly orderBudget?: OrderBudgetProps;
  /**
   * Records each planner run switches to the default issuer when it changes (issuer
   * rotation), 1-1000.
   * @default 30
   */
  readonly rotationBatch?: number;
  /**
   * STEK (session-ticket key) sets to rotate: secret names (created and tagged
   * `certloop:stek` on first rotation) or ARNs of existing secrets tagged `certloop:stek`.
   * @default [] (no STEK function)
   */
  readonly stekSets?: string[];
  /**
   * When the STEK rotation runs (most runs find nothing to do).
   * @default events.Schedule.rate(Duration.hours(1))
   */
  readonly stekSchedule?: events.Schedule;
  /**
   * Hours each session-ticket key encrypts (1-168).
   * @default 12
   */
  readonly stekPeriodHours?: number;
  /**
   * Hours a session-ticket key is kept after it stops encrypting (at least the period).
   * @default 24 (or the period when that is longer)
   */
  readonly stekRetentionHours?: number;
  /**
   * Let certificates tagged `certloop:acm` (`new`, or the ARN of an ACM certificate in this
   * account) also be imported into AWS Certificate Manager, and each renewal re-imported
   * into the same ARN. Grants the worker `acm:ImportCertificate` on this account's
   * certificates. Off: such a tag makes the record `invalid`, saying so.
   * @default false
   */
  readonly acmImport?: boolean;
}
