import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import * as shared from '../../config/shared-names.js';
import type { CertificateRecord } from '../../core/certificate-record.js';
import { dueClass } from '../../core/issuance-checks.js';
import { issuedByKey } from '../../core/issuer-rotation.js';

/**
 * The records table's shape for the runtime: the CreateTable input (`ensureTable`, local
 * mode and tests) and the item layout of a certificate record. The key, index and billing
 * names come from src/config/shared-names.ts, which the CDK construct reads too, so the
 * two cannot drift.
 *
 * Item layout: `pk = "cert#" + id`, `kind = "certificate"`, then every field of the
 * record as its own attribute (instants as numbers, epoch ms; nested objects as maps).
 * Optional fields that are undefined are omitted, never stored as null. An item without
 * `nextAttemptAt` is not in the `due` index: that is what makes the index sparse. Two
 * attributes are derived at every write and never read back: `dueClass` (due index) and
 * `issuedBy` (issued-by index, what issued the current certificate; see issuer-rotation.ts).
 */

/** Attribute naming what an item is, so that other item kinds can share the table. */
export const ITEM_KIND_ATTRIBUTE = 'kind';
export const CERTIFICATE_ITEM_KIND = 'certificate';
/** Prefix of the partition key of a certificate record. */
export const CERTIFICATE_KEY_PREFIX = 'cert#';

/** CreateTable input for a records table named `tableName`. */
export function recordsTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: shared.TABLE_BILLING_MODE,
    AttributeDefinitions: [
      { AttributeName: shared.TABLE_PARTITION_KEY, AttributeType: shared.TABLE_PARTITION_KEY_TYPE },
      {
        AttributeName: shared.DUE_INDEX_PARTITION_KEY,
        AttributeType: shared.DUE_INDEX_PARTITION_KEY_TYPE,
      },
      { AttributeName: shared.DUE_INDEX_SORT_KEY, AttributeType: shared.DUE_INDEX_SORT_KEY_TYPE },
      {
        AttributeName: shared.ISSUED_BY_INDEX_PARTITION_KEY,
        AttributeType: shared.ISSUED_BY_INDEX_PARTITION_KEY_TYPE,
      },
    ],
    KeySchema: [{ AttributeName: shared.TABLE_PARTITION_KEY, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: shared.DUE_INDEX_NAME,
        KeySchema: [
          { AttributeName: shared.DUE_INDEX_PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: shared.DUE_INDEX_SORT_KEY, KeyType: 'RANGE' },
        ],
        Projection: {
          ProjectionType: shared.DUE_INDEX_PROJECTION,
          NonKeyAttributes: [...shared.DUE_INDEX_NON_KEY_ATTRIBUTES],
        },
      },
      {
        IndexName: shared.ISSUED_BY_INDEX_NAME,
        KeySchema: [{ AttributeName: shared.ISSUED_BY_INDEX_PARTITION_KEY, KeyType: 'HASH' }],
        Projection: { ProjectionType: shared.ISSUED_BY_INDEX_PROJECTION },
      },
    ],
  };
}

/** The partition key value of the record with this id. */
export function certificateKey(id: string): string {
  return CERTIFICATE_KEY_PREFIX + id;
}

/** The record id behind a partition key value, or undefined if it is not a record key. */
export function idFromCertificateKey(pk: unknown): string | undefined {
  if (typeof pk !== 'string' || !pk.startsWith(CERTIFICATE_KEY_PREFIX)) return undefined;
  return pk.slice(CERTIFICATE_KEY_PREFIX.length);
}

/** A certificate record as a (document-client) item: key, kind, and the record's fields. */
export type CertificateItem = CertificateRecord & {
  [shared.TABLE_PARTITION_KEY]: string;
  [ITEM_KIND_ATTRIBUTE]: typeof CERTIFICATE_ITEM_KIND;
};

/** The item for a record. Undefined values are dropped at every depth. */
export function recordToItem(record: CertificateRecord): CertificateItem {
  const issuedBy = issuedByKey(record);
  return {
    ...withoutUndefined(record),
    [shared.TABLE_PARTITION_KEY]: certificateKey(record.id),
    [ITEM_KIND_ATTRIBUTE]: CERTIFICATE_ITEM_KIND,
    // Derived at every write, for the due index; never read back into the record.
    ...(record.nextAttemptAt !== undefined
      ? { [shared.DUE_CLASS_ATTRIBUTE]: dueClass(record) }
      : {}),
    // Derived too, for the issued-by index (absent on parked records: a sparse index).
    ...(issuedBy !== undefined ? { [shared.ISSUED_BY_INDEX_PARTITION_KEY]: issuedBy } : {}),
  };
}

/** The record stored in an item (as unmarshalled by the document client). */
export function recordFromItem(item: object): CertificateRecord {
  const {
    [shared.TABLE_PARTITION_KEY]: pk,
    [ITEM_KIND_ATTRIBUTE]: kind,
    [shared.DUE_CLASS_ATTRIBUTE]: _dueClass,
    [shared.ISSUED_BY_INDEX_PARTITION_KEY]: _issuedBy,
    ...fields
  } = withoutUndefined(item as Record<string, unknown>);
  if (kind !== CERTIFICATE_ITEM_KIND || idFromCertificateKey(pk) === undefined) {
    throw new Error(`item ${String(pk)} is not a certificate record`);
  }
  return fields as unknown as CertificateRecord;
}

/** A deep copy of plain data without undefined-valued properties (arrays keep their length). */
function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((entry) => withoutUndefined(entry)) as T;
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) {
      if (entry !== undefined) copy[key] = withoutUndefined(entry);
    }
    return copy as T;
  }
  return value;
}
