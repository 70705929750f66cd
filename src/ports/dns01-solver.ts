/** One TXT value to publish for a DNS-01 challenge. */
export interface TxtRecord {
  /** Fully qualified, no trailing dot: `_acme-challenge.example.com`. */
  name: string;
  value: string;
}

/**
 * Publishes DNS-01 TXT values. Batch-oriented: one call presents all the values of a
 * batch of orders, and propagation is awaited once for the whole batch.
 *
 * Contract (test/contract/dns01-solver.contract.ts):
 * - `present` publishes every given value; several values for one name are all served
 *   together (apex + wildcard of one name share a TXT name). Presenting a value that is
 *   already published is harmless.
 * - `waitForPropagation` returns once the CA's resolvers can see every value presented.
 * - `cleanup` removes exactly the given values and leaves any other value of the same
 *   name in place (another order may still need it). Removing an absent value is
 *   harmless.
 * Errors: CertloopError `transient` (DNS API failing) or `infrastructure` (throttled).
 */
export interface Dns01Solver {
  present(records: TxtRecord[]): Promise<void>;
  waitForPropagation(records: TxtRecord[]): Promise<void>;
  cleanup(records: TxtRecord[]): Promise<void>;
}
