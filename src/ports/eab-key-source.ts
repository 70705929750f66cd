import type { HmacKey } from '../core/key-material.js';

/**
 * Where one issuer's External Account Binding HMAC key (RFC 8555 section 7.3.4) is kept.
 * Read only when an ACME account is about to be created, never on a lookup.
 *
 * Contract (test/integration/external-account-binding.test.ts, both adapters):
 * - `readHmacKey` returns the key, read afresh on every call (a rotated secret is seen).
 * - A key that cannot be had (no such secret or file, no access, a value that is not of
 *   the documented shape, not base64url) throws CertloopError kind `infrastructure`
 *   with `accountSetup` set, whose message names the issuer and where the key was
 *   looked for (secret ARN or file), and never contains the value read.
 */
export interface EabKeySource {
  /** Where the key is kept (secret ARN or file path), for messages. */
  readonly location: string;
  readHmacKey(): Promise<HmacKey>;
}
