import { type CertificateRecord, isParked } from '../core/certificate-record.js';
import { normalizeName } from '../core/domain-names.js';
import { CertloopError } from '../core/errors.js';
import { type OrderBudget, spreadOverBudget } from '../core/renewal-budget.js';
import { type Instant, iso } from '../core/time.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { ControlRecords } from '../ports/control-records.js';
import type { Logger } from '../ports/logger.js';

/** Which certificates a forced renewal applies to: exactly one selector. */
export type RenewalSelector =
  | { secret: string }
  | { domain: string }
  | { serials: string[] }
  | { issuer: string }
  | { all: true };

export interface ForceRenewalRequest {
  selector: RenewalSelector;
  reason: string;
  dryRun: boolean;
  /** Re-check renewal information instead of forcing (`recheckRenewalInfo`). */
  ariCheck?: boolean;
}

export interface ForceRenewalDeps {
  records: CertificateRecordStore;
  control: ControlRecords;
  clock: Clock;
  logger: Logger;
  budget: OrderBudget;
  /** Told after each record is scheduled (the CLI shows a progress bar). */
  onProgress?: (done: number, total: number) => void;
}

export interface ForceRenewalReport {
  dryRun: boolean;
  reason: string;
  matched: Array<{ id: string; domains: string[]; serial?: string; renewAt: string }>;
  /** Matched but not schedulable (invalid records wait for a registration change). */
  skipped: Array<{ id: string; why: string }>;
  /** Serials asked for that no managed certificate has. */
  unknownSerials: string[];
  scheduled: number;
  /** When the scheduled renewals start and when the last one may start. */
  window: { from: string; to: string } | null;
}

/** The control document holding the end of the last budgeted spread. */
export const BUDGET_CURSOR = 'renewal-budget';

