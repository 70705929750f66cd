import { X509Certificate } from 'node:crypto';
import { ariCertificateId } from '../../core/renewal-info.js';
import { loadX509Library, type X509Library } from './x509-library.js';

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * The ACME Renewal Information identifier (RFC 9773 section 4.1) of a certificate (PEM;
 * of a full chain, the first certificate), with @peculiar/x509 already loaded. The serial
 * comes from node:crypto's X509Certificate; the Authority Key Identifier from
 * @peculiar/x509 (node:crypto does not expose that extension; acme-client ships the
 * library already). A certificate without an Authority Key Identifier has no ARI
 * identifier: a TypeError says so.
 */
export function ariCertificateIdWith(x509: X509Library, certificatePem: string): string {
  const pem = certificatePem.match(PEM_BLOCK)?.[0];
  if (!pem) throw new TypeError('no PEM certificate to compute an ARI identifier for');
  const serial = new X509Certificate(pem).serialNumber;
  const aki = new x509.X509Certificate(pem).getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) {
    throw new TypeError(
      `certificate ${serial} has no Authority Key Identifier; it has no ARI identifier`,
    );
  }
  return ariCertificateId(Buffer.from(aki.keyId, 'hex'), serial);
}

/** ariCertificateIdWith, loading @peculiar/x509 first (the functions' way: see x509-library). */
export async function ariCertificateIdOf(certificatePem: string): Promise<string> {
  return ariCertificateIdWith(await loadX509Library(), certificatePem);
}
