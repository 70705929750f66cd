/** A small named document with a version, for fleet-wide state (budget cursor, issuer rotation). */
export interface ControlRecord<T> {
  value: T;
  version: number;
}

/**
 * Named control documents next to the certificate records.
 * Contract (test/contract/control-records.test.ts):
 * - `get` is strongly consistent; `undefined` when the name was never written.
 * - `put` stores `value` only if the stored version equals `expectedVersion`
 *   (`undefined` = the name must not exist yet) and returns the new version
 *   (`expectedVersion + 1`, or 1); otherwise it throws CertloopError kind `conflict`
 *   and changes nothing.
 * - Control documents never appear in the certificate records' due index or listing.
 * Errors: kind `infrastructure` when the backing store throttles or fails.
 */
export interface ControlRecords {
  get<T>(name: string): Promise<ControlRecord<T> | undefined>;
  put<T>(name: string, value: T, expectedVersion: number | undefined): Promise<number>;
}
