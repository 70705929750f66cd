import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../../src/adapters/memory/memory-event-bus.js';
import {
  certificateInvalid,
  certificateIssued,
  EVENT_TYPES,
  renewalFailed,
  stekRotated,
} from '../../../src/core/certificate-events.js';
import type { CertificateRecord } from '../../../src/core/certificate-record.js';
import { DAY } from '../../../src/core/time.js';
import { announceOutcomes } from '../../../src/services/announce-outcomes.js';
import { schemaFileOf, schemaFiles, schemaProblems } from '../../support/event-schemas.js';
import { linesWithKeyMaterial } from '../../support/key-material-patterns.js';
import { aFullRecord } from '../../support/record-builder.js';
import { silentLogger } from '../../support/test-loggers.js';

const T0 = Date.UTC(2026, 11, 5);

const recordArb = fc.record({
  serial: fc.stringMatching(/^[0-9A-F]{2,40}$/),
  lifetimeDays: fc.integer({ min: 1, max: 400 }),
  failures: fc.integer({ min: 0, max: 30 }),
  profile: fc.option(fc.constantFrom('classic', 'tlsserver', 'shortlived'), { nil: undefined }),
  acmArn: fc.option(fc.constant('arn:aws:acm:us-east-1:123456789012:certificate/abc'), {
    nil: undefined,
  }),
  message: fc.string({ minLength: 1, maxLength: 80 }),
  withCurrent: fc.boolean(),
});

type Drawn = {
  serial: string;
  lifetimeDays: number;
  failures: number;
  profile?: string | undefined;
  acmArn?: string | undefined;
  message: string;
  withCurrent: boolean;
};

function recordFrom(r: Drawn): CertificateRecord {
  const base = aFullRecord();
  return {
    ...base,
    version: 3,
    failures: r.failures,
    statusMessage: r.message,
    lastError: { message: r.message, kind: 'transient', at: T0 },
    ...(r.acmArn ? { acm: { target: 'new', arn: r.acmArn } } : { acm: undefined }),
    current: r.withCurrent
      ? {
          serial: r.serial,
          notBefore: T0,
          notAfter: T0 + r.lifetimeDays * DAY,
          domains: base.domains,
          keyType: base.keyType,
          issuer: base.issuer,
          ...(r.profile ? { profile: r.profile } : {}),
          issuedAt: T0,
        }
      : undefined,
  } as CertificateRecord;
}

describe('certificate events', () => {
  it('every event built from any record is valid against its schema file and holds no key material', () => {
    fc.assert(
      fc.property(recordArb, fc.boolean(), (r, renewal) => {
        const record = recordFrom(r);
        const events = [renewalFailed(record, T0 + DAY), certificateInvalid(record)];
        if (record.current) {
          events.push(
            certificateIssued(record, {
              rule: 'RenewalTimeReached',
              renewal,
              secretVersionId: 'v',
            }),
          );
        }
        events.push(stekRotated('tls/tickets', r.failures + 1, T0));
        for (const event of events) {
          expect(schemaProblems(event.detailType, event.detail)).toEqual([]);
          expect(linesWithKeyMaterial(JSON.stringify(event.detail))).toEqual([]);
        }
      }),
    );
  });

  it('has one schema file per event type, and no other', () => {
    expect(schemaFiles()).toEqual(
      Object.values(EVENT_TYPES)
        .map((type) => schemaFileOf(type))
        .sort(),
    );
  });

  it('the schemas refuse a detail with an unknown field or a missing one', () => {
    const event = stekRotated('tls/tickets', 2, T0);
    expect(schemaProblems(event.detailType, { ...event.detail, key: 'AAAA' })).not.toEqual([]);
    const { setId: _dropped, ...missing } = event.detail;
    expect(schemaProblems(event.detailType, missing)).not.toEqual([]);
  });
});

describe('announceOutcomes', () => {
  const record = recordFrom({
    serial: 'ABC123',
    lifetimeDays: 90,
    failures: 0,
    message: 'x',
    withCurrent: true,
  });
  const records = { get: async (id: string) => (id === record.id ? record : undefined) };
  const deps = (bus: MemoryEventBus) => ({
    records,
    bus,
    clock: { now: () => T0 },
    logger: silentLogger,
  });

  it('announces issued, failed and invalid outcomes and nothing for deferred or skipped work', async () => {
    const bus = new MemoryEventBus();
    const issued = {
      rule: 'ForcedRenewal',
      renewal: true,
      secretVersionId: 'v2',
      forcedReason: 'drill',
    };
    const result = await announceOutcomes(deps(bus), [
      { id: record.id, outcome: 'issued', reason: 'ForcedRenewal', serial: 'ABC123', issued },
      { id: record.id, outcome: 'failed', reason: 'backoff' },
      { id: record.id, outcome: 'invalid', reason: 'permanent' },
      { id: record.id, outcome: 'deferred', reason: 'infrastructure' },
      { id: record.id, outcome: 'skipped', reason: 'NotDue' },
    ]);
    expect(bus.published.map((e) => e.detailType)).toEqual([
      EVENT_TYPES.issued,
      EVENT_TYPES.renewalFailed,
      EVENT_TYPES.invalid,
    ]);
    expect(bus.published[0]?.detail).toMatchObject({
      forcedReason: 'drill',
      secretVersionId: 'v2',
    });
    expect(result).toEqual({ published: 3, failed: 0 });
  });

  it('does not announce an issuance the stored record no longer shows (a newer one won)', async () => {
    const bus = new MemoryEventBus();
    await announceOutcomes(deps(bus), [
      {
        id: record.id,
        outcome: 'issued',
        reason: 'NoCertificateYet',
        serial: 'OLDER',
        issued: { rule: 'NoCertificateYet', renewal: false, secretVersionId: 'v1' },
      },
    ]);
    expect(bus.published).toEqual([]);
  });

  it('counts what the bus refused and what could not be read, and never throws', async () => {
    const bus = new MemoryEventBus();
    bus.failNext = 1;
    const broken = {
      ...deps(bus),
      records: {
        get: async (id: string) => {
          if (id === 'gone') throw new Error('table unavailable');
          return records.get(id);
        },
      },
    };
    const result = await announceOutcomes(broken, [
      { id: 'gone', outcome: 'failed', reason: 'backoff' },
      { id: record.id, outcome: 'failed', reason: 'backoff' },
      { id: record.id, outcome: 'invalid', reason: 'permanent' },
    ]);
    expect(result).toEqual({ published: 1, failed: 2 });
    expect(bus.published.map((e) => e.detailType)).toEqual([EVENT_TYPES.invalid]);
  });
});
