import { asCertloopError, CertloopError } from '../../core/errors.js';

/** The `source` of every error this adapter raises. */
export const RECORDS_SOURCE = 'records';

/** Service errors meaning "throttled or unavailable, try again later". */
const UNAVAILABLE_ERROR_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/** Credentials or permissions of our own deployment: not the certificate's fault. */
const ACCESS_ERROR_NAMES = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

/** Node/socket error codes of a request that never got an answer. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export interface DynamoDbErrorContext {
  tableName: string;
  /** What was being done, for the message: "put certificate record x". */
  action: string;
}

/** True when DynamoDB rejected a write because its condition did not hold. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return errorName(error) === 'ConditionalCheckFailedException';
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
  const name = errorName(error);
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
    UNAVAILABLE_ERROR_NAMES.has(name) ||
    ACCESS_ERROR_NAMES.has(name) ||
    httpStatus(error) >= 500 ||
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

function errorName(error: unknown): string {
  if (error !== null && typeof error === 'object' && 'name' in error) {
    return typeof error.name === 'string' ? error.name : '';
  }
  return '';
}

function httpStatus(error: unknown): number {
  if (error !== null && typeof error === 'object' && '$metadata' in error) {
    const metadata = error.$metadata;
    if (metadata !== null && typeof metadata === 'object' && 'httpStatusCode' in metadata) {
      return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : 0;
    }
  }
  return 0;
}

function isNetworkError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return false;
    if ('code' in current && typeof current.code === 'string') {
      if (NETWORK_ERROR_CODES.has(current.code)) return true;
    }
    current = 'cause' in current ? current.cause : undefined;
  }
  return false;
}
