import { randomUUID } from 'node:crypto';
import { acmImportArn, sameSerial } from '../core/acm-import.js';
import { nextRetry } from '../core/backoff.js';
import type { CertificateRecord, InFlightOrder } from '../core/certificate-record.js';
import { type NamePolicy, validateRequestedNames } from '../core/domain-names.js';
import { asCertloopError, CertloopError } from '../core/errors.js';
import { decideIssuance, type IssuanceReason } from '../core/issuance-checks.js';
import type { KeyMaterial } from '../core/key-material.js';
import { chooseRenewalTime } from '../core/renewal-window.js';
import { type Instant, iso, MINUTE, type Random } from '../core/time.js';
import type { AcmeCa, Dns01Challenge, OrderState } from '../ports/acme-ca.js';
import type { CertificateImport, CertificateImporter } from '../ports/certificate-importer.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { Dns01Solver, TxtRecord } from '../ports/dns01-solver.js';
import type { KeyFactory } from '../ports/key-factory.js';
import type { Logger } from '../ports/logger.js';
import type { SecretStore } from '../ports/secret-store.js';
import { readIssuedChain } from './certificate-facts.js';
import { mapWithConcurrency } from './concurrency.js';

/** Looks up the ACME CA behind a named issuer; `undefined` for a name not configured. */
export type IssuerLookup = (name: string) => AcmeCa | undefined;

export interface IssuanceDeps {
  records: CertificateRecordStore;
  secrets: SecretStore;
  issuers: IssuerLookup;
  dns: Dns01Solver;
  keys: KeyFactory;
  clock: Clock;
  logger: Logger;
  random: Random;
  policy: NamePolicy;
  /** Identifies this worker in leases. */
  owner: string;
  /** How long a lease lasts; longer than one batch can take. */
  leaseMs: number;
  /** Records worked on in parallel inside one batch. */
  concurrency: number;
  /** Imports into ACM for records tagged `certloop:acm`; absent where the deployment does not. */
  acm?: CertificateImporter;
}

export type Outcome =
  /** A new certificate was published. */
  | 'issued'
  /** Looked at, nothing to do now (not due, or invalid). */
  | 'skipped'
  /** Up to date; the next look was moved to its renewal time. */
  | 'rescheduled'
  /** Up to date, and now imported into ACM too; the next look is at its renewal time. */
  | 'imported'
  /** Another worker holds the lease, or the record is gone. */
  | 'busy'
  /** A CA or DNS failure; backed off. */
  | 'failed'
  /** A problem waiting cannot fix; the record is `invalid` until it changes. */
  | 'invalid'
  /** Our own storage failed; retried soon without counting against the certificate. */
  | 'deferred'
  /** The record changed under us (lease lost); the newer owner carries on. */
  | 'conflict';

export interface RecordOutcome {
  id: string;
  outcome: Outcome;
  /** The check or rule that decided: an IssuanceReason, a backoff rule, an error kind. */
  reason: string;
  detail?: string;
  nextAttemptAt?: Instant;
  serial?: string;
}

/** A record that holds the lease and an order, between the phases of a batch. */
interface Prepared {
  record: CertificateRecord;
  ca: AcmeCa;
  order: InFlightOrder;
  state: OrderState;
  challenges: Dns01Challenge[];
  reason: IssuanceReason;
}

type Step = { done: RecordOutcome } | { prepared: Prepared };

/**
 * Issues or renews the given records as one batch: lock, re-read, re-check, act.
 *
 * Phase 1, per record: take the lease (the lease write returns the record as stored:
 * the re-read), run the issuance checks again, and place or resume an order. The order
 * URL and its staged key are stored before anything else happens, so a crash at any
 * later step resumes this order instead of placing a new one.
 * Phase 2, once for the batch: publish every DNS-01 TXT value and wait for propagation
 * once. Phase 3, per record: answer challenges, finalize, download, publish the
 * certificate with its key, then record it. Phase 4: remove the TXT values.
 *
 * A failure of one record is recorded on that record only; the others carry on.
 */
