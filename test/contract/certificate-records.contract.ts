import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type CertificateRecord,
  DUE_INDEX_SHARDS,
  type IssuedCertificate,
  shardFor,
} from '../../src/core/certificate-record.js';
import { CertloopError } from '../../src/core/errors.js';
import type { DueClass } from '../../src/core/issuance-checks.js';
import { issuedBy, NOT_ISSUED, UNSTAMPED } from '../../src/core/issuer-rotation.js';
import { DAY, HOUR, MINUTE } from '../../src/core/time.js';
import type { CertificateRecordStore, DueRecordRef } from '../../src/ports/certificate-records.js';
import { aFullRecord, aRecord } from '../support/record-builder.js';

/** What a due record of the default builder (no certificate yet) asks of the CA. */
const NEW_ORDER = { dueClass: 'order', issuer: 'default' } as const;

export interface RecordStoreUnderTest {
  store: CertificateRecordStore;
  teardown(): Promise<void>;
}

/** "Now" for every test: fixed, never the wall clock. */
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const LEASE_MS = 5 * MINUTE;

/**
 * The shared suite of the CertificateRecordStore contract (src/ports/certificate-records.ts).
 * `setup` runs before every test and must return an empty store.
 */
export function describeCertificateRecordStoreContract(
  name: string,
  setup: () => Promise<RecordStoreUnderTest>,
): void {
  describe(`${name} (CertificateRecordStore contract)`, () => {
    let subject: RecordStoreUnderTest | undefined;
    let store: CertificateRecordStore;

    beforeEach(async () => {
      subject = await setup();
      store = subject.store;
    });

    afterEach(async () => {
      await subject?.teardown();
      subject = undefined;
    });

    describe('get and create', () => {
      it('returns undefined for an id it does not hold', async () => {
        expect(await store.get('secret/missing.example.test')).toBeUndefined();
      });

      it('stores version 1 on create and reads back every field, nested optional ones included', async () => {
        const full = aFullRecord();
        const created = await store.create(full);
        expect(created).toStrictEqual({ ...full, version: 1 });
        expect(await store.get(full.id)).toStrictEqual({ ...full, version: 1 });
      });

      it('ignores a version smuggled into create and stores version 1', async () => {
        const record = { ...aRecord(), version: 41 } as Omit<CertificateRecord, 'version'>;
        expect((await store.create(record)).version).toBe(1);
        expect((await store.get(record.id))?.version).toBe(1);
      });

      it('omits optional fields left undefined, at the top and inside nested objects', async () => {
        const full = aFullRecord();
        const { current, order, lastError } = full;
        if (!current || !order || !lastError) throw new Error('aFullRecord lacks nested fields');
        const sparse = aRecord({
          id: 'secret/sparse.example.test',
          profile: undefined,
          statusMessage: undefined,
          renewAt: undefined,
          nextAttemptAt: undefined,
          lease: undefined,
          forceRenewal: undefined,
          current: { ...current, profile: undefined },
          order: { ...order, profile: undefined, expiresAt: undefined },
          lastError: { ...lastError, source: undefined },
        });

        await store.create(sparse);
        const stored = await store.get(sparse.id);

        const { profile: _p, ...currentWithout } = current;
        const { profile: _q, expiresAt: _e, ...orderWithout } = order;
        const { source: _s, ...lastErrorWithout } = lastError;
        expect(stored).toStrictEqual({
          id: sparse.id,
          shard: sparse.shard,
          domains: sparse.domains,
          keyType: sparse.keyType,
          issuer: sparse.issuer,
          status: sparse.status,
          failures: sparse.failures,
          createdAt: sparse.createdAt,
          updatedAt: sparse.updatedAt,
          current: currentWithout,
          order: orderWithout,
          lastError: lastErrorWithout,
          version: 1,
        });
        expect(Object.keys(stored ?? {})).not.toContain('nextAttemptAt');
        expect(Object.keys(stored?.current ?? {})).not.toContain('profile');
        expect(Object.keys(stored?.order ?? {})).not.toContain('expiresAt');
      });

      it('refuses to create an id that exists, and keeps the first record', async () => {
        const first = await store.create(aRecord({ domains: ['first.example.test'] }));

        await expectConflict(store.create(aRecord({ domains: ['second.example.test'] })), first.id);
        expect(await store.get(first.id)).toStrictEqual(first);
      });
    });

    describe('put', () => {
      it('replaces the record and stores expectedVersion + 1, ignoring the version it is given', async () => {
        const created = await store.create(aRecord());
        const changed: CertificateRecord = {
          ...created,
          status: 'active',
          nextAttemptAt: NOW + MINUTE,
          updatedAt: NOW,
          version: 99,
        };

        const put = await store.put(changed, 1);

        expect(put).toStrictEqual({ ...changed, version: 2 });
        expect(await store.get(created.id)).toStrictEqual({ ...changed, version: 2 });
        const again = await store.put({ ...changed, failures: 1 }, 2);
        expect(again.version).toBe(3);
      });

      it('refuses a put whose expected version is stale, and changes nothing', async () => {
        const created = await store.create(aRecord());
        const current = await store.put({ ...created, status: 'active' }, created.version);

        await expectConflict(
          store.put({ ...created, status: 'invalid' }, created.version),
          created.id,
        );
        await expectConflict(store.put({ ...created, status: 'invalid' }, 7), created.id);
        expect(await store.get(created.id)).toStrictEqual(current);
      });

      it('refuses a put for an id it does not hold, and creates nothing', async () => {
        const record: CertificateRecord = { ...aRecord(), version: 1 };

        await expectConflict(store.put(record, 1), record.id);
        await expectConflict(store.put(record, 0), record.id);
        expect(await store.get(record.id)).toBeUndefined();
      });

      it('drops the fields a put leaves out, such as a released lease', async () => {
        const created = await store.create(aFullRecord());
        const { lease: _lease, order: _order, ...withoutLeaseAndOrder } = created;

        const put = await store.put(withoutLeaseAndOrder, created.version);

        const stored = await store.get(created.id);
        expect(stored).toStrictEqual(put);
        expect(Object.keys(stored ?? {})).not.toContain('lease');
        expect(Object.keys(stored ?? {})).not.toContain('order');
        expect(stored?.current).toStrictEqual(created.current);
      });
    });

    describe('acquireLease', () => {
      it('takes a free record: sets the lease, bumps the version and returns the stored record', async () => {
        const created = await store.create(aRecord());

        const leased = await store.acquireLease(created.id, 'worker-a', NOW, LEASE_MS);

        expect(leased).toStrictEqual({
          ...created,
          lease: { owner: 'worker-a', until: NOW + LEASE_MS },
          version: created.version + 1,
          updatedAt: NOW,
        });
        expect(await store.get(created.id)).toStrictEqual(leased);
      });

      it('refuses the lease to another owner and to the same owner while it lives', async () => {
        const created = await store.create(aRecord());
        const leased = await store.acquireLease(created.id, 'worker-a', NOW, LEASE_MS);

        expect(
          await store.acquireLease(created.id, 'worker-b', NOW + MINUTE, LEASE_MS),
        ).toBeUndefined();
        expect(
          await store.acquireLease(created.id, 'worker-a', NOW + MINUTE, LEASE_MS),
        ).toBeUndefined();
        // `until < now` frees it: at exactly `until` the lease still lives.
        expect(
          await store.acquireLease(created.id, 'worker-b', NOW + LEASE_MS, LEASE_MS),
        ).toBeUndefined();
        expect(await store.get(created.id)).toStrictEqual(leased);
      });

      it("hands an expired lease to another owner, and fences the first owner's later put", async () => {
        const created = await store.create(aRecord());
        const first = await store.acquireLease(created.id, 'worker-a', NOW, LEASE_MS);
        if (!first) throw new Error('worker-a should have taken the free lease');
        const later = NOW + LEASE_MS + 1;

        const second = await store.acquireLease(created.id, 'worker-b', later, LEASE_MS);

        expect(second?.lease).toStrictEqual({ owner: 'worker-b', until: later + LEASE_MS });
        expect(second?.version).toBe(first.version + 1);
        await expectConflict(
          store.put({ ...first, status: 'active', lease: undefined }, first.version),
          created.id,
        );
        expect(await store.get(created.id)).toStrictEqual(second);
      });

      it('lets exactly one of 20 concurrent owners take the lease', async () => {
        const created = await store.create(aRecord());
        const owners = Array.from({ length: 20 }, (_, i) => `worker-${i}`);

        const results = await Promise.all(
          owners.map((owner) => store.acquireLease(created.id, owner, NOW, LEASE_MS)),
        );

        const winners = results.filter((result) => result !== undefined);
        expect(winners).toHaveLength(1);
        const stored = await store.get(created.id);
        expect(stored).toStrictEqual(winners[0]);
        expect(stored?.version).toBe(created.version + 1);
        expect(owners).toContain(stored?.lease?.owner);
      });

      it('returns undefined for a missing id, and creates nothing', async () => {
        expect(
          await store.acquireLease('secret/missing.example.test', 'worker-a', NOW, LEASE_MS),
        ).toBeUndefined();
        expect(await store.get('secret/missing.example.test')).toBeUndefined();
        expect(await store.list()).toStrictEqual([]);
      });
    });

    describe('findDue', () => {
      it('tells what each due record will ask of the CA: a renewal information check places no order, a renewal names its predecessor', async () => {
        const current = {
          serial: '0a',
          notBefore: NOW - 60 * DAY,
          notAfter: NOW + 30 * DAY,
          domains: ['a.example.test'],
          keyType: 'ec-p256' as const,
          issuer: 'le',
          issuedAt: NOW - 60 * DAY,
        };
        const ari = { certId: 'aki.0a', checkAt: NOW - MINUTE, failures: 0 };
        await createAll(store, [
          aRecord({
            id: 'secret/check.example.test',
            issuer: 'le',
            status: 'active',
            current,
            renewAt: NOW + DAY,
            ari,
            nextAttemptAt: NOW - MINUTE,
          }),
          aRecord({
            id: 'secret/renew.example.test',
            issuer: 'le',
            status: 'active',
            current,
            renewAt: NOW - HOUR,
            ari: { ...ari, checkAt: NOW + HOUR },
            nextAttemptAt: NOW - HOUR,
          }),
        ]);
        expect(await store.findDue(NOW, 10)).toStrictEqual<DueRecordRef[]>([
          {
            id: 'secret/renew.example.test',
            nextAttemptAt: NOW - HOUR,
            dueClass: 'replacing-order',
            issuer: 'le',
          },
          {
            id: 'secret/check.example.test',
            nextAttemptAt: NOW - MINUTE,
            dueClass: 'no-order',
            issuer: 'le',
          },
        ]);
      });

      it('with classes, returns only due records of those classes, oldest first, at most limit', async () => {
        const current = {
          serial: '0b',
          notBefore: NOW - 60 * DAY,
          notAfter: NOW + 30 * DAY,
          domains: ['a.example.test'],
          keyType: 'ec-p256' as const,
          issuer: 'le',
          issuedAt: NOW - 60 * DAY,
        };
        const ari = { certId: 'aki.0b', checkAt: NOW + HOUR, failures: 0 };
        const firstOrders = Array.from({ length: 30 }, (_, i) =>
          aRecord({ id: `secret/new-${i}.example.test`, nextAttemptAt: NOW - DAY + i }),
        );
        await createAll(store, [
          ...firstOrders,
          aRecord({
            id: 'secret/renew.example.test',
            issuer: 'le',
            status: 'active',
            current,
            renewAt: NOW - HOUR,
            ari,
            nextAttemptAt: NOW - HOUR,
          }),
          aRecord({
            id: 'secret/check.example.test',
            issuer: 'le',
            status: 'active',
            current,
            renewAt: NOW + DAY,
            ari: { ...ari, checkAt: NOW - MINUTE },
            nextAttemptAt: NOW - MINUTE,
          }),
          aRecord({
            id: 'secret/later.example.test',
            issuer: 'le',
            status: 'active',
            current,
            renewAt: NOW + DAY,
            ari: { ...ari, checkAt: NOW + MINUTE },
            nextAttemptAt: NOW + MINUTE,
          }),
        ]);
        const ids = async (limit: number, classes: DueClass[]) =>
          (await store.findDue(NOW, limit, classes)).map((ref) => ref.id);
        expect(await ids(10, ['no-order', 'replacing-order'])).toStrictEqual([
          'secret/renew.example.test',
          'secret/check.example.test',
        ]);
        expect(await ids(1, ['no-order', 'replacing-order'])).toStrictEqual([
          'secret/renew.example.test',
        ]);
        expect(await ids(10, ['no-order'])).toStrictEqual(['secret/check.example.test']);
        expect(await ids(3, ['order'])).toStrictEqual([
          'secret/new-0.example.test',
          'secret/new-1.example.test',
          'secret/new-2.example.test',
        ]);
        expect(await ids(10, [])).toStrictEqual([]);
      });

      it('returns only records with nextAttemptAt <= now, oldest first', async () => {
        await createAll(store, [
          aRecord({ id: 'secret/late.example.test', nextAttemptAt: NOW - MINUTE }),
          aRecord({ id: 'secret/now.example.test', nextAttemptAt: NOW }),
          aRecord({ id: 'secret/future.example.test', nextAttemptAt: NOW + 1 }),
          aRecord({ id: 'secret/oldest.example.test', nextAttemptAt: NOW - 60 * MINUTE }),
          aRecord({ id: 'secret/unscheduled.example.test', status: 'active' }),
        ]);

        expect(await store.findDue(NOW, 10)).toStrictEqual<DueRecordRef[]>([
          { id: 'secret/oldest.example.test', nextAttemptAt: NOW - 60 * MINUTE, ...NEW_ORDER },
          { id: 'secret/late.example.test', nextAttemptAt: NOW - MINUTE, ...NEW_ORDER },
          { id: 'secret/now.example.test', nextAttemptAt: NOW, ...NEW_ORDER },
        ]);
      });

      it('respects the limit across shards, keeping the globally oldest', async () => {
        // Per shard, minutes before NOW: shard 0 holds three of the five oldest.
        const plan: number[][] = [
          [100, 90, 70, 5],
          [95, 40, 3],
          [80, 30],
          [20, 10, 1],
        ];
        expect(plan).toHaveLength(DUE_INDEX_SHARDS);
        const records = plan.flatMap((minutes, shard) =>
          idsInShard(shard, minutes.length).map((id, i) =>
            aRecord({ id, nextAttemptAt: NOW - (minutes[i] ?? 0) * MINUTE }),
          ),
        );
        await createAll(store, records);
        const byAge = records
          .map((r) => ({ id: r.id, nextAttemptAt: r.nextAttemptAt ?? 0, ...NEW_ORDER }))
          .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);

        const due = await store.findDue(NOW, 5);

        expect(due).toStrictEqual(byAge.slice(0, 5));
        expect(new Set(due.map((ref) => shardFor(ref.id)))).toEqual(new Set([0, 1, 2]));
        expect(await store.findDue(NOW, 1)).toStrictEqual(byAge.slice(0, 1));
        expect(await store.findDue(NOW, 100)).toStrictEqual(byAge);
      });

      it('never returns records without nextAttemptAt, such as invalid ones', async () => {
        await createAll(store, [
          aRecord({ id: 'secret/invalid-1.example.test', status: 'invalid' }),
          aRecord({ id: 'secret/invalid-2.example.test', status: 'invalid', failures: 3 }),
          aRecord({ id: 'secret/active.example.test', status: 'active' }),
        ]);

        expect(await store.findDue(Number.MAX_SAFE_INTEGER, 10)).toStrictEqual([]);
      });

      it('reflects a put that removes or moves nextAttemptAt', async () => {
        const due = await store.create(
          aRecord({ id: 'secret/due.example.test', nextAttemptAt: NOW - MINUTE }),
        );
        const moved = await store.create(
          aRecord({ id: 'secret/moved.example.test', nextAttemptAt: NOW - 2 * MINUTE }),
        );
        expect((await store.findDue(NOW, 10)).map((ref) => ref.id)).toStrictEqual([
          moved.id,
          due.id,
        ]);

        const { nextAttemptAt: _removed, ...unscheduled } = due;
        await store.put({ ...unscheduled, status: 'invalid' }, due.version);
        await store.put({ ...moved, nextAttemptAt: NOW + MINUTE }, moved.version);

        expect(await store.findDue(NOW, 10)).toStrictEqual([]);
        expect(await store.findDue(NOW + MINUTE, 10)).toStrictEqual([
          { id: moved.id, nextAttemptAt: NOW + MINUTE, ...NEW_ORDER },
        ]);
      });

      it('returns nothing for a limit below 1', async () => {
        await store.create(aRecord({ nextAttemptAt: NOW - MINUTE }));

        expect(await store.findDue(NOW, 0)).toStrictEqual([]);
        expect(await store.findDue(NOW, 1)).toHaveLength(1);
      });
    });

    describe('findIssuedBy and countIssuedBy', () => {
      const X = 'https://x.example.test/directory';
      const Y = 'https://y.example.test/directory';
      const issued = (id: string, identity: string | undefined, extra = {}) =>
        aRecord({
          id,
          status: 'active',
          current: {
            serial: `serial-${id}`,
            notBefore: NOW - DAY,
            notAfter: NOW + 89 * DAY,
            domains: ['a.example.test'],
            keyType: 'ec-p256',
            issuer: 'default',
            ...(identity !== undefined ? { issuerIdentity: identity } : {}),
            issuedAt: NOW - DAY,
          },
          nextAttemptAt: NOW + 60 * DAY,
          ...extra,
        });

      it('finds the records an issuer identity issued, at most limit, and counts them all', async () => {
        const onX = Array.from({ length: 7 }, (_, i) => `secret/x-${i}.example.test`);
        for (const id of onX) await store.create(issued(id, X));
        await store.create(issued('secret/y.example.test', Y));
        await store.create(issued('secret/unstamped.example.test', undefined));
        await store.create(issued('secret/pinned.example.test', X, { issuerPinned: true }));

        const key = issuedBy('follows', 'default', X);
        const three = await store.findIssuedBy(key, 3);
        expect(three).toHaveLength(3);
        for (const id of three) expect(onX).toContain(id);
        expect([...(await store.findIssuedBy(key, 50))].sort()).toEqual([...onX].sort());
        expect(await store.countIssuedBy(key)).toBe(7);
        expect(await store.findIssuedBy(issuedBy('follows', 'default', Y), 10)).toEqual([
          'secret/y.example.test',
        ]);
        expect(await store.findIssuedBy(issuedBy('follows', 'default', UNSTAMPED), 10)).toEqual([
          'secret/unstamped.example.test',
        ]);
        expect(await store.countIssuedBy(issuedBy('pinned', 'default', X))).toBe(1);
        expect(await store.countIssuedBy(issuedBy('follows', 'other', X))).toBe(0);
        expect(await store.findIssuedBy(key, 0)).toEqual([]);
      });

      it('moves a record to its new key when a write changes what issued it or marks a switch', async () => {
        const created = await store.create(issued('secret/moving.example.test', X));
        const switched = await store.put(
          { ...created, issuerIdentity: Y, nextAttemptAt: NOW },
          created.version,
        );
        expect(await store.countIssuedBy(issuedBy('follows', 'default', X))).toBe(0);
        expect(await store.findIssuedBy(issuedBy('follows-to', 'default', Y), 5)).toEqual([
          'secret/moving.example.test',
        ]);
        const { issuerIdentity: _marker, ...reissued } = switched;
        await store.put(
          {
            ...reissued,
            current: { ...(switched.current as IssuedCertificate), issuerIdentity: Y },
          },
          switched.version,
        );
        expect(await store.countIssuedBy(issuedBy('follows-to', 'default', Y))).toBe(0);
        expect(await store.countIssuedBy(issuedBy('follows', 'default', Y))).toBe(1);
      });

      it('leaves parked records out, and lists records without a certificate under their issuer', async () => {
        await store.create(issued('secret/invalid.example.test', X, { status: 'invalid' }));
        await store.create(issued('secret/unmanaged.example.test', X, { status: 'unmanaged' }));
        await store.create(aRecord({ id: 'secret/new.example.test', nextAttemptAt: NOW }));
        expect(await store.countIssuedBy(issuedBy('follows', 'default', X))).toBe(0);
        expect(await store.findIssuedBy(issuedBy('follows', 'default', NOT_ISSUED), 5)).toEqual([
          'secret/new.example.test',
        ]);
      });
    });

    describe('list and delete', () => {
      it('lists every record at its current version', async () => {
        const [a, b, c] = await createAll(store, [
          aRecord({ id: 'secret/a.example.test' }),
          aFullRecord({ id: 'secret/b.example.test' }),
          aRecord({ id: 'secret/c.example.test', status: 'invalid' }),
        ]);
        if (!a || !b || !c) throw new Error('three records should have been created');
        const b2 = await store.put({ ...b, status: 'active' }, b.version);

        const listed = await store.list();

        expect([...listed].sort(byId)).toStrictEqual([a, b2, c]);
      });

      it('deletes a record everywhere, and deleting a missing id is harmless', async () => {
        const kept = await store.create(
          aRecord({ id: 'secret/kept.example.test', nextAttemptAt: NOW }),
        );
        const gone = await store.create(
          aRecord({ id: 'secret/gone.example.test', nextAttemptAt: NOW }),
        );

        await store.delete(gone.id);
        await store.delete('secret/never-there.example.test');

        expect(await store.get(gone.id)).toBeUndefined();
        expect(await store.list()).toStrictEqual([kept]);
        expect(await store.findDue(NOW, 10)).toStrictEqual([
          { id: kept.id, nextAttemptAt: NOW, ...NEW_ORDER },
        ]);
        expect(await store.acquireLease(gone.id, 'worker-a', NOW, LEASE_MS)).toBeUndefined();
        // The id is free again.
        expect((await store.create(aRecord({ id: gone.id }))).version).toBe(1);
      });
    });

    it("keeps its state out of callers' reach", async () => {
      const input = aFullRecord();
      const created = await store.create(input);
      const snapshot = structuredClone(created);

      input.domains.push('mutated-input.example.test');
      if (input.current) input.current.serial = 'mutated';
      created.domains.push('mutated-result.example.test');
      created.status = 'invalid';
      const read = await store.get(input.id);
      if (read?.lease) read.lease.owner = 'mutated';
      const listed = await store.list();
      listed[0]?.domains.splice(0);

      expect(await store.get(input.id)).toStrictEqual(snapshot);
    });
  });
}

async function expectConflict(promise: Promise<unknown>, id: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CertloopError);
  expect(error).toMatchObject({ kind: 'conflict' });
  expect((error as CertloopError).message).toContain(id);
}

async function createAll(
  store: CertificateRecordStore,
  records: Omit<CertificateRecord, 'version'>[],
): Promise<CertificateRecord[]> {
  const created: CertificateRecord[] = [];
  for (const record of records) created.push(await store.create(record));
  return created;
}

/** The first `count` ids of the form secret/due-N.example.test that fall in `shard`. */
function idsInShard(shard: number, count: number): string[] {
  const ids: string[] = [];
  for (let n = 0; ids.length < count; n++) {
    const id = `secret/due-${n}.example.test`;
    if (shardFor(id) === shard) ids.push(id);
  }
  return ids;
}

function byId(a: CertificateRecord, b: CertificateRecord): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
