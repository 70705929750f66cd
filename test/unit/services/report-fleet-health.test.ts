import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { MemoryRegistrationSource } from '../../../src/adapters/memory/memory-registration-source.js';
import { createSweepHandler } from '../../../src/app/handlers.js';
import { METRICS } from '../../../src/config/metrics.js';
import type { CertificateRecord, IssuedCertificate } from '../../../src/core/certificate-record.js';
import { chooseRenewalTime } from '../../../src/core/renewal-window.js';
import { DAY, HOUR, iso } from '../../../src/core/time.js';
import type { RegistrationDeps } from '../../../src/services/register-certificates.js';
import {
  MAX_AT_RISK_LOGGED,
  reportFleetHealth,
} from '../../../src/services/report-fleet-health.js';
import { sweepRegistrations } from '../../../src/services/sweep-registrations.js';
import { ManualClock } from '../../support/manual-clock.js';
import { aRecord } from '../../support/record-builder.js';
import { RecordingMetrics } from '../../support/recording-metrics.js';
import { RecordingLogger } from '../../support/test-loggers.js';

describe('the sweep reports the certificates at risk for their lifetime', () => {
  let records: MemoryRecordStore;
  let source: MemoryRegistrationSource;
  let clock: ManualClock;
  let logger: RecordingLogger;
  let metrics: RecordingMetrics;
  let deps: RegistrationDeps;
  let sweep: ReturnType<typeof createSweepHandler>;

  beforeEach(() => {
    records = new MemoryRecordStore();
    source = new MemoryRegistrationSource();
    clock = new ManualClock();
    logger = new RecordingLogger();
    metrics = new RecordingMetrics();
    deps = {
      records,
      clock,
      logger,
      policy: { allowedSuffixes: ['example.com'], maxNames: 100 },
      issuerNames: ['default'],
      defaultIssuer: 'default',
    };
    sweep = createSweepHandler(
      { registration: deps, sweep: () => sweepRegistrations(deps, source) },
      metrics,
    );
  });

  const certificate = (name: string, notBefore: number, lifetime: number): IssuedCertificate => ({
    serial: '0a',
    notBefore,
    notAfter: notBefore + lifetime,
    domains: [name],
    keyType: 'ec-p256',
    issuer: 'default',
    issuedAt: notBefore,
  });

  /** Registers `name` by tag and gives its record a published certificate. */
  async function published(
    name: string,
    current: IssuedCertificate,
    changes: Partial<CertificateRecord>,
  ): Promise<void> {
    source.tag(`arn:${name}`, { 'certloop:domains': name });
    await sweepRegistrations(deps, source);
    const record = await records.get(`arn:${name}`);
    if (!record) throw new Error(`no record for ${name}`);
    await records.put(
      {
        ...record,
        status: 'active',
        current,
        renewAt: current.notAfter,
        nextAttemptAt: current.notAfter,
        ...changes,
      },
      record.version,
    );
  }

  const atRiskLines = () => logger.lines.filter((line) => line.message === 'certificate at risk');

  it('counts a late 45-day and a near-expiry 90-day certificate, never a 160-hour one renewed on time', async () => {
    const now = clock.now();
    // 160 hours, 70 hours old; renewal time picked by the lifetime rule, still ahead.
    const short = certificate('short.example.com', now - 70 * HOUR, 160 * HOUR);
    await published('short.example.com', short, {
      renewAt: chooseRenewalTime(short, () => 0.5).renewAt,
    });
    // 45 days, 20 days old; the CA asked for an early renewal (ARI) 8 days ago, more
    // than a sixth of the lifetime (7.5 days), and the renewals keep failing.
    await published('late.example.com', certificate('late.example.com', now - 20 * DAY, 45 * DAY), {
      status: 'failing',
      renewAt: now - 8 * DAY,
      failures: 9,
      lastError: { message: 'DNS-01 challenge failed', kind: 'transient', at: now - HOUR },
    });
    // 90 days with 10 days left: under min(14 days, 30 days).
    await published('near.example.com', certificate('near.example.com', now - 80 * DAY, 90 * DAY), {
      renewAt: now - 20 * DAY,
    });

    const report = await sweep();

    expect(report.outcomes).toMatchObject({ unchanged: 3, error: 0 });
    expect(metrics.flushed).toEqual([
      {
        [METRICS.certificatesAtRisk]: 2,
        [METRICS.minDaysToExpiry]: 3.75,
        [METRICS.invalidRecords]: 0,
        [METRICS.eventsFailed]: 0,
      },
    ]);
    expect(report.health).toMatchObject({ total: 3, atRisk: 2 });
    expect(atRiskLines()).toEqual([
      {
        level: 'warn',
        message: 'certificate at risk',
        fields: {
          record: 'arn:near.example.com',
          rule: 'NearExpiry',
          detail: '10 days left, under min(14 days, a third of the 90 days lifetime)',
          status: 'active',
          serial: '0a',
          notAfter: iso(now + 10 * DAY),
          renewAt: iso(now - 20 * DAY),
          failures: 0,
          lastError: undefined,
        },
      },
      {
        level: 'warn',
        message: 'certificate at risk',
        fields: {
          record: 'arn:late.example.com',
          rule: 'LateForRenewal',
          detail: `renewal time ${iso(now - 8 * DAY)} passed 8 days ago, more than a sixth of the 45 days lifetime`,
          status: 'failing',
          serial: '0a',
          notAfter: iso(now + 25 * DAY),
          renewAt: iso(now - 8 * DAY),
          failures: 9,
          lastError: 'DNS-01 challenge failed',
        },
      },
    ]);
    const summary = logger.lines.find((line) => line.message === 'fleet health');
    expect(summary?.fields).toMatchObject({ rule: 'FleetHealth', atRisk: 2, total: 3 });
    expect(summary?.fields).not.toHaveProperty('atRiskRecords');
  });

  it('counts nothing once the late and the near-expiry certificates are renewed', async () => {
    const now = clock.now();
    await published('late.example.com', certificate('late.example.com', now - 20 * DAY, 45 * DAY), {
      renewAt: now - 8 * DAY,
    });
    await published('near.example.com', certificate('near.example.com', now - 80 * DAY, 90 * DAY), {
      renewAt: now - 20 * DAY,
    });
    expect((await sweep()).health.atRisk).toBe(2);

    for (const [name, lifetime] of [
      ['late.example.com', 45 * DAY],
      ['near.example.com', 90 * DAY],
    ] as const) {
      const current = certificate(name, now, lifetime);
      await published(name, current, { renewAt: chooseRenewalTime(current, () => 0.5).renewAt });
    }
    clock.advance(HOUR);
    await sweep();
    expect(metrics.flushed.at(-1)?.[METRICS.certificatesAtRisk]).toBe(0);
  });

  it('reports zero at risk for a fleet with no certificate yet, so the alarm has a data point', async () => {
    source.tag('arn:new', { 'certloop:domains': 'new.example.com' });
    await sweep();
    expect(metrics.flushed).toEqual([
      {
        [METRICS.certificatesAtRisk]: 0,
        [METRICS.invalidRecords]: 0,
        [METRICS.eventsFailed]: 0,
      },
    ]);
  });

  it(`logs at most ${MAX_AT_RISK_LOGGED} certificates at risk, soonest expiry first, and counts them all`, async () => {
    const now = clock.now();
    const total = MAX_AT_RISK_LOGGED + 20;
    for (let i = 0; i < total; i++) {
      await records.create(
        aRecord({
          id: `arn:bulk-${i}`,
          status: 'active',
          current: certificate(`bulk-${i}.example.com`, now - 85 * DAY, 90 * DAY - i * HOUR),
          renewAt: now - 25 * DAY,
        }),
      );
    }
    const health = await reportFleetHealth(deps);
    expect(health.atRisk).toBe(total);
    expect(health.atRiskRecords).toHaveLength(MAX_AT_RISK_LOGGED);
    expect(atRiskLines()).toHaveLength(MAX_AT_RISK_LOGGED);
    expect(atRiskLines()[0]?.fields.record).toBe(`arn:bulk-${total - 1}`);
    expect(logger.lines.find((line) => line.message === 'fleet health')?.fields).toMatchObject({
      atRisk: total,
      atRiskNotLogged: 20,
    });
  });
});

