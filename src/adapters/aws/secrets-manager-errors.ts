/**
 * Secrets Manager SDK errors as CertloopError. Matching goes by the error `name`, the
 * HTTP status in `$metadata` and Node's network error codes, never by `instanceof`, so
 * errors from another copy of the SDK (or a test double) translate the same way.
 *
 * - ResourceNotFoundException, or a secret scheduled for deletion: `not-found`.
 * - Throttling, 429, InternalServiceError, any 5xx, timeouts, network failures,
 *   credential hiccups: `infrastructure` (retried later, never counted against a
 *   certificate).
 * - AccessDeniedException, KMS failures: `permanent`, naming the permission and the
 *   secret, since a person has to fix IAM or the key policy; waiting does not help.
 * - InvalidRequestException, InvalidParameterException, ValidationException,
 *   MalformedPolicyDocumentException: `permanent` (the request can never succeed as is).
 * - ResourceExistsException: `conflict` (someone else created that secret or version).
 * - anything else: `transient`, as `asCertloopError` does.
 *
 * Messages name the operation, the secret id and the service's own error text. The
 * service never echoes a SecretString in an error, but the text still goes through
 * `safeDetail`, which drops it when it looks like key material.
 */
import { CertloopError } from '../../core/errors.js';
import { isNetworkError, sdkErrorClass, sdkErrorName, sdkHttpStatus } from '../sdk-errors.js';

/** The `source` of every error this adapter raises. */
export const SECRETS_SOURCE = 'secrets';

export interface SecretsManagerErrorContext {
  /** The API operation, e.g. `PutSecretValue`; names the IAM action on AccessDenied. */
  operation: string;
  /** The secret the call was about; absent for calls about no one secret (ListSecrets). */
  secretId?: string;
  /** What certloop was doing, for the message: "write certificate", "stage pending key". */
  purpose?: string;
}

/** Secrets Manager's own names for "try again later" (the shared ones: sdk-errors.ts). */
const SECRETS_MANAGER_UNAVAILABLE_ERROR_NAMES = new Set(['LimitExceededException', 'AbortError']);

/** The request itself can never succeed as written. */
const INVALID_REQUEST_ERROR_NAMES = new Set([
  'InvalidRequestException',
  'InvalidParameterException',
  'InvalidParameterValue',
  'ValidationException',
  'MalformedPolicyDocumentException',
  'PreconditionNotMetException',
]);

/** Text that must never travel in a message, whatever the service said. */
const KEY_MATERIAL = /PRIVATE KEY|"privateKey"|MI[A-Za-z0-9+/]{2,6}AgEA|MHcCAQEE|MIGkAgEBBD/;
const MAX_DETAIL = 300;

/** Any error thrown by the Secrets Manager client as a CertloopError (see top comment). */
export function translateSecretsManagerError(
  error: unknown,
  context: SecretsManagerErrorContext,
): CertloopError {
  if (error instanceof CertloopError) return error;
  const name = sdkErrorName(error);
  const status = sdkHttpStatus(error);
  const detail = safeDetail(error);
  const secret = context.secretId === undefined ? 'the secret' : `secret ${context.secretId}`;
  const doing = `${context.purpose ?? context.operation} (${context.operation})${
    context.secretId === undefined ? '' : ` for secret ${context.secretId}`
  }`;
  const options = { source: SECRETS_SOURCE, cause: safeCause(error, name, status) };
  const what = `${name || 'Error'}${status ? `, HTTP ${status}` : ''}`;
  const suffix = detail ? `: ${detail}` : '';

  if (name === 'ResourceNotFoundException') {
    return new CertloopError(
      'not-found',
      `${doing}: ${secret} does not exist or has no such version${suffix}`,
      options,
    );
  }
  if (sdkErrorClass(name) === 'access-denied') {
    return new CertloopError(
      'permanent',
      `${doing}: access denied. Grant secretsmanager:${context.operation}` +
        `${context.secretId === undefined ? '' : ` on secret ${context.secretId}`} ` +
        `to this function's role (waiting will not help)${suffix}`,
      options,
    );
  }
  if (name === 'DecryptionFailure' || name === 'EncryptionFailure') {
    return new CertloopError(
      'permanent',
      `${doing}: the KMS key of ${secret} cannot be used; grant ` +
        `kms:${name === 'DecryptionFailure' ? 'Decrypt' : 'GenerateDataKey'} on it to this ` +
        `function's role, or enable the key${suffix}`,
      options,
    );
  }
  if (name === 'InvalidRequestException' && /deleted|deletion/i.test(detail)) {
    return new CertloopError(
      'not-found',
      `${doing}: ${secret} is scheduled for deletion${suffix}`,
      options,
    );
  }
  if (name === 'ResourceExistsException') {
    return new CertloopError('conflict', `${doing}: already exists (${what})${suffix}`, options);
  }
  if (
    sdkErrorClass(name) === 'unavailable' ||
    sdkErrorClass(name) === 'credentials' ||
    SECRETS_MANAGER_UNAVAILABLE_ERROR_NAMES.has(name) ||
    status === 429 ||
    status >= 500 ||
    isNetworkError(error)
  ) {
    return new CertloopError(
      'infrastructure',
      `${doing}: Secrets Manager unavailable (${what})${suffix}`,
      { ...options, ...retryAfter(error) },
    );
  }
  if (INVALID_REQUEST_ERROR_NAMES.has(name)) {
    return new CertloopError('permanent', `${doing}: rejected (${what})${suffix}`, options);
  }
  return new CertloopError('transient', `${doing}: failed (${what})${suffix}`, options);
}

/** True when `error` is a Secrets Manager error of that name (e.g. ResourceNotFoundException). */
export function isSecretsManagerError(error: unknown, name: string): boolean {
  return sdkErrorName(error) === name;
}

/**
 * The error's own message, unless it looks like key material (then nothing): one line,
 * at most 300 characters.
 */
export function safeDetail(error: unknown): string {
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  const line = message.split('\n')[0]?.trim() ?? '';
  if (KEY_MATERIAL.test(message)) return '';
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL)}…` : line;
}

/**
 * The original error as `cause`, unless its message looks like key material: then a
 * stand-in that keeps only the name, status and network code, so that logging the cause
 * cannot leak what the message held.
 */
function safeCause(error: unknown, name: string, status: number): unknown {
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  if (!KEY_MATERIAL.test(message)) return error;
  const standIn = new Error(`${name || 'Error'} (message withheld: it looked like key material)`);
  standIn.name = name || 'Error';
  return Object.assign(standIn, {
    $metadata: { httpStatusCode: status || undefined },
    code: networkCode(error),
  });
}

function networkCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined;
  }
  return undefined;
}

function retryAfter(error: unknown): { retryAfterMs?: number } {
  if (error === null || typeof error !== 'object' || !('$response' in error)) return {};
  const response = error.$response as { headers?: Record<string, string | undefined> } | undefined;
  const value = response?.headers?.['retry-after'];
  if (value === undefined) return {};
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {};
}
