import { acmImportPending } from './acm-import.js';
import { type CertificateRecord, isParked, nextLook, sameNames } from './certificate-record.js';
import type { Instant } from './time.js';

/**
 * The reasons a record is or is not worked on, each named after what it detects.
 * The checks run in this order and the first that fires decides.
 */
export type IssuanceReason =
  | 'RecordInvalid'
  | 'RecordUnmanaged'
  | 'NotDueYet'
  | 'NoCertificateYet'
  | 'RequestedNamesChanged'
  | 'KeyTypeChanged'
  | 'IssuerChanged'
  | 'ProfileChanged'
  | 'RenewalForced'
  | 'CertificateExpired'
  | 'RenewalTimeReached'
  | 'AcmImportPending'
  | 'RenewalInfoCheckDue'
  | 'CertificateUpToDate';

export type IssuanceDecision =
  | { action: 'issue'; reason: IssuanceReason; detail: string }
  | { action: 'skip'; reason: IssuanceReason; detail: string }
  /** Nothing to do now; look again at `nextAttemptAt`. */
  | { action: 'reschedule'; reason: IssuanceReason; detail: string; nextAttemptAt: Instant }
  /** The certificate is up to date but not yet in ACM: import it, then look again at `nextAttemptAt`. */
  | { action: 'import'; reason: IssuanceReason; detail: string; nextAttemptAt: Instant }
  /**
   * The certificate is up to date and its renewal information is due for a check: ask
   * the CA (no order, no lease), store the answer under the version condition.
   */
  | { action: 'check-renewal-info'; reason: IssuanceReason; detail: string };

/** True when a worker should look at the record now. */
export function isDue(
  record: Pick<CertificateRecord, 'nextAttemptAt' | 'status'>,
  now: Instant,
): boolean {
  return (
    !isParked(record.status) && record.nextAttemptAt !== undefined && record.nextAttemptAt <= now
  );
}

type Check = (record: CertificateRecord, now: Instant) => IssuanceDecision | undefined;

const issue = (reason: IssuanceReason, detail: string): IssuanceDecision => ({
  action: 'issue',
  reason,
  detail,
});

const checks: readonly Check[] = [
  (r) =>
    r.status === 'invalid'
      ? { action: 'skip', reason: 'RecordInvalid', detail: r.statusMessage ?? 'record is invalid' }
      : undefined,
  (r) =>
    r.status === 'unmanaged'
      ? {
          action: 'skip',
          reason: 'RecordUnmanaged',
          detail: r.statusMessage ?? 'no longer registered',
        }
      : undefined,
  (r, now) =>
    isDue(r, now)
      ? undefined
      : {
          action: 'skip',
          reason: 'NotDueYet',
          detail:
            r.nextAttemptAt === undefined
              ? 'not scheduled'
              : `next attempt at ${new Date(r.nextAttemptAt).toISOString()}`,
        },
  (r) =>
    r.current
      ? undefined
      : issue('NoCertificateYet', 'no certificate has been issued for this record'),
  (r) =>
    r.current && !sameNames(r.current.domains, r.domains)
      ? issue(
          'RequestedNamesChanged',
          `certificate names [${r.current.domains.join(' ')}] differ from requested [${r.domains.join(' ')}]`,
        )
      : undefined,
  (r) =>
    r.current && r.current.keyType !== r.keyType
      ? issue('KeyTypeChanged', `key type ${r.current.keyType} -> ${r.keyType}`)
      : undefined,
  (r) =>
    r.current && r.current.issuer !== r.issuer
      ? issue('IssuerChanged', `issuer ${r.current.issuer} -> ${r.issuer}`)
      : undefined,
  // The issuer rotation marked the identity (directory URL, EAB key id) this record is
  // to be issued under; `?` marks a switch by name only.
  (r) =>
    r.current &&
    r.issuerIdentity !== undefined &&
    r.issuerIdentity !== '?' &&
    r.current.issuerIdentity !== r.issuerIdentity
      ? issue(
          'IssuerChanged',
          `issuer ${r.issuer} identity ${r.current.issuerIdentity ?? '(unstamped)'} -> ${r.issuerIdentity}`,
        )
      : undefined,
  (r) =>
    r.current && r.current.profile !== r.profile
      ? issue(
          'ProfileChanged',
          `profile ${r.current.profile ?? '(CA default)'} -> ${r.profile ?? '(CA default)'}`,
        )
      : undefined,
  (r) =>
    r.current && r.forceRenewal && r.forceRenewal.requestedAt >= r.current.issuedAt
      ? issue('RenewalForced', `renewal requested: ${r.forceRenewal.reason}`)
      : undefined,
  (r, now) =>
    r.current && now >= r.current.notAfter
      ? issue('CertificateExpired', `expired at ${new Date(r.current.notAfter).toISOString()}`)
      : undefined,
  (r, now) =>
    r.current && r.renewAt !== undefined && now >= r.renewAt
      ? issue('RenewalTimeReached', `renewal time ${new Date(r.renewAt).toISOString()} reached`)
      : undefined,
];

