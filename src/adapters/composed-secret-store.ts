import type { KeyMaterial } from '../core/key-material.js';
import type {
  AccountKeys,
  AcmeAccountId,
  CertificateBundle,
  CertificateSecrets,
  CertificateWrite,
  PendingKeys,
  SecretStage,
  SecretStore,
} from '../ports/secret-store.js';

/** The three concerns a SecretStore is made of. */
export interface SecretStoreParts {
  certificates: CertificateSecrets;
  pendingKeys: PendingKeys;
  accountKeys: AccountKeys;
}

/** A SecretStore that hands each call to the part that owns its concern. */
export class ComposedSecretStore implements SecretStore {
  readonly #parts: SecretStoreParts;

  constructor(parts: SecretStoreParts) {
    this.#parts = parts;
  }

  writeCertificate(
    secretId: string,
    bundle: CertificateBundle,
    idempotencyToken: string,
  ): Promise<CertificateWrite> {
    return this.#parts.certificates.writeCertificate(secretId, bundle, idempotencyToken);
  }

  readCertificate(secretId: string, stage?: SecretStage): Promise<CertificateBundle | undefined> {
    return this.#parts.certificates.readCertificate(secretId, stage);
  }

  stagePendingKey(secretId: string, attemptId: string, key: KeyMaterial): Promise<void> {
    return this.#parts.pendingKeys.stagePendingKey(secretId, attemptId, key);
  }

  readPendingKey(secretId: string, attemptId: string): Promise<KeyMaterial | undefined> {
    return this.#parts.pendingKeys.readPendingKey(secretId, attemptId);
  }

  discardPendingKey(secretId: string, attemptId: string): Promise<void> {
    return this.#parts.pendingKeys.discardPendingKey(secretId, attemptId);
  }

  getOrCreateAccountKey(
    account: AcmeAccountId,
    generate: () => Promise<KeyMaterial>,
  ): Promise<KeyMaterial> {
    return this.#parts.accountKeys.getOrCreateAccountKey(account, generate);
  }
}
