import type * as events from 'aws-cdk-lib/aws-events';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { EVENT_SOURCE, EVENT_TYPES } from '../../src/core/certificate-events.js';

/** A secret certloop manages: the construct, or its full ARN (random suffix included). */
export type SecretRef = secretsmanager.ISecret | string;

/** The full ARN of a secret given either way. */
export function secretArnOf(secret: SecretRef): string {
  return typeof secret === 'string' ? secret : secret.secretArn;
}

/**
 * The pattern of a rule that fires on `Certificate Issued` (first issuance and every
 * renewal) of exactly these secrets: source `certloop`, the detail-type, and
 * `detail.secretArn` equal to one of the ARNs (EventBridge compares strings exactly, so
 * an event for any other secret never reaches the target). One definition for every
 * consumer construct.
 */
export function certificateIssuedPattern(secrets: readonly SecretRef[]): events.EventPattern {
  if (secrets.length === 0) throw new Error('certificateIssuedPattern: name at least one secret');
  const arns = [...new Set(secrets.map(secretArnOf))];
  return {
    source: [EVENT_SOURCE],
    detailType: [EVENT_TYPES.issued],
    detail: { secretArn: arns },
  };
}
