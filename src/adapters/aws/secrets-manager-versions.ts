import { createHash } from 'node:crypto';
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { isSecretsManagerError, translateSecretsManagerError } from './secrets-manager-errors.js';

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
        VersionStages: ['AWSCURRENT'],
      }),
    );
    return { created: answer.VersionStages?.includes('AWSCURRENT') ?? false };
  } catch (error) {
    if (isSecretsManagerError(error, 'ResourceExistsException')) return { created: false };
    throw translateSecretsManagerError(error, {
      operation: 'PutSecretValue',
      secretId: write.secretId,
      purpose: write.purpose,
    });
  }
}

/** A UUID (version 8, RFC 9562 variant) made of the first 122 bits of SHA-256(value). */
export function uuidFromHash(value: string): string {
  const hex = createHash('sha256').update(value, 'utf8').digest('hex');
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    `8${hex.slice(13, 16)}`,
    `${variant}${hex.slice(17, 20)}`,
    hex.slice(20, 32),
  ].join('-');
}
