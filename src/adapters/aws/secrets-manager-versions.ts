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
