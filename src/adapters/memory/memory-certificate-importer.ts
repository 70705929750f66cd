import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CertloopError } from '../../core/errors.js';
import type { CertificateImport, CertificateImporter } from '../../ports/certificate-importer.js';

/** What the fake holds per ARN: the serial and names of the pair imported last, and how often. */
export interface ImportedCertificate {
  arn: string;
  secretId: string;
  serial: string;
  certificate: string;
  imports: number;
}

/**
 * An in-memory certificate manager for engine tests and local mode. It parses the
 * certificate like ACM does (a pair that is not PEM is refused) and checks that the key
 * belongs to it; ARNs look like ACM's, in a fixed fake account.
 */
export class MemoryCertificateImporter implements CertificateImporter {
  readonly #certificates = new Map<string, ImportedCertificate>();
  #next = 0;
  /** Fails the next `n` imports with this error (fault drills). */
  #failures: { count: number; error: CertloopError } | undefined;

  async importCertificate(request: CertificateImport): Promise<{ arn: string }> {
    if (this.#failures && this.#failures.count > 0) {
      this.#failures.count--;
      throw this.#failures.error;
    }
    let parsed: X509Certificate;
    try {
      parsed = new X509Certificate(request.certificate);
    } catch {
      throw new CertloopError('permanent', 'the certificate to import is not a PEM certificate', {
        source: 'acm',
      });
    }
    if (!parsed.checkPrivateKey(createPrivateKey(request.privateKey.reveal()))) {
      throw new CertloopError('permanent', 'the private key does not match the certificate', {
        source: 'acm',
      });
    }
    let arn = request.arn;
    if (arn === undefined) {
      this.#next++;
      arn = `arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-4000-8000-${String(this.#next).padStart(12, '0')}`;
    } else if (!this.#certificates.has(arn)) {
      throw new CertloopError('not-found', `ACM certificate ${arn} does not exist`, {
        source: 'acm',
      });
    }
    const before = this.#certificates.get(arn);
    this.#certificates.set(arn, {
      arn,
      secretId: before?.secretId ?? request.secretId,
      serial: parsed.serialNumber.toLowerCase(),
      certificate: request.certificate,
      imports: (before?.imports ?? 0) + 1,
    });
    return { arn };
  }

  /** Makes an ARN exist, as if a person had imported a placeholder certificate. */
  addExisting(arn: string, secretId = '(placeholder)'): void {
    this.#certificates.set(arn, { arn, secretId, serial: '', certificate: '', imports: 0 });
  }

  failNext(count: number, error: CertloopError): void {
    this.#failures = { count, error };
  }

  get(arn: string): ImportedCertificate | undefined {
    const found = this.#certificates.get(arn);
    return found ? { ...found } : undefined;
  }

  all(): ImportedCertificate[] {
    return [...this.#certificates.values()].map((c) => ({ ...c }));
  }
}
