import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { EmfMetrics, type MetricsSink } from '../adapters/logging/powertools-metrics.js';
import { METRICS } from '../config/metrics.js';
import { CertloopError } from '../core/errors.js';
import type { FleetHealth } from '../core/fleet-health.js';
import { parseWorkMessage } from '../core/work-message.js';
import { announceOutcomes } from '../services/announce-outcomes.js';
import {
  type ForceRenewalDeps,
  type ForceRenewalReport,
  forceRenewal,
} from '../services/force-renewal.js';
import { issueCertificates, type RecordOutcome } from '../services/issue-certificates.js';
import type { PlanReport } from '../services/plan-due-work.js';
import {
  type RecheckDeps,
  type RecheckReport,
  recheckRenewalInfo,
} from '../services/recheck-renewal-info.js';
import { reportFleetHealth } from '../services/report-fleet-health.js';
import type { SweepReport } from '../services/sweep-registrations.js';
import type { Runtime } from './compose.js';
import type { RegistrationRuntime } from './compose-registration.js';
import type { StekRuntime } from './compose-stek.js';
import { PayloadError, parseRenewPayload } from './renew-payload.js';

/**
 * Whether a work message should come back through the queue. Only when the record
 * could not be worked on because our own storage failed: a certificate failure is
 * already recorded on the record with its backoff, and a busy or conflicting record
 * belongs to another worker. An issuer whose account cannot be set up (AccountErrors)
 * is not healed by redelivery either: the record holds the error and its next attempt,
 * the planner brings it back, and the messages stay out of the dead-letter queue.
 */
export function needsRedelivery(outcome: RecordOutcome): boolean {
  return outcome.outcome === 'deferred' && outcome.accountError !== true;
}

/**
 * The worker: one SQS batch is one issuance batch (one DNS propagation wait). Powertools
 * reports partial failures, so only the messages that failed come back: a body that is
 * not a work message (after maxReceiveCount it lands in the dead-letter queue) or a
 * record deferred by a storage failure.
 */
export function createWorkerHandler(runtime: Runtime, metrics: MetricsSink = new EmfMetrics()) {
  const processor = new BatchProcessor(EventType.SQS);
  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const ids = new Set<string>();
    for (const record of event.Records) {
      try {
        ids.add(parseWorkMessage(record.body).id);
      } catch {
        // reported per message below
      }
    }
    const results = await issueCertificates(runtime.issuance, [...ids]);
    const outcomes = new Map(results.map((o) => [o.id, o]));
    metrics.count(METRICS.issued, results.filter((o) => o.outcome === 'issued').length);
    metrics.count(
      METRICS.failed,
      results.filter((o) => o.outcome === 'failed' || o.outcome === 'invalid').length,
    );
    metrics.count(METRICS.renewalInfoFailures, results.filter((o) => o.renewalInfoFailed).length);
    // After the batch: every record is written, every secret published.
    const announced = await announceOutcomes(runtime.announce, results);
    metrics.count(METRICS.eventsFailed, announced.failed);
    metrics.count(METRICS.accountErrors, results.filter((o) => o.accountError).length);
    metrics.flush();
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const { id } = parseWorkMessage(record.body);
        const outcome = outcomes.get(id);
        if (!outcome) throw new Error(`no outcome for record ${id}`);
        if (needsRedelivery(outcome))
          throw new Error(`record ${id} deferred: ${outcome.detail ?? outcome.reason}`);
        return outcome.outcome;
      },
      processor,
      context ? { context } : undefined,
    );
  };
}

/**
 * The registration sweep: reads every registered secret's tags into records, then
 * reports the fleet's health for the alarms: the certificates at risk for their lifetime
 * (the expiry alarm), the fewest days to expiry (a graph) and the invalid records.
 */
