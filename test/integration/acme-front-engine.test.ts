/**
 * ACME Renewal Information end to end on a real ACME server: pebble behind the
 * project's ACME front (src/local/acme-front.ts, which adds RFC 9773 renewalInfo,
 * `replaces` checks and profiles), with the real ACME adapter, key factory, X.509 checks,
 * challtestsrv DNS-01 and the issuance service on a manual clock that starts at the real
 * time (pebble stamps real validity periods). pebble runs with 160-hour, 45-day and
 * 90-day certificates (`certificateValidityPeriod`), each with its Let's Encrypt profile.
 *
 * What it proves, for each lifetime: the first issuance fetches the window and stores an
 * instant inside it; the renewal happens inside the window (at the stored instant) and
 * its order carries `replaces` naming the predecessor, which the CA accepted; the new
 * certificate gets its own window; a profile the CA does not offer makes the record
 * invalid before any order, listing the offered ones.
 */
import { describe, expect, it } from 'vitest';
import { MemoryRecordStore } from '../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { latestAriRenewal } from '../../src/core/renewal-info.js';
import { DAY, HOUR } from '../../src/core/time.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import { type AcmeFrontFixture, frontIssuance, useAcmeFront } from '../support/acme-front.js';
import { engineTick } from '../support/engine-tick.js';
import { ManualClock } from '../support/manual-clock.js';
import { uniqueLabel } from '../support/pebble.js';
import { aRecord } from '../support/record-builder.js';

function engine(fixture: () => AcmeFrontFixture) {
  const clock = new ManualClock(Date.now());
  const records = new MemoryRecordStore();
  const secrets = new MemorySecretStore();
  let deps: IssuanceDeps | undefined;
  const tick = () => {
    deps ??= frontIssuance(fixture(), { records, secrets, clock, owner: 'front-e2e', seed: 3 });
    return engineTick(deps, { batchSize: 10, maxRecords: 10 });
  };
  const get = async (id: string) => (await records.get(id)) as CertificateRecord;
  return { clock, records, tick, get };
}

describe.each([
  ['shortlived', 160 * HOUR],
  ['tlsserver', 45 * DAY],
  ['classic', 90 * DAY],
] as const)('ARI on pebble behind the ACME front: %s certificates', (profile, lifetime) => {
  const fixture = useAcmeFront({ pebble: { certificateValidityPeriod: lifetime / 1000 } });

  it('stores the window after issuance and renews inside it with replaces naming the predecessor', async () => {
    const { clock, records, tick, get } = engine(fixture);
    const name = `${uniqueLabel(profile)}.example.test`;
    await records.create(
      aRecord({ id: profile, domains: [name], profile, nextAttemptAt: clock.now() }),
    );

    expect((await tick()).counts.issued).toBe(1);
    const first = await get(profile);
    const issued = first.current;
    if (!issued || !first.ari?.window || first.renewAt === undefined)
      throw new Error('no ARI state after issuance');
    // pebble's notAfter is inclusive: the period minus one second
    expect(lifetime - (issued.notAfter - issued.notBefore)).toBeLessThanOrEqual(1000);
    expect(first.renewalRule).toBe('ari-suggested-window');
    expect(first.ari.certId).toBe(
      fixture()
        .front.certificates()
        .find((c) => c.serial === issued.serial.toLowerCase().replace(/^0+/, ''))?.certId,
    );
    expect(first.renewAt).toBeGreaterThanOrEqual(first.ari.window.start);
    expect(first.renewAt).toBeLessThanOrEqual(first.ari.window.end);
    expect(first.renewAt).toBeLessThanOrEqual(latestAriRenewal(issued));
    // the front's Retry-After (6 h) sets the next check
    expect(first.ari.checkAt - clock.now()).toBe(6 * HOUR);

    // A check before the window: no order, the instant stays.
    clock.advance(6 * HOUR);
    expect((await tick()).counts.checked).toBe(1);
    expect((await get(profile)).renewAt).toBe(first.renewAt);

    // At the stored instant the renewal is ordered, naming its predecessor.
    clock.set(first.renewAt);
    const renewal = await tick();
    expect(renewal.counts.issued).toBe(1);
    const orders = fixture()
      .front.orders()
      .filter((o) => o.identifiers.includes(name));
    expect(orders).toHaveLength(2);
    expect(orders[0]?.replaces).toBeUndefined();
    expect(orders[1]).toMatchObject({ replaces: first.ari.certId, profile, status: 'valid' });
    const renewed = await get(profile);
    expect(renewed.current?.serial).not.toBe(issued.serial);
    expect(renewed.ari?.certId).not.toBe(first.ari.certId);
    expect(renewed.ari?.window).toBeDefined();
    expect(renewed.renewalRule).toBe('ari-suggested-window');
  });
});

describe('profiles on pebble behind the ACME front', () => {
  const fixture = useAcmeFront();

  it('makes a record with a profile the CA does not offer invalid before any order, listing the offered ones', async () => {
    const { clock, records, tick, get } = engine(fixture);
    const name = `${uniqueLabel('p')}.example.test`;
    await records.create(
      aRecord({
        id: 'bad-profile',
        domains: [name],
        profile: 'tlsclient',
        nextAttemptAt: clock.now(),
      }),
    );
    const report = await tick();
    expect(report.counts.invalid).toBe(1);
    const record = await get('bad-profile');
    expect(record.status).toBe('invalid');
    expect(record.statusMessage).toBe(
      'profile "tlsclient" (certloop:profile) is not offered by issuer "default"; it offers: classic, shortlived, tlsserver',
    );
    expect(
      fixture()
        .front.orders()
        .filter((o) => o.identifiers.includes(name)),
    ).toEqual([]);
  });

  it('orders once more without replaces when the CA says the predecessor was already replaced', async () => {
    const { clock, records, tick, get } = engine(fixture);
    const name = `${uniqueLabel('r')}.example.test`;
    await records.create(aRecord({ id: 'replaced', domains: [name], nextAttemptAt: clock.now() }));
    await tick();
    const first = await get('replaced');
    clock.set(first.renewAt ?? 0);
    await tick(); // renewal 1: replaces the first certificate
    // A stale copy of the record (a restore from backup, say) still names the first one.
    const renewed = await get('replaced');
    await records.put(
      {
        ...renewed,
        ari: { ...(renewed.ari ?? { checkAt: 0, failures: 0 }), certId: first.ari?.certId ?? '' },
        forceRenewal: { reason: 'test', requestedAt: clock.now() },
        nextAttemptAt: clock.now(),
      },
      renewed.version,
    );
    const report = await tick();
    expect(report.counts.issued).toBe(1);
    const orders = fixture()
      .front.orders()
      .filter((o) => o.identifiers.includes(name));
    expect(orders.map((o) => [o.status, o.replaces, o.refusal?.type])).toEqual([
      ['valid', undefined, undefined],
      ['valid', first.ari?.certId, undefined],
      ['refused', first.ari?.certId, 'urn:ietf:params:acme:error:alreadyReplaced'],
      ['valid', undefined, undefined],
    ]);
  });
});
