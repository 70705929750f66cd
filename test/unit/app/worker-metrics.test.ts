import { describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../../src/adapters/crypto/node-key-factory.js';
import { MemoryDns01Solver } from '../../../src/adapters/memory/memory-dns01-solver.js';
import { MemoryEventBus } from '../../../src/adapters/memory/memory-event-bus.js';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../../src/adapters/memory/memory-secret-store.js';
import type { Runtime } from '../../../src/app/compose.js';
import { createWorkerHandler } from '../../../src/app/handlers.js';
import { METRICS } from '../../../src/config/metrics.js';
import { CertloopError } from '../../../src/core/errors.js';
import { MINUTE } from '../../../src/core/time.js';
import { FakeAcmeCa } from '../../support/fake-acme-ca.js';
import { ManualClock, seededRandom } from '../../support/manual-clock.js';
import { aRecord } from '../../support/record-builder.js';
import { RecordingMetrics } from '../../support/recording-metrics.js';
import { silentLogger } from '../../support/test-loggers.js';

/** A CA whose renewal information is down: certificates issue, ARI reads fail. */
class AriDownCa extends FakeAcmeCa {
  override async renewalInfo(): Promise<never> {
    throw new CertloopError('transient', 'renewal information: HTTP 503', { source: 'ari' });
  }
}

describe('the worker counts failed renewal information reads apart from certificate failures', () => {
  it('emits RenewalInfoCheckFailures for each issuance whose ARI read failed, and no CertificateFailures', async () => {
    const clock = new ManualClock();
    const records = new MemoryRecordStore();
    const ca = new AriDownCa(clock);
    for (const id of ['a', 'b']) {
      await records.create(
        aRecord({ id, domains: [`${id}.example.test`], nextAttemptAt: clock.now() }),
      );
    }
    const runtime = {
      issuance: {
        records,
        secrets: new MemorySecretStore(),
        issuers: () => ca,
        dns: new MemoryDns01Solver(),
        keys: new NodeKeyFactory(),
        clock,
        logger: silentLogger,
        random: seededRandom(1),
        policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
        owner: 'metrics-test',
        leaseMs: 15 * MINUTE,
        concurrency: 2,
        ariCertificateId: ariCertificateIdOf,
      },
      announce: { records, bus: new MemoryEventBus(), clock, logger: silentLogger },
    } as unknown as Runtime;
    const metrics = new RecordingMetrics();
    const handler = createWorkerHandler(runtime, metrics);
    const event = {
      Records: ['a', 'b'].map((id, i) => ({
        messageId: `m${i}`,
        body: JSON.stringify({ id, dueAt: clock.now() }),
        eventSource: 'aws:sqs',
      })),
    };
    const answer = await handler(event as never);
    expect(answer.batchItemFailures).toEqual([]);
    const flushed = metrics.flushed.at(-1) ?? {};
    expect(flushed[METRICS.issued]).toBe(2);
    expect(flushed[METRICS.renewalInfoFailures]).toBe(2);
    expect(flushed[METRICS.failed]).toBe(0);
    const record = await records.get('a');
    expect(record?.failures).toBe(0);
    expect(record?.ari?.problem).toMatch(/HTTP 503/);
  });
});

/** A CA whose account cannot be set up: the binding is refused (as pebble answers it). */
class BindingRefusedCa extends FakeAcmeCa {
  override async placeOrder(): Promise<never> {
    throw new CertloopError(
      'infrastructure',
      'issuer "zerossl" refused the External Account Binding of key id "kid-1"',
      { source: 'ca', accountSetup: true, problem: 'unauthorized' },
    );
  }
}

describe('the worker counts records deferred by an issuer account that cannot be set up', () => {
  it('emits AccountErrors for each such record, no CertificateFailures, and does not send them back through the queue', async () => {
    const clock = new ManualClock();
    const records = new MemoryRecordStore();
    const ca = new BindingRefusedCa(clock);
    for (const id of ['a', 'b']) {
      await records.create(
        aRecord({ id, domains: [`${id}.example.test`], nextAttemptAt: clock.now() }),
      );
    }
    const runtime = {
      issuance: {
        records,
        secrets: new MemorySecretStore(),
        issuers: () => ca,
        dns: new MemoryDns01Solver(),
        keys: new NodeKeyFactory(),
        clock,
        logger: silentLogger,
        random: seededRandom(1),
        policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
        owner: 'metrics-test',
        leaseMs: 15 * MINUTE,
        concurrency: 2,
        ariCertificateId: ariCertificateIdOf,
      },
      announce: { records, bus: new MemoryEventBus(), clock, logger: silentLogger },
    } as unknown as Runtime;
    const metrics = new RecordingMetrics();
    const answer = await createWorkerHandler(
      runtime,
      metrics,
    )({
      Records: ['a', 'b'].map((id, i) => ({
        messageId: `m${i}`,
        body: JSON.stringify({ id, dueAt: clock.now() }),
        eventSource: 'aws:sqs',
      })),
    } as never);
    const flushed = metrics.flushed.at(-1) ?? {};
    expect(flushed[METRICS.accountErrors]).toBe(2);
    expect(flushed[METRICS.failed]).toBe(0);
    expect(flushed[METRICS.issued]).toBe(0);
    // The records hold the error and their next attempt; the planner brings them back.
    expect(answer.batchItemFailures).toEqual([]);
    const record = await records.get('a');
    expect(record?.failures).toBe(0);
    expect(record?.nextAttemptAt).toBe(clock.now() + MINUTE);
    expect(record?.lastError).toMatchObject({ kind: 'infrastructure', source: 'ca' });
  });

  it('emits AccountErrors 0 when every account is fine', async () => {
    const clock = new ManualClock();
    const records = new MemoryRecordStore();
    await records.create(
      aRecord({ id: 'a', domains: ['a.example.test'], nextAttemptAt: clock.now() }),
    );
    const runtime = {
      issuance: {
        records,
        secrets: new MemorySecretStore(),
        issuers: () => new FakeAcmeCa(clock),
        dns: new MemoryDns01Solver(),
        keys: new NodeKeyFactory(),
        clock,
        logger: silentLogger,
        random: seededRandom(1),
        policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
        owner: 'metrics-test',
        leaseMs: 15 * MINUTE,
        concurrency: 2,
        ariCertificateId: ariCertificateIdOf,
      },
      announce: { records, bus: new MemoryEventBus(), clock, logger: silentLogger },
    } as unknown as Runtime;
    const metrics = new RecordingMetrics();
    await createWorkerHandler(
      runtime,
      metrics,
    )({
      Records: [
        {
          messageId: 'm0',
          body: JSON.stringify({ id: 'a', dueAt: clock.now() }),
          eventSource: 'aws:sqs',
        },
      ],
    } as never);
    expect(metrics.flushed.at(-1)?.[METRICS.accountErrors]).toBe(0);
    expect(metrics.flushed.at(-1)?.[METRICS.issued]).toBe(1);
  });
});