export function createSweepHandler(
  runtime: Pick<RegistrationRuntime, 'registration' | 'sweep'> &
    Partial<Pick<RegistrationRuntime, 'capacity'>>,
  metrics: MetricsSink = new EmfMetrics(),
) {
  return async (): Promise<SweepReport & { health: FleetHealth }> => {
    if (!runtime.sweep)
      throw new Error(
        'this deployment has no tag source: the sweep needs the Secrets Manager store',
      );
    const report = await runtime.sweep();
    const health = await reportFleetHealth({
      ...runtime.registration,
      ...(runtime.capacity ? { capacity: runtime.capacity } : {}),
    });
    if (health.capacity) {
      metrics.gauge(METRICS.budgetedOrdersPerWindow, health.capacity.ordersPerWindow, 'Count');
      metrics.gauge(METRICS.orderBudget, health.capacity.budget, 'Count');
    }
    metrics.gauge(METRICS.certificatesAtRisk, health.atRisk, 'Count');
    if (health.minDaysToExpiry !== undefined)
      metrics.gauge(METRICS.minDaysToExpiry, health.minDaysToExpiry, 'None');
    metrics.gauge(METRICS.invalidRecords, health.invalid, 'Count');
    metrics.count(METRICS.eventsFailed, report.events.failed);
    metrics.flush();
    return { ...report, health };
  };
}

/**
 * The scheduled planner: due records to the work queue (within the CA's order budget),
 * the size of the backlog, and how much of it the budget held back.
 */
export function createPlannerHandler(
  planner: { plan(): Promise<PlanReport> },
  metrics: MetricsSink = new EmfMetrics(),
) {
  return async (): Promise<PlanReport> => {
    const report = await planner.plan();
    metrics.gauge(METRICS.dueBacklog, report.due, 'Count');
    metrics.gauge(METRICS.oldestDueSeconds, report.oldestDueSeconds, 'Seconds');
    metrics.gauge(METRICS.heldByBudget, report.heldByBudget, 'Count');
    metrics.flush();
    return report;
  };
}

export type RenewResponse =
  | ({ ok: true } & ForceRenewalReport)
  | ({ ok: true; ariCheck: true } & RecheckReport)
  | { ok: false; error: string };

/**
 * The Renew function (manual invoke): a bad payload answers `{ok: false, error}` and
 * changes nothing; otherwise the report says what matched, what was scheduled and over
 * what window, or with `ariCheck`, which renewal windows moved.
 */
export function createRenewHandler(deps: ForceRenewalDeps, recheck?: RecheckDeps) {
  return async (payload: unknown): Promise<RenewResponse> => {
    let request: ReturnType<typeof parseRenewPayload>;
    try {
      request = parseRenewPayload(payload);
    } catch (error) {
      if (error instanceof PayloadError) {
        deps.logger.warn('renew request refused', { rule: 'BadPayload', error: error.message });
        return { ok: false, error: error.message };
      }
      throw error;
    }
    if (request.ariCheck) {
      if (!recheck)
        return { ok: false, error: 'this function cannot re-check renewal information' };
      const report = await recheckRenewalInfo(recheck, request);
      return { ok: true, ariCheck: true, ...report };
    }
    return { ok: true, ...(await forceRenewal(deps, request)) };
  };
}

/**
 * Scheduled STEK rotation (EventBridge, e.g. every hour: most runs find NothingToDo).
 * Every set is tried; when any failed, the invocation fails after all of them ran, so
 * the Lambda Errors metric alarms and the scheduler's retry runs the (idempotent)
 * rotation again. Announcements that failed are counted (`EventsFailed`), never fatal.
 */
export function createStekHandler(runtime: StekRuntime, metrics: MetricsSink = new EmfMetrics()) {
  return async () => {
    const report = await runtime.rotate();
    metrics.count(METRICS.eventsFailed, report.eventsFailed);
    metrics.flush();
    if (report.failed > 0) {
      const failed = report.sets.filter((set) => set.outcome === 'failed').map((set) => set.setId);
      throw new CertloopError('transient', `STEK rotation failed for: ${failed.join(', ')}`, {
        source: 'stek',
      });
    }
    return report;
  };
}