describe('the sweep says whether the fleet as registered fits the CA order budget', () => {
  it('warns with the fixes and emits the rate when 160-hour certificates without ARI exceed it', async () => {
    const clock = new ManualClock();
    const records = new MemoryRecordStore();
    const logger = new RecordingLogger();
    const metrics = new RecordingMetrics();
    for (let i = 0; i < 400; i++) {
      const notBefore = clock.now();
      const current = {
        serial: `0${i}`,
        notBefore,
        notAfter: notBefore + 160 * HOUR,
        domains: [`c${i}.example.com`],
        keyType: 'ec-p256' as const,
        issuer: 'default',
        issuedAt: notBefore,
      };
      await records.create(
        aRecord({
          id: `c${i}`,
          status: 'active',
          current,
          renewAt: chooseRenewalTime(current, () => 0.5).renewAt,
        }),
      );
    }
    const deps: RegistrationDeps = {
      records,
      clock,
      logger,
      policy: { allowedSuffixes: ['example.com'], maxNames: 100 },
      issuerNames: ['default'],
      defaultIssuer: 'default',
    };
    const budget = { orders: 10, windowMs: 3 * HOUR, slackMs: 600_000 };
    const sweep = createSweepHandler(
      {
        registration: deps,
        sweep: () => sweepRegistrations(deps, new MemoryRegistrationSource()),
        capacity: { budget, exemptIssuers: new Set() },
      },
      metrics,
    );
    await sweep();
    // 400 certificates renewing every ~77 h: about 15.6 orders per 3 h against 10
    const rate = metrics.flushed.at(-1)?.[METRICS.budgetedOrdersPerWindow] ?? 0;
    expect(rate).toBeGreaterThan(15);
    expect(rate).toBeLessThan(16.5);
    expect(metrics.flushed.at(-1)?.[METRICS.orderBudget]).toBe(10);
    const line = logger.lines.find((l) => l.fields?.rule === 'CapacityExceeded');
    expect(line?.message).toMatch(/DOES NOT FIT.*another ACME account/);
  });
});
