/**
 * DirectorySecretStore: the local-mode SecretStore. Certificates, staged keys and ACME
 * account keys are plain files under one root folder (folders 0700, key files 0600), so
 * a web server on the same machine can read them directly. One object over the three
 * concerns in their own files: directory-certificates.ts (`<root>/certs/`),
 * directory-pending-keys.ts (`<root>/pending/`) and directory-account-keys.ts
 * (`<root>/accounts/`). Writes to one secret are serialized within an instance; across
 * processes, one writer per secret is the job of the certificate-record lease. Errors
 * name paths only, never key material.
 */
import type { KeyMaterial } from '../../core/key-material.js';
import type { Clock } from '../../ports/clock.js';
import type { CertificateBundle, SecretStage, SecretStore } from '../../ports/secret-store.js';
import { DirectoryAccountKeys } from './directory-account-keys.js';
import { DirectoryCertificates } from './directory-certificates.js';
import { DirectoryPendingKeys } from './directory-pending-keys.js';

export interface DirectorySecretStoreOptions {
  /** Folder that holds everything; created (mode 0700) on first write. */
  root: string;
  /** Source of `writtenAt` in cert.json; the system clock when absent. */
  clock?: Clock;
}

export class DirectorySecretStore implements SecretStore {
  readonly root: string;
  readonly #certificates: DirectoryCertificates;
  readonly #pendingKeys: DirectoryPendingKeys;
  readonly #accountKeys: DirectoryAccountKeys;

  constructor(options: DirectorySecretStoreOptions) {
    this.root = options.root;
    this.#certificates = new DirectoryCertificates(options.root, options.clock);
    this.#pendingKeys = new DirectoryPendingKeys(options.root);
    this.#accountKeys = new DirectoryAccountKeys(options.root);
  }

  /** `<root>/certs/<name>`: where the `current` and `previous` links of a secret live. */
  certificateDirectory(secretId: string): string {
    return this.#certificates.certificateDirectory(secretId);
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
