/**
 * Importing into ACM (`certloop:acm`) through the real services on a manual clock: the
 * in-process CA (test/support/fake-acme-ca.ts), the real key factory, X.509 checks and
 * record logic, the in-memory stores and the in-memory certificate manager (which runs
 * the same contract as the ACM adapter on moto: test/contract/certificate-importer.test.ts).
 *
 * What it proves: a tagged certificate reaches ACM and every renewal is re-imported into
 * the same ARN; tagging an up-to-date certificate imports it without a new order; an ACM
 * failure never costs an issuance or a second order and never stops renewals; a crash
 * between recording the certificate and importing it leaves the import owed.
 */
import { X509Certificate } from 'node:crypto';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderStatusTable } from '../../cli/status-table.js';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { MemoryCertificateImporter } from '../../src/adapters/memory/memory-certificate-importer.js';
import { MemoryDns01Solver } from '../../src/adapters/memory/memory-dns01-solver.js';
import { MemoryRecordStore } from '../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import { sameSerial } from '../../src/core/acm-import.js';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { CertloopError } from '../../src/core/errors.js';
import { DAY, MINUTE } from '../../src/core/time.js';
import type { CertificateImporter } from '../../src/ports/certificate-importer.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import {
  type RegistrationDeps,
  registerCertificate,
} from '../../src/services/register-certificates.js';
import { engineTick } from '../support/engine-tick.js';
import { FakeAcmeCa } from '../support/fake-acme-ca.js';
import { ManualClock, seededRandom } from '../support/manual-clock.js';
import { silentLogger } from '../support/test-loggers.js';

const ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tls/www-Ab12Cd';
const EXISTING_ARN =
  'arn:aws:acm:us-east-1:000000000000:certificate/5e1f0000-0000-4000-8000-000000000001';
const LEASE_MS = 15 * MINUTE;

function world(options: { acm?: CertificateImporter | 'none' } = {}) {
  const clock = new ManualClock();
  const records = new MemoryRecordStore();
  const secrets = new MemorySecretStore();
  const ca = new FakeAcmeCa(clock);
  const importer = new MemoryCertificateImporter();
  const acm = options.acm === 'none' ? undefined : (options.acm ?? importer);
  const policy = { allowedSuffixes: ['example.test'], maxNames: 100 };
  const issuance: IssuanceDeps = {
    records,
    secrets,
    issuers: () => ca,
    dns: new MemoryDns01Solver(),
    keys: new NodeKeyFactory(),
    clock,
    logger: silentLogger,
    random: seededRandom(7),
    policy,
    owner: 'acm-test',
    leaseMs: LEASE_MS,
    concurrency: 4,
    ariCertificateId: ariCertificateIdOf,
    ...(acm ? { acm } : {}),
  };
  const registration: RegistrationDeps = {
    records,
    clock,
    logger: silentLogger,
    policy,
    issuerNames: ['default'],
    defaultIssuer: 'default',
    acmImport: true,
  };
  const register = (acmTag?: string) =>
    registerCertificate(registration, {
      id: ID,
      registeredBy: 'tags',
      domains: ['www.example.test'],
      ...(acmTag !== undefined ? { acm: acmTag } : {}),
    });
  const tick = async () => {
    const report = await engineTick(issuance, { batchSize: 50, maxRecords: 100 });
    return report.outcomes.find((o) => o.id === ID);
  };
  const record = async () => (await records.get(ID)) as CertificateRecord;
  const secretSerial = async () => (await secrets.readCertificate(ID, 'current'))?.serial;
  return { clock, records, secrets, ca, importer, issuance, register, tick, record, secretSerial };
}

/** The serial of the certificate ACM holds under `arn`, or undefined. */
function acmSerial(importer: MemoryCertificateImporter, arn: string | undefined) {
  const held = arn === undefined ? undefined : importer.get(arn);
  return held?.certificate ? new X509Certificate(held.certificate).serialNumber : undefined;
}

