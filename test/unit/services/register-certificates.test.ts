import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { shardFor } from '../../../src/core/certificate-record.js';
import {
  type RegistrationDeps,
  registerCertificate,
} from '../../../src/services/register-certificates.js';
import { ManualClock } from '../../support/manual-clock.js';
import { silentLogger } from '../../support/test-loggers.js';

describe('registerCertificate', () => {
  let deps: RegistrationDeps;
  let records: MemoryRecordStore;
  let clock: ManualClock;

  beforeEach(() => {
    records = new MemoryRecordStore();
    clock = new ManualClock();
    deps = {
      records,
      clock,
      logger: silentLogger,
      policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
      issuerNames: ['default', 'staging'],
      defaultIssuer: 'default',
    };
  });

  it('creates a pending record scheduled now, with normalized sorted names and the defaults', async () => {
    expect(
      await registerCertificate(deps, {
        id: 'web',
        domains: ['WWW.shop.example.test', 'example.test'],
        wildcards: ['example.test'],
      }),
    ).toBe('created');
    expect(await records.get('web')).toMatchObject({
      status: 'pending',
      domains: ['*.example.test', 'example.test', 'www.shop.example.test'],
      keyType: 'ec-p256',
      issuer: 'default',
      nextAttemptAt: clock.now(),
      shard: shardFor('web'),
      failures: 0,
      version: 1,
    });
  });

  it('leaves an unchanged registration alone (no write, no reschedule)', async () => {
    await registerCertificate(deps, { id: 'web', domains: ['a.example.test'] });
    clock.advance(60_000);
    expect(await registerCertificate(deps, { id: 'web', domains: ['A.example.test.'] })).toBe(
      'unchanged',
    );
    expect((await records.get('web'))?.version).toBe(1);
  });

  it('schedules a changed registration now and resets its backoff', async () => {
    await registerCertificate(deps, { id: 'web', domains: ['a.example.test'] });
    const stored = await records.get('web');
    if (!stored) throw new Error('missing');
    await records.put(
      {
        ...stored,
        status: 'failing',
        failures: 4,
        nextAttemptAt: clock.now() + 3_600_000,
        lastError: { message: 'x', kind: 'transient', at: 1 },
      },
      stored.version,
    );
    clock.advance(60_000);
    expect(
      await registerCertificate(deps, {
        id: 'web',
        domains: ['a.example.test', 'b.example.test'],
        keyType: 'rsa-2048',
      }),
    ).toBe('updated');
    const record = await records.get('web');
    expect(record).toMatchObject({
      status: 'pending',
      failures: 0,
      nextAttemptAt: clock.now(),
      keyType: 'rsa-2048',
      domains: ['a.example.test', 'b.example.test'],
    });
    expect(record?.lastError).toBeUndefined();
  });

  it.each([
    [
      'an unknown key type',
      { keyType: 'ed25519' },
      /key type "ed25519" is not one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096/,
    ],
    [
      'an unknown issuer',
      { issuer: 'prod' },
      /issuer "prod" is not configured; known issuers: default, staging/,
    ],
    ['a malformed profile name', { profile: 'short lived!' }, /not a valid ACME profile name/],
  ])('makes a registration with %s invalid and unscheduled', async (_sentence, change, message) => {
    expect(
      await registerCertificate(deps, { id: 'web', domains: ['a.example.test'], ...change }),
    ).toBe('invalid');
    const record = await records.get('web');
    expect(record?.status).toBe('invalid');
    expect(record?.statusMessage).toMatch(message);
    expect(record?.nextAttemptAt).toBeUndefined();
  });

  it('turns a valid record invalid when its request goes bad, and back when it is fixed', async () => {
    await registerCertificate(deps, { id: 'web', domains: ['a.example.test'] });
    expect(await registerCertificate(deps, { id: 'web', domains: ['a.example.com'] })).toBe(
      'invalid',
    );
    expect((await records.get('web'))?.nextAttemptAt).toBeUndefined();
    expect(await registerCertificate(deps, { id: 'web', domains: ['a.example.com'] })).toBe(
      'stillInvalid',
    );
    expect((await records.get('web'))?.version).toBe(2);
    clock.advance(1000);
    expect(await registerCertificate(deps, { id: 'web', domains: ['a.example.test'] })).toBe(
      'updated',
    );
    expect(await records.get('web')).toMatchObject({
      status: 'pending',
      nextAttemptAt: clock.now(),
    });
  });

  it('keeps a concurrent change: a registration racing another write retries on the newer version', async () => {
    await registerCertificate(deps, { id: 'web', domains: ['a.example.test'] });
    const results = await Promise.all([
      registerCertificate(deps, { id: 'web', domains: ['b.example.test'] }),
      registerCertificate(deps, { id: 'web', domains: ['b.example.test'] }),
    ]);
    expect(results.sort()).toEqual(['unchanged', 'updated']);
    expect((await records.get('web'))?.domains).toEqual(['b.example.test']);
  });
});
