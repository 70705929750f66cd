import { asCertloopError, CertloopError } from '../../core/errors.js';
import { isNetworkError, sdkErrorClass, sdkErrorName, sdkHttpStatus } from '../sdk-errors.js';

/** The `source` of every error this adapter raises. */
export const RECORDS_SOURCE = 'records';

/** DynamoDB's own names for "throttled, try again later" (the shared ones: sdk-errors.ts). */
const DYNAMODB_UNAVAILABLE_ERROR_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
]);

export interface DynamoDbErrorContext {
  tableName: string;
  /** What was being done, for the message: "put certificate record x". */
  action: string;
}

/** True when DynamoDB rejected a write because its condition did not hold. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return sdkErrorName(error) === 'ConditionalCheckFailedException';
}

/**
 * Any error thrown by the DynamoDB client as a CertloopError:
 * - condition failed: `conflict`;
 * - throttling, 5xx, timeouts, network failures, missing table, credentials:
 *   `infrastructure` (retried later, never counted against a certificate);
 * - anything else: as `asCertloopError` does (transient).
 */
export function translateDynamoDbError(
  error: unknown,
  context: DynamoDbErrorContext,
): CertloopError {
  if (error instanceof CertloopError) return error;
  const name = sdkErrorName(error);
  const detail = error instanceof Error ? error.message : String(error);
  const options = { source: RECORDS_SOURCE, cause: error };

  if (name === 'ConditionalCheckFailedException') {
    return new CertloopError('conflict', `${context.action}: the record changed`, options);
  }
  if (name === 'ResourceNotFoundException') {
    return new CertloopError(
      'infrastructure',
      `${context.action}: DynamoDB table ${context.tableName} does not exist (${detail})`,
      options,
    );
  }
  if (
    // Unavailable, or credentials or permissions of our own deployment: not the
    // certificate's fault.
    sdkErrorClass(name) !== undefined ||
    DYNAMODB_UNAVAILABLE_ERROR_NAMES.has(name) ||
    sdkHttpStatus(error) >= 500 ||
    isNetworkError(error)
  ) {
    return new CertloopError(
      'infrastructure',
      `${context.action}: DynamoDB table ${context.tableName} unavailable: ${name || 'Error'}: ${detail}`,
      options,
    );
  }
  return asCertloopError(error, RECORDS_SOURCE);
}
