import type { CertificateRecord } from '../../core/certificate-record.js';
import { CertloopError } from '../../core/errors.js';
import { type DueClass, dueClass } from '../../core/issuance-checks.js';
import { issuedByKey } from '../../core/issuer-rotation.js';
import type { Instant } from '../../core/time.js';
import type { CertificateRecordStore, DueRecordRef } from '../../ports/certificate-records.js';

/**
 * In-memory CertificateRecordStore: the reference fake for the contract suite and unit
 * tests. Records are deep-copied on the way in and out, and undefined optional fields are
 * dropped as a real table would, so callers can never reach stored state.
 */
export class MemoryRecordStore implements CertificateRecordStore {
  readonly #records = new Map<string, CertificateRecord>();

  /** Records currently stored (handy for tests). */
  get size(): number {
    return this.#records.size;
  }

  async get(id: string): Promise<CertificateRecord | undefined> {
    const record = this.#records.get(id);
    return record ? copy(record) : undefined;
  }

  async create(record: Omit<CertificateRecord, 'version'>): Promise<CertificateRecord> {
    if (this.#records.has(record.id)) {
      throw new CertloopError('conflict', `certificate record ${record.id} already exists`, {
        source: 'records',
      });
    }
    const stored = copy({ ...record, version: 1 });
    this.#records.set(stored.id, stored);
    return copy(stored);
  }

  async put(record: CertificateRecord, expectedVersion: number): Promise<CertificateRecord> {
    const current = this.#records.get(record.id);
    if (current?.version !== expectedVersion) {
      throw new CertloopError(
        'conflict',
        `certificate record ${record.id} is not at version ${expectedVersion} (missing or changed since read)`,
        { source: 'records' },
      );
    }
    const stored = copy({ ...record, version: expectedVersion + 1 });
    this.#records.set(stored.id, stored);
    return copy(stored);
  }

  async acquireLease(
    id: string,
    owner: string,
    now: Instant,
    durationMs: number,
  ): Promise<CertificateRecord | undefined> {
    const current = this.#records.get(id);
    if (!current) return undefined;
    if (current.lease && !(current.lease.until < now)) return undefined;
    const stored: CertificateRecord = {
      ...current,
      lease: { owner, until: now + durationMs },
      version: current.version + 1,
      updatedAt: now,
    };
    this.#records.set(id, stored);
    return copy(stored);
  }

  async findDue(
    now: Instant,
    limit: number,
    classes?: readonly DueClass[],
  ): Promise<DueRecordRef[]> {
    const wanted = Math.floor(limit);
    if (!(wanted >= 1)) return [];
    const due: DueRecordRef[] = [];
    for (const record of this.#records.values()) {
      if (record.nextAttemptAt === undefined || record.nextAttemptAt > now) continue;
      const recordClass = dueClass(record);
      if (classes && !classes.includes(recordClass)) continue;
      due.push({
        id: record.id,
        nextAttemptAt: record.nextAttemptAt,
        dueClass: recordClass,
        issuer: record.issuer,
      });
    }
    return due
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || compareIds(a.id, b.id))
      .slice(0, wanted);
  }

  async findIssuedBy(key: string, limit: number): Promise<string[]> {
    const wanted = Math.floor(limit);
    if (!(wanted >= 1)) return [];
    return this.#issuedBy(key).slice(0, wanted);
  }

  async countIssuedBy(key: string): Promise<number> {
    return this.#issuedBy(key).length;
  }

  #issuedBy(key: string): string[] {
    return [...this.#records.values()]
      .filter((record) => issuedByKey(record) === key)
      .map((record) => record.id)
      .sort(compareIds);
  }

  /** Index keys are derived on every query here: nothing is ever unindexed. */
  async listUnindexed(): Promise<{ records: CertificateRecord[]; cursor?: string }> {
    return { records: [] };
  }

  async list(): Promise<CertificateRecord[]> {
    return [...this.#records.values()].map(copy).sort((a, b) => compareIds(a.id, b.id));
  }

  async delete(id: string): Promise<void> {
    this.#records.delete(id);
  }
}

/** A deep copy (structuredClone) without undefined-valued properties, at any depth. */
function copy<T>(value: T): T {
  const clone = structuredClone(value);
  dropUndefined(clone);
  return clone;
}

function dropUndefined(value: unknown): void {
  if (Array.isArray(value)) {
    for (const entry of value) dropUndefined(entry);
  } else if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      if (object[key] === undefined) delete object[key];
      else dropUndefined(object[key]);
    }
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
