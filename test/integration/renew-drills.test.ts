import { describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { MemoryControlRecords } from '../../src/adapters/memory/memory-control-records.js';
import { MemoryDns01Solver } from '../../src/adapters/memory/memory-dns01-solver.js';
import { MemoryRecordStore } from '../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import { createRenewHandler } from '../../src/app/handlers.js';
import { DEFAULT_ORDER_BUDGET, maxInAnyWindow } from '../../src/core/renewal-budget.js';
import { HOUR, MINUTE } from '../../src/core/time.js';
import type { ForceRenewalDeps } from '../../src/services/force-renewal.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import { engineTick } from '../support/engine-tick.js';
import { FakeAcmeCa } from '../support/fake-acme-ca.js';
import { ManualClock, seededRandom } from '../support/manual-clock.js';
import { silentLogger } from '../support/test-loggers.js';

/** A fleet on a manual clock: real services, keys, CSRs and X.509 checks; in-memory stores; an in-process CA. */
async function fleet(size: number) {
  const clock = new ManualClock();
  const records = new MemoryRecordStore();
  const secrets = new MemorySecretStore();
  const ca = new FakeAcmeCa(clock);
  const policy = { allowedSuffixes: ['example.com'], maxNames: 100 };
  const issuance: IssuanceDeps = {
    records,
    secrets,
    issuers: (name) => (name === 'default' ? ca : undefined),
    dns: new MemoryDns01Solver(),
    keys: new NodeKeyFactory(),
    clock,
    logger: silentLogger,
    random: seededRandom(7),
    policy,
    owner: 'drill-worker',
    leaseMs: 15 * MINUTE,
    concurrency: 25,
    ariCertificateId: ariCertificateIdOf,
  };
  const renewal: ForceRenewalDeps = {
    records,
    control: new MemoryControlRecords(),
    clock,
    logger: silentLogger,
    budget: DEFAULT_ORDER_BUDGET,
  };
  const registration = {
    records,
    clock,
    logger: silentLogger,
    policy,
    issuerNames: ['default'],
    defaultIssuer: 'default',
  };
  for (let i = 0; i < size; i++)
    await registerCertificate(registration, { id: `cert-${i}`, domains: [`host${i}.example.com`] });
  const first = await engineTick(issuance, { batchSize: 250, maxRecords: size });
  expect(first.counts.issued).toBe(size);

  /** Ticks every minute (the planner's schedule) until `done()` or the time limit. */
  async function runUntil(done: () => Promise<boolean>, limitMs: number) {
    const start = clock.now();
    while (!(await done()) && clock.now() - start < limitMs) {
      clock.advance(MINUTE);
      await engineTick(issuance, { batchSize: 250, maxRecords: 500 });
    }
  }
  return { clock, records, secrets, ca, renew: createRenewHandler(renewal), runUntil };
}

describe('forced renewal drills on a manual clock', () => {
  it('renews 1,000 certificates on {"all": true} without more than 300 orders in any 3-hour window, within 4 windows', {
    timeout: 180_000,
  }, async () => {
    const f = await fleet(1000);
    f.clock.advance(HOUR);
    const ordersBefore = f.ca.orderTimes.length;
    const requestedAt = f.clock.now();

    const answer = await f.renew({ all: true, reason: 'CA incident drill' });
    expect(answer).toMatchObject({ ok: true, scheduled: 1000 });

    const allRenewed = async () =>
      (await f.records.list()).every((r) => (r.current?.issuedAt ?? 0) >= requestedAt);
    await f.runUntil(allRenewed, 4 * 3 * HOUR);
    expect(await allRenewed()).toBe(true);

    const forced = f.ca.orderTimes.slice(ordersBefore);
    expect(forced).toHaveLength(1000);
    expect(maxInAnyWindow(forced, 3 * HOUR)).toBeLessThanOrEqual(300);
    expect((forced.at(-1) as number) - requestedAt).toBeLessThanOrEqual(4 * 3 * HOUR);
    expect(
      (await f.records.list()).every((r) => r.status === 'active' && r.forceRenewal === undefined),
    ).toBe(true);
  });

  it('replaces exactly the 50 listed serials of 200 certificates, reports 5 unknown ones, and leaves the other 150 alone', {
    timeout: 120_000,
  }, async () => {
    const f = await fleet(200);
    f.clock.advance(HOUR);
    const before = new Map((await f.records.list()).map((r) => [r.id, r.current?.serial]));
    const targets = [...before.keys()].filter((_, i) => i % 4 === 1);
    expect(targets).toHaveLength(50);
    const serials = targets.map((id) =>
      (before.get(id) as string).toLowerCase().replace(/(..)(?!$)/g, '$1:'),
    );
    const unknown = ['DEADBEEF01', 'DEADBEEF02', 'DEADBEEF03', 'DEADBEEF04', 'DEADBEEF05'];

    const answer = await f.renew({
      serials: [...serials, ...unknown],
      reason: 'CA will revoke these serials',
    });
    expect(answer).toMatchObject({ ok: true, scheduled: 50, unknownSerials: unknown });

    const targetsRenewed = async () => {
      const now = await f.records.list();
      return now
        .filter((r) => targets.includes(r.id))
        .every((r) => r.current?.serial !== before.get(r.id));
    };
    await f.runUntil(targetsRenewed, 3 * HOUR);

    for (const record of await f.records.list()) {
      if (targets.includes(record.id)) {
        expect(record.current?.serial).not.toBe(before.get(record.id));
        expect(f.secrets.versionsCreated.get(record.id)).toBe(2);
        expect((await f.secrets.readCertificate(record.id, 'previous'))?.serial).toBe(
          before.get(record.id),
        );
      } else {
        expect(record.current?.serial).toBe(before.get(record.id));
        expect(f.secrets.versionsCreated.get(record.id)).toBe(1);
      }
    }
  });
});
