import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryControlRecords } from '../../../src/adapters/memory/memory-control-records.js';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { createRenewHandler } from '../../../src/app/handlers.js';
import type { CertificateRecord } from '../../../src/core/certificate-record.js';
import { DEFAULT_ORDER_BUDGET } from '../../../src/core/renewal-budget.js';
import { DAY, HOUR } from '../../../src/core/time.js';
import {
  BUDGET_CURSOR,
  type ForceRenewalDeps,
  forceRenewal,
} from '../../../src/services/force-renewal.js';
import { ManualClock } from '../../support/manual-clock.js';
import { aRecord } from '../../support/record-builder.js';
import { silentLogger } from '../../support/test-loggers.js';

const ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbC123`;

describe('forceRenewal', () => {
  let deps: ForceRenewalDeps;
  let records: MemoryRecordStore;
  let control: MemoryControlRecords;
  let clock: ManualClock;

  async function issued(
    name: string,
    domains: string[],
    serial: string,
    issuer = 'default',
    extra: Partial<CertificateRecord> = {},
  ) {
    const now = clock.now();
    await records.create(
      aRecord({
        id: ARN(name),
        domains,
        status: 'active',
        current: {
          serial,
          notBefore: now - 10 * DAY,
          notAfter: now + 80 * DAY,
          domains,
          keyType: 'ec-p256',
          issuer,
          issuedAt: now - 10 * DAY,
        },
        renewAt: now + 50 * DAY,
        nextAttemptAt: now + 50 * DAY,
        ...extra,
      }),
    );
  }

  beforeEach(async () => {
    clock = new ManualClock();
    records = new MemoryRecordStore();
    control = new MemoryControlRecords();
    deps = { records, control, clock, logger: silentLogger, budget: DEFAULT_ORDER_BUDGET };
    await issued('tls/www', ['example.com', 'www.example.com'], '0A1B', 'default');
    await issued('tls/api', ['api.example.com'], '0C2D', 'default');
    await issued('tls/wild', ['*.example.org', 'example.org'], '0E3F', 'staging');
    await issued('tls/bad', ['bad.example.com'], '0F40', 'default', {
      status: 'invalid',
      statusMessage: 'outside the allowed suffixes',
      nextAttemptAt: undefined,
    });
  });

  it('renews one secret now, by name or ARN, and keeps the reason on the record', async () => {
    for (const secret of ['tls/www', ARN('tls/www')]) {
      const report = await forceRenewal(deps, {
        selector: { secret },
        reason: 'key compromise',
        dryRun: false,
      });
      expect(report).toMatchObject({
        scheduled: 1,
        matched: [{ id: ARN('tls/www'), serial: '0A1B' }],
      });
      expect(report.window?.from).toBe(new Date(clock.now()).toISOString());
    }
    expect(await records.get(ARN('tls/www'))).toMatchObject({
      nextAttemptAt: clock.now(),
      forceRenewal: { reason: 'key compromise', requestedAt: clock.now() },
    });
  });

  it('matches a domain exactly or through a wildcard', async () => {
    expect(
      (
        await forceRenewal(deps, {
          selector: { domain: 'API.example.com.' },
          reason: 'r',
          dryRun: true,
        })
      ).matched.map((m) => m.id),
    ).toEqual([ARN('tls/api')]);
    expect(
      (
        await forceRenewal(deps, {
          selector: { domain: 'shop.example.org' },
          reason: 'r',
          dryRun: true,
        })
      ).matched.map((m) => m.id),
    ).toEqual([ARN('tls/wild')]);
  });

  it('matches serials in any spelling, and reports the unknown ones', async () => {
    const report = await forceRenewal(deps, {
      selector: { serials: ['0a:1b', '000C2D', 'DEAD'] },
      reason: 'CA incident',
      dryRun: false,
    });
    expect(report.matched.map((m) => m.id).sort()).toEqual([ARN('tls/api'), ARN('tls/www')].sort());
    expect(report.unknownSerials).toEqual(['DEAD']);
    expect((await records.get(ARN('tls/wild')))?.forceRenewal).toBeUndefined();
  });

  it('matches by issuer, and everything with all', async () => {
    expect(
      (
        await forceRenewal(deps, { selector: { issuer: 'staging' }, reason: 'r', dryRun: true })
      ).matched.map((m) => m.id),
    ).toEqual([ARN('tls/wild')]);
    const all = await forceRenewal(deps, { selector: { all: true }, reason: 'r', dryRun: true });
    expect(all.matched).toHaveLength(3);
    expect(all.skipped).toEqual([
      { id: ARN('tls/bad'), why: 'invalid: outside the allowed suffixes' },
    ]);
  });

  it('answers a dry run with the same match and schedule as the real run, and writes nothing', async () => {
    const before = await records.list();
    const dry = await forceRenewal(deps, {
      selector: { all: true },
      reason: 'rotation drill',
      dryRun: true,
    });
    expect(await records.list()).toEqual(before);
    expect(await control.get(BUDGET_CURSOR)).toBeUndefined();
    const real = await forceRenewal(deps, {
      selector: { all: true },
      reason: 'rotation drill',
      dryRun: false,
    });
    expect({ ...real, dryRun: true, scheduled: 0 }).toEqual(dry);
    expect(real.scheduled).toBe(3);
  });

  it('spreads a bulk request over the budget and queues the next request behind it', async () => {
    const first = await forceRenewal(deps, { selector: { all: true }, reason: 'r', dryRun: false });
    expect(first.matched.map((m) => Date.parse(m.renewAt) - clock.now())).toEqual([
      0, 38_000, 76_000,
    ]);
    clock.advance(HOUR / 60);
    const second = await forceRenewal(deps, {
      selector: { issuer: 'default' },
      reason: 'r',
      dryRun: false,
    });
    expect(Date.parse(second.window?.from ?? '')).toBe(Date.parse(first.window?.to ?? '') + 38_000);
  });

  it('refuses a bad payload through the handler and changes nothing', async () => {
    const before = await records.list();
    const handler = createRenewHandler(deps);
    expect(await handler({ all: true, secret: 'tls/www' })).toEqual({
      ok: false,
      error: 'give exactly one selector, not secret and all',
    });
    expect(await handler('{"all":true}')).toMatchObject({ ok: false });
    expect(await records.list()).toEqual(before);
    expect(await handler({ secret: 'tls/api', dryRun: true })).toMatchObject({
      ok: true,
      scheduled: 0,
      matched: [{ id: ARN('tls/api') }],
    });
  });
});
