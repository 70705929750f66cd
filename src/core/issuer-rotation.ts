import { type CertificateRecord, isParked } from './certificate-record.js';
import type { Instant } from './time.js';

/** Progress of moving the fleet to a target issuer; kept in a control document. */
export interface RotationState {
  target: string;
  startedAt: Instant;
  total: number;
  converged: number;
  completedAt?: Instant;
}

export type RotationRule =
  | 'RotationStarted'
  | 'RotationRestarted'
  | 'RotationProgress'
  | 'RotationComplete';

export interface RotationPlan {
  state: RotationState;
  /** Records to switch to the target now (at most a batch in flight at once). */
  toSchedule: string[];
  inFlight: number;
  rule: RotationRule;
}

/** A record that follows the deployment's target issuer (not pinned by a tag, not invalid). */
export function followsTarget(record: CertificateRecord): boolean {
  return !record.issuerPinned && !isParked(record.status);
}

/**
 * Decides one reconciliation step toward `target`. Converged: the current certificate
 * comes from the target. In flight: switched to the target, not yet re-issued. At most
 * `batch` records are in flight at once; a changed target restarts the count, and what
 * already converged to the new target is never scheduled again. Pure.
 */
export function planIssuerRotation(
  records: readonly CertificateRecord[],
  target: string,
  previous: RotationState | undefined,
  now: Instant,
  batch: number,
): RotationPlan {
  const followers = records.filter(followsTarget);
  const converged = followers.filter((r) => r.current?.issuer === target);
  const inFlight = followers.filter((r) => r.current?.issuer !== target && r.issuer === target);
  const waiting = followers
    .filter((r) => r.current?.issuer !== target && r.issuer !== target)
    .sort((a, b) => a.id.localeCompare(b.id));
  const toSchedule = waiting.slice(0, Math.max(0, batch - inFlight.length)).map((r) => r.id);

  const restarted = previous !== undefined && previous.target !== target;
  const startedAt = previous && !restarted ? previous.startedAt : now;
  const complete = converged.length === followers.length;
  const state: RotationState = {
    target,
    startedAt,
    total: followers.length,
    converged: converged.length,
    ...(complete
      ? { completedAt: previous && !restarted && previous.completedAt ? previous.completedAt : now }
      : {}),
  };
  const rule: RotationRule = complete
    ? 'RotationComplete'
    : restarted
      ? 'RotationRestarted'
      : previous
        ? 'RotationProgress'
        : 'RotationStarted';
  return { state, toSchedule, inFlight: inFlight.length, rule };
}
