/**
 * @peculiar/x509, loaded when first needed. acme-client already ships it; certloop uses
 * it where node:crypto falls short (a CSR, a certificate's Authority Key Identifier).
 * In the Lambda bundles the package is a stand-in that loads the library on first use
 * (infra/bundling/lazy-peculiar-x509.cjs), so nothing at module load may touch it: a
 * static import would. This dynamic import is the one way certloop's own code reaches it.
 */
export type X509Library = typeof import('@peculiar/x509');

export function loadX509Library(): Promise<X509Library> {
  return import('@peculiar/x509');
}
