import type { RenewalInfoAnswer } from '../core/renewal-info.js';
import type { Instant } from '../core/time.js';

export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';

export interface OrderState {
  url: string;
  status: OrderStatus;
  expiresAt?: Instant;
  /** Identifiers of the order ("*.example.com" for a wildcard), sorted. */
  domains: string[];
}

/** One DNS-01 challenge still to be answered. */
export interface Dns01Challenge {
  /** The identifier as ordered ("*.example.com" for a wildcard). */
  identifier: string;
  /** `_acme-challenge.<base name>`; apex and wildcard of one name share it. */
  recordName: string;
  /** The TXT value (base64url SHA-256 of the key authorization). */
  recordValue: string;
  /** Opaque handle for `answerChallenges`. */
  challengeUrl: string;
  authorizationUrl: string;
}

/**
 * An ACME CA (RFC 8555) reached through one account.
 *
 * Contract (test/contract/acme-ca.test.ts checks it against pebble):
 * - The account is created or found on first use, with a key that is created once per
 *   directory URL and External Account Binding key id and kept in the secret store;
 *   later runs reuse it. The key is stored only after the CA accepted the account. With
 *   External Account Binding the binding goes with newAccount only (never a lookup), and
 *   its HMAC key is read only then.
 * - An account that cannot be set up for a reason only a person can fix (the CA refuses
 *   the binding or asks for one, the HMAC key cannot be read) throws `infrastructure`
 *   with `accountSetup`, naming the issuer and the key id; nothing is stored.
 * - `placeOrder` creates a new order and returns its state; `getOrder` reads an
 *   existing one by URL (used to resume after a crash).
 * - `pendingDns01Challenges` lists the DNS-01 challenges of the order's authorizations
 *   that are still pending (valid ones are skipped).
 * - `answerChallenges` asks the CA to validate and waits until each authorization is
 *   valid; it throws if any becomes invalid.
 * - `finalize` submits the CSR (PEM) and waits until the order leaves `processing`.
 * - `downloadCertificate` returns the full chain PEM of a valid order.
 * - `placeOrder` sends `profile` as given, and `replaces` (the ARI identifier of the
 *   certificate this order replaces) only to a CA whose directory offers renewal
 *   information; a CA that refuses it answers with `problem` `alreadyReplaced` or
 *   `malformed`.
 * - `renewalInfo` reads the CA's renewal information (RFC 9773) for a certificate
 *   identifier: `undefined` when the directory offers none; a 404, another error status,
 *   a timeout or an answer of the wrong shape throws kind `transient`, source `ari`.
 *   It needs no account and places nothing.
 * - `profiles` lists the profiles the directory advertises (`meta.profiles`), or
 *   `undefined` when it advertises none.
 * Errors are CertloopError: `permanent` for identifiers the CA refuses (rejected,
 * unsupported, CAA, an unknown profile), `rate-limited` with `retryAfterMs` for rate
 * limits, `transient` for everything else; `not-found` for an order URL the CA no
 * longer knows. `problem` carries the ACME problem type (without its URN prefix).
 */
export interface AcmeCa {
  readonly directoryUrl: string;
  placeOrder(request: {
    domains: string[];
    profile?: string;
    replaces?: string;
  }): Promise<OrderState>;
  getOrder(url: string): Promise<OrderState>;
  pendingDns01Challenges(orderUrl: string): Promise<Dns01Challenge[]>;
  answerChallenges(challenges: Dns01Challenge[]): Promise<void>;
  finalize(orderUrl: string, csrPem: string): Promise<OrderState>;
  downloadCertificate(orderUrl: string): Promise<string>;
  renewalInfo(certId: string): Promise<RenewalInfoAnswer | undefined>;
  profiles(): Promise<Record<string, string> | undefined>;
}
