/**
 * Shapes that key material takes when it leaks into text: PEM private keys, the DER
 * prefixes of PKCS#8 / SEC1 / PKCS#1 private keys in base64, and JWK private members.
 * Certificates (public) do not match.
 */
export const KEY_MATERIAL_PATTERNS: readonly RegExp[] = [
  /PRIVATE KEY/,
  /MI[A-Za-z0-9+/]{2,6}AgEA[A-Za-z0-9+/]{16}/, // PKCS#8 PrivateKeyInfo (version 0)
  /MHcCAQEE|MIGkAgEBBD/, // SEC1 EC P-256 / P-384
  /MII[A-Za-z0-9+/]{2}[Ig]IBAAK/, // PKCS#1 RSA
  /"d"\s*:\s*"[A-Za-z0-9_-]{20,}"/, // JWK private exponent / scalar
];

/** The lines of `text` that look like key material. */
export function linesWithKeyMaterial(text: string, extraSecrets: readonly string[] = []): string[] {
  return text
    .split('\n')
    .filter(
      (line) =>
        KEY_MATERIAL_PATTERNS.some((pattern) => pattern.test(line)) ||
        extraSecrets.some((secret) => secret.length >= 16 && line.includes(secret)),
    );
}

/** Base64 fragments from the middle of a PEM body: if any appears in a log, the key leaked. */
export function keyFingerprints(pem: string): string[] {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const fragments: string[] = [];
  for (let i = 8; i + 24 <= body.length; i += 24) fragments.push(body.slice(i, i + 24));
  return fragments;
}
