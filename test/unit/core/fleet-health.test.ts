import { describe, expect, it } from 'vitest';
import { summarizeFleet } from '../../../src/core/fleet-health.js';
import { DAY } from '../../../src/core/time.js';
import { aRecord } from '../../support/record-builder.js';

const NOW = Date.UTC(2026, 10, 23);
const issued = (notAfter: number) => ({
  serial: '01',
  notBefore: NOW - DAY,
  notAfter,
  domains: ['a.example.test'],
  keyType: 'ec-p256' as const,
  issuer: 'default',
  issuedAt: NOW - DAY,
});

describe('summarizeFleet', () => {
  it('counts records by status and finds the certificate closest to expiry', () => {
    const records = [
      { ...aRecord({ id: 'a', status: 'active', current: issued(NOW + 40 * DAY) }), version: 1 },
      { ...aRecord({ id: 'b', status: 'failing', current: issued(NOW + 12.5 * DAY) }), version: 1 },
      { ...aRecord({ id: 'c', status: 'invalid' }), version: 1 },
      { ...aRecord({ id: 'd', status: 'pending' }), version: 1 },
    ];
    expect(summarizeFleet(records, NOW)).toEqual({
      total: 4,
      active: 1,
      failing: 1,
      invalid: 1,
      pending: 1,
      unmanaged: 0,
      minDaysToExpiry: 12.5,
      soonestExpiring: 'b',
    });
  });

  it('reports an expired certificate as negative days, and nothing when none is issued', () => {
    expect(
      summarizeFleet([{ ...aRecord({ id: 'x', current: issued(NOW - 2 * DAY) }), version: 1 }], NOW)
        .minDaysToExpiry,
    ).toBe(-2);
    expect(summarizeFleet([], NOW).minDaysToExpiry).toBeUndefined();
  });
});
