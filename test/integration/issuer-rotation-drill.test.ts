import { describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { MemoryControlRecords } from '../../src/adapters/memory/memory-control-records.js';
import { MemoryDns01Solver } from '../../src/adapters/memory/memory-dns01-solver.js';
import { MemoryRecordStore } from '../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import type { RotationState } from '../../src/core/issuer-rotation.js';
import { MINUTE } from '../../src/core/time.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import { reconcileIssuer } from '../../src/services/reconcile-issuer.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import { engineTick } from '../support/engine-tick.js';
import { FakeAcmeCa } from '../support/fake-acme-ca.js';
import { intercept } from '../support/faults.js';
import { ManualClock, seededRandom } from '../support/manual-clock.js';
import { silentLogger } from '../support/test-loggers.js';

describe('issuer rotation of 200 certificates in batches of 30 (manual clock)', () => {
  it('converges A -> B with visible progress, restarts toward C when the target changes mid-way, and never issues a record twice for one target', {
    timeout: 120_000,
  }, async () => {
    const clock = new ManualClock();
    const records = new MemoryRecordStore();
    const control = new MemoryControlRecords();
    const cas = {
      a: new FakeAcmeCa(clock, undefined, 'CA A'),
      b: new FakeAcmeCa(clock, undefined, 'CA B'),
      c: new FakeAcmeCa(clock, undefined, 'CA C'),
    };
    const ordersFor = new Map<string, Map<string, number>>();
    const counted = (name: keyof typeof cas) =>
      intercept(cas[name], {
        placeOrder: (real, request) => {
          const perCa = ordersFor.get(name) ?? new Map<string, number>();
          const key = request.domains.join(' ');
          perCa.set(key, (perCa.get(key) ?? 0) + 1);
          ordersFor.set(name, perCa);
          return real.placeOrder(request);
        },
      });
    const issuers = { a: counted('a'), b: counted('b'), c: counted('c') };
    const policy = { allowedSuffixes: ['example.com'], maxNames: 100 };
    const issuance: IssuanceDeps = {
      records,
      secrets: new MemorySecretStore(),
      issuers: (name) => issuers[name as keyof typeof issuers],
      dns: new MemoryDns01Solver(),
      keys: new NodeKeyFactory(),
      clock,
      logger: silentLogger,
      random: seededRandom(3),
      policy,
      owner: 'drill',
      leaseMs: 15 * MINUTE,
      concurrency: 25,
      ariCertificateId: ariCertificateIdOf,
    };
    const registration = {
      records,
      clock,
      logger: silentLogger,
      policy,
      issuerNames: ['a', 'b', 'c'],
      defaultIssuer: 'a',
    };
    for (let i = 0; i < 200; i++)
      await registerCertificate(registration, {
        id: `cert-${String(i).padStart(3, '0')}`,
        domains: [`h${i}.example.com`],
      });
    expect((await engineTick(issuance, { batchSize: 250, maxRecords: 500 })).counts.issued).toBe(
      200,
    );

    // The deployment's default issuer changes to B: a sweep must not move anything by itself.
    for (let i = 0; i < 200; i++) {
      await registerCertificate(
        { ...registration, defaultIssuer: 'b' },
        { id: `cert-${String(i).padStart(3, '0')}`, domains: [`h${i}.example.com`] },
      );
    }
    expect((await records.list()).every((r) => r.issuer === 'a')).toBe(true);

    // The issuers' identities (unchanged here; certificates are not stamped in this drill).
    const identities = {
      a: 'https://a.test/directory',
      b: 'https://b.test/directory',
      c: 'https://c.test/directory',
    };
    const progress: RotationState[] = [];
    const step = async (target: string) => {
      progress.push(
        await reconcileIssuer(
          { records, control, clock, logger: silentLogger },
          target,
          30,
          identities,
        ),
      );
      clock.advance(MINUTE);
      await engineTick(issuance, { batchSize: 250, maxRecords: 500 });
    };
    while ((progress.at(-1)?.converged ?? 0) < 90) await step('b');
    const onB = (await records.list()).filter((r) => r.current?.issuer === 'b').length;
    expect(onB).toBeGreaterThanOrEqual(90);
    expect(onB).toBeLessThan(200);
    for (const state of progress) expect(state).toMatchObject({ target: 'b', total: 200 });
    expect(progress.map((s) => s.converged)).toEqual(
      [...progress.map((s) => s.converged)].sort((x, y) => x - y),
    );

    const before = progress.length;
    for (let i = 0; i < 20 && progress.at(-1)?.completedAt === undefined; i++) await step('c');
    const toC = progress.slice(before);
    expect(toC[0]).toMatchObject({ target: 'c', converged: 0, total: 200 });
    expect(toC.at(-1)).toMatchObject({ target: 'c', converged: 200, total: 200 });
    expect(toC.at(-1)?.completedAt).toBeDefined();

    const all = await records.list();
    expect(all.every((r) => r.current?.issuer === 'c' && r.status === 'active')).toBe(true);
    for (const ca of ['b', 'c']) {
      for (const count of ordersFor.get(ca)?.values() ?? []) expect(count).toBe(1);
    }
    expect(ordersFor.get('c')?.size).toBe(200);
    // Once complete, a step reads only the control document.
    const listed = records.list.bind(records);
    let listings = 0;
    records.list = async () => {
      listings += 1;
      return listed();
    };
    await reconcileIssuer({ records, control, clock, logger: silentLogger }, 'c', 30, identities);
    expect(listings).toBe(0);
  });
});