/**
 * The profile a record is ordered with: its own (`certloop:profile`), else its issuer's
 * default profile, else none (the CA's default).
 */
export function orderedProfile(
  record: Pick<CertificateRecord, 'profile'>,
  issuerProfile: string | undefined,
): string | undefined {
  return record.profile ?? issuerProfile;
}

/**
 * The record as it is ordered: with its issuer's default profile when it names none.
 * Decisions compare the certificate with this view, so a certificate issued under the
 * issuer's default is not seen as a profile change (which would re-issue it forever).
 */
export function withOrderedProfile(
  record: CertificateRecord,
  issuerProfile: string | undefined,
): CertificateRecord {
  const profile = orderedProfile(record, issuerProfile);
  return profile === record.profile ? record : { ...record, ...(profile ? { profile } : {}) };
}

/**
 * Decides what to do with a record at `now`. Pure: the record, the instant and the
 * default profile of the record's issuer (for a record that names none) are the whole
 * input. A record holding an in-flight order is always worked on when due, so a crashed
 * run is resumed.
 */
export function decideIssuance(
  given: CertificateRecord,
  now: Instant,
  issuerProfile?: string,
): IssuanceDecision {
  const record = withOrderedProfile(given, issuerProfile);
  for (const check of checks) {
    const decision = check(record, now);
    if (decision) return decision;
  }
  if (record.order) return issue('NoCertificateYet', 'an order is in flight; resuming it');
  const renewAt = nextLook(record, now);
  if (acmImportPending(record)) {
    return {
      action: 'import',
      reason: 'AcmImportPending',
      detail: `certificate ${record.current?.serial} is not yet imported into ACM (${record.acm?.arn ?? 'a new certificate'})`,
      nextAttemptAt: renewAt,
    };
  }
  if (record.ari && record.ari.checkAt <= now) {
    return {
      action: 'check-renewal-info',
      reason: 'RenewalInfoCheckDue',
      detail: `renewal information of certificate ${record.current?.serial} is due for a check`,
    };
  }
  return {
    action: 'reschedule',
    reason: 'CertificateUpToDate',
    detail: `certificate valid until ${new Date(record.current?.notAfter ?? now).toISOString()}; renews at ${new Date(record.renewAt ?? renewAt).toISOString()}`,
    nextAttemptAt: renewAt,
  };
}

/**
 * The renewal order of a certificate this issuer gave names it in `replaces` (RFC 9773
 * section 5; Let's Encrypt exempts such renewals from its rate limits). A first order,
 * or one moving to another issuer, replaces nothing.
 */
export function replacedCertificate(record: CertificateRecord): string | undefined {
  const certId = record.ari?.certId;
  return certId && record.current?.issuer === record.issuer && !identityChanged(record)
    ? certId
    : undefined;
}

/**
 * What a due record will ask of the CA when a worker gets to it, judged at its
 * `nextAttemptAt`: `order` (a new order), `replacing-order` (a renewal that names its
 * predecessor in `replaces`) or `no-order` (a renewal information check, an ACM import,
 * a reschedule). The planner admits `no-order` work, and replacing orders of issuers
 * that exempt them, without spending the CA's order budget.
 */
export type DueClass = 'order' | 'replacing-order' | 'no-order';

export function dueClass(record: CertificateRecord): DueClass {
  if (record.nextAttemptAt === undefined) return 'order';
  if (decideIssuance(record, record.nextAttemptAt).action !== 'issue') return 'no-order';
  return replacedCertificate(record) ? 'replacing-order' : 'order';
}

/** The rotation asked for another identity than the one the current certificate came from. */
function identityChanged(record: CertificateRecord): boolean {
  return (
    record.issuerIdentity !== undefined &&
    record.issuerIdentity !== '?' &&
    record.current?.issuerIdentity !== record.issuerIdentity
  );
}
