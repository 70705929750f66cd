/**
 * DirectorySecretStore: the local-mode SecretStore. Certificates, staged keys and ACME
 * account keys are plain files under one root folder (folders 0700, key files 0600), so
 * a web server on the same machine can read them directly. Composed of the three
 * concerns in their own files: directory-certificates.ts (`<root>/certs/`),
 * directory-pending-keys.ts (`<root>/pending/`) and directory-account-keys.ts
 * (`<root>/accounts/`). Writes to one secret are serialized within an instance; across
 * processes, one writer per secret is the job of the certificate-record lease. Errors
 * name paths only, never key material.
 */
import type { Clock } from '../../ports/clock.js';
import { ComposedSecretStore } from '../composed-secret-store.js';
import { DirectoryAccountKeys } from './directory-account-keys.js';
import { DirectoryCertificates } from './directory-certificates.js';
import { DirectoryPendingKeys } from './directory-pending-keys.js';

export interface DirectorySecretStoreOptions {
  /** Folder that holds everything; created (mode 0700) on first write. */
  root: string;
  /** Source of `writtenAt` in cert.json; the system clock when absent. */
  clock?: Clock;
}

export class DirectorySecretStore extends ComposedSecretStore {
  readonly root: string;
  readonly #certificates: DirectoryCertificates;

  constructor(options: DirectorySecretStoreOptions) {
    const certificates = new DirectoryCertificates(options.root, options.clock);
    super({
      certificates,
      pendingKeys: new DirectoryPendingKeys(options.root),
      accountKeys: new DirectoryAccountKeys(options.root),
    });
    this.root = options.root;
    this.#certificates = certificates;
  }

  /** `<root>/certs/<name>`: where the `current` and `previous` links of a secret live. */
  certificateDirectory(secretId: string): string {
    return this.#certificates.certificateDirectory(secretId);
  }
}
