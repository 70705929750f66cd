import { type FleetHealth, summarizeFleet } from '../core/fleet-health.js';
import { iso } from '../core/time.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';

/** At most this many at-risk certificates are logged (and returned) per report. */
export const MAX_AT_RISK_LOGGED = 100;

export interface FleetHealthDeps {
  records: Pick<CertificateRecordStore, 'list'>;
  clock: Clock;
  logger: Logger;
}

/**
 * Reads every record and reports the fleet's health for the alarms. Each certificate at
 * risk gets one warning naming the rule that fired and what an operator acts on (serial,
 * notAfter, renewal time, failures, last error; never key material), soonest expiry
 * first and at most MAX_AT_RISK_LOGGED of them; then one summary line with the counts.
 * The returned `atRisk` counts every certificate at risk; `atRiskRecords` holds the
 * logged ones.
 */
export async function reportFleetHealth(deps: FleetHealthDeps): Promise<FleetHealth> {
  const health = summarizeFleet(await deps.records.list(), deps.clock.now());
  const logged = health.atRiskRecords.slice(0, MAX_AT_RISK_LOGGED);
  for (const entry of logged) {
    deps.logger.warn('certificate at risk', {
      ...entry,
      notAfter: iso(entry.notAfter),
      renewAt: entry.renewAt === undefined ? undefined : iso(entry.renewAt),
    });
  }
  const { atRiskRecords: _all, ...counts } = health;
  deps.logger.info('fleet health', {
    ...counts,
    ...(health.atRisk > logged.length ? { atRiskNotLogged: health.atRisk - logged.length } : {}),
    rule: 'FleetHealth',
  });
  return { ...health, atRiskRecords: logged };
}
