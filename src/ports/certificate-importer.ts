import type { KeyMaterial } from '../core/key-material.js';

/** One issued pair to import into a certificate manager (ACM). */
export interface CertificateImport {
  /** The secret the pair was published to; a new import is tagged with it. */
  secretId: string;
  /** Re-import into this certificate (it keeps its ARN); absent: import a new one. */
  arn?: string;
  /** The leaf certificate (PEM). */
  certificate: string;
  /** The intermediates (PEM), without the leaf. */
  chain: string;
  privateKey: KeyMaterial;
}

/**
 * Imports issued certificates into a certificate manager, so that the services that read
 * certificates only from it (load balancers, CloudFront, API Gateway) pick up renewals
 * without a change: a re-import keeps the certificate's ARN.
 *
 * Contract (test/contract/certificate-importer.contract.ts):
 * - `importCertificate` without `arn` creates a certificate and returns its ARN; with
 *   `arn` it replaces that certificate's pair and returns the same ARN. Importing the same
 *   pair twice is harmless.
 * - an `arn` that does not exist fails with kind `not-found`; a pair the manager refuses
 *   (not PEM, a key of the wrong kind) with `permanent`; throttling and outages with
 *   `infrastructure`. Messages name the ARN and never carry key material.
 */
export interface CertificateImporter {
  importCertificate(request: CertificateImport): Promise<{ arn: string }>;
}
