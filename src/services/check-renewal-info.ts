import { type CertificateRecord, nextLook } from '../core/certificate-record.js';
import { asCertloopError } from '../core/errors.js';
import {
  type AriDecision,
  applyRenewalInfo,
  type RenewalInfoAnswer,
} from '../core/renewal-info.js';
import { lifetimeRenewalTime, lifetimeRule } from '../core/renewal-window.js';
import { type Instant, iso, type Random } from '../core/time.js';
import type { AcmeCa } from '../ports/acme-ca.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Logger } from '../ports/logger.js';
import type { IssuanceDeps, RecordOutcome } from './issuance-deps.js';

/** What a renewal information check needs: no secret store, no DNS, no lease. */
export interface RenewalInfoDeps {
  records: CertificateRecordStore;
  /** The CA behind a named issuer; `undefined` for a name not configured. */
  issuers: (name: string) => Pick<AcmeCa, 'renewalInfo'> | undefined;
  logger: Logger;
  random: Random;
}

/** What a check found, before anything is stored. */
export interface RenewalInfoCheck {
  id: string;
  decision: AriDecision;
  /** The record as it would be stored (renewAt, renewalRule, ari, nextAttemptAt). */
  next: CertificateRecord;
  /** The check failed (its own backoff; never the certificate's failure count). */
  failed: boolean;
}

/**
 * Asks the CA for the renewal information of a record's current certificate and works
 * out what it changes (gather and decide; nothing is written). A CA without ARI, a
 * failure or an unusable answer leaves the lifetime rule in force (`applyRenewalInfo`).
 */
export async function gatherRenewalInfo(
  deps: Pick<RenewalInfoDeps, 'issuers' | 'random'>,
  record: CertificateRecord,
  certId: string,
  now: Instant,
): Promise<RenewalInfoCheck> {
  const current = record.current;
  if (!current) throw new Error(`record ${record.id} has no certificate to check`);
  const ca = deps.issuers(record.issuer);
  let outcome: { answer: RenewalInfoAnswer } | { unsupported: true } | { failure: string };
  if (!ca) {
    outcome = { failure: `issuer "${record.issuer}" is not configured in this deployment` };
  } else {
    try {
      const answer = await ca.renewalInfo(certId);
      outcome = answer ? { answer } : { unsupported: true };
    } catch (error) {
      outcome = { failure: asCertloopError(error, 'ari').message };
    }
  }
  const validity = { notBefore: current.notBefore, notAfter: current.notAfter };
  const sameCertificate = record.ari?.certId === certId;
  const decision = applyRenewalInfo(
    {
      certId,
      validity,
      lifetimeRenewAt: lifetimeRenewalTime(validity, record.renewJitter ?? 0),
      ...(sameCertificate && record.ari ? { previous: record.ari } : {}),
      ...(sameCertificate && record.renewAt !== undefined
        ? { previousRenewAt: record.renewAt }
        : {}),
      now,
      random: deps.random,
    },
    outcome,
  );
  const next: CertificateRecord = {
    ...record,
    ari: decision.ari,
    renewAt: decision.renewAt,
    renewalRule: decision.rule,
    updatedAt: now,
  };
  next.nextAttemptAt = nextLook(next, now);
  return { id: record.id, decision, next, failed: 'failure' in outcome };
}

/** The fields a log line or report gives for a check (never key material). */
export function describeCheck(check: RenewalInfoCheck): Record<string, unknown> {
  const { decision } = check;
  return {
    rule: decision.rule,
    windowMoved: decision.windowMoved,
    renewAt: iso(decision.renewAt),
    ...(decision.ari ? { nextCheckAt: iso(decision.ari.checkAt) } : {}),
    ...(decision.ari?.window
      ? { window: { start: iso(decision.ari.window.start), end: iso(decision.ari.window.end) } }
      : {}),
    ...(decision.ari?.explanationUrl ? { explanationUrl: decision.ari.explanationUrl } : {}),
    ...(decision.ari?.problem ? { problem: decision.ari.problem } : {}),
    detail: decision.detail,
  };
}

