/**
 * SecretsManagerSecretStore: the AWS SecretStore, composed of the three concerns
 * that live in their own files: certificates (secrets-manager-certificates.ts), the keys
 * of orders in flight (secrets-manager-pending-keys.ts) and ACME account keys
 * (secrets-manager-account-keys.ts). The user creates and tags the certificate secret;
 * certloop only adds versions to it. The client finds its endpoint, region and
 * credentials the standard way (AWS_ENDPOINT_URL[_SECRETS_MANAGER], ...). Key material
 * never reaches a message: errors name operations, secret ids and labels, and values
 * that do not parse are reported by shape, never quoted.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ComposedSecretStore } from '../composed-secret-store.js';
import { SecretsManagerAccountKeys } from './secrets-manager-account-keys.js';
import { SecretsManagerCertificates } from './secrets-manager-certificates.js';
import { SecretsManagerPendingKeys } from './secrets-manager-pending-keys.js';

export interface SecretsManagerSecretStoreOptions {
  client: SecretsManagerClient;
  /** Name prefix of the ACME account key secrets. Default `certloop/acme-account/`. */
  accountKeyPrefix?: string;
}

export class SecretsManagerSecretStore extends ComposedSecretStore {
  constructor(options: SecretsManagerSecretStoreOptions) {
    super({
      certificates: new SecretsManagerCertificates(options.client),
      pendingKeys: new SecretsManagerPendingKeys(options.client),
      accountKeys: new SecretsManagerAccountKeys(options.client, options.accountKeyPrefix),
    });
  }
}
