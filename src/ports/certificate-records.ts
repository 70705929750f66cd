import type { CertificateRecord } from '../core/certificate-record.js';
import type { DueClass } from '../core/issuance-checks.js';
import type { Instant } from '../core/time.js';

/** One entry of the due index: enough to hand the record to a worker. */
export interface DueRecordRef {
  id: string;
  nextAttemptAt: Instant;
  /** What the record will ask of the CA (`dueClass` of the record as stored); absent: `order`. */
  dueClass?: DueClass;
  /** The record's issuer (whose CA may exempt replacing orders from its budget). */
  issuer?: string;
}

/**
 * Durable certificate records with a lease lock and optimistic versions.
 *
 * Contract (the shared suite in test/contract/certificate-records.contract.ts checks
 * every implementation against it):
 * - `get` is strongly consistent and returns `undefined` for a missing id.
 * - `create` stores version 1; it throws CertloopError kind `conflict` if the id exists.
 * - `put` replaces the whole record only if the stored version equals
 *   `expectedVersion`, and stores version `expectedVersion + 1` (the argument's own
 *   `version` field is ignored). Otherwise it throws kind `conflict` and changes
 *   nothing. The version is the fencing token: a worker whose lease ran out and was
 *   taken over cannot overwrite newer state.
 * - `acquireLease` takes the lease when there is none or it expired (`until < now`),
 *   sets `{owner, until: now + durationMs}`, increments the version and returns the
 *   record as stored (the re-read). It returns `undefined` when another live lease
 *   holds it or the record does not exist. The same owner does not re-enter a live lease.
 * - `findDue` returns records whose `nextAttemptAt <= now`, oldest first, at most
 *   `limit`, each with its `dueClass` and issuer; records without `nextAttemptAt` never
 *   appear. With `classes`, only records whose stored `dueClass` is one of them (a record
 *   stored without one is `order`). Its cost follows the number of due records read,
 *   not the table size (no Scan); a `classes` query may read every due record to find
 *   `limit` of them.
 * - `findIssuedBy` returns the ids of records whose `issuedByKey` (core/issuer-rotation.ts,
 *   derived from the record at every write) equals `key`, at most `limit`, in a stable
 *   order; `countIssuedBy` counts them. Parked records have no key and never appear.
 *   Both may lag writes briefly (an index), so callers re-read and re-check with `get`.
 *   Their cost follows the records under that key (count) or `limit` (find), never the
 *   table size (no Scan).
 * - `listUnindexed` returns one page (at most about `limit` items examined) of records
 *   stored before the index attributes this version derives existed (a store that
 *   derives them on the fly returns none), and a cursor to the next page (`undefined`
 *   at the end). Rewriting such a record with `put` indexes it. A one-time upgrade
 *   step (a paged Scan on DynamoDB), never the hot path.
 * - `list` returns every record (operator views; not for the hot path).
 * - `delete` removes a record if present.
 * Errors: throttling or unavailability of the backing store surface as kind
 * `infrastructure`.
 */
export interface CertificateRecordStore {
  get(id: string): Promise<CertificateRecord | undefined>;
  create(record: Omit<CertificateRecord, 'version'>): Promise<CertificateRecord>;
  put(record: CertificateRecord, expectedVersion: number): Promise<CertificateRecord>;
  acquireLease(
    id: string,
    owner: string,
    now: Instant,
    durationMs: number,
  ): Promise<CertificateRecord | undefined>;
  findDue(now: Instant, limit: number, classes?: readonly DueClass[]): Promise<DueRecordRef[]>;
  findIssuedBy(key: string, limit: number): Promise<string[]>;
  countIssuedBy(key: string): Promise<number>;
  listUnindexed(
    limit: number,
    cursor?: string,
  ): Promise<{ records: CertificateRecord[]; cursor?: string }>;
  list(): Promise<CertificateRecord[]>;
  delete(id: string): Promise<void>;
}
