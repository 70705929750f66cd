import { CertloopError } from '../../core/errors.js';
import type { ControlRecord, ControlRecords } from '../../ports/control-records.js';

/** In-memory ControlRecords: the reference fake for the contract suite. */
export class MemoryControlRecords implements ControlRecords {
  readonly #documents = new Map<string, ControlRecord<unknown>>();

  async get<T>(name: string): Promise<ControlRecord<T> | undefined> {
    const document = this.#documents.get(name);
    return document ? (structuredClone(document) as ControlRecord<T>) : undefined;
  }

  async put<T>(name: string, value: T, expectedVersion: number | undefined): Promise<number> {
    const stored = this.#documents.get(name);
    if (stored?.version !== expectedVersion) {
      throw new CertloopError(
        'conflict',
        `control record ${name} changed (expected version ${expectedVersion ?? 'none'})`,
      );
    }
    const version = (expectedVersion ?? 0) + 1;
    this.#documents.set(name, { value: structuredClone(value), version });
    return version;
  }
}
