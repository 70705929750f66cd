import type { CertificateRecord, RecordStatus } from './certificate-record.js';
import { classifyExpiryRisk, type ExpiryRiskRule } from './expiry-risk.js';
import { DAY, type Instant } from './time.js';

/** A record whose certificate is at risk, with the rule that fired (no key material). */
export interface AtRiskCertificate {
  record: string;
  rule: ExpiryRiskRule;
  detail: string;
  status: RecordStatus;
  serial: string;
  notAfter: Instant;
  renewAt: Instant | undefined;
  failures: number;
  lastError: string | undefined;
}

export interface FleetHealth {
  total: number;
  active: number;
  failing: number;
  invalid: number;
  pending: number;
  /** Registrations removed; left out of the expiry figures. */
  unmanaged: number;
  /** Fewest days before any published certificate expires (negative: already expired). */
  minDaysToExpiry: number | undefined;
  /** The record behind `minDaysToExpiry`. */
  soonestExpiring: string | undefined;
  /** Certificates at risk for their lifetime (see `classifyExpiryRisk`): what the expiry alarm counts. */
  atRisk: number;
  /** The records behind `atRisk`, soonest notAfter first. */
  atRiskRecords: AtRiskCertificate[];
}

/**
 * The numbers operators alarm on, read from all records at `now`. Records without a
 * current certificate and `unmanaged` ones are left out of the expiry figures (the days
 * to expiry and the at-risk count); `invalid` records that still hold a certificate are in.
 */
export function summarizeFleet(records: readonly CertificateRecord[], now: Instant): FleetHealth {
  const health: FleetHealth = {
    total: records.length,
    active: 0,
    failing: 0,
    invalid: 0,
    pending: 0,
    unmanaged: 0,
    minDaysToExpiry: undefined,
    soonestExpiring: undefined,
    atRisk: 0,
    atRiskRecords: [],
  };
  for (const record of records) {
    health[record.status] += 1;
    if (!record.current || record.status === 'unmanaged') continue;
    const days = (record.current.notAfter - now) / DAY;
    if (health.minDaysToExpiry === undefined || days < health.minDaysToExpiry) {
      health.minDaysToExpiry = Math.round(days * 100) / 100;
      health.soonestExpiring = record.id;
    }
    const risk = classifyExpiryRisk(record, now);
    if (risk.atRisk) {
      health.atRiskRecords.push({
        record: record.id,
        rule: risk.rule,
        detail: risk.detail,
        status: record.status,
        serial: record.current.serial,
        notAfter: record.current.notAfter,
        renewAt: record.renewAt,
        failures: record.failures,
        lastError: record.lastError?.message,
      });
    }
  }
  health.atRiskRecords.sort((a, b) => a.notAfter - b.notAfter);
  health.atRisk = health.atRiskRecords.length;
  return health;
}
