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
 * Contract (test/contract/acme-ca.test.ts runs it against pebble):
 * - The account is created or found on first use, with a key that is created once per
 *   directory URL and kept in the secret store; later runs reuse it.
 * - `placeOrder` creates a new order and returns its state; `getOrder` reads an
 *   existing one by URL (used to resume after a crash).
 * - `pendingDns01Challenges` lists the DNS-01 challenges of the order's authorizations
 *   that are still pending (valid ones are skipped).
 * - `answerChallenges` asks the CA to validate and waits until each authorization is
 *   valid; it throws if any becomes invalid.
 * - `finalize` submits the CSR (PEM) and waits until the order leaves `processing`.
 * - `downloadCertificate` returns the full chain PEM of a valid order.
 * Errors are CertloopError: `permanent` for identifiers the CA refuses (rejected,
 * unsupported, CAA), `rate-limited` with `retryAfterMs` for rate limits, `transient`
 * for everything else; `not-found` for an order URL the CA no longer knows.
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
}
