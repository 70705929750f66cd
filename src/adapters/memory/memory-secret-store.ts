import { issuerIdentity } from '../../core/issuer-identity.js';
import type { KeyMaterial } from '../../core/key-material.js';
import {
  type AcmeAccountId,
  type CertificateBundle,
  MAX_PENDING_KEYS,
  type SecretStage,
  type SecretStore,
} from '../../ports/secret-store.js';

interface Versions {
  current?: { token: string; bundle: CertificateBundle };
  previous?: { token: string; bundle: CertificateBundle };
  pending: Map<string, KeyMaterial>;
}

/** In-memory SecretStore: the reference fake for the contract suite and unit tests. */
export class MemorySecretStore implements SecretStore {
  readonly #secrets = new Map<string, Versions>();
  readonly #accountKeys = new Map<string, Promise<KeyMaterial>>();
  /** Versions created per secret, for tests that count writes. */
  readonly versionsCreated = new Map<string, number>();

  #entry(secretId: string): Versions {
    let entry = this.#secrets.get(secretId);
    if (!entry) {
      entry = { pending: new Map() };
      this.#secrets.set(secretId, entry);
    }
    return entry;
  }

  async writeCertificate(secretId: string, bundle: CertificateBundle, idempotencyToken: string) {
    const entry = this.#entry(secretId);
    // A retry of either stored version is not a new version (and never rolls back).
    if (entry.current?.token === idempotencyToken || entry.previous?.token === idempotencyToken) {
      return { created: false, versionId: idempotencyToken };
    }
    entry.previous = entry.current;
    entry.current = {
      token: idempotencyToken,
      bundle: { ...bundle, domains: [...bundle.domains] },
    };
    this.versionsCreated.set(secretId, (this.versionsCreated.get(secretId) ?? 0) + 1);
    return { created: true, versionId: idempotencyToken };
  }

  async readCertificate(secretId: string, stage: SecretStage = 'current') {
    const version = this.#secrets.get(secretId)?.[stage];
    return version ? { ...version.bundle, domains: [...version.bundle.domains] } : undefined;
  }

  async stagePendingKey(secretId: string, attemptId: string, key: KeyMaterial) {
    const { pending } = this.#entry(secretId);
    pending.delete(attemptId);
    pending.set(attemptId, key);
    // A Map iterates in insertion order: the first keys are the oldest.
    for (const oldest of [...pending.keys()].slice(0, Math.max(0, pending.size - MAX_PENDING_KEYS)))
      pending.delete(oldest);
  }

  async readPendingKey(secretId: string, attemptId: string) {
    return this.#secrets.get(secretId)?.pending.get(attemptId);
  }

  async discardPendingKey(secretId: string, attemptId: string) {
    this.#secrets.get(secretId)?.pending.delete(attemptId);
  }

  getOrCreateAccountKey(account: AcmeAccountId, generate: () => Promise<KeyMaterial>) {
    const identity = issuerIdentity(account);
    let key = this.#accountKeys.get(identity);
    if (!key) {
      const created = generate();
      key = created;
      this.#accountKeys.set(identity, created);
      // A failed generate stores nothing: the next caller tries again.
      created.catch(() => {
        if (this.#accountKeys.get(identity) === created) this.#accountKeys.delete(identity);
      });
    }
    return key;
  }

  /** The identities (issuerIdentity) that hold an account key, for tests. */
  accountKeyIdentities(): string[] {
    return [...this.#accountKeys.keys()];
  }
}
