import { type CertificateRecord, isParked } from '../core/certificate-record.js';
import { CertloopError } from '../core/errors.js';
import {
  convergence,
  type IssuerIdentities,
  inFlightKeys,
  learnIssuers,
  nextRotationState,
  type RotationRule,
  type RotationState,
  room,
  rotationChanged,
  staleKeys,
  switchRecord,
} from '../core/issuer-rotation.js';
import { iso } from '../core/time.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { ControlRecords } from '../ports/control-records.js';
import type { Logger } from '../ports/logger.js';

export const ISSUER_ROTATION = 'issuer-rotation';

/** Items the one-time upgrade pass examines per planner run (one Scan page). */
export const INDEX_PAGE = 500;

export interface ReconcileDeps {
  records: Pick<
    CertificateRecordStore,
    'get' | 'put' | 'findIssuedBy' | 'countIssuedBy' | 'listUnindexed'
  >;
  control: ControlRecords;
  clock: Clock;
  logger: Logger;
}

/**
 * One step of moving the fleet to the target issuer and the issuers' identities now
 * (`identities`: name -> `issuerIdentity`, from CERTLOOP_ISSUERS; empty: by name only).
 *
 * Gather: the control document; when the configuration differs from the one it runs
 * toward, a new rotation starts and counts its unconverged records once (Select COUNT
 * on the stale issued-by keys). Then it counts what is in flight (at most about a
 * batch), and Queries the stale keys for at most `batch - inFlight` records (`Limit`).
 * Decide and act per record: re-read it (`get`), re-check `convergence`, switch it
 * (`switchRecord`: the target or its pinned name, the identity marker, due now) with a
 * conditional put; the ordinary pipeline re-issues it (check `IssuerChanged`). Progress
 * (total, converged, scheduled) goes to the control document. No Scan, ever: per step
 * the reads follow the batch, not the table. While the stored state says the current
 * configuration is reached, the step reads only that document.
 */
export async function reconcileIssuer(
  deps: ReconcileDeps,
  target: string,
  batch: number,
  identities: IssuerIdentities = {},
): Promise<RotationState> {
  const now = deps.clock.now();
  const previous = await deps.control.get<RotationState>(ISSUER_ROTATION);
  const changed = rotationChanged(previous?.value, target, identities);
  if (!changed && previous?.value.completedAt !== undefined && previous.value.indexed)
    return previous.value;

  const upgrade = previous?.value.indexed
    ? ({ indexed: true } as const)
    : await indexOnePage(deps, previous?.value.indexCursor, now);

  const issuers = learnIssuers(previous?.value.issuers ?? {}, identities);
  const stale = staleKeys(target, issuers, identities);
  let state: RotationState;
  if (changed || !previous) {
    let total = 0;
    for (const key of stale) total += await deps.records.countIssuedBy(key);
    state = {
      target,
      ...(identities[target] !== undefined ? { targetIdentity: identities[target] } : {}),
      startedAt: now,
      total,
      converged: 0,
      scheduled: 0,
      issuers,
      identities: { ...identities },
      ...upgrade,
    };
  } else {
    const { indexCursor: _cursor, ...kept } = previous.value;
    state = { ...kept, issuers, ...upgrade };
  }

  let inFlight = 0;
  for (const key of inFlightKeys(target, identities))
    inFlight += await deps.records.countIssuedBy(key);

  let left = room(batch, inFlight);
  let scheduled = 0;
  // Something may still be unconverged that this step did not switch: the batch is
  // full, a record changed under us, or the index lags a write.
  let staleLeft = false;
  for (const key of stale) {
    if (left === 0) {
      staleLeft = true;
      break;
    }
    const ids = await deps.records.findIssuedBy(key, left);
    left -= ids.length;
    for (const id of ids) {
      const outcome = await switchOne(deps, id, state, identities, now);
      if (outcome === 'switched') scheduled += 1;
      else if (outcome === 'missed') staleLeft = true;
    }
  }

  // Until the upgrade pass is done, records outside the index may still be stale.
  if (!state.indexed) staleLeft = true;
  const next = nextRotationState(state, { scheduled, inFlight, staleLeft }, now);
  const rule: RotationRule =
    next.rule === 'RotationComplete' || !changed
      ? next.rule
      : previous
        ? 'RotationRestarted'
        : 'RotationStarted';
  try {
    await deps.control.put(ISSUER_ROTATION, next.state, previous?.version);
  } catch (error) {
    if (!(error instanceof CertloopError && error.kind === 'conflict')) throw error;
  }
  deps.logger.info(
    `issuer rotation: ${next.state.converged}/${next.state.total} on ${target}${
      next.state.targetIdentity ? ` (${next.state.targetIdentity})` : ''
    }`,
    {
      rule,
      target,
      scheduled,
      inFlight,
      startedAt: iso(next.state.startedAt),
      ...(next.state.completedAt ? { completedAt: iso(next.state.completedAt) } : {}),
    },
  );
  return next.state;
}

/**
 * Re-reads one record found under a stale key and switches it if it is still stale:
 * `switched`; `settled` when it is not (converged or already in flight); `missed` when
 * it changed under us or the index is behind.
 */
async function switchOne(
  deps: ReconcileDeps,
  id: string,
  state: RotationState,
  identities: IssuerIdentities,
  now: number,
): Promise<'switched' | 'settled' | 'missed'> {
  const record: CertificateRecord | undefined = await deps.records.get(id);
  if (!record) return 'settled';
  const found = convergence(record, state.target, state.issuers, identities);
  // Already switched: the index has not caught up with the write yet.
  if (found === 'in-flight') return 'missed';
  if (found === 'converged') return 'settled';
  try {
    await deps.records.put(
      switchRecord(record, state.target, state.issuers, identities, now),
      record.version,
    );
    return 'switched';
  } catch (error) {
    // Changed meanwhile (a worker or a registration): the next step looks again.
    if (error instanceof CertloopError && error.kind === 'conflict') return 'missed';
    throw error;
  }
}

/**
 * The one-time upgrade pass: one page of the records stored before the issued-by index
 * existed, each rewritten unchanged so that the write derives its index key (its
 * certificate is unstamped: it counts as the baseline identity's). Records held by a
 * live lease are left to their worker, whose write indexes them; a conflict is left to
 * the writer that won. The only Scan of the rotation, and only until the pass is done.
 */
async function indexOnePage(
  deps: ReconcileDeps,
  cursor: string | undefined,
  now: number,
): Promise<{ indexed: true } | { indexCursor?: string }> {
  const page = await deps.records.listUnindexed(INDEX_PAGE, cursor);
  let rewritten = 0;
  for (const record of page.records) {
    if (isParked(record.status) || (record.lease && record.lease.until >= now)) continue;
    try {
      await deps.records.put(record, record.version);
      rewritten += 1;
    } catch (error) {
      if (!(error instanceof CertloopError && error.kind === 'conflict')) throw error;
    }
  }
  deps.logger.info(`issuer rotation: indexed ${rewritten} records stored before the index`, {
    rule: 'IndexUpgrade',
    done: page.cursor === undefined,
  });
  return page.cursor === undefined ? { indexed: true } : { indexCursor: page.cursor };
}
