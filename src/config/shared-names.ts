/**
 * Names shared by the CDK construct (infra/) and the runtime (the adapters): the records
 * table's keys and index, the STEK lock key, tag keys and secret name prefixes. Plain
 * values and string functions only (no SDK, no I/O), so that `cdk synth` loads no runtime
 * code and the two sides cannot drift. Environment variable names are in environment.ts.
 */
import { STEK_TAG, TAGS } from '../core/registration-tags.js';

// The records table (one table: certificate records, STEK locks, control documents).

/** Partition key of the table (type S). */
export const TABLE_PARTITION_KEY = 'pk';
export const TABLE_PARTITION_KEY_TYPE = 'S';
export const TABLE_BILLING_MODE = 'PAY_PER_REQUEST';

/** Sparse global secondary index answering "what is due". */
export const DUE_INDEX_NAME = 'due';
/** Partition key of the due index (type N): the record's `shard`. */
export const DUE_INDEX_PARTITION_KEY = 'shard';
export const DUE_INDEX_PARTITION_KEY_TYPE = 'N';
/** Sort key of the due index (type N): the record's `nextAttemptAt`, epoch ms. */
export const DUE_INDEX_SORT_KEY = 'nextAttemptAt';
export const DUE_INDEX_SORT_KEY_TYPE = 'N';
/**
 * The due index also carries what each due record will ask of the CA (`dueClass`:
 * order, replacing-order or no-order) and its issuer, so the planner can admit renewal
 * information checks and exempt renewals outside the order budget without reading the
 * records. (Changing a deployed index's projection replaces the index.)
 */
export const DUE_INDEX_PROJECTION = 'INCLUDE';
export const DUE_CLASS_ATTRIBUTE = 'dueClass';
export const DUE_INDEX_ISSUER_ATTRIBUTE = 'issuer';
export const DUE_INDEX_NON_KEY_ATTRIBUTES = [DUE_CLASS_ATTRIBUTE, DUE_INDEX_ISSUER_ATTRIBUTE];

/**
 * Sparse global secondary index answering "which records did this issuer issue": its
 * partition key (type S) is the record's derived `issuedBy` key (group|name|identity,
 * src/core/issuer-rotation.ts `issuedByKey`), absent on parked records. The issuer
 * rotation Queries the stale keys a batch at a time instead of Scanning the table.
 * Keys only: the rotation reads each record it switches with a GetItem anyway.
 */
export const ISSUED_BY_INDEX_NAME = 'issued-by';
export const ISSUED_BY_INDEX_PARTITION_KEY = 'issuedBy';
export const ISSUED_BY_INDEX_PARTITION_KEY_TYPE = 'S';
export const ISSUED_BY_INDEX_PROJECTION = 'KEYS_ONLY';

/** Prefix of the partition key of a STEK lock item. */
export const STEK_LOCK_KEY_PREFIX = 'stek#';

/** The partition key value of the lock of a STEK set (IAM scopes the STEK function to it). */
export function stekLockKey(setId: string): string {
  return STEK_LOCK_KEY_PREFIX + setId;
}

// Tags. The registration tags are parsed in core, so their keys are defined there.

/** The tag that registers a secret for a certificate. */
export const REGISTRATION_TAG_KEY = TAGS.domains;
/** The tag every STEK secret carries (its value: the set id). */
export const STEK_TAG_KEY = STEK_TAG;
/** The tag a new ACM import carries: the secret the pair comes from. */
export const ACM_SECRET_TAG = 'certloop:secret';
/** The tag on ACME account key secrets. */
export const ACCOUNT_KEY_TAG = { Key: 'certloop:role', Value: 'acme-account-key' } as const;

// Secret names.

/** Default name prefix of the ACME account key secrets (one secret per ACME directory). */
export const DEFAULT_ACCOUNT_KEY_PREFIX = 'certloop/acme-account/';
