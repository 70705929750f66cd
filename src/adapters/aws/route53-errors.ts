import { CertloopError } from '../../core/errors.js';
import { isNetworkError, sdkErrorClass, sdkErrorName, sdkHttpStatus } from '../sdk-errors.js';

/** The `source` of every error the Route 53 adapter raises. */
export const DNS_SOURCE = 'dns';

/** Route 53's own name for "try again later" (the shared ones: sdk-errors.ts). */
const PRIOR_REQUEST_NOT_COMPLETE = 'PriorRequestNotComplete';

/** More permission errors beyond AccessDenied: fixed by changing IAM or the role, not by waiting. */
const MORE_ACCESS_ERROR_NAMES = new Set(['NotAuthorizedException', 'UnauthorizedOperation']);

export interface Route53ErrorContext {
  /** The API call, for the message: 'ChangeResourceRecordSets'. */
  operation: string;
  hostedZoneId: string;
  /** The zone's configured domain. */
  domain: string;
  /** The role assumed for this zone, when there is one. */
  roleArn?: string | undefined;
  /** The record names the call was about, for the message. */
  names?: readonly string[];
}

/**
 * Any error thrown by the Route 53 client (or its credential provider) as a CertloopError,
 * matched by the error's `name`, `code` and `$metadata.httpStatusCode`, never by class:
 * - Throttling, PriorRequestNotComplete, 429, 5xx, timeouts, network failures and missing
 *   or expired credentials: `infrastructure` (retried later, never counted against a
 *   certificate);
 * - InvalidChangeBatch: `transient`, with Route 53's own message;
 * - NoSuchHostedZone, AccessDenied (or 403): `permanent`, naming the zone and what to fix;
 * - anything else: `transient`.
 */
export function translateRoute53Error(error: unknown, context: Route53ErrorContext): CertloopError {
  if (error instanceof CertloopError) return error;
  const name = sdkErrorName(error) || undefined;
  const status = sdkHttpStatus(error) || undefined;
  const detail = errorMessage(error);
  const where = `Route 53 ${context.operation} on hosted zone ${context.hostedZoneId} (${context.domain})`;
  const about = context.names?.length ? ` for ${summarizeNames(context.names)}` : '';
  const options = { source: DNS_SOURCE, cause: error };

  if (name === 'NoSuchHostedZone') {
    return new CertloopError(
      'permanent',
      `${where}${about} failed: hosted zone ${context.hostedZoneId} does not exist ` +
        `(${name}: ${detail}). Fix the hostedZoneId configured for ${context.domain}.`,
      options,
    );
  }
  if (sdkErrorClass(name) === 'credentials') {
    const whose = context.roleArn ? `role ${context.roleArn}` : 'the worker';
    return new CertloopError(
      'infrastructure',
      `${where}${about} had no usable credentials for ${whose} (${name}): ${detail}`,
      options,
    );
  }
  if (
    sdkErrorClass(name) === 'access-denied' ||
    (name !== undefined && MORE_ACCESS_ERROR_NAMES.has(name)) ||
    status === 403
  ) {
    const principal = context.roleArn
      ? `role ${context.roleArn} (and let the worker assume it)`
      : 'the worker role';
    return new CertloopError(
      'permanent',
      `${where}${about} was denied (${name ?? `HTTP ${status}`}: ${detail}). Grant ${principal} ` +
        `route53:ChangeResourceRecordSets, route53:ListResourceRecordSets and route53:GetChange ` +
        `on hosted zone ${context.hostedZoneId} for _acme-challenge TXT records.`,
      options,
    );
  }
  if (name === 'InvalidChangeBatch') {
    return new CertloopError(
      'transient',
      `${where}${about} rejected the change: ${detail}`,
      options,
    );
  }
  if (isUnavailable(name, status, error)) {
    return new CertloopError(
      'infrastructure',
      `${where}${about} is throttled or unavailable (${name ?? 'error'}${
        status === undefined ? '' : `, HTTP ${status}`
      }): ${detail}`,
      options,
    );
  }
  return new CertloopError(
    'transient',
    `${where}${about} failed (${name ?? 'error'}${status === undefined ? '' : `, HTTP ${status}`}): ${detail}`,
    options,
  );
}

function isUnavailable(
  name: string | undefined,
  status: number | undefined,
  error: unknown,
): boolean {
  if (sdkErrorClass(name) === 'unavailable' || name === PRIOR_REQUEST_NOT_COMPLETE) return true;
  if (status !== undefined) return status === 429 || status >= 500;
  // No HTTP answer at all: a socket or DNS failure on the way to Route 53.
  return isNetworkError(error);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function summarizeNames(names: readonly string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}