export async function issueCertificates(
  deps: IssuanceDeps,
  ids: readonly string[],
): Promise<RecordOutcome[]> {
  const log = deps.logger;
  const steps = await mapWithConcurrency(ids, deps.concurrency, async (id): Promise<Step> => {
    try {
      return await prepare(deps, id);
    } catch (error) {
      return { done: await recordFailure(deps, id, undefined, asCertloopError(error)) };
    }
  });

  const prepared = steps.flatMap((step) => ('prepared' in step ? [step.prepared] : []));
  const txtRecords: TxtRecord[] = prepared.flatMap((p) =>
    p.challenges.map((c) => ({ name: c.recordName, value: c.recordValue })),
  );

  let dnsFailure: unknown;
  if (txtRecords.length > 0) {
    try {
      await deps.dns.present(txtRecords);
      await deps.dns.waitForPropagation(txtRecords);
      log.info('dns-01 values published', { values: txtRecords.length, records: prepared.length });
    } catch (error) {
      dnsFailure = error;
    }
  }

  const finished = await mapWithConcurrency(
    steps,
    deps.concurrency,
    async (step): Promise<RecordOutcome> => {
      if ('done' in step) return step.done;
      const { record, challenges } = step.prepared;
      try {
        if (dnsFailure !== undefined && challenges.length > 0)
          throw asCertloopError(dnsFailure, 'dns');
        return await complete(deps, step.prepared);
      } catch (error) {
        return recordFailure(deps, record.id, record, asCertloopError(error));
      }
    },
  );

  if (txtRecords.length > 0) {
    try {
      await deps.dns.cleanup(txtRecords);
    } catch (error) {
      log.warn('dns-01 cleanup failed; values may linger until the next cleanup', {
        error: asCertloopError(error).message,
      });
    }
  }
  return finished;
}

async function prepare(deps: IssuanceDeps, id: string): Promise<Step> {
  const now = deps.clock.now();
  const log = deps.logger.child({ record: id });
  let record = await deps.records.acquireLease(id, deps.owner, now, deps.leaseMs);
  if (!record) {
    log.debug('skipped: lease held elsewhere or record gone', { rule: 'LeaseHeld' });
    return { done: { id, outcome: 'busy', reason: 'LeaseHeld' } };
  }

  const decision = decideIssuance(record, now);
  if (decision.action === 'skip') {
    await save(deps, record, {}, 'release');
    log.debug(`skipped: ${decision.detail}`, { rule: decision.reason });
    return { done: { id, outcome: 'skipped', reason: decision.reason, detail: decision.detail } };
  }
  if (decision.action === 'reschedule') {
    await save(deps, record, { nextAttemptAt: decision.nextAttemptAt }, 'release');
    log.info(`rescheduled: ${decision.detail}`, {
      rule: decision.reason,
      nextAttemptAt: iso(decision.nextAttemptAt),
    });
    return {
      done: {
        id,
        outcome: 'rescheduled',
        reason: decision.reason,
        nextAttemptAt: decision.nextAttemptAt,
      },
    };
  }
  if (decision.action === 'import') {
    return { done: await importCurrent(deps, record, decision.reason, decision.nextAttemptAt) };
  }

  const names = validateRequestedNames({ domains: record.domains }, deps.policy);
  if (!names.ok)
    throw new CertloopError('permanent', names.problems.join('; '), { source: 'policy' });
  const ca = deps.issuers(record.issuer);
  if (!ca) {
    throw new CertloopError(
      'permanent',
      `issuer "${record.issuer}" is not configured in this deployment`,
      { source: 'policy' },
    );
  }

  let order = record.order;
  let state: OrderState | undefined;
  if (order && orderMatches(order, record) && (order.expiresAt ?? Number.POSITIVE_INFINITY) > now) {
    state = await resumeOrder(ca, order.url);
    if (state && state.status !== 'invalid') {
      log.info('resuming order', { rule: 'OrderInFlight', order: order.url, status: state.status });
    } else {
      state = undefined;
    }
  }
  if (!state || !order) {
    if (order) await deps.secrets.discardPendingKey(id, order.attemptId);
    const attemptId = randomUUID();
    state = await ca.placeOrder({
      domains: record.domains,
      ...(record.profile ? { profile: record.profile } : {}),
    });
    // The key is staged only once the CA has accepted the order: an order that cannot
    // be placed (CA down, rate limit, a broken account key) must leave no private key
    // in a secret version. The key is first needed at finalize, and the record learns
    // the order only after both are stored, so a crash in between leaves just an orphan.
    const key = await deps.keys.generate(record.keyType);
    await deps.secrets.stagePendingKey(id, attemptId, key);
    order = {
      url: state.url,
      attemptId,
      domains: record.domains,
      keyType: record.keyType,
      issuer: record.issuer,
      ...(record.profile ? { profile: record.profile } : {}),
      placedAt: now,
      ...(state.expiresAt !== undefined ? { expiresAt: state.expiresAt } : {}),
    };
    record = await save(deps, record, { order }, 'extend');
    log.info(`order placed: ${decision.detail}`, { rule: decision.reason, order: order.url });
  }

  const challenges = state.status === 'pending' ? await ca.pendingDns01Challenges(order.url) : [];
  return { prepared: { record, ca, order, state, challenges, reason: decision.reason } };
}

