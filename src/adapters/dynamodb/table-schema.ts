import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { CertificateRecord } from '../../core/certificate-record.js';

/**
 * The single source of the records table's shape. Read by the DynamoDB adapter, by
 * `ensureTable` (local mode, tests) and by the CDK construct, so that they cannot drift.
 *
 * Item layout: `pk = "cert#" + id`, `kind = "certificate"`, then every field of the
 * record as its own attribute (instants as numbers, epoch ms; nested objects as maps).
 * Optional fields that are undefined are omitted, never stored as null. An item without
 * `nextAttemptAt` is not in the `due` index: that is what makes the index sparse.
 */

/** Partition key of the table (type S). */
export const TABLE_PARTITION_KEY = 'pk';
export const TABLE_PARTITION_KEY_TYPE = 'S';

/** Attribute naming what an item is, so that other item kinds can share the table. */
export const ITEM_KIND_ATTRIBUTE = 'kind';
export const CERTIFICATE_ITEM_KIND = 'certificate';
/** Prefix of the partition key of a certificate record. */
export const CERTIFICATE_KEY_PREFIX = 'cert#';

/** Sparse global secondary index answering "what is due". */
export const DUE_INDEX_NAME = 'due';
/** Partition key of the due index (type N): the record's `shard`. */
export const DUE_INDEX_PARTITION_KEY = 'shard';
export const DUE_INDEX_PARTITION_KEY_TYPE = 'N';
/** Sort key of the due index (type N): the record's `nextAttemptAt`, epoch ms. */
export const DUE_INDEX_SORT_KEY = 'nextAttemptAt';
export const DUE_INDEX_SORT_KEY_TYPE = 'N';
export const DUE_INDEX_PROJECTION = 'KEYS_ONLY';

export const TABLE_BILLING_MODE = 'PAY_PER_REQUEST';

/** CreateTable input for a records table named `tableName`. */
export function recordsTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: TABLE_BILLING_MODE,
    AttributeDefinitions: [
      { AttributeName: TABLE_PARTITION_KEY, AttributeType: TABLE_PARTITION_KEY_TYPE },
      { AttributeName: DUE_INDEX_PARTITION_KEY, AttributeType: DUE_INDEX_PARTITION_KEY_TYPE },
      { AttributeName: DUE_INDEX_SORT_KEY, AttributeType: DUE_INDEX_SORT_KEY_TYPE },
    ],
    KeySchema: [{ AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: DUE_INDEX_NAME,
        KeySchema: [
          { AttributeName: DUE_INDEX_PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: DUE_INDEX_SORT_KEY, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: DUE_INDEX_PROJECTION },
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
  [TABLE_PARTITION_KEY]: string;
  [ITEM_KIND_ATTRIBUTE]: typeof CERTIFICATE_ITEM_KIND;
};

/** The item for a record. Undefined values are dropped at every depth. */
export function recordToItem(record: CertificateRecord): CertificateItem {
  return {
    ...withoutUndefined(record),
    [TABLE_PARTITION_KEY]: certificateKey(record.id),
    [ITEM_KIND_ATTRIBUTE]: CERTIFICATE_ITEM_KIND,
  };
}

/** The record stored in an item (as unmarshalled by the document client). */
export function recordFromItem(item: object): CertificateRecord {
  const {
    [TABLE_PARTITION_KEY]: pk,
    [ITEM_KIND_ATTRIBUTE]: kind,
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
