import { randomUUID } from 'node:crypto';
import type { CertificateRecord, InFlightOrder } from '../core/certificate-record.js';
import { validateRequestedNames } from '../core/domain-names.js';
import { asCertloopError, CertloopError } from '../core/errors.js';
import {
  decideIssuance,
  type IssuanceReason,
  replacedCertificate,
  withOrderedProfile,
} from '../core/issuance-checks.js';
import type { KeyMaterial } from '../core/key-material.js';
import { chooseRenewalTime } from '../core/renewal-window.js';
import { iso } from '../core/time.js';
import type { AcmeCa, Dns01Challenge, OrderState } from '../ports/acme-ca.js';
import type { TxtRecord } from '../ports/dns01-solver.js';
import { readIssuedChain } from './certificate-facts.js';
import { checkWithoutLease, renewalAfterIssuance } from './check-renewal-info.js';
import { mapWithConcurrency } from './concurrency.js';
import { importCurrent, importIssued } from './import-into-acm.js';
import type { IssuanceDeps, RecordOutcome } from './issuance-deps.js';
import { checkProfileOffered, placeOrder } from './place-order.js';
import { recordFailure, save } from './record-writes.js';

export type { IssuanceDeps, IssuerLookup, Outcome, RecordOutcome } from './issuance-deps.js';

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
 * once (and warm up the CSR maker meanwhile). Phase 3, per record: answer challenges, finalize, download, publish the
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
      // The wait is seconds to a minute of idle time: a cold function loads what its
      // first CSR needs meanwhile instead of after it. A warm-up failure is not a DNS
      // failure: it is left to show again, with its own cause, at the first CSR.
      const propagation = deps.dns.waitForPropagation(txtRecords);
      const warmUp = deps.keys.warmUp().catch(() => undefined);
      await propagation;
      await warmUp;
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
  // Gather first: a due renewal information check needs no lease (only a GET and a
  // write under the version condition); everything else takes the lease and decides
  // again on the copy the lease write returns.
  const gathered = await deps.records.get(id);
  const profileOf = (r: CertificateRecord) => deps.issuerProfile?.(r.issuer);
  if (
    gathered &&
    decideIssuance(gathered, now, profileOf(gathered)).action === 'check-renewal-info'
  ) {
    return { done: await checkWithoutLease(deps, gathered, now) };
  }
  let record = await deps.records.acquireLease(id, deps.owner, now, deps.leaseMs);
  if (!record) {
    log.debug('skipped: lease held elsewhere or record gone', { rule: 'LeaseHeld' });
    return { done: { id, outcome: 'busy', reason: 'LeaseHeld' } };
  }

  const decision = decideIssuance(record, now, profileOf(record));
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
  if (decision.action === 'check-renewal-info') {
    // The check came due between the gather and the lease: give the lease back first.
    const released = await save(deps, record, {}, 'release');
    return { done: await checkWithoutLease(deps, released, now) };
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

  // Ordered with the issuer's default profile when the record names none (not stored).
  const wanted = withOrderedProfile(record, profileOf(record));
  await checkProfileOffered(ca, wanted);

  let order = record.order;
  let state: OrderState | undefined;
  if (order && orderMatches(order, wanted) && (order.expiresAt ?? Number.POSITIVE_INFINITY) > now) {
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
    const replaces = replacedCertificate(record);
    const placed = await placeOrder(deps, ca, wanted, replaces);
    state = placed.state;
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
      ...identityOf(deps, record.issuer),
      ...(wanted.profile ? { profile: wanted.profile } : {}),
      ...(placed.replaced && replaces ? { replaces } : {}),
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

  const { created, versionId } = await deps.secrets.writeCertificate(
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
  const validity = { notBefore: facts.notBefore, notAfter: facts.notAfter };
  const lifetime = chooseRenewalTime(validity, deps.random);
  const record = p.record;
  const issued = {
    serial: facts.serial,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    domains: facts.domains,
    keyType: order.keyType,
    issuer: order.issuer,
    ...(order.issuerIdentity !== undefined
      ? { issuerIdentity: order.issuerIdentity }
      : identityOf(deps, order.issuer)),
    ...(order.profile ? { profile: order.profile } : {}),
    issuedAt: now,
  };
  // Renewal information right after issuance: the CA may already suggest a window.
  const renewal = await renewalAfterIssuance(
    deps,
    { ...record, current: issued, renewAt: lifetime.renewAt, renewJitter: lifetime.jitter },
    facts.certificate,
    now,
  );
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
      current: issued,
      renewAt: renewal.renewAt,
      renewJitter: lifetime.jitter,
      renewalRule: renewal.rule,
      ari: renewal.ari,
      nextAttemptAt: importing ? now + deps.leaseMs : renewal.nextAttemptAt,
      failures: 0,
      lastError: undefined,
      order: undefined,
      forceRenewal: undefined,
      // The issuer rotation's marker is honoured: the record is settled again.
      issuerIdentity: undefined,
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
    ...(order.replaces ? { replaces: order.replaces } : {}),
    newSecretVersion: created,
  });
  return importIssued(
    deps,
    saved,
    { certificate: facts.certificate, chain: facts.chain, privateKey: key },
    {
      id,
      outcome: 'issued',
      reason: p.reason,
      serial: facts.serial,
      nextAttemptAt: renewal.nextAttemptAt,
      ...(renewal.renewalInfoFailed ? { renewalInfoFailed: true } : {}),
      issued: {
        rule: p.reason,
        secretVersionId: versionId,
        renewal: record.current !== undefined,
        ...(record.forceRenewal ? { forcedReason: record.forceRenewal.reason } : {}),
      },
    },
  );
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
    (record.issuerIdentity === undefined ||
      record.issuerIdentity === '?' ||
      order.issuerIdentity === record.issuerIdentity) &&
    order.keyType === record.keyType &&
    order.profile === record.profile &&
    order.domains.join(' ') === record.domains.join(' ')
  );
}

/** The issuer's identity now, to stamp on an order and its certificate (none without a lookup). */
function identityOf(deps: IssuanceDeps, issuer: string): { issuerIdentity?: string } {
  const identity = deps.issuerIdentities?.(issuer);
  return identity !== undefined ? { issuerIdentity: identity } : {};
}
