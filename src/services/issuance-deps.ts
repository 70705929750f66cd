import type { IssuanceFacts } from '../core/certificate-events.js';
import type { NamePolicy } from '../core/domain-names.js';
import type { Instant, Random } from '../core/time.js';
import type { AcmeCa } from '../ports/acme-ca.js';
import type { CertificateImporter } from '../ports/certificate-importer.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { Dns01Solver } from '../ports/dns01-solver.js';
import type { KeyFactory } from '../ports/key-factory.js';
import type { Logger } from '../ports/logger.js';
import type { SecretStore } from '../ports/secret-store.js';

/**
 * What the issuance steps (the batch, the ACM import, recording a failure) are given and
 * what they report. `issue-certificates.ts` re-exports these for its callers.
 */

/** Looks up the ACME CA behind a named issuer; `undefined` for a name not configured. */
export type IssuerLookup = (name: string) => AcmeCa | undefined;

/**
 * The identity (`issuerIdentity`: directory URL, EAB key id) of a named issuer now;
 * stamped on what it issues so that the issuer rotation can tell staging from production.
 */
export type IssuerIdentityLookup = (name: string) => string | undefined;

export interface IssuanceDeps {
  records: CertificateRecordStore;
  secrets: SecretStore;
  issuers: IssuerLookup;
  /**
   * The default ACME profile of a named issuer: records that name none
   * (`certloop:profile`) are ordered with it. Absent: the CA's default.
   */
  issuerProfile?: (issuer: string) => string | undefined;
  /** Identities of the named issuers; absent: certificates are not stamped (tests). */
  issuerIdentities?: IssuerIdentityLookup;
  dns: Dns01Solver;
  keys: KeyFactory;
  clock: Clock;
  logger: Logger;
  random: Random;
  policy: NamePolicy;
  /** Identifies this worker in leases. */
  owner: string;
  /** How long a lease lasts; longer than one batch can take. */
  leaseMs: number;
  /** Records worked on in parallel inside one batch. */
  concurrency: number;
  /** Imports into ACM for records tagged `certloop:acm`; absent where the deployment does not. */
  acm?: CertificateImporter;
  /**
   * The ACME Renewal Information identifier (RFC 9773) of a certificate (PEM); throws
   * for a certificate that has none (no Authority Key Identifier).
   */
  ariCertificateId: (certificatePem: string) => Promise<string>;
}

export type Outcome =
  /** A new certificate was published. */
  | 'issued'
  /** Looked at, nothing to do now (not due, or invalid). */
  | 'skipped'
  /** Up to date; the next look was moved to its renewal time. */
  | 'rescheduled'
  /** Up to date, and now imported into ACM too; the next look is at its renewal time. */
  | 'imported'
  /** Another worker holds the lease, or the record is gone. */
  | 'busy'
  /** A CA or DNS failure; backed off. */
  | 'failed'
  /** A problem waiting cannot fix; the record is `invalid` until it changes. */
  | 'invalid'
  /** Our own storage failed; retried soon without counting against the certificate. */
  | 'deferred'
  /** The record changed under us (lease lost); the newer owner carries on. */
  | 'conflict'
  /** Up to date; its renewal information was checked (no order) and the result stored. */
  | 'checked';

export interface RecordOutcome {
  id: string;
  outcome: Outcome;
  /** The check or rule that decided: an IssuanceReason, a backoff rule, an error kind. */
  reason: string;
  detail?: string;
  nextAttemptAt?: Instant;
  serial?: string;
  /** The CA's renewal information could not be read (its own backoff; not a certificate failure). */
  renewalInfoFailed?: true;
  /** Issued: what the announcement needs beyond the stored record. */
  issued?: IssuanceFacts;
  /**
   * Deferred because the issuer's ACME account could not be set up (a refused External
   * Account Binding, an unreadable HMAC key): the issuer's configuration needs a person.
   */
  accountError?: true;
}
