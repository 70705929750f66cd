/**
 * The events certloop announces on the default EventBridge bus (source `certloop`), built
 * from what is stored after the fact: a `Certificate Issued` event is built from the
 * record as written after the secret was published, never before. Details carry names,
 * serials, times and error text; never key material. Each detail has a `version`; the
 * JSON Schemas in `schemas/events/` describe them (a test validates every event built
 * here against them). Pure.
 */
import type { CertificateRecord } from './certificate-record.js';
import { DAY, type Instant, iso } from './time.js';

export const EVENT_SOURCE = 'certloop';
export const EVENT_DETAIL_VERSION = '1';

export const EVENT_TYPES = {
  issued: 'Certificate Issued',
  renewalFailed: 'Certificate Renewal Failed',
  invalid: 'Certificate Invalid',
  stekRotated: 'STEK Rotated',
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export interface CertloopEvent {
  detailType: EventType;
  detail: Record<string, unknown>;
}

/** What the issuing run knows beyond the stored record. */
export interface IssuanceFacts {
  /** The check that fired (`NoCertificate`, `RenewalTimeReached`, `AriWindowMoved`, ...). */
  rule: string;
  /** The person's reason when the renewal was forced. */
  forcedReason?: string;
  /** The secret version that holds the new pair. */
  secretVersionId?: string;
  /** There was a certificate before this one. */
  renewal: boolean;
}

/** `Certificate Issued`, from the record as stored after publication. */
export function certificateIssued(record: CertificateRecord, facts: IssuanceFacts): CertloopEvent {
  const current = record.current;
  if (!current) throw new TypeError(`record ${record.id} holds no certificate to announce`);
  return {
    detailType: EVENT_TYPES.issued,
    detail: {
      version: EVENT_DETAIL_VERSION,
      secretArn: record.id,
      ...(facts.secretVersionId ? { secretVersionId: facts.secretVersionId } : {}),
      domains: [...current.domains],
      serial: current.serial,
      notBefore: iso(current.notBefore),
      notAfter: iso(current.notAfter),
      issuer: current.issuer,
      ...(current.profile ? { profile: current.profile } : {}),
      renewal: facts.renewal,
      rule: facts.rule,
      ...(facts.forcedReason ? { forcedReason: facts.forcedReason } : {}),
      ...(record.renewAt !== undefined ? { renewAt: iso(record.renewAt) } : {}),
      ...(record.acm?.arn ? { acmCertificateArn: record.acm.arn } : {}),
    },
  };
}

/** `Certificate Renewal Failed`: the attempt failed and backs off. */
export function renewalFailed(record: CertificateRecord, now: Instant): CertloopEvent {
  const error = record.lastError;
  return {
    detailType: EVENT_TYPES.renewalFailed,
    detail: {
      version: EVENT_DETAIL_VERSION,
      secretArn: record.id,
      domains: [...record.domains],
      issuer: record.issuer,
      errorKind: error?.kind ?? 'transient',
      message: error?.message ?? record.statusMessage ?? 'the attempt failed',
      failures: record.failures,
      ...(record.nextAttemptAt !== undefined ? { nextAttemptAt: iso(record.nextAttemptAt) } : {}),
      ...(record.current
        ? {
            serial: record.current.serial,
            notAfter: iso(record.current.notAfter),
            daysLeft: Math.floor(((record.current.notAfter - now) / DAY) * 10) / 10,
          }
        : {}),
    },
  };
}

/** `Certificate Invalid`: what a person must fix before anything is tried again. */
export function certificateInvalid(record: CertificateRecord): CertloopEvent {
  return {
    detailType: EVENT_TYPES.invalid,
    detail: {
      version: EVENT_DETAIL_VERSION,
      secretArn: record.id,
      domains: [...record.domains],
      issuer: record.issuer,
      problems: (record.statusMessage ?? record.lastError?.message ?? 'invalid')
        .split('; ')
        .filter(Boolean),
      ...(record.current
        ? { serial: record.current.serial, notAfter: iso(record.current.notAfter) }
        : {}),
    },
  };
}

/** `STEK Rotated`: the set and the ring's new generation; never key bytes. */
export function stekRotated(setId: string, generation: number, at: Instant): CertloopEvent {
  return {
    detailType: EVENT_TYPES.stekRotated,
    detail: {
      version: EVENT_DETAIL_VERSION,
      setId,
      ringGeneration: generation,
      rotatedAt: iso(at),
    },
  };
}
