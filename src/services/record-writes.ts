import type { CertificateRecord } from '../core/certificate-record.js';
import type { CertloopError } from '../core/errors.js';
import { asCertloopError } from '../core/errors.js';
import { decideFailure } from '../core/failure-outcome.js';
import type { IssuanceDeps, RecordOutcome } from './issuance-deps.js';

/** What a leased write needs: the store, the clock, and who holds the lease for how long. */
type LeasedWriter = Pick<IssuanceDeps, 'records' | 'clock' | 'owner' | 'leaseMs'>;

/**
 * Writes the record with `changes`, conditioned on the version it was read at (the
 * fencing token). `extend` keeps our lease for another lease period; `release` ends it.
 */
export async function save(
  deps: LeasedWriter,
  record: CertificateRecord,
  changes: Partial<CertificateRecord>,
  lease: 'extend' | 'release',
): Promise<CertificateRecord> {
  const now = deps.clock.now();
  const next: CertificateRecord = { ...record, ...changes, updatedAt: now };
  if (lease === 'extend') next.lease = { owner: deps.owner, until: now + deps.leaseMs };
  else delete next.lease;
  return deps.records.put(next, record.version);
}

/**
 * Records a failure on the record (if we still hold it) and says what happens next:
 * gathers the record, lets `decideFailure` decide, then writes and releases the lease.
 * A conflict or a record held elsewhere is reported and left as it is.
 */
export async function recordFailure(
  deps: IssuanceDeps,
  id: string,
  known: CertificateRecord | undefined,
  error: CertloopError,
): Promise<RecordOutcome> {
  const now = deps.clock.now();
  const log = deps.logger.child({ record: id });
  const kind = error.kind;
  if (kind === 'conflict') {
    log.warn('record changed under this worker; leaving it to the newer owner', {
      rule: 'LeaseLost',
    });
    return { id, outcome: 'conflict', reason: 'LeaseLost', detail: error.message };
  }
  let record = known;
  try {
    record ??= await deps.records.get(id);
  } catch {
    record = undefined;
  }
  if (!record || record.lease?.owner !== deps.owner) {
    log.error('failed before taking the record; it stays as it was', {
      kind,
      error: error.message,
    });
    return {
      id,
      outcome: 'deferred',
      reason: kind,
      detail: error.message,
      ...(error.accountSetup ? { accountError: true as const } : {}),
    };
  }

  const decision = decideFailure({
    error: {
      kind,
      message: error.message,
      ...(error.source !== undefined ? { source: error.source } : {}),
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    },
    record: {
      failures: record.failures,
      ...(record.current ? { currentNotAfter: record.current.notAfter } : {}),
    },
    now,
    random: deps.random,
  });
  log.warn(decision.log.message, decision.log.fields);
  if (decision.discardStagedKey && record.order) {
    await deps.secrets.discardPendingKey(id, record.order.attemptId).catch(() => undefined);
  }
  try {
    await save(deps, record, decision.changes, 'release');
  } catch (writeError) {
    const cause = asCertloopError(writeError);
    log.error('could not record the failure; the lease will expire', {
      kind: cause.kind,
      error: cause.message,
    });
    if (cause.kind === 'conflict')
      return { id, outcome: 'conflict', reason: 'LeaseLost', detail: cause.message };
  }
  return {
    id,
    ...decision.outcome,
    ...(error.accountSetup && decision.outcome.outcome === 'deferred'
      ? { accountError: true as const }
      : {}),
  };
}