async function complete(deps: IssuanceDeps, p: Prepared): Promise<RecordOutcome> {
  const { ca, order } = p;
  const id = p.record.id;
  let state = p.state;
  if (p.challenges.length > 0) {
    await ca.answerChallenges(p.challenges);
    state = await ca.getOrder(order.url);
  }
  const key = await stagedKey(deps, id, order);
  if (state.status === 'ready') {
    state = await ca.finalize(order.url, await deps.keys.createCsr(key, order.domains));
  }
  if (state.status !== 'valid') {
    throw new CertloopError(
      'transient',
      `order is ${state.status} at the CA, expected valid; it will be resumed`,
      { source: 'ca' },
    );
  }
  const facts = readIssuedChain(await ca.downloadCertificate(order.url), key, order.domains);

  const { created } = await deps.secrets.writeCertificate(
    id,
    {
      certificate: facts.certificate,
      chain: facts.chain,
      fullchain: facts.fullchain,
      privateKey: key,
      domains: facts.domains,
      serial: facts.serial,
      notBefore: iso(facts.notBefore),
      notAfter: iso(facts.notAfter),
      issuer: facts.issuer,
      keyType: order.keyType,
    },
    facts.fingerprint,
  );

  const now = deps.clock.now();
  const renewal = chooseRenewalTime(
    { notBefore: facts.notBefore, notAfter: facts.notAfter },
    deps.random,
  );
  const record = p.record;
  // With an ACM import to follow, the lease is kept for it and the record is due again
  // when the lease ends: a crash before the import leaves it owed, not forgotten until
  // the next renewal.
  const importing = record.acm !== undefined;
  const saved = await save(
    deps,
    record,
    {
      status: 'active',
      statusMessage: undefined,
      current: {
        serial: facts.serial,
        notBefore: facts.notBefore,
        notAfter: facts.notAfter,
        domains: facts.domains,
        keyType: order.keyType,
        issuer: order.issuer,
        ...(order.profile ? { profile: order.profile } : {}),
        issuedAt: now,
      },
      renewAt: renewal.renewAt,
      renewJitter: renewal.jitter,
      nextAttemptAt: importing ? now + deps.leaseMs : renewal.renewAt,
      failures: 0,
      lastError: undefined,
      order: undefined,
      forceRenewal: undefined,
    },
    importing ? 'extend' : 'release',
  );
  await deps.secrets.discardPendingKey(id, order.attemptId).catch(() => undefined);
  deps.logger.info('certificate issued', {
    record: id,
    rule: p.reason,
    serial: facts.serial,
    notAfter: iso(facts.notAfter),
    renewAt: iso(renewal.renewAt),
    renewalRule: renewal.rule,
    newSecretVersion: created,
  });
  if (saved.acm) {
    try {
      const arn = await importIntoAcm(deps, saved, {
        certificate: facts.certificate,
        chain: facts.chain,
        privateKey: key,
      });
      await save(
        deps,
        saved,
        {
          acm: { ...saved.acm, arn, importedSerial: facts.serial },
          nextAttemptAt: renewal.renewAt,
        },
        'release',
      );
      deps.logger.info('imported into ACM', { record: id, arn, serial: facts.serial });
    } catch (error) {
      const failed = await recordFailure(deps, id, saved, asCertloopError(error, 'acm'));
      return {
        ...failed,
        serial: facts.serial,
        detail: `certificate ${facts.serial} was issued and published to the secret; ${failed.detail}`,
      };
    }
  }
  return {
    id,
    outcome: 'issued',
    reason: p.reason,
    serial: facts.serial,
    nextAttemptAt: renewal.renewAt,
  };
}

