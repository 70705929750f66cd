import { CertloopError } from '../../core/errors.js';
import type { Dns01Solver, TxtRecord } from '../../ports/dns01-solver.js';

/** DNS names compare case-insensitively; a trailing dot is the same name. */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** In-memory Dns01Solver: the reference fake for the contract suite and service tests. */
export class MemoryDns01Solver implements Dns01Solver {
  readonly #records = new Map<string, Set<string>>();
  /** Number of `present` calls, for tests that count DNS writes per batch. */
  presentCalls = 0;
  /** Number of `waitForPropagation` calls. */
  propagationWaits = 0;
  /** Number of `cleanup` calls. */
  cleanupCalls = 0;

  async present(records: TxtRecord[]): Promise<void> {
    this.presentCalls++;
    for (const { name, value } of records) {
      const key = normalizeName(name);
      let values = this.#records.get(key);
      if (!values) {
        values = new Set();
        this.#records.set(key, values);
      }
      values.add(value);
    }
  }

  async waitForPropagation(records: TxtRecord[]): Promise<void> {
    this.propagationWaits++;
    const missing = records.filter(
      ({ name, value }) => !this.#records.get(normalizeName(name))?.has(value),
    );
    if (missing.length > 0) {
      throw new CertloopError(
        'transient',
        `TXT values not published: ${missing.map((record) => record.name).join(', ')}`,
        { source: 'dns' },
      );
    }
  }

  async cleanup(records: TxtRecord[]): Promise<void> {
    this.cleanupCalls++;
    for (const { name, value } of records) {
      const key = normalizeName(name);
      const values = this.#records.get(key);
      values?.delete(value);
      if (values?.size === 0) this.#records.delete(key);
    }
  }

  /** The values currently published for `name`, sorted. */
  published(name: string): string[] {
    return [...(this.#records.get(normalizeName(name)) ?? [])].sort();
  }

  /** Every name that has at least one value, sorted. */
  names(): string[] {
    return [...this.#records.keys()].sort();
  }
}
