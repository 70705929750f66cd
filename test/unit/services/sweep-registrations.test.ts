import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { MemoryRegistrationSource } from '../../../src/adapters/memory/memory-registration-source.js';
import { decideIssuance } from '../../../src/core/issuance-checks.js';
import { DAY } from '../../../src/core/time.js';
import type { RegistrationSource } from '../../../src/ports/registration-source.js';
import {
  type RegistrationDeps,
  registerCertificate,
} from '../../../src/services/register-certificates.js';
import { sweepRegistrations } from '../../../src/services/sweep-registrations.js';
import { ManualClock } from '../../support/manual-clock.js';
import { silentLogger } from '../../support/test-loggers.js';

describe('sweepRegistrations', () => {
  let deps: RegistrationDeps;
  let records: MemoryRecordStore;
  let source: MemoryRegistrationSource;
  let clock: ManualClock;

  beforeEach(() => {
    records = new MemoryRecordStore();
    source = new MemoryRegistrationSource();
    clock = new ManualClock();
    deps = {
      records,
      clock,
      logger: silentLogger,
      policy: { allowedSuffixes: ['example.com'], maxNames: 100 },
      issuerNames: ['default'],
      defaultIssuer: 'default',
    };
  });

  it('stops managing a secret whose certloop:domains tag was removed, and resumes when it comes back', async () => {
    source.tag('arn:web', { 'certloop:domains': 'www.example.com' });
    source.tag('arn:api', { 'certloop:domains': 'api.example.com' });
    expect((await sweepRegistrations(deps, source)).outcomes.created).toBe(2);
    const issued = await records.get('arn:web');
    if (!issued) throw new Error('missing');
    const current = {
      serial: '0A',
      notBefore: clock.now(),
      notAfter: clock.now() + 90 * DAY,
      domains: ['www.example.com'],
      keyType: 'ec-p256' as const,
      issuer: 'default',
      issuedAt: clock.now(),
    };
    await records.put(
      {
        ...issued,
        status: 'active',
        current,
        renewAt: clock.now() + 60 * DAY,
        nextAttemptAt: clock.now() + 60 * DAY,
      },
      issued.version,
    );

    source.tag('arn:web', { team: 'web' }); // the tag is gone
    const report = await sweepRegistrations(deps, source);
    expect(report.unmanaged).toBe(1);
    const parked = await records.get('arn:web');
    expect(parked).toMatchObject({
      status: 'unmanaged',
      statusMessage: expect.stringMatching(/tag was removed/),
      current,
    });
    expect(parked?.nextAttemptAt).toBeUndefined();
    clock.advance(70 * DAY);
    expect(
      decideIssuance(
        { ...(parked as NonNullable<typeof parked>), nextAttemptAt: clock.now() },
        clock.now(),
      ),
    ).toMatchObject({ action: 'skip', reason: 'RecordUnmanaged' });
    expect((await sweepRegistrations(deps, source)).unmanaged).toBe(0);

    source.tag('arn:web', { 'certloop:domains': 'www.example.com' });
    expect((await sweepRegistrations(deps, source)).outcomes.updated).toBe(1);
    expect(await records.get('arn:web')).toMatchObject({
      status: 'active',
      nextAttemptAt: clock.now(),
      current,
    });
  });

  it('never unmanages anything when the listing fails part-way', async () => {
    source.tag('arn:web', { 'certloop:domains': 'www.example.com' });
    source.tag('arn:api', { 'certloop:domains': 'api.example.com' });
    await sweepRegistrations(deps, source);
    const failing: RegistrationSource = {
      async *listRegistered() {
        yield { id: 'arn:web', tags: { 'certloop:domains': 'www.example.com' } };
        throw new Error('ListSecrets throttled');
      },
    };
    await expect(sweepRegistrations(deps, failing)).rejects.toThrow('ListSecrets throttled');
    expect((await records.get('arn:api'))?.status).toBe('pending');
  });

  it('leaves records from the local config file alone', async () => {
    await registerCertificate(deps, {
      id: 'www',
      domains: ['www.example.com'],
      registeredBy: 'config',
    });
    expect((await sweepRegistrations(deps, source)).unmanaged).toBe(0);
    expect((await records.get('www'))?.status).toBe('pending');
  });
});
