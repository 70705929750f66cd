/**
 * The Secrets Manager calls and value helpers that the certificate, pending-key,
 * account-key, registration and STEK adapters share: every SDK error leaves through
 * `translateSecretsManagerError`, and no helper ever puts a secret value in a message.
 */
import { createHash } from 'node:crypto';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  type Tag,
  UpdateSecretVersionStageCommand,
  type UpdateSecretVersionStageCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { CertloopError } from '../../core/errors.js';
import { KeyMaterial } from '../../core/key-material.js';
import {
  isSecretsManagerError,
  SECRETS_SOURCE,
  translateSecretsManagerError,
} from './secrets-manager-errors.js';

export const CURRENT_STAGE = 'AWSCURRENT';
export const PREVIOUS_STAGE = 'AWSPREVIOUS';

/** Runs one SDK call, translating whatever it throws. */
export async function sendTranslated<T>(
  operation: string,
  secretId: string | undefined,
  purpose: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateSecretsManagerError(error, {
      operation,
      purpose,
      ...(secretId === undefined ? {} : { secretId }),
    });
  }
}

/** DescribeSecret; `not-found` when the secret does not exist. */
export function describeSecret(
  client: SecretsManagerClient,
  secretId: string,
  purpose: string,
): Promise<DescribeSecretCommandOutput> {
  return sendTranslated('DescribeSecret', secretId, purpose, () =>
    client.send(new DescribeSecretCommand({ SecretId: secretId })),
  );
}

/**
 * The SecretString of the version under `label`, or `undefined` when no version has
 * that label (or it holds binary). `not-found` when the secret itself does not exist.
 */
export async function readSecretStage(
  client: SecretsManagerClient,
  secretId: string,
  label: string,
  purpose: string,
): Promise<string | undefined> {
  try {
    const answer = await client.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: label }),
    );
    return answer.SecretString;
  } catch (error) {
    if (!isSecretsManagerError(error, 'ResourceNotFoundException')) {
      throw translateSecretsManagerError(error, {
        operation: 'GetSecretValue',
        secretId,
        purpose,
      });
    }
  }
  // The same error means "no such secret" and "no such label": ask which.
  await describeSecret(client, secretId, purpose);
  return undefined;
}

/** UpdateSecretVersionStage removing `label` from `versionId`; SDK errors are left as they are. */
export function removeStageLabel(
  client: SecretsManagerClient,
  secretId: string,
  label: string,
  versionId: string,
): Promise<UpdateSecretVersionStageCommandOutput> {
  return client.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: label,
      RemoveFromVersionId: versionId,
    }),
  );
}

/**
 * Publishes `value` as a new AWSCURRENT version with a caller-chosen version id (the
 * ClientRequestToken), so that a retried write is the same version: Secrets Manager
 * moves the old AWSCURRENT to AWSPREVIOUS. A version id that already exists (same
 * token, first write won) answers `created: false`.
 */
export async function putCurrentVersion(
  client: SecretsManagerClient,
  write: { secretId: string; value: string; versionId: string; purpose: string },
): Promise<{ created: boolean }> {
  try {
    const answer = await client.send(
      new PutSecretValueCommand({
        SecretId: write.secretId,
        SecretString: write.value,
        ClientRequestToken: write.versionId,
        VersionStages: [CURRENT_STAGE],
      }),
    );
    return { created: answer.VersionStages?.includes(CURRENT_STAGE) ?? false };
  } catch (error) {
    if (isSecretsManagerError(error, 'ResourceExistsException')) return { created: false };
    throw translateSecretsManagerError(error, {
      operation: 'PutSecretValue',
      secretId: write.secretId,
      purpose: write.purpose,
    });
  }
}

/** The version that holds `label`, if any. */
export function versionWithLabel(
  stagesById: Record<string, string[]> | undefined,
  label: string,
): string | undefined {
  for (const [versionId, stages] of Object.entries(stagesById ?? {})) {
    if (stages.includes(label)) return versionId;
  }
  return undefined;
}

/** A UUID (version 8, RFC 9562 variant) made of the first 122 bits of SHA-256(value). */
export function uuidFromHash(value: string): string {
  const hex = sha256Hex(value);
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `8${hex.slice(13, 16)}`,
    `${variant}${hex.slice(17, 20)}`,
    hex.slice(20, 32),
  ].join('-');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A secret's tags as a plain record. */
export function tagRecord(tags: Tag[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? '';
  }
  return record;
}

/** JSON.parse without its error: the message of a SyntaxError quotes the input. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The PEM as KeyMaterial, or undefined when it is not a private key (no message, no cause). */
export function toKeyMaterial(pem: string): KeyMaterial | undefined {
  try {
    return new KeyMaterial(pem);
  } catch {
    return undefined;
  }
}

/** Refuses an empty attempt id or idempotency token (`permanent`). */
export function requireNonEmpty(value: string, what: string, secretId: string): void {
  if (value === '') {
    throw new CertloopError('permanent', `An empty ${what} was given for secret ${secretId}`, {
      source: SECRETS_SOURCE,
    });
  }
}
