import { asCertloopError, type ErrorKind } from '../core/errors.js';
import {
  describeRing,
  EMPTY_RING,
  type RandomBytes,
  rotateRing,
  type StekPolicy,
  type StekRule,
} from '../core/stek-ring.js';
import type { Instant } from '../core/time.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { StekLocks, StekSetStore } from '../ports/stek-store.js';

export interface StekRotationDeps {
  store: StekSetStore;
  locks: StekLocks;
  clock: Clock;
  logger: Logger;
  /** Secure random bytes (node:crypto randomBytes in production). */
  randomBytes: RandomBytes;
  policy: StekPolicy;
  /** Lease owner: unique per process. */
  owner: string;
  /** Lease length; far longer than one rotation takes. */
  leaseMs: number;
}

export type StekSetOutcome =
  /** A new ring generation was published. */
  | { setId: string; outcome: 'rotated'; rule: StekRule; rules: StekRule[]; generation: number }
  /** The ring needed no change (or the same change had been published already). */
  | { setId: string; outcome: 'unchanged'; rule: StekRule; generation: number }
  /** Another rotation holds the lease; it does the work. */
  | { setId: string; outcome: 'locked' }
  /** This set failed; other sets went on. */
  | { setId: string; outcome: 'failed'; errorKind: ErrorKind; error: string };

export interface StekRotationReport {
  startedAt: Instant;
  sets: StekSetOutcome[];
  failed: number;
}

/** The idempotency token of the write that publishes ring generation `generation`. */
export function stekWriteToken(generation: number): string {
  return `stek-generation-${generation}`;
}

/**
 * Rotates each STEK set in turn: take the lease, re-read the ring, decide (pure
 * `rotateRing`), publish a new ring only when the decision changed it, record the
 * rotation on the lock (conditional on the lease's fencing version), release. A set
 * that fails is logged and reported, and the next set goes on. Logs carry set ids,
 * rules, serials and instants, never key bytes.
 */
export async function rotateStekSets(
  deps: StekRotationDeps,
  setIds: readonly string[],
): Promise<StekRotationReport> {
  const startedAt = deps.clock.now();
  const sets: StekSetOutcome[] = [];
  for (const setId of setIds) {
    sets.push(await rotateOne(deps, setId));
  }
  return { startedAt, sets, failed: sets.filter((set) => set.outcome === 'failed').length };
}

async function rotateOne(deps: StekRotationDeps, setId: string): Promise<StekSetOutcome> {
  const log = deps.logger.child({ stekSet: setId });
  let leaseVersion: number | undefined;
  try {
    const lease = await deps.locks.acquire(setId, deps.owner, deps.clock.now(), deps.leaseMs);
    if (!lease) {
      log.info('STEK rotation skipped: another rotation holds the lease');
      return { setId, outcome: 'locked' };
    }
    leaseVersion = lease.version;
    // Re-read under the lease: the decision sees what the last holder published.
    const ring = (await deps.store.read(setId)) ?? EMPTY_RING;
    const now = deps.clock.now();
    const decision = rotateRing(ring, now, deps.policy, deps.randomBytes);
    if (!decision.changed) {
      log.info('STEK ring unchanged', { rule: decision.reason, generation: ring.generation });
      await deps.locks.commit(setId, lease.version, {
        lastRotatedAt: now,
        ringVersion: ring.generation,
      });
      return { setId, outcome: 'unchanged', rule: decision.reason, generation: ring.generation };
    }
    const generation = decision.ring.generation;
    const { created } = await deps.store.write(setId, decision.ring, stekWriteToken(generation));
    await deps.locks.commit(setId, lease.version, { lastRotatedAt: now, ringVersion: generation });
    if (!created) {
      log.warn('STEK ring generation was published before; nothing written', {
        rule: decision.reason,
        generation,
      });
      return { setId, outcome: 'unchanged', rule: decision.reason, generation };
    }
    log.info('STEK ring rotated', {
      rule: decision.reason,
      rules: decision.rules,
      added: decision.added,
      retired: decision.retired,
      ring: describeRing(decision.ring),
    });
    return { setId, outcome: 'rotated', rule: decision.reason, rules: decision.rules, generation };
  } catch (error) {
    const failure = asCertloopError(error, 'stek');
    log.error('STEK rotation failed', {
      errorKind: failure.kind,
      source: failure.source,
      error: failure.message,
    });
    return { setId, outcome: 'failed', errorKind: failure.kind, error: failure.message };
  } finally {
    if (leaseVersion !== undefined) {
      await deps.locks.release(setId, leaseVersion).catch((error: unknown) => {
        log.warn('STEK lease not released; it expires on its own', {
          error: asCertloopError(error).message,
        });
      });
    }
  }
}
