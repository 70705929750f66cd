/**
 * ACME Renewal Information (RFC 9773) through the real services on a manual clock, for
 * the three lifetimes the design serves (160 hours, 45 and 90 days): the in-process CA
 * (test/support/fake-acme-ca.ts, ARI on) with the real key factory, X.509 checks, record
 * logic and planner admission, and the in-memory stores. The same flow on a real ACME
 * server (pebble behind the project's ACME front) is in acme-front-engine.test.ts.
 *
 * What it proves: after every issuance the window is fetched and an instant inside it is
 * stored; checks on their own schedule place no order and keep the instant while the
 * window stands; the renewal order names its predecessor in `replaces`; a window the CA
 * moves into the past renews exactly that certificate at its next check.
 */
import { describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { MemoryDns01Solver } from '../../src/adapters/memory/memory-dns01-solver.js';
import { MemoryRecordStore } from '../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { latestAriRenewal } from '../../src/core/renewal-info.js';
import { DAY, HOUR, MINUTE } from '../../src/core/time.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import { engineTick } from '../support/engine-tick.js';
import { FakeAcmeCa } from '../support/fake-acme-ca.js';
import { ManualClock, seededRandom } from '../support/manual-clock.js';
import { aRecord } from '../support/record-builder.js';
import { silentLogger } from '../support/test-loggers.js';

const LIFETIMES = [
  ['shortlived', 160 * HOUR],
  ['tlsserver', 45 * DAY],
  ['classic', 90 * DAY],
] as const;

async function world() {
  const clock = new ManualClock();
  const records = new MemoryRecordStore();
  const cas = new Map(
    LIFETIMES.map(([name, lifetime]) => [
      name,
      new FakeAcmeCa(clock, lifetime, name, { ari: true }),
    ]),
  );
  const issuance: IssuanceDeps = {
    records,
    secrets: new MemorySecretStore(),
    issuers: (name) => cas.get(name as (typeof LIFETIMES)[number][0]),
    dns: new MemoryDns01Solver(),
    keys: new NodeKeyFactory(),
    clock,
    logger: silentLogger,
    random: seededRandom(11),
    policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
    owner: 'ari-test',
    leaseMs: 15 * MINUTE,
    concurrency: 4,
    ariCertificateId: ariCertificateIdOf,
  };
  for (const [name] of LIFETIMES) {
    await records.create(
      aRecord({
        id: name,
        issuer: name,
        domains: [`${name}.example.test`],
        nextAttemptAt: clock.now(),
      }),
    );
  }
  const tick = () => engineTick(issuance, { batchSize: 10, maxRecords: 100 });
  const get = async (id: string) => (await records.get(id)) as CertificateRecord;
  return { clock, records, cas, tick, get };
}

describe('renewal information on the engine, for 160-hour, 45-day and 90-day certificates', () => {
  it('stores the window after issuance, checks without ordering, and renews inside the window with replaces', async () => {
    const { clock, cas, tick, get } = await world();
    const first = await tick();
    expect(first.counts.issued).toBe(3);

    for (const [name] of LIFETIMES) {
      const record = await get(name);
      const current = record.current;
      if (!current || !record.ari?.window || record.renewAt === undefined)
        throw new Error(`${name} has no ARI state`);
      expect(record.renewalRule).toBe('ari-suggested-window');
      expect(record.ari.certId).toMatch(/^[\w-]+\.[\w-]+$/);
      expect(record.renewAt).toBeGreaterThanOrEqual(record.ari.window.start);
      expect(record.renewAt).toBeLessThanOrEqual(record.ari.window.end);
      expect(record.renewAt).toBeLessThanOrEqual(latestAriRenewal(current));
      // the CA's Retry-After (6 h) sets the next check, which comes before the renewal
      expect(record.ari.checkAt).toBe(clock.now() + 6 * HOUR);
      expect(record.nextAttemptAt).toBe(record.ari.checkAt);
    }

    // Every 6 hours each record is checked (no order) until its renewal time.
    const before = new Map<string, CertificateRecord>();
    for (const [name] of LIFETIMES) before.set(name, await get(name));
    clock.advance(6 * HOUR);
    const checks = await tick();
    expect(checks.counts.checked).toBe(3);
    expect(checks.counts.issued).toBe(0);
    for (const [name] of LIFETIMES) {
      expect((await get(name)).renewAt).toBe(before.get(name)?.renewAt);
      expect(cas.get(name)?.orderTimes).toHaveLength(1);
    }

    // Run the clock to the 90-day certificate's renewal: each renews once, inside its
    // window, naming its predecessor.
    const classicRenewAt = (await get('classic')).renewAt ?? 0;
    const renewedAt = new Map<string, number>();
    while (clock.now() < classicRenewAt + HOUR) {
      clock.advance(HOUR);
      const report = await tick();
      for (const outcome of report.outcomes) {
        if (outcome.outcome === 'issued' && !renewedAt.has(outcome.id)) {
          renewedAt.set(outcome.id, clock.now());
        }
      }
    }
    for (const [name] of LIFETIMES) {
      const ca = cas.get(name);
      const old = before.get(name);
      if (!ca || !old?.ari?.window || !old.current) throw new Error('setup');
      const at = renewedAt.get(name);
      expect(at, `${name} renewed`).toBeDefined();
      // within an hour (the tick period) of the stored instant, inside the window
      expect(at).toBeGreaterThanOrEqual(old.renewAt ?? 0);
      expect(at).toBeLessThanOrEqual((old.renewAt ?? 0) + HOUR);
      expect(ca.replaces[1]).toBe(old.ari.certId);
      expect(ca.replaces[0]).toBeUndefined();
      const renewed = await get(name);
      expect(renewed.current?.serial).not.toBe(old.current.serial);
      expect(renewed.ari?.certId).not.toBe(old.ari.certId);
    }
    // the 160-hour certificate renews several times in 60 days, every order after the
    // first replacing its predecessor
    const short = cas.get('shortlived');
    expect(short?.replaces.length).toBeGreaterThan(5);
    expect(short?.replaces.slice(1).every((id) => typeof id === 'string')).toBe(true);
  });

  it('renews exactly the certificate whose window the CA moves into the past, at its next check', async () => {
    const { clock, cas, tick, get } = await world();
    await tick();
    const classic = await get('classic');
    const tls = await get('tlsserver');
    const moved = cas.get('classic')?.moveWindows([classic.current?.serial ?? ''], {
      start: clock.now() - 2 * HOUR,
      end: clock.now() - HOUR,
    });
    expect(moved).toBe(1);

    clock.advance(6 * HOUR); // the next check
    const report = await tick();
    const byId = new Map(report.outcomes.map((o) => [o.id, o]));
    expect(byId.get('classic')).toMatchObject({ outcome: 'checked', reason: 'RenewalWindowMoved' });
    expect(byId.get('tlsserver')).toMatchObject({
      outcome: 'checked',
      reason: 'RenewalWindowUnchanged',
    });
    expect((await get('classic')).nextAttemptAt).toBeLessThanOrEqual(clock.now());

    const renewal = await tick();
    expect(renewal.outcomes.filter((o) => o.outcome === 'issued').map((o) => o.id)).toEqual([
      'classic',
    ]);
    expect(cas.get('classic')?.replaces).toEqual([undefined, classic.ari?.certId]);
    expect(cas.get('tlsserver')?.orderTimes).toHaveLength(1);
    expect((await get('tlsserver')).current?.serial).toBe(tls.current?.serial);
  });
});
