import { describe, expect, it } from 'vitest';
import { summarizeFleet } from '../../../src/core/fleet-health.js';
import { DAY, HOUR } from '../../../src/core/time.js';
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
      atRisk: 0,
      atRiskRecords: [],
    });
  });

  it('reports an expired certificate as negative days, and nothing when none is issued', () => {
    expect(
      summarizeFleet([{ ...aRecord({ id: 'x', current: issued(NOW - 2 * DAY) }), version: 1 }], NOW)
        .minDaysToExpiry,
    ).toBe(-2);
    expect(summarizeFleet([], NOW).minDaysToExpiry).toBeUndefined();
  });

  it('counts the certificates at risk for their lifetime, invalid ones included, unmanaged and unissued ones not', () => {
    const late = { ...issued(NOW + 25 * DAY), notBefore: NOW - 20 * DAY };
    const records = [
      // 160 hours, half-way: within limits although under 14 days left.
      {
        ...aRecord({
          id: 'short',
          status: 'active',
          current: { ...issued(NOW + 80 * HOUR), notBefore: NOW - 80 * HOUR },
          renewAt: NOW + HOUR,
        }),
        version: 1,
      },
      // 45 days, renewal time (moved early) 8 days ago: late for renewal.
      {
        ...aRecord({
          id: 'late',
          status: 'failing',
          current: late,
          renewAt: NOW - 8 * DAY,
          failures: 6,
          lastError: { message: 'CA unavailable', kind: 'transient', at: NOW - HOUR },
        }),
        version: 1,
      },
      // Parked with a certificate that nothing renews: near expiry.
      {
        ...aRecord({
          id: 'parked',
          status: 'invalid',
          current: { ...issued(NOW + 3 * DAY), notBefore: NOW - 87 * DAY },
        }),
        version: 1,
      },
      {
        ...aRecord({
          id: 'gone',
          status: 'unmanaged',
          current: { ...issued(NOW + DAY), notBefore: NOW - 89 * DAY },
        }),
        version: 1,
      },
      { ...aRecord({ id: 'new', status: 'pending' }), version: 1 },
    ];
    const health = summarizeFleet(records, NOW);
    expect(health.atRisk).toBe(2);
    expect(health.atRiskRecords).toEqual([
      {
        record: 'parked',
        rule: 'NearExpiry',
        detail: expect.stringMatching(/^3 days left/),
        status: 'invalid',
        serial: '01',
        notAfter: NOW + 3 * DAY,
        renewAt: undefined,
        failures: 0,
        lastError: undefined,
      },
      {
        record: 'late',
        rule: 'LateForRenewal',
        detail: expect.stringMatching(/passed 8 days ago/),
        status: 'failing',
        serial: '01',
        notAfter: NOW + 25 * DAY,
        renewAt: NOW - 8 * DAY,
        failures: 6,
        lastError: 'CA unavailable',
      },
    ]);
  });
});
