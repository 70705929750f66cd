import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbControlRecords } from '../../src/adapters/dynamodb/dynamodb-control-records.js';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { MemoryControlRecords } from '../../src/adapters/memory/memory-control-records.js';
import { CertloopError } from '../../src/core/errors.js';
import type { ControlRecords } from '../../src/ports/control-records.js';
import { type DynaliteEnv, freshTableName, useDynaliteEnv } from '../support/aws-env.js';
import { aRecord } from '../support/record-builder.js';

function describeControlRecordsContract(name: string, setup: () => Promise<ControlRecords>) {
  describe(`ControlRecords contract: ${name}`, () => {
    it('reads nothing for a name never written, then what was written, at version 1', async () => {
      const control = await setup();
      expect(await control.get('cursor')).toBeUndefined();
      expect(await control.put('cursor', { nextFreeSlot: 42, note: 'x' }, undefined)).toBe(1);
      expect(await control.get('cursor')).toEqual({
        value: { nextFreeSlot: 42, note: 'x' },
        version: 1,
      });
    });

    it('writes only on the expected version and changes nothing on a conflict', async () => {
      const control = await setup();
      await control.put('rotation', { target: 'a' }, undefined);
      await expect(control.put('rotation', { target: 'b' }, undefined)).rejects.toMatchObject({
        kind: 'conflict',
      });
      expect(await control.put('rotation', { target: 'b' }, 1)).toBe(2);
      const stale = control.put('rotation', { target: 'c' }, 1);
      await expect(stale).rejects.toBeInstanceOf(CertloopError);
      expect(await control.get('rotation')).toEqual({ value: { target: 'b' }, version: 2 });
    });

    it('lets exactly one of ten concurrent writers win a version', async () => {
      const control = await setup();
      await control.put('race', { n: 0 }, undefined);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, n) => control.put('race', { n }, 1)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });
  });
}

describeControlRecordsContract('MemoryControlRecords', async () => new MemoryControlRecords());

let dynalite: DynaliteEnv;
beforeAll(async () => {
  dynalite = await useDynaliteEnv();
});
afterAll(async () => {
  await dynalite?.teardown();
});

describeControlRecordsContract('DynamoDbControlRecords on dynalite', async () => {
  const tableName = freshTableName('control');
  await ensureTable(dynalite.client, tableName);
  return new DynamoDbControlRecords({ client: dynalite.client, tableName });
});

describe('control documents next to certificate records', () => {
  it('never show in the certificate listing or the due index', async () => {
    const tableName = freshTableName('mixed');
    await ensureTable(dynalite.client, tableName);
    const control = new DynamoDbControlRecords({ client: dynalite.client, tableName });
    const records = new DynamoDbRecordStore({ client: dynalite.client, tableName });
    await records.create(aRecord({ id: 'web', nextAttemptAt: 1 }));
    await control.put('renewal-budget', { nextFreeSlot: 1 }, undefined);
    expect((await records.list()).map((r) => r.id)).toEqual(['web']);
    expect((await records.findDue(Date.UTC(2030, 0, 1), 10)).map((r) => r.id)).toEqual(['web']);
  });
});
