import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV } from '../../src/config/environment.js';
import {
  DUE_INDEX_NAME,
  DUE_INDEX_NON_KEY_ATTRIBUTES,
  DUE_INDEX_PARTITION_KEY,
  DUE_INDEX_PARTITION_KEY_TYPE,
  DUE_INDEX_PROJECTION,
  DUE_INDEX_SORT_KEY,
  DUE_INDEX_SORT_KEY_TYPE,
  ISSUED_BY_INDEX_NAME,
  ISSUED_BY_INDEX_PARTITION_KEY,
  ISSUED_BY_INDEX_PARTITION_KEY_TYPE,
  ISSUED_BY_INDEX_PROJECTION,
  stekLockKey,
  TABLE_BILLING_MODE,
  TABLE_PARTITION_KEY,
  TABLE_PARTITION_KEY_TYPE,
} from '../../src/config/shared-names.js';

export interface RecordsTableProps {
  /** Customer-managed key the table is encrypted with. */
  readonly encryptionKey: kms.IKey;
  /**
   * What happens to the table (and every certificate record) when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const ATTRIBUTE_TYPES: Record<string, dynamodb.AttributeType> = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
  B: dynamodb.AttributeType.BINARY,
};

function attributeType(type: string): dynamodb.AttributeType {
  const found = ATTRIBUTE_TYPES[type];
  if (!found) throw new Error(`shared-names.ts names an unknown attribute type "${type}"`);
  return found;
}

function enumValue<T extends string>(values: Record<string, T>, value: string, what: string): T {
  const found = Object.values(values).find((candidate) => candidate === value);
  if (!found) throw new Error(`shared-names.ts names an unknown ${what} "${value}"`);
  return found;
}

/**
 * The certificate records table, shaped by `src/config/shared-names.ts` (the same
 * constants the DynamoDB adapter and local mode use): partition key, the sparse
 * `due` index (keys plus the due class and issuer), the sparse `issued-by` index (keys
 * only; the issuer rotation), on-demand billing, point-in-time recovery,
 * customer-managed KMS encryption, retained when the stack goes away.
 *
 * Each `grant*` method gives a function exactly the calls its code path makes, plus the
 * KMS use that DynamoDB performs on its behalf (kms:ViaService), and sets
 * CERTLOOP_TABLE_NAME on it.
 */
export class RecordsTable extends Construct {
  readonly table: dynamodb.Table;
  readonly #key: kms.IKey;

  constructor(scope: Construct, id: string, props: RecordsTableProps) {
    super(scope, id);
    this.#key = props.encryptionKey;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_PARTITION_KEY, type: attributeType(TABLE_PARTITION_KEY_TYPE) },
      billingMode: enumValue(dynamodb.BillingMode, TABLE_BILLING_MODE, 'billing mode'),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: DUE_INDEX_NAME,
      partitionKey: {
        name: DUE_INDEX_PARTITION_KEY,
        type: attributeType(DUE_INDEX_PARTITION_KEY_TYPE),
      },
      sortKey: { name: DUE_INDEX_SORT_KEY, type: attributeType(DUE_INDEX_SORT_KEY_TYPE) },
      projectionType: enumValue(dynamodb.ProjectionType, DUE_INDEX_PROJECTION, 'projection'),
      nonKeyAttributes: [...DUE_INDEX_NON_KEY_ATTRIBUTES],
    });
    this.table.addGlobalSecondaryIndex({
      indexName: ISSUED_BY_INDEX_NAME,
      partitionKey: {
        name: ISSUED_BY_INDEX_PARTITION_KEY,
        type: attributeType(ISSUED_BY_INDEX_PARTITION_KEY_TYPE),
      },
      projectionType: enumValue(dynamodb.ProjectionType, ISSUED_BY_INDEX_PROJECTION, 'projection'),
    });
  }

  /** The ARN of the `issued-by` index. */
  get issuedByIndexArn(): string {
    return `${this.table.tableArn}/index/${ISSUED_BY_INDEX_NAME}`;
  }

  /** The ARN of the `due` index. */
  get dueIndexArn(): string {
    return `${this.table.tableArn}/index/${DUE_INDEX_NAME}`;
  }

  /**
   * Query on the `due` index (the planner's "what is due") and on the `issued-by` index
   * (the planner's issuer-rotation step: the records a stale issuer identity issued).
   */
  grantFindDue(fn: lambda.Function): void {
    this.#grant(fn, ['dynamodb:Query'], [this.dueIndexArn, this.issuedByIndexArn], false);
  }

  /** Get, create and conditionally update certificate records (lease, fencing writes). */
  grantReadWrite(fn: lambda.Function): void {
    this.#grant(
      fn,
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [this.table.tableArn],
      true,
    );
  }

  /**
   * Get and conditional Put of certificate records and of the control documents
   * (`control#renewal-budget`, `control#issuer-rotation`): forced renewals and the
   * planner's issuer-rotation step. No UpdateItem (no lease).
   */
  grantReadPut(fn: lambda.Function): void {
    this.#grant(fn, ['dynamodb:GetItem', 'dynamodb:PutItem'], [this.table.tableArn], true);
  }

  /** Scan of every record (the sweep's fleet-health summary, forced renewals, the issuer rotation's one-time upgrade pass). */
  grantList(fn: lambda.Function): void {
    this.#grant(fn, ['dynamodb:Scan'], [this.table.tableArn], false);
  }

  /**
   * The STEK lease items: UpdateItem (acquire, commit, release) on the `stek#<set>` items
   * of the given sets only (condition dynamodb:LeadingKeys), no other item.
   */
  grantStekLocks(fn: lambda.Function, setIds: readonly string[]): void {
    this.#grant(fn, ['dynamodb:UpdateItem'], [this.table.tableArn], true, {
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': setIds.map(stekLockKey) },
    });
  }

  #grant(
    fn: lambda.Function,
    actions: string[],
    resources: string[],
    writes: boolean,
    conditions?: Record<string, Record<string, unknown>>,
  ): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }),
    );
    // Identical statements are merged when the policy is rendered, so a function with
    // several grants gets each KMS statement once.
    fn.addToRolePolicy(this.#keyStatement(['kms:Decrypt', 'kms:DescribeKey']));
    if (writes) fn.addToRolePolicy(this.#keyStatement(['kms:Encrypt', 'kms:GenerateDataKey']));
    fn.addEnvironment(ENV.tableName, this.table.tableName);
  }

  #keyStatement(actions: string[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      actions,
      resources: [this.#key.keyArn],
      conditions: {
        StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` },
      },
    });
  }
}
