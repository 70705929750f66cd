/**
 * Drill R7, renewal information that fails: pebble behind the ACME front, whose
 * renewalInfo answers one fault at a time: 5xx, 404, a timeout (held until the client
 * gives up), malformed JSON, a window that ends before it starts, a window years away.
 *
 * What it proves, for each: the certificate is issued as usual and the lifetime rule (2/3
 * of the lifetime, minus the stored jitter) stays in force; the record says why ARI is
 * not used; failed checks back off on their own schedule and never count as
 * certificate failures; the certificate renews at its lifetime-rule time, never later
 * than 2/3 of its lifetime + 5 %.
 *
 * Peers: pebble + challtestsrv and the front (src/local/acme-front.ts), the real ACME
 * adapter (renewalInfo timeout 1 s), the issuance service on a manual clock starting at
 * the real time; 90-day certificates. Run: npx vitest run --project drill
 * test/drills/ari-faults.test.ts (about 20 s).
 */
import { describe, expect, it } from 'vitest';
import { MemoryRecordStore } from '../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { ARI_LATEST_EXTRA } from '../../src/core/renewal-info.js';
import { lifetimeRenewalTime } from '../../src/core/renewal-window.js';
import { DAY, HOUR, MINUTE } from '../../src/core/time.js';
import type { RenewalInfoFault } from '../../src/local/acme-front.js';
import { frontIssuance, useAcmeFront } from '../support/acme-front.js';
import { engineTick } from '../support/engine-tick.js';
import { ManualClock } from '../support/manual-clock.js';
import { uniqueLabel } from '../support/pebble.js';
import { aRecord } from '../support/record-builder.js';

const LIFETIME = 90 * DAY;
const FAULTS: Array<[RenewalInfoFault, RegExp]> = [
  ['5xx', /HTTP 5\d\d/],
  ['404', /HTTP 404 \(the CA does not know this certificate\)/],
  ['timeout', /no answer from .* within 1000 ms/],
  ['malformed-json', /is not an RFC 9773 answer/],
  ['end-before-start', /ends before it starts/],
  ['years-away', /after the latest renewal the lifetime allows/],
];

describe('drill R7: renewal information faults leave the lifetime rule in force', () => {
  const fixture = useAcmeFront({ pebble: { certificateValidityPeriod: LIFETIME / 1000 } });

  it.each(FAULTS)(
    'renewalInfo %s: issued, renewed at the lifetime rule, never late',
    async (fault, why) => {
      const f = fixture();
      f.front.setRenewalInfoFault({ fault });
      const clock = new ManualClock(Date.now());
      const records = new MemoryRecordStore();
      const deps = frontIssuance(f, {
        records,
        secrets: new MemorySecretStore(),
        clock,
        owner: 'r7',
        seed: 7,
        ca: { renewalInfoTimeoutMs: 1000 },
      });
      const tick = () => engineTick(deps, { batchSize: 10, maxRecords: 10 });
      const id = `r7-${fault}`;
      await records.create(
        aRecord({ id, domains: [`${uniqueLabel('r7')}.example.test`], nextAttemptAt: clock.now() }),
      );
      const get = async () => (await records.get(id)) as CertificateRecord;

      expect((await tick()).counts.issued).toBe(1);
      const first = await get();
      const current = first.current;
      if (!current || first.renewAt === undefined) throw new Error('not issued');
      const lifetimeRule = lifetimeRenewalTime(current, first.renewJitter ?? 0);
      expect(first.renewalRule).toBe('two-thirds-of-lifetime');
      expect(first.renewAt).toBe(lifetimeRule);
      expect(first.ari?.problem).toMatch(why);
      expect(first.ari?.window).toBeUndefined();
      expect(first.failures).toBe(0);
      expect(first.status).toBe('active');

      // A later check fails the same way: still the lifetime rule, still no failure counted.
      clock.set(first.ari?.checkAt ?? clock.now());
      const check = await tick();
      expect(check.counts.checked).toBe(1);
      const checked = await get();
      expect(checked.renewAt).toBe(lifetimeRule);
      expect(checked.failures).toBe(0);
      expect(checked.ari?.problem).toMatch(why);

      // The renewal comes at the lifetime rule's time, never later than 2/3 + 5 %.
      clock.set(lifetimeRule);
      const renewal = await tick();
      expect(renewal.counts.issued).toBe(1);
      const lifetime = current.notAfter - current.notBefore;
      expect(clock.now()).toBeLessThanOrEqual(
        current.notBefore + lifetime * (2 / 3 + ARI_LATEST_EXTRA),
      );
      expect((await get()).current?.serial).not.toBe(current.serial);
      f.front.setRenewalInfoFault({ fault: 'none' });
    },
    120_000,
  );

  it('after the faults, a good answer moves the renewal into the window (the check recovers)', async () => {
    const f = fixture();
    f.front.setRenewalInfoFault({ fault: '5xx', count: 1 });
    const clock = new ManualClock(Date.now());
    const records = new MemoryRecordStore();
    const deps = frontIssuance(f, {
      records,
      secrets: new MemorySecretStore(),
      clock,
      owner: 'r7-recover',
      seed: 8,
    });
    await records.create(
      aRecord({
        id: 'recover',
        domains: [`${uniqueLabel('r7')}.example.test`],
        nextAttemptAt: clock.now(),
      }),
    );
    await engineTick(deps, { batchSize: 10, maxRecords: 10 });
    const failed = (await records.get('recover')) as CertificateRecord;
    expect(failed.ari?.failures).toBe(1);
    expect(failed.ari?.checkAt).toBe(clock.now() + 5 * MINUTE);
    clock.advance(5 * MINUTE);
    expect((await engineTick(deps, { batchSize: 10, maxRecords: 10 })).counts.checked).toBe(1);
    const recovered = (await records.get('recover')) as CertificateRecord;
    expect(recovered.renewalRule).toBe('ari-suggested-window');
    expect(recovered.ari?.failures).toBe(0);
    expect(recovered.ari?.checkAt).toBe(clock.now() + 6 * HOUR);
  }, 120_000);
});
