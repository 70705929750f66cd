import { CertloopError } from '../core/errors.js';
import { planIssuerRotation, type RotationState } from '../core/issuer-rotation.js';
import { iso } from '../core/time.js';
import type { CertificateRecordStore } from '../ports/certificate-records.js';
import type { Clock } from '../ports/clock.js';
import type { ControlRecords } from '../ports/control-records.js';
import type { Logger } from '../ports/logger.js';

export const ISSUER_ROTATION = 'issuer-rotation';

export interface ReconcileDeps {
  records: CertificateRecordStore;
  control: ControlRecords;
  clock: Clock;
  logger: Logger;
}

/**
 * One step of moving the fleet to the target issuer: switch up to a batch of records
 * to it (each is then re-issued by the ordinary pipeline, check `IssuerChanged`) and
 * record converged/total in the control document. While the stored state says the
 * target is reached, the step reads only that document (no listing).
 */
export async function reconcileIssuer(
  deps: ReconcileDeps,
  target: string,
  batch: number,
): Promise<RotationState> {
  const now = deps.clock.now();
  const previous = await deps.control.get<RotationState>(ISSUER_ROTATION);
  if (previous?.value.target === target && previous.value.completedAt !== undefined)
    return previous.value;

  const records = await deps.records.list();
  const plan = planIssuerRotation(records, target, previous?.value, now, batch);
  const byId = new Map(records.map((r) => [r.id, r]));
  for (const id of plan.toSchedule) {
    const record = byId.get(id);
    if (!record) continue;
    try {
      await deps.records.put(
        { ...record, issuer: target, nextAttemptAt: now, updatedAt: now },
        record.version,
      );
    } catch (error) {
      // Changed meanwhile (a worker or a registration): the next step looks again.
      if (!(error instanceof CertloopError && error.kind === 'conflict')) throw error;
    }
  }
  try {
    await deps.control.put(ISSUER_ROTATION, plan.state, previous?.version);
  } catch (error) {
    if (!(error instanceof CertloopError && error.kind === 'conflict')) throw error;
  }
  deps.logger.info(`issuer rotation: ${plan.state.converged}/${plan.state.total} on ${target}`, {
    rule: plan.rule,
    target,
    scheduled: plan.toSchedule.length,
    inFlight: plan.inFlight,
    startedAt: iso(plan.state.startedAt),
    ...(plan.state.completedAt ? { completedAt: iso(plan.state.completedAt) } : {}),
  });
  return plan.state;
}