/**
 * The import-only step: the certificate is up to date in the secret but not in ACM (the
 * tag was added later, or an earlier import failed). The pair is read back from the
 * secret's current version, which must be the certificate the record knows.
 */
async function importCurrent(
  deps: IssuanceDeps,
  record: CertificateRecord,
  reason: IssuanceReason,
  nextAttemptAt: Instant,
): Promise<RecordOutcome> {
  const known = record.current;
  const acm = record.acm;
  if (!known || !acm)
    throw new Error('importCurrent needs a current certificate and an ACM target');
  const pair = await deps.secrets.readCertificate(record.id, 'current');
  if (!pair || !sameSerial(pair.serial, known.serial)) {
    throw new CertloopError(
      'transient',
      `the secret's current version holds ${pair ? `certificate ${pair.serial}` : 'no certificate'}, ` +
        `not ${known.serial} that this record issued; it is not imported into ACM`,
      { source: 'secrets' },
    );
  }
  const arn = await importIntoAcm(deps, record, pair);
  await save(
    deps,
    record,
    {
      acm: { ...acm, arn, importedSerial: known.serial },
      status: 'active',
      statusMessage: undefined,
      failures: 0,
      lastError: undefined,
      nextAttemptAt,
    },
    'release',
  );
  deps.logger.info('imported into ACM', {
    record: record.id,
    rule: reason,
    arn,
    serial: known.serial,
    nextAttemptAt: iso(nextAttemptAt),
  });
  return { id: record.id, outcome: 'imported', reason, serial: known.serial, nextAttemptAt };
}

/**
 * Imports the pair into the record's ACM certificate and returns its ARN. ACM refusing
 * (denied, unknown ARN, a pair it will not take) never makes the record `invalid`: its
 * certificate is current in the secret and must keep renewing, so such a failure counts
 * and backs off like a CA failure, with the reason in the record.
 */
async function importIntoAcm(
  deps: IssuanceDeps,
  record: CertificateRecord,
  pair: Pick<CertificateImport, 'certificate' | 'chain' | 'privateKey'>,
): Promise<string> {
  const acm = record.acm;
  if (!acm) throw new Error('importIntoAcm needs an ACM target');
  if (!deps.acm) {
    throw new CertloopError(
      'transient',
      'the record asks for an ACM import (certloop:acm) but this deployment does not import into ACM; ' +
        'deploy it with acmImport enabled, or remove the tag',
      { source: 'acm' },
    );
  }
  const arn = acmImportArn(acm);
  try {
    return (
      await deps.acm.importCertificate({
        secretId: record.id,
        ...(arn ? { arn } : {}),
        ...pair,
      })
    ).arn;
  } catch (error) {
    const failure = asCertloopError(error, 'acm');
    if (failure.kind === 'permanent' || failure.kind === 'not-found') {
      throw new CertloopError(
        'transient',
        `${failure.message} The secret holds the current certificate; the import is tried again with backoff.`,
        { source: 'acm', cause: failure },
      );
    }
    throw failure;
  }
}

