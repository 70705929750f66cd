/**
 * Reading AWS SDK v3 errors without importing their classes: the name, the HTTP status,
 * whether the request never got an answer, and the error names that mean the same thing
 * in every AWS service. Every AWS adapter's error translation builds on these, adding
 * only its own service's names (and nothing above the adapters looks at SDK errors).
 */

/**
 * Throttled, overloaded, timed out or broken on the service's side: try again later.
 * The names the AWS services (JSON and query protocols) and the SDK itself use.
 */
export const UNAVAILABLE_ERROR_NAMES: ReadonlySet<string> = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'TooManyRequests',
  'RequestLimitExceeded',
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'InternalServiceError',
  'InternalServiceErrorException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

/**
 * Our own credentials could not be had or used right now (expired session, clock skew,
 * a failing credential provider): the deployment's problem, never the certificate's.
 */
export const CREDENTIAL_ERROR_NAMES: ReadonlySet<string> = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'RequestExpired',
  'InvalidClientTokenId',
]);

/** IAM or a resource policy refused the call. */
export const ACCESS_DENIED_ERROR_NAMES: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AccessDeniedException',
]);

/** What a shared error name means; each adapter decides what that is for its service. */
export type SdkErrorClass = 'unavailable' | 'credentials' | 'access-denied';

/** The class of an error name shared by every AWS service, or undefined for any other. */
export function sdkErrorClass(name: string | undefined): SdkErrorClass | undefined {
  if (name === undefined) return undefined;
  if (UNAVAILABLE_ERROR_NAMES.has(name)) return 'unavailable';
  if (CREDENTIAL_ERROR_NAMES.has(name)) return 'credentials';
  if (ACCESS_DENIED_ERROR_NAMES.has(name)) return 'access-denied';
  return undefined;
}

/** Node/socket error codes of a request that never got an answer. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
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

/** The error's `name` (the SDK puts the service's error code there), or ''. */
export function sdkErrorName(error: unknown): string {
  if (error !== null && typeof error === 'object' && 'name' in error) {
    return typeof error.name === 'string' ? error.name : '';
  }
  return '';
}

/** The HTTP status the service answered with, or 0 when there was no answer. */
export function sdkHttpStatus(error: unknown): number {
  if (error !== null && typeof error === 'object' && '$metadata' in error) {
    const metadata = error.$metadata;
    if (metadata !== null && typeof metadata === 'object' && 'httpStatusCode' in metadata) {
      return typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : 0;
    }
  }
  return 0;
}

/** The socket error code of the error or of its causes (a few levels deep), if any. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return undefined;
    if (
      'code' in current &&
      typeof current.code === 'string' &&
      NETWORK_ERROR_CODES.has(current.code)
    ) {
      return current.code;
    }
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

/** True when the request never got an answer (refused, reset, timed out, DNS failure). */
export function isNetworkError(error: unknown): boolean {
  return networkErrorCode(error) !== undefined;
}
