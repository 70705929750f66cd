import { describeCapacity, type FleetCapacity, fleetCapacity } from '../core/fleet-capacity.js';
import { type FleetHealth, summarizeFleet } from '../core/fleet-health.js';
import type { OrderBudget } from '../core/renewal-budget.js';
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
  /** The CA's order budget and the issuers exempting ARI renewals: for the capacity line. */
  capacity?: { budget: OrderBudget; exemptIssuers: ReadonlySet<string> };
}

/**
 * Reads every record and reports the fleet's health for the alarms. Each certificate at
 * risk gets one warning naming the rule that fired and what an operator acts on (serial,
 * notAfter, renewal time, failures, last error; never key material), soonest expiry
 * first and at most MAX_AT_RISK_LOGGED of them; then one summary line with the counts.
 * The returned `atRisk` counts every certificate at risk; `atRiskRecords` holds the
 * logged ones. With `capacity`, it also says whether the fleet as registered fits the
 * CA's order budget in the steady state (`fleetCapacity`), a warning when it does not.
 */
export async function reportFleetHealth(
  deps: FleetHealthDeps,
): Promise<FleetHealth & { capacity?: FleetCapacity }> {
  const records = await deps.records.list();
  const health = summarizeFleet(records, deps.clock.now());
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
  if (!deps.capacity) return { ...health, atRiskRecords: logged };
  const capacity = fleetCapacity(records, deps.capacity.budget, deps.capacity.exemptIssuers);
  const line = describeCapacity(capacity, deps.capacity.budget);
  if (capacity.fits) deps.logger.info(line, { rule: 'CapacityFits', ...capacity });
  else deps.logger.warn(line, { rule: 'CapacityExceeded', ...capacity });
  return { ...health, atRiskRecords: logged, capacity };
}
