import { CertloopError } from '../../core/errors.js';
import type { StekCommit, StekLease, StekLocks } from '../../ports/stek-store.js';

/** In-memory StekLocks with the port's semantics (lease, fencing version). */
export class MemoryStekLocks implements StekLocks {
  readonly #locks = new Map<string, StekLease>();

  async acquire(setId: string, owner: string, now: number, durationMs: number) {
    const lock = this.#locks.get(setId);
    if (lock && !(lock.until < now)) return undefined;
    const lease: StekLease = {
      ...lock,
      setId,
      owner,
      until: now + durationMs,
      version: (lock?.version ?? 0) + 1,
    };
    this.#locks.set(setId, lease);
    return { ...lease };
  }

  async commit(setId: string, version: number, facts: StekCommit): Promise<void> {
    const lock = this.#locks.get(setId);
    if (!lock || lock.version !== version) {
      throw new CertloopError(
        'conflict',
        `STEK lock ${setId} is not at version ${version} (lease lost)`,
        { source: 'records' },
      );
    }
    this.#locks.set(setId, { ...lock, ...facts });
  }

  async release(setId: string, version: number): Promise<void> {
    const lock = this.#locks.get(setId);
    if (lock && lock.version === version) this.#locks.set(setId, { ...lock, until: 0 });
  }
}
