import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CertificateRecord } from '../../../src/core/certificate-record.js';
import { describeCapacity, fleetCapacity } from '../../../src/core/fleet-capacity.js';
import { DEFAULT_ORDER_BUDGET } from '../../../src/core/renewal-budget.js';
import { lifetimeRenewalTime } from '../../../src/core/renewal-window.js';
import { DAY, HOUR } from '../../../src/core/time.js';
import { aRecord } from '../../support/record-builder.js';

const NOW = Date.UTC(2026, 11, 4);

function certificate(lifetime: number, options: { ari?: boolean; issuer?: string } = {}) {
  const current = {
    serial: '0a',
    notBefore: NOW,
    notAfter: NOW + lifetime,
    domains: ['a.example.test'],
    keyType: 'ec-p256' as const,
    issuer: options.issuer ?? 'le',
    issuedAt: NOW,
  };
  return {
    ...aRecord({
      issuer: options.issuer ?? 'le',
      status: 'active',
      current,
      renewAt: lifetimeRenewalTime(current, 0.02),
      ...(options.ari ? { ari: { certId: 'aki.0a', checkAt: NOW + 6 * HOUR, failures: 0 } } : {}),
    }),
    version: 1,
  } as CertificateRecord;
}

const fleetOf = (n: number, lifetime: number, options?: { ari?: boolean }) =>
  Array.from({ length: n }, () => certificate(lifetime, options));

describe('fleetCapacity', () => {
  it('says 10,000 certificates of 90 or 45 days fit 300 orders per 3 h, 160-hour ones only when ARI renewals are exempt', () => {
    const exempt = new Set(['le']);
    const none = new Set<string>();
    expect(fleetCapacity(fleetOf(10_000, 90 * DAY), DEFAULT_ORDER_BUDGET, none).fits).toBe(true);
    expect(fleetCapacity(fleetOf(10_000, 45 * DAY), DEFAULT_ORDER_BUDGET, none).fits).toBe(true);
    const short = fleetCapacity(fleetOf(10_000, 160 * HOUR), DEFAULT_ORDER_BUDGET, none);
    expect(short.fits).toBe(false);
    expect(short.ordersPerWindow).toBeGreaterThan(300);
    const shortWithAri = fleetCapacity(
      fleetOf(10_000, 160 * HOUR, { ari: true }),
      DEFAULT_ORDER_BUDGET,
      exempt,
    );
    expect(shortWithAri.fits).toBe(true);
    expect(shortWithAri.ordersPerWindow).toBe(0);
    expect(shortWithAri.exemptPerWindow).toBeCloseTo(short.ordersPerWindow);
  });

  it('names the fixes when the fleet does not fit', () => {
    const capacity = fleetCapacity(fleetOf(10_000, 160 * HOUR), DEFAULT_ORDER_BUDGET, new Set());
    const line = describeCapacity(capacity, DEFAULT_ORDER_BUDGET);
    expect(line).toMatch(/DOES NOT FIT/);
    for (const fix of [/ARI/, /longer-lived/, /another ACME account/, /rate-limit raise/])
      expect(line).toMatch(fix);
  });

  it('never lowers the rate when a non-exempt certificate is added, and exempt ones never spend the budget', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ hours: fc.integer({ min: 24, max: 24 * 400 }), ari: fc.boolean() }), {
          maxLength: 30,
        }),
        fc.integer({ min: 24, max: 24 * 400 }),
        (fleet, extraHours) => {
          const records = fleet.map((c) => certificate(c.hours * HOUR, { ari: c.ari }));
          const exempt = new Set(['le']);
          const before = fleetCapacity(records, DEFAULT_ORDER_BUDGET, exempt);
          const after = fleetCapacity(
            [...records, certificate(extraHours * HOUR)],
            DEFAULT_ORDER_BUDGET,
            exempt,
          );
          expect(after.ordersPerWindow).toBeGreaterThan(before.ordersPerWindow);
          const withAri = fleetCapacity(
            [...records, certificate(extraHours * HOUR, { ari: true })],
            DEFAULT_ORDER_BUDGET,
            exempt,
          );
          expect(withAri.ordersPerWindow).toBeCloseTo(before.ordersPerWindow);
        },
      ),
    );
  });

  it('leaves parked records and records without a certificate out', () => {
    const records = [
      { ...certificate(45 * DAY), status: 'invalid' as const },
      { ...aRecord({}), version: 1 },
    ];
    expect(fleetCapacity(records, DEFAULT_ORDER_BUDGET, new Set()).certificates).toBe(0);
  });
});