describe('certloop:acm', () => {
  it('imports a new certificate into a new ACM certificate and every renewal into the same ARN', async () => {
    const w = world();
    expect(await w.register('new')).toBe('created');

    expect(await w.tick()).toMatchObject({ outcome: 'issued' });
    const first = await w.record();
    const arn = first.acm?.arn;
    expect(arn).toMatch(/^arn:aws:acm:/);
    expect(first.acm?.importedSerial).toBe(first.current?.serial);
    expect(sameSerial(acmSerial(w.importer, arn) ?? '', first.current?.serial ?? '-')).toBe(true);
    expect(first.nextAttemptAt).toBe(first.renewAt);
    expect(first.lease).toBeUndefined();

    w.clock.set((first.renewAt as number) + MINUTE);
    expect(await w.tick()).toMatchObject({ outcome: 'issued', reason: 'RenewalTimeReached' });
    const second = await w.record();
    expect(second.current?.serial).not.toBe(first.current?.serial);
    expect(second.acm).toEqual({ target: 'new', arn, importedSerial: second.current?.serial });
    expect(sameSerial(acmSerial(w.importer, arn) ?? '', second.current?.serial ?? '-')).toBe(true);
    expect(w.importer.all()).toHaveLength(1);
    expect(w.importer.get(arn as string)?.imports).toBe(2);
    expect(w.ca.orderTimes).toHaveLength(2);
  });

  it('imports an up-to-date certificate when the tag is added, without a new order', async () => {
    const w = world();
    await w.register();
    expect(await w.tick()).toMatchObject({ outcome: 'issued' });
    const issued = await w.record();

    w.importer.addExisting(EXISTING_ARN);
    w.clock.advance(DAY);
    expect(await w.register(EXISTING_ARN)).toBe('updated');
    expect(await w.tick()).toMatchObject({
      outcome: 'imported',
      reason: 'AcmImportPending',
      serial: issued.current?.serial,
      nextAttemptAt: issued.renewAt,
    });
    expect(w.ca.orderTimes).toHaveLength(1);
    const after = await w.record();
    expect(after.acm).toEqual({
      target: EXISTING_ARN,
      arn: EXISTING_ARN,
      importedSerial: issued.current?.serial,
    });
    expect(after.nextAttemptAt).toBe(issued.renewAt);
    expect(
      sameSerial(acmSerial(w.importer, EXISTING_ARN) ?? '', issued.current?.serial ?? '-'),
    ).toBe(true);

    // The next tick has nothing to do: the record is not due until its renewal time.
    expect(await w.tick()).toBeUndefined();
    // Re-tagging with the same value changes nothing; removing the tag stops the imports.
    expect(await w.register(EXISTING_ARN)).toBe('unchanged');
    expect(await w.register()).toBe('updated');
    expect((await w.record()).acm).toBeUndefined();
  });

  it('keeps the ACM certificate it made through a broken tag, so fixing the tag finds the same ARN', async () => {
    const w = world();
    await w.register('new');
    await w.tick();
    const arn = (await w.record()).acm?.arn;
    expect(arn).toBeDefined();

    expect(await w.register('neww')).toBe('invalid');
    const broken = await w.record();
    expect(broken.status).toBe('invalid');
    expect(broken.statusMessage).toMatch(
      /tag "certloop:acm" is "neww"; it must be "new" or the ARN/,
    );
    expect(broken.acm?.arn).toBe(arn);

    expect(await w.register('new')).toBe('updated');
    expect((await w.record()).acm).toEqual({
      target: 'new',
      arn,
      importedSerial: broken.current?.serial,
    });
    expect(await w.tick()).toMatchObject({ outcome: 'rescheduled', reason: 'CertificateUpToDate' });
    expect(w.importer.all()).toHaveLength(1);
  });

  it('keeps the issued certificate when ACM refuses the import, backs off, and the retry imports without a new order', async () => {
    const w = world();
    await w.register('new');
    w.importer.failNext(
      1,
      new CertloopError('permanent', 'ACM import was denied (AccessDeniedException)', {
        source: 'acm',
      }),
    );
    const failed = await w.tick();
    expect(failed).toMatchObject({ outcome: 'failed' });
    expect(failed?.detail).toMatch(
      /^certificate \S+ was issued and published to the secret; ACM import was denied \(AccessDeniedException\) The secret holds the current certificate; the import is tried again with backoff\.$/,
    );
    const record = await w.record();
    expect(record.status).toBe('failing');
    expect(record.failures).toBe(1);
    expect(record.lastError?.source).toBe('acm');
    expect(record.order).toBeUndefined();
    expect(record.lease).toBeUndefined();
    expect(await w.secretSerial()).toBe(record.current?.serial);
    expect(record.acm).toEqual({ target: 'new' });
    expect(record.nextAttemptAt).toBeGreaterThan(w.clock.now());
    expect(record.nextAttemptAt).toBeLessThan(record.renewAt as number);

    w.clock.set(record.nextAttemptAt as number);
    expect(await w.tick()).toMatchObject({ outcome: 'imported', serial: record.current?.serial });
    const healed = await w.record();
    expect(healed).toMatchObject({ status: 'active', failures: 0, nextAttemptAt: record.renewAt });
    expect(healed.lastError).toBeUndefined();
    expect(healed.acm?.importedSerial).toBe(record.current?.serial);
    expect(w.ca.orderTimes).toHaveLength(1);
  });

  it('backs off an import-only step that ACM refuses, and keeps the certificate and the record as they were', async () => {
    const w = world();
    await w.register();
    await w.tick();
    const issued = await w.record();
    const missing =
      'arn:aws:acm:us-east-1:000000000000:certificate/deadbeef-0000-4000-8000-000000000000';
    expect(await w.register(missing)).toBe('updated');

    const outcome = await w.tick();
    expect(outcome).toMatchObject({ outcome: 'failed' });
    expect(outcome?.detail).toContain(`ACM certificate ${missing} does not exist`);
    const failing = await w.record();
    expect(failing).toMatchObject({ status: 'failing', failures: 1 });
    expect(failing.current).toEqual(issued.current);
    expect(failing.acm).toEqual({ target: missing, arn: missing });
    expect(failing.nextAttemptAt).toBeLessThan(issued.renewAt as number);
    expect(w.ca.orderTimes).toHaveLength(1);
    expect(await w.secretSerial()).toBe(issued.current?.serial);

    // Once the certificate exists, the next attempt imports into it, still without an order.
    w.importer.addExisting(missing);
    w.clock.set(failing.nextAttemptAt as number);
    expect(await w.tick()).toMatchObject({ outcome: 'imported' });
    expect(w.ca.orderTimes).toHaveLength(1);
  });

  it('defers the import without counting a failure when ACM is throttled', async () => {
    const w = world();
    await w.register('new');
    w.importer.failNext(
      1,
      new CertloopError('infrastructure', 'ACM is throttled (ThrottlingException)', {
        source: 'acm',
      }),
    );
    expect(await w.tick()).toMatchObject({ outcome: 'deferred' });
    const record = await w.record();
    expect(record.failures).toBe(0);
    expect(record.nextAttemptAt).toBe(w.clock.now() + MINUTE);

    w.clock.advance(MINUTE);
    expect(await w.tick()).toMatchObject({ outcome: 'imported' });
    expect(w.ca.orderTimes).toHaveLength(1);
  });

  it('leaves the import owed when the worker dies between recording the certificate and importing it', async () => {
    let snapshot: CertificateRecord | undefined;
    let table: MemoryRecordStore | undefined;
    // The worker "dies" inside the import call: what the table holds at that moment is
    // what a crash leaves behind.
    const dying: CertificateImporter = {
      importCertificate: async () => {
        snapshot = await table?.get(ID);
        throw new Error('worker killed');
      },
    };
    const doomed = world({ acm: dying });
    table = doomed.records;
    await doomed.register('new');
    await doomed.tick();
    expect(snapshot?.current?.serial).toBeDefined();
    expect(snapshot?.lease?.owner).toBe('acm-test');
    expect(snapshot?.nextAttemptAt).toBe(doomed.clock.now() + LEASE_MS);
    expect(snapshot?.lease?.until).toBe(doomed.clock.now() + LEASE_MS);

    // A fresh table holding only the snapshot, the same secret store, a healthy worker.
    const survivor = new MemoryRecordStore();
    const { version: _version, ...stored } = snapshot as CertificateRecord;
    await survivor.create(stored);
    const healthy = new MemoryCertificateImporter();
    const deps: IssuanceDeps = { ...doomed.issuance, records: survivor, acm: healthy };
    const tick = async () =>
      (await engineTick(deps, { batchSize: 10, maxRecords: 10 })).outcomes.find((o) => o.id === ID);

    expect(await tick()).toBeUndefined();
    // Due when the dead worker's lease ends; the next planner run after that picks it up.
    doomed.clock.advance(LEASE_MS);
    expect(await tick()).toMatchObject({ outcome: 'busy' });
    doomed.clock.advance(MINUTE);
    expect(await tick()).toMatchObject({ outcome: 'imported', serial: snapshot?.current?.serial });
    expect(doomed.ca.orderTimes).toHaveLength(1);
    expect(healthy.all()).toHaveLength(1);
  });

  it('fails with a clear reason, after issuing, in a deployment that does not import into ACM', async () => {
    const w = world({ acm: 'none' });
    await w.register('new');
    const outcome = await w.tick();
    expect(outcome).toMatchObject({ outcome: 'failed' });
    expect(outcome?.detail).toMatch(
      /was issued and published to the secret; the record asks for an ACM import \(certloop:acm\) but this deployment does not import into ACM; deploy it with acmImport enabled, or remove the tag/,
    );
    expect(await w.secretSerial()).toBe((await w.record()).current?.serial);
  });

  it('shows in certloop status where each certificate is in ACM, and when an import is owed', async () => {
    const w = world();
    await w.register('new');
    expect(renderStatusTable([await w.record()], w.clock.now())).toContain(
      'ACM: new, not imported yet',
    );
    await w.tick();
    const imported = await w.record();
    const arn = imported.acm?.arn as string;
    const shown = (r: CertificateRecord) =>
      // Without colours, borders and line breaks: the wrapped ARN reads whole again.
      stripVTControlCharacters(renderStatusTable([r], w.clock.now())).replace(/[│\s]+/g, '');
    expect(shown(imported)).toContain(`ACM:${arn}`);
    expect(shown(imported)).not.toContain('importowed');
    const owed = { ...imported, acm: { target: 'new', arn } };
    expect(shown(owed)).toContain(`ACM:${arn}(importowed)`);
  });
});
