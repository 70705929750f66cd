import { describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../../src/adapters/crypto/node-key-factory.js';
import { MemoryDns01Solver } from '../../../src/adapters/memory/memory-dns01-solver.js';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../../src/adapters/memory/memory-secret-store.js';
import { MINUTE } from '../../../src/core/time.js';
import { type IssuanceDeps, issueCertificates } from '../../../src/services/issue-certificates.js';
import { FakeAcmeCa } from '../../support/fake-acme-ca.js';
import { ManualClock } from '../../support/manual-clock.js';
import { aRecord } from '../../support/record-builder.js';
import { silentLogger } from '../../support/test-loggers.js';

/** The fake CA, remembering the profile of every order placed. */
class ProfileRecordingCa extends FakeAcmeCa {
  readonly orderedProfiles: Array<string | undefined> = [];

  override placeOrder(request: { domains: string[]; replaces?: string; profile?: string }) {
    this.orderedProfiles.push(request.profile);
    return super.placeOrder(request);
  }
}

async function setUp(recordProfile?: string) {
  const clock = new ManualClock();
  const records = new MemoryRecordStore();
  const ca = new ProfileRecordingCa(clock);
  await records.create(
    aRecord({
      id: 'web',
      domains: ['web.example.test'],
      nextAttemptAt: clock.now(),
      ...(recordProfile ? { profile: recordProfile } : {}),
    }),
  );
  const deps: IssuanceDeps = {
    records,
    secrets: new MemorySecretStore(),
    issuers: (name) => (name === 'default' ? ca : undefined),
    issuerProfile: (name) => (name === 'default' ? 'tlsserver' : undefined),
    dns: new MemoryDns01Solver(),
    keys: new NodeKeyFactory(),
    clock,
    logger: silentLogger,
    random: () => 0.5,
    policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
    owner: 'unit',
    leaseMs: 5 * MINUTE,
    concurrency: 1,
    ariCertificateId: ariCertificateIdOf,
  };
  return { clock, records, ca, deps };
}

describe("the issuer's default profile", () => {
  it('orders a record that names no profile with it, and schedules no re-issue after', async () => {
    const { clock, records, ca, deps } = await setUp();

    const [first] = await issueCertificates(deps, ['web']);
    expect(first).toMatchObject({ outcome: 'issued', reason: 'NoCertificateYet' });
    expect(ca.orderedProfiles).toEqual(['tlsserver']);
    const issued = await records.get('web');
    if (!issued) throw new Error('the record is gone');
    expect(issued.current?.profile).toBe('tlsserver');
    // The record keeps naming no profile: the issuer's default is applied, not stored.
    expect(issued.profile).toBeUndefined();

    // Looked at again (due now): up to date, not "profile changed".
    await records.put({ ...issued, nextAttemptAt: clock.now() }, issued.version);
    const [second] = await issueCertificates(deps, ['web']);
    expect(second).toMatchObject({ outcome: 'rescheduled', reason: 'CertificateUpToDate' });
    expect(ca.orderedProfiles).toEqual(['tlsserver']);
  });

  it("orders a record's own profile (certloop:profile) over the issuer's", async () => {
    const { ca, deps, records } = await setUp('shortlived');
    await issueCertificates(deps, ['web']);
    expect(ca.orderedProfiles).toEqual(['shortlived']);
    expect((await records.get('web'))?.current?.profile).toBe('shortlived');
  });
});