/** Hex serial without separators or leading zeros, upper case: how serials are compared. */
export function normalizeSerial(serial: string): string {
  return serial
    .replace(/[\s:]/g, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');
}

function matchesSecret(record: CertificateRecord, secret: string): boolean {
  // A full ARN, or a secret name: ARNs end in ":secret:<name>-<6 random characters>".
  return (
    record.id === secret ||
    record.id.endsWith(`:secret:${secret}`) ||
    new RegExp(`:secret:${escapeRegExp(secret)}-[A-Za-z0-9]{6}$`).test(record.id)
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function matchesDomain(record: CertificateRecord, domain: string): boolean {
  const name = normalizeName(domain);
  const parent = name.slice(name.indexOf('.') + 1);
  return record.domains.includes(name) || record.domains.includes(`*.${parent}`);
}

/** The records a selector names: the ones to act on, the parked ones, unknown serials. */
export function selectRecords(
  all: readonly CertificateRecord[],
  selector: RenewalSelector,
): {
  schedulable: CertificateRecord[];
  skipped: Array<{ id: string; why: string }>;
  unknownSerials: string[];
} {
  let candidates: CertificateRecord[];
  let unknownSerials: string[] = [];
  if ('secret' in selector) candidates = all.filter((r) => matchesSecret(r, selector.secret));
  else if ('domain' in selector) candidates = all.filter((r) => matchesDomain(r, selector.domain));
  else if ('issuer' in selector)
    candidates = all.filter((r) => r.current?.issuer === selector.issuer);
  else if ('serials' in selector) {
    const wanted = new Set(selector.serials.map(normalizeSerial));
    candidates = all.filter((r) => r.current && wanted.has(normalizeSerial(r.current.serial)));
    const found = new Set(candidates.map((r) => normalizeSerial(r.current?.serial ?? '')));
    unknownSerials = [...wanted].filter((serial) => !found.has(serial));
  } else candidates = [...all];

  const skipped = candidates
    .filter((r) => isParked(r.status))
    .map((r) => ({
      id: r.id,
      why: `${r.status}: ${r.statusMessage ?? 'waits for a registration change'}`,
    }));
  const schedulable = candidates
    .filter((r) => !isParked(r.status))
    .sort((a, b) => a.id.localeCompare(b.id));
  return { schedulable, skipped, unknownSerials };
}

/**
 * A person asks for renewals: match the selector against every record (an operator
 * action, so a full listing is fine), then schedule. One certificate renews now; more
 * are spread over the CA's order budget behind any earlier spread, so a fleet-wide
 * request (an incident: a CA publishes serials it will revoke) never exceeds the
 * budget. The reason is kept on each record. A dry run reports the same match and
 * schedule and writes nothing.
 */
export async function forceRenewal(
  deps: ForceRenewalDeps,
  request: ForceRenewalRequest,
): Promise<ForceRenewalReport> {
  const now = deps.clock.now();
  const { selector } = request;
  const { schedulable, skipped, unknownSerials } = selectRecords(
    await deps.records.list(),
    selector,
  );

  const cursor = await deps.control.get<{ nextFreeSlot: Instant }>(BUDGET_CURSOR);
  let times: Instant[];
  let nextFreeSlot: Instant | undefined;
  if (schedulable.length === 1) {
    times = [now]; // one certificate renews now; one-offs are outside the bulk budget
  } else {
    const spread = spreadOverBudget(
      schedulable.length,
      now,
      deps.budget,
      cursor?.value.nextFreeSlot,
    );
    times = spread.times;
    nextFreeSlot = schedulable.length > 0 ? spread.nextFreeSlot : undefined;
  }

  const report: ForceRenewalReport = {
    dryRun: request.dryRun,
    reason: request.reason,
    matched: schedulable.map((r, i) => ({
      id: r.id,
      domains: r.domains,
      ...(r.current ? { serial: r.current.serial } : {}),
      renewAt: iso(times[i] as Instant),
    })),
    skipped,
    unknownSerials,
    scheduled: request.dryRun ? 0 : schedulable.length,
    window:
      times.length > 0
        ? { from: iso(times[0] as Instant), to: iso(times.at(-1) as Instant) }
        : null,
  };
  deps.logger.info(
    request.dryRun ? 'forced renewal (dry run): nothing written' : 'forced renewal scheduled',
    {
      rule: 'RenewalForced',
      reason: request.reason,
      selector: Object.keys(selector)[0],
      matched: schedulable.length,
      skipped: skipped.length,
      unknownSerials: unknownSerials.length,
      window: report.window,
    },
  );
  if (request.dryRun) return report;

  if (nextFreeSlot !== undefined) {
    // Claim the budget first: a concurrent request then queues behind this one.
    await deps.control.put(BUDGET_CURSOR, { nextFreeSlot }, cursor?.version);
  }
  for (const [i, record] of schedulable.entries()) {
    await schedule(deps, record, times[i] as Instant, request.reason, now);
    deps.onProgress?.(i + 1, schedulable.length);
  }
  return report;
}

async function schedule(
  deps: ForceRenewalDeps,
  record: CertificateRecord,
  at: Instant,
  reason: string,
  now: Instant,
): Promise<void> {
  let current: CertificateRecord | undefined = record;
  for (let attempt = 0; attempt < 3 && current; attempt++) {
    try {
      await deps.records.put(
        {
          ...current,
          forceRenewal: { reason, requestedAt: now },
          nextAttemptAt: at,
          updatedAt: now,
        },
        current.version,
      );
      deps.logger.info('renewal forced', {
        record: record.id,
        reason,
        renewAt: iso(at),
        rule: 'RenewalForced',
      });
      return;
    } catch (error) {
      if (!(error instanceof CertloopError && error.kind === 'conflict')) throw error;
      current = await deps.records.get(record.id);
    }
  }
  throw new CertloopError(
    'conflict',
    `record ${record.id} kept changing while scheduling its renewal; ask again`,
  );
}
