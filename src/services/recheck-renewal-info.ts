import { CertloopError } from '../core/errors.js';
import type { Instant } from '../core/time.js';
import { iso } from '../core/time.js';
import type { Clock } from '../ports/clock.js';
import type { RenewalInfoDeps } from './check-renewal-info.js';
import { describeCheck, gatherRenewalInfo } from './check-renewal-info.js';
import { type RenewalSelector, selectRecords } from './force-renewal.js';

export interface RecheckRequest {
  selector: RenewalSelector;
  dryRun: boolean;
}

export interface RecheckDeps extends RenewalInfoDeps {
  clock: Clock;
}

export interface RecheckReport {
  dryRun: boolean;
  /** Records checked, and what their renewal information says now. */
  checked: Array<{
    id: string;
    serial?: string;
    windowMoved: boolean;
    renewAt: string;
    rule: string;
    window?: { start: string; end: string };
    explanationUrl?: string;
    problem?: string;
  }>;
  /** Matched but not checked: parked, or holding no ARI identifier. */
  skipped: Array<{ id: string; why: string }>;
  unknownSerials: string[];
  /** How many windows moved (each such record now renews inside its new window). */
  moved: number;
  /** Of those, how many renew now (the CA moved the window into the past). */
  renewNow: number;
}

/**
 * An operator's answer to a CA's incident notice (`certloop renew --ari-check`, Renew
 * payload `"ariCheck": true`): re-check the renewal information of the selected
 * certificates now instead of at their next check, and report which windows moved. A
 * window in the past makes the record due at once; the next planner run queues it, and
 * its renewal names its predecessor in `replaces`. A dry run reports without storing.
 */
export async function recheckRenewalInfo(
  deps: RecheckDeps,
  request: RecheckRequest,
): Promise<RecheckReport> {
  const now = deps.clock.now();
  const { schedulable, skipped, unknownSerials } = selectRecords(
    await deps.records.list(),
    request.selector,
  );
  const report: RecheckReport = {
    dryRun: request.dryRun,
    checked: [],
    skipped: [...skipped],
    unknownSerials,
    moved: 0,
    renewNow: 0,
  };
  for (const record of schedulable) {
    const certId = record.ari?.certId;
    if (!record.current || !certId) {
      report.skipped.push({
        id: record.id,
        why: 'no renewal information identifier (not issued yet, or by a CA without ARI)',
      });
      continue;
    }
    const check = await gatherRenewalInfo(deps, record, certId, now);
    if (!request.dryRun) await store(deps, check.next, record.version, now);
    const { decision } = check;
    const renewsNow = decision.renewAt <= now;
    if (decision.windowMoved) report.moved += 1;
    if (decision.windowMoved && renewsNow) report.renewNow += 1;
    report.checked.push({
      id: record.id,
      serial: record.current.serial,
      windowMoved: decision.windowMoved,
      renewAt: iso(decision.renewAt),
      rule: decision.rule,
      ...(decision.ari?.window
        ? { window: { start: iso(decision.ari.window.start), end: iso(decision.ari.window.end) } }
        : {}),
      ...(decision.ari?.explanationUrl ? { explanationUrl: decision.ari.explanationUrl } : {}),
      ...(decision.ari?.problem ? { problem: decision.ari.problem } : {}),
    });
    deps.logger.info(
      request.dryRun
        ? 'renewal information re-checked (dry run)'
        : 'renewal information re-checked',
      { record: record.id, rule: 'RenewalInfoRecheck', ...describeCheck(check) },
    );
  }
  return report;
}

/** Writes the check's result under the version condition, retrying once on a race. */
async function store(
  deps: RecheckDeps,
  next: Parameters<RecheckDeps['records']['put']>[0],
  version: number,
  now: Instant,
): Promise<void> {
  try {
    await deps.records.put(next, version);
  } catch (error) {
    if (!(error instanceof CertloopError && error.kind === 'conflict')) throw error;
    const fresh = await deps.records.get(next.id);
    if (!fresh) return;
    // The record changed meanwhile (a worker renewed it, or the scheduled check ran):
    // keep what it holds and only make sure the next check is not later than now.
    if (fresh.ari && fresh.ari.certId === next.ari?.certId) {
      await deps.records.put(
        { ...fresh, ari: { ...fresh.ari, checkAt: now }, nextAttemptAt: now, updatedAt: now },
        fresh.version,
      );
    }
  }
}
