import type { CertificateRecord } from './certificate-record.js';
import { DAY, type Instant } from './time.js';

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
}

/** The numbers operators alarm on, read from all records at `now`. */
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
  };
  for (const record of records) {
    health[record.status] += 1;
    if (!record.current || record.status === 'unmanaged') continue;
    const days = (record.current.notAfter - now) / DAY;
    if (health.minDaysToExpiry === undefined || days < health.minDaysToExpiry) {
      health.minDaysToExpiry = Math.round(days * 100) / 100;
      health.soonestExpiring = record.id;
    }
  }
  return health;
}
