/**
 * The planner's composition root. Kept apart from compose.ts so that the planner's
 * bundle holds no issuance adapter (acme-client, X.509, Route 53, Secrets Manager):
 * it only reads the records table and writes to the work queue.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsWorkQueue } from '../adapters/aws/sqs-work-queue.js';
import { DynamoDbControlRecords } from '../adapters/dynamodb/dynamodb-control-records.js';
import { DynamoDbRecordStore } from '../adapters/dynamodb/dynamodb-record-store.js';
import { StructuredLogger } from '../adapters/logging/powertools-logger.js';
import type { PlannerConfig } from '../config/runtime-config.js';
import { DEFAULT_ORDER_BUDGET } from '../core/renewal-budget.js';
import { type PlannerDeps, type PlanReport, planDueWork } from '../services/plan-due-work.js';
import { reconcileIssuer } from '../services/reconcile-issuer.js';
import type { ComposeOptions } from './compose.js';
import { systemClock } from './system-clock.js';

/**
 * The planner's wiring: the records table, the SQS work queue, and the order ledger (a
 * control document in the same table) that keeps admissions within the CA's order
 * budget (`config.budget`, else DEFAULT_ORDER_BUDGET). With a target issuer
 * configured, each run first takes one issuer-rotation step toward it and the issuers'
 * identities (Queries on the issued-by index, a batch at a time, never a Scan; a single
 * GetItem once the fleet is converged); a rotation failure is logged and never blocks
 * planning.
 */
export function composePlanner(
  config: PlannerConfig,
  options: ComposeOptions = {},
): { plan(): Promise<PlanReport> } {
  const dynamodb = new DynamoDBClient({});
  const control = new DynamoDbControlRecords({ client: dynamodb, tableName: config.tableName });
  const deps: PlannerDeps = {
    records: new DynamoDbRecordStore({ client: dynamodb, tableName: config.tableName }),
    queue: new SqsWorkQueue({ client: new SQSClient({}), queueUrl: config.queueUrl }),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? new StructuredLogger(),
    budget: config.budget ?? DEFAULT_ORDER_BUDGET,
    control,
    exemptIssuers: new Set(config.exemptIssuers ?? []),
  };
  return { plan: plannerRun(deps, config) };
}

/**
 * One planner run on its adapters (exported so that tests drive the same sequence on a
 * recorded DynamoDB client): the issuer-rotation step when a target is configured, then
 * due planning.
 */
export function plannerRun(
  deps: PlannerDeps,
  config: Pick<PlannerConfig, 'issuerRotation' | 'maxRecordsPerTick'>,
): () => Promise<PlanReport> {
  const rotation = config.issuerRotation;
  return async () => {
    if (rotation) {
      try {
        await reconcileIssuer(deps, rotation.target, rotation.batch, rotation.identities);
      } catch (error) {
        deps.logger.error('issuer rotation step failed; planning goes on', {
          error: (error as Error).message,
        });
      }
    }
    return planDueWork(deps, config.maxRecordsPerTick);
  };
}
