/**
 * SecretsManagerSecretStore: the AWS SecretStore, one object over the three concerns
 * that live in their own files: certificates (secrets-manager-certificates.ts), the keys
 * of orders in flight (secrets-manager-pending-keys.ts) and ACME account keys
 * (secrets-manager-account-keys.ts). The user creates and tags the certificate secret;
 * certloop only adds versions to it. The client finds its endpoint, region and
 * credentials the standard way (AWS_ENDPOINT_URL[_SECRETS_MANAGER], ...). Key material
 * never reaches a message: errors name operations, secret ids and labels, and values
 * that do not parse are reported by shape, never quoted.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { KeyMaterial } from '../../core/key-material.js';
import type { CertificateBundle, SecretStage, SecretStore } from '../../ports/secret-store.js';
import { SecretsManagerAccountKeys } from './secrets-manager-account-keys.js';
import { SecretsManagerCertificates } from './secrets-manager-certificates.js';
import { SecretsManagerPendingKeys } from './secrets-manager-pending-keys.js';

export interface SecretsManagerSecretStoreOptions {
  client: SecretsManagerClient;
  /** Name prefix of the ACME account key secrets. Default `certloop/acme-account/`. */
  accountKeyPrefix?: string;
}

export class SecretsManagerSecretStore implements SecretStore {
  readonly #certificates: SecretsManagerCertificates;
  readonly #pendingKeys: SecretsManagerPendingKeys;
  readonly #accountKeys: SecretsManagerAccountKeys;

  constructor(options: SecretsManagerSecretStoreOptions) {
    this.#certificates = new SecretsManagerCertificates(options.client);
    this.#pendingKeys = new SecretsManagerPendingKeys(options.client);
    this.#accountKeys = new SecretsManagerAccountKeys(options.client, options.accountKeyPrefix);
  }

  writeCertificate(
    secretId: string,
    bundle: CertificateBundle,
    idempotencyToken: string,
  ): Promise<{ created: boolean }> {
    return this.#certificates.writeCertificate(secretId, bundle, idempotencyToken);
  }

  readCertificate(secretId: string, stage?: SecretStage): Promise<CertificateBundle | undefined> {
    return this.#certificates.readCertificate(secretId, stage);
  }

  stagePendingKey(secretId: string, attemptId: string, key: KeyMaterial): Promise<void> {
    return this.#pendingKeys.stagePendingKey(secretId, attemptId, key);
  }

  readPendingKey(secretId: string, attemptId: string): Promise<KeyMaterial | undefined> {
    return this.#pendingKeys.readPendingKey(secretId, attemptId);
  }

  discardPendingKey(secretId: string, attemptId: string): Promise<void> {
    return this.#pendingKeys.discardPendingKey(secretId, attemptId);
  }

  getOrCreateAccountKey(
    directoryUrl: string,
    generate: () => Promise<KeyMaterial>,
  ): Promise<KeyMaterial> {
    return this.#accountKeys.getOrCreateAccountKey(directoryUrl, generate);
  }
}
