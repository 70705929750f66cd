import type { StekRing } from '../core/stek-ring.js';
import type { Instant } from '../core/time.js';

/**
 * Where the ring of a STEK set lives: one secret per set.
 *
 * Contract (test/contract/stek-store.test.ts runs it against every adapter):
 * - `read` returns the ring last published for the set, or `undefined` when the set has
 *   never been written (no secret yet, or a secret that holds no value or the empty
 *   placeholder `{}`). Any other value that is not a ring is kind `permanent`.
 *   Keys come back as StekMaterial, so they never print.
 * - `write` publishes `ring` atomically as the set's value: a reader sees the old ring
 *   or the new one, never a mix. It returns `{ created: true }` when it published.
 *   It returns `{ created: false }` and changes nothing when a ring with the same
 *   `idempotencyToken` was published before (a retry whose first attempt landed) or
 *   when the stored ring's `generation` is already >= `ring.generation` (a late writer
 *   never rolls the ring back). The first ring stored under a token wins.
 * - Nothing here ever logs key material; errors name sets, secrets and paths only.
 * - Stores that need a secret to exist create it on the first write when the set id is
 *   a name; a set id that names a missing secret by ARN is kind `not-found`.
 * Errors: throttling or unavailability surface as CertloopError kind `infrastructure`;
 * a stored value that is not a ring as kind `permanent`.
 */
export interface StekSetStore {
  read(setId: string): Promise<StekRing | undefined>;
  write(setId: string, ring: StekRing, idempotencyToken: string): Promise<{ created: boolean }>;
}

/** A held lease on a STEK set's rotation. */
export interface StekLease {
  setId: string;
  owner: string;
  /** Lease end, epoch ms. */
  until: Instant;
  /** Fencing token: every later `commit`/`release` conditions on it. */
  version: number;
  /** What the last committed rotation recorded, if any. */
  lastRotatedAt?: Instant;
  ringVersion?: number;
}

/** Facts a rotation records when it is done. */
export interface StekCommit {
  lastRotatedAt: Instant;
  /** The ring generation now published. */
  ringVersion: number;
}

/**
 * The lease lock of STEK rotations, one per set.
 *
 * Contract (test/contract/stek-store.test.ts runs it against every adapter):
 * - `acquire` takes the lease when nobody holds it or the holder's lease expired
 *   (`until < now`), creating the lock on first use. It sets `{owner, until: now + ms}`,
 *   increments the version and returns the lease. It returns `undefined` while another
 *   live lease holds it (the same owner does not re-enter a live lease either).
 * - `commit` records `{lastRotatedAt, ringVersion}` only if the lock is still at
 *   `version` (the holder's fencing token); otherwise it throws kind `conflict` and
 *   changes nothing. It does not end the lease.
 * - `release` ends the lease if the lock is still at `version`; when someone else has
 *   taken it since, it does nothing (no error).
 * Errors: throttling or unavailability surface as kind `infrastructure`.
 */
export interface StekLocks {
  acquire(
    setId: string,
    owner: string,
    now: Instant,
    durationMs: number,
  ): Promise<StekLease | undefined>;
  commit(setId: string, version: number, facts: StekCommit): Promise<void>;
  release(setId: string, version: number): Promise<void>;
}