/**
 * The scheduled check of an up-to-date record (decision `check-renewal-info`): no order,
 * no lease for the GET. The record read without a lease is written back only under its
 * version condition, so a worker that took the lease meanwhile wins and this check is
 * dropped (`conflict`); a record whose lease is live is left to its holder (`busy`).
 */
export async function checkRenewalInfo(
  deps: RenewalInfoDeps,
  record: CertificateRecord,
  now: Instant,
): Promise<{ outcome: 'checked' | 'busy' | 'conflict'; check?: RenewalInfoCheck }> {
  const log = deps.logger.child({ record: record.id });
  const certId = record.ari?.certId;
  if (!certId || !record.current) return { outcome: 'busy' };
  if (record.lease && record.lease.until >= now) return { outcome: 'busy' };
  const check = await gatherRenewalInfo(deps, record, certId, now);
  try {
    await deps.records.put(check.next, record.version);
  } catch (error) {
    const failure = asCertloopError(error, 'records');
    if (failure.kind === 'conflict') {
      log.debug('record changed during the renewal information check; dropping it', {
        rule: 'RecordChanged',
      });
      return { outcome: 'conflict', check };
    }
    throw failure;
  }
  const fields = describeCheck(check);
  if (check.failed) log.warn('renewal information check failed; lifetime rule in force', fields);
  else if (check.decision.windowMoved) log.info('renewal information: window moved', fields);
  else log.debug('renewal information checked', fields);
  return { outcome: 'checked', check };
}

/**
 * The renewal time of a certificate just issued: its renewal information when the CA
 * offers it (no lease needed beyond the one held), else the lifetime rule. A certificate
 * without an ARI identifier keeps the lifetime rule and is never checked.
 */
export async function renewalAfterIssuance(
  deps: RenewalInfoDeps & Pick<IssuanceDeps, 'ariCertificateId'>,
  record: CertificateRecord,
  certificatePem: string,
  now: Instant,
) {
  let certId: string;
  try {
    certId = await deps.ariCertificateId(certificatePem);
  } catch (error) {
    deps.logger.warn('certificate has no renewal information identifier; lifetime rule only', {
      record: record.id,
      error: asCertloopError(error).message,
    });
    const renewAt = record.renewAt ?? now;
    return {
      renewAt,
      rule: record.current ? lifetimeRule(record.current) : ('two-thirds-of-lifetime' as const),
      ari: undefined,
      nextAttemptAt: renewAt,
      renewalInfoFailed: false,
    };
  }
  const check = await gatherRenewalInfo(deps, { ...record, ari: undefined }, certId, now);
  return {
    renewAt: check.decision.renewAt,
    rule: check.decision.rule,
    ari: check.decision.ari,
    nextAttemptAt: nextLook(check.next, now),
    renewalInfoFailed: check.failed,
  };
}

/** A scheduled renewal information check, reported as the batch's outcome for the record. */
export async function checkWithoutLease(
  deps: IssuanceDeps,
  record: CertificateRecord,
  now: Instant,
): Promise<RecordOutcome> {
  const result = await checkRenewalInfo(deps, record, now);
  const check = result.check;
  if (result.outcome !== 'checked' || !check) {
    return { id: record.id, outcome: result.outcome, reason: 'LeaseHeld' };
  }
  return {
    id: record.id,
    outcome: 'checked',
    reason: check.failed
      ? 'RenewalInfoUnavailable'
      : check.decision.windowMoved
        ? 'RenewalWindowMoved'
        : 'RenewalWindowUnchanged',
    detail: check.decision.detail,
    ...(check.next.nextAttemptAt !== undefined ? { nextAttemptAt: check.next.nextAttemptAt } : {}),
    ...(check.failed ? { renewalInfoFailed: true } : {}),
  };
}
