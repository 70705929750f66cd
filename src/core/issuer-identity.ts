/**
 * An issuer's identity: the CA and the account certificates are issued under. Two
 * configurations with the same identity issue interchangeable certificates; a change of
 * directory URL (staging to production, another CA) or of EAB key id (another account)
 * under the same issuer name is a new identity, and what the old one issued must be
 * re-issued (the issuer rotation). The name is not part of it: records carry the name
 * separately.
 */
export interface IdentityFields {
  directoryUrl: string;
  eab?: { keyId: string };
}

/** A stable, readable identity string: `<directory URL>` or `<directory URL> kid=<key id>`. */
export function issuerIdentity(issuer: IdentityFields): string {
  return issuer.eab ? `${issuer.directoryUrl} kid=${issuer.eab.keyId}` : issuer.directoryUrl;
}