async function stagedKey(
  deps: IssuanceDeps,
  id: string,
  order: InFlightOrder,
): Promise<KeyMaterial> {
  const key = await deps.secrets.readPendingKey(id, order.attemptId);
  if (!key) {
    // Without the key that signed (or will sign) the CSR the order is useless: drop it.
    throw new CertloopError(
      'transient',
      'the staged private key of the order in flight is gone; a new order will be placed',
      {
        source: 'secrets',
      },
    );
  }
  return key;
}

async function resumeOrder(ca: AcmeCa, url: string): Promise<OrderState | undefined> {
  try {
    return await ca.getOrder(url);
  } catch (error) {
    if (error instanceof CertloopError && error.kind === 'not-found') return undefined;
    throw error;
  }
}

function orderMatches(order: InFlightOrder, record: CertificateRecord): boolean {
  return (
    order.issuer === record.issuer &&
    order.keyType === record.keyType &&
    order.profile === record.profile &&
    order.domains.join(' ') === record.domains.join(' ')
  );
}

/**
 * Writes the record with `changes`, conditioned on the version it was read at (the
 * fencing token). `extend` keeps our lease for another lease period; `release` ends it.
 */
async function save(
  deps: IssuanceDeps,
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

/** Records a failure on the record (if we still hold it) and says what happens next. */
async function recordFailure(
  deps: IssuanceDeps,
  id: string,
  known: CertificateRecord | undefined,
  error: CertloopError,
): Promise<RecordOutcome> {
  const now = deps.clock.now();
  const log = deps.logger.child({ record: id });
  if (error.kind === 'conflict') {
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
      kind: error.kind,
      error: error.message,
    });
    return { id, outcome: 'deferred', reason: error.kind, detail: error.message };
  }

  const lastError = {
    message: error.message,
    kind: error.kind,
    at: now,
    ...(error.source ? { source: error.source } : {}),
  };
  let outcome: RecordOutcome;
  let changes: Partial<CertificateRecord>;
  if (error.kind === 'permanent') {
    changes = {
      status: 'invalid',
      statusMessage: error.message,
      nextAttemptAt: undefined,
      order: undefined,
      lastError,
    };
    outcome = { id, outcome: 'invalid', reason: 'permanent', detail: error.message };
    log.warn(`invalid: ${error.message}`, { rule: 'CannotHealByWaiting', source: error.source });
  } else if (error.kind === 'infrastructure' || error.kind === 'not-found') {
    const retryAt = now + MINUTE;
    changes = { nextAttemptAt: retryAt, lastError };
    outcome = {
      id,
      outcome: 'deferred',
      reason: error.kind,
      detail: error.message,
      nextAttemptAt: retryAt,
    };
    log.warn(`deferred: ${error.message}`, {
      rule: 'InfrastructureUnavailable',
      source: error.source,
      nextAttemptAt: iso(retryAt),
    });
  } else {
    const failures = record.failures + 1;
    const retry = nextRetry({
      now,
      failures,
      random: deps.random,
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
      ...(record.current ? { currentNotAfter: record.current.notAfter } : {}),
    });
    changes = {
      status: 'failing',
      statusMessage: error.message,
      failures,
      nextAttemptAt: retry.retryAt,
      lastError,
    };
    outcome = {
      id,
      outcome: 'failed',
      reason: retry.rule,
      detail: error.message,
      nextAttemptAt: retry.retryAt,
    };
    log.warn(`failed, backing off: ${error.message}`, {
      rule: retry.rule,
      source: error.source,
      failures,
      delaySeconds: Math.round(retry.delayMs / 1000),
      nextAttemptAt: iso(retry.retryAt),
    });
  }
  if (error.kind === 'permanent' && record.order) {
    await deps.secrets.discardPendingKey(id, record.order.attemptId).catch(() => undefined);
  }
  try {
    await save(deps, record, changes, 'release');
  } catch (writeError) {
    const cause = asCertloopError(writeError);
    log.error('could not record the failure; the lease will expire', {
      kind: cause.kind,
      error: cause.message,
    });
    if (cause.kind === 'conflict')
      return { id, outcome: 'conflict', reason: 'LeaseLost', detail: cause.message };
  }
  return outcome;
}
