import { CertloopError } from '../../core/errors.js';
import { decodeRing, encodeRing, type StekRing } from '../../core/stek-ring.js';
import type { StekSetStore } from '../../ports/stek-store.js';

/**
 * In-memory StekSetStore: the reference fake for the contract suite and unit tests.
 * Rings are kept encoded, so a caller mutating its copy cannot change the stored one.
 */
export class MemoryStekStore implements StekSetStore {
  readonly #sets = new Map<string, { token: string; text: string; generation: number }>();
  /** Rings published per set, for tests that count writes. */
  readonly writes = new Map<string, number>();
  /** Set ids whose next `write` throws (fault injection for tests). */
  readonly failingSets = new Set<string>();

  async read(setId: string): Promise<StekRing | undefined> {
    if (this.failingSets.has(setId)) {
      throw new CertloopError('infrastructure', `STEK set ${setId} is unavailable (injected)`, {
        source: 'secrets',
      });
    }
    const entry = this.#sets.get(setId);
    return entry ? decodeRing(entry.text) : undefined;
  }

  async write(setId: string, ring: StekRing, idempotencyToken: string) {
    const entry = this.#sets.get(setId);
    if (entry && (entry.token === idempotencyToken || entry.generation >= ring.generation)) {
      return { created: false };
    }
    this.#sets.set(setId, {
      token: idempotencyToken,
      text: encodeRing(ring),
      generation: ring.generation,
    });
    this.writes.set(setId, (this.writes.get(setId) ?? 0) + 1);
    return { created: true };
  }
}
