import type { IdentityFields } from '../core/issuer-identity.js';
import type { KeyMaterial } from '../core/key-material.js';
import type { KeyType } from '../core/key-type.js';

/** A certificate with its key, as published for consumers. */
export interface CertificateBundle {
  /** Leaf certificate, PEM. */
  certificate: string;
  /** Intermediates, PEM (may be empty). */
  chain: string;
  /** Leaf followed by intermediates, PEM. */
  fullchain: string;
  privateKey: KeyMaterial;
  /** SANs, sorted. */
  domains: string[];
  /** Hex serial number, upper case, no separators. */
  serial: string;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** X.509 issuer of the leaf (the CA's distinguished name). */
  issuer: string;
  keyType: KeyType;
}

export type SecretStage = 'current' | 'previous';

/** Every field of a bundle but the PEMs. */
export type BundleDetails = Omit<
  CertificateBundle,
  'certificate' | 'chain' | 'fullchain' | 'privateKey'
>;

/** Just the details of `from` (a bundle, or stored metadata), domains copied, in stored order. */
export function bundleDetails(from: BundleDetails): BundleDetails {
  return {
    domains: [...from.domains],
    serial: from.serial,
    notBefore: from.notBefore,
    notAfter: from.notAfter,
    issuer: from.issuer,
    keyType: from.keyType,
  };
}

/** Staged keys kept per secret at most (see `PendingKeys.stagePendingKey`). */
export const MAX_PENDING_KEYS = 8;

/** What a certificate write did: whether it made a new version, and that version's id. */
export interface CertificateWrite {
  created: boolean;
  /** The store's id of the version holding the bundle (Secrets Manager: its VersionId). */
  versionId: string;
}

/**
 * Published certificates.
 * - `writeCertificate` publishes a new version atomically: afterwards `current` is the
 *   new bundle and `previous` is what was `current`. A consumer never sees a
 *   certificate without its matching key. Writing again with the same
 *   `idempotencyToken` creates no new version and returns `created: false` with the
 *   same `versionId`.
 * - `readCertificate` returns `undefined` when the stage has nothing.
 */
export interface CertificateSecrets {
  writeCertificate(
    secretId: string,
    bundle: CertificateBundle,
    idempotencyToken: string,
  ): Promise<CertificateWrite>;
  readCertificate(secretId: string, stage?: SecretStage): Promise<CertificateBundle | undefined>;
}

/**
 * Private keys of orders in flight.
 * - `stagePendingKey` keeps a private key for an order in flight (attempt id), so that
 *   a crashed run can finish the order with the same key. `readPendingKey` returns it
 *   or `undefined`; `discardPendingKey` removes it (no error if absent). Staged keys are
 *   never visible as `current`. At most MAX_PENDING_KEYS attempts keep a key per
 *   secret: staging one more drops the oldest. (A worker that dies between its final
 *   record update and the discard leaves its key behind; this bound keeps such
 *   leftovers from piling up, and keeps the AWS store within its staging-label quota.)
 */
export interface PendingKeys {
  stagePendingKey(secretId: string, attemptId: string, key: KeyMaterial): Promise<void>;
  readPendingKey(secretId: string, attemptId: string): Promise<KeyMaterial | undefined>;
  discardPendingKey(secretId: string, attemptId: string): Promise<void>;
}

/**
 * Which ACME account a key stands for: the CA's directory URL and, for a CA that binds
 * accounts to an external account (RFC 8555 section 7.3.4), the EAB key id. Two ids that
 * differ in either are two accounts with two keys; an id without `eab` is the
 * account certloop always kept for that directory.
 */
export type AcmeAccountId = IdentityFields;

/**
 * ACME account keys, one per AcmeAccountId.
 * - `getOrCreateAccountKey` returns the stored key of the account; when none is stored
 *   it calls `generate` and stores its result only if none appeared meanwhile
 *   (create-if-absent). Concurrent callers end up with the same key (the first stored
 *   wins, and a caller whose generated key lost gets the winner's).
 * - `generate` may do more than make a key (the ACME adapter registers the account with
 *   the CA before handing the key over): when it throws, nothing is stored, the error
 *   reaches the caller unchanged, and the next call calls `generate` again.
 * - Without `eab` the storage location is the one earlier versions used for the
 *   directory URL, so existing deployments keep their account.
 */
export interface AccountKeys {
  getOrCreateAccountKey(
    account: AcmeAccountId,
    generate: () => Promise<KeyMaterial>,
  ): Promise<KeyMaterial>;
}

/**
 * Where certificates, staged keys and ACME account keys live: the three concerns above
 * (contract test: test/contract/secret-store.contract.ts).
 * - Nothing here ever logs key material.
 * Errors: throttling or unavailability surface as CertloopError kind `infrastructure`;
 * a secret that does not exist (AWS) as kind `not-found`.
 */
export interface SecretStore extends CertificateSecrets, PendingKeys, AccountKeys {}
