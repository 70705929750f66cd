import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificates } from '../../src/services/issue-certificates.js';
import { type CrashPoint, crashingWorker } from '../support/crash-worker.js';
import { type EngineHarness, startEngineHarness } from '../support/engine-harness.js';
import { engineTick } from '../support/engine-tick.js';

const TICK = { batchSize: 50, maxRecords: 500 };

describe('a worker that dies in the middle of an issuance (dynalite + pebble)', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A worker whose process dies at `point`: from then on none of its calls get through. */
  function doomedWorker(point: CrashPoint) {
    return crashingWorker(h.worker({ owner: `doomed-${point}` }), { point }).deps;
  }

  it.each<[CrashPoint, number]>([
    ['after-lease', 0],
    ['after-order', 1],
    ['after-challenge', 1],
    ['after-finalize', 1],
    ['after-secret-write', 1],
    ['before-record-update', 1],
  ])(
    'is recovered from %s by the next worker without losing the certificate (orders placed by the dead worker: %i)',
    async (point, ordersByDeadWorker) => {
      const id = `crash-${point}`;
      const name = `${id}.example.test`;
      await h.register({ id, domains: [name] });
      const placedBefore = h.orders.placed;

      const outcomes = await issueCertificates(doomedWorker(point), [id]);
      expect(outcomes[0]?.outcome).not.toBe('issued');
      expect(h.orders.placed - placedBefore).toBe(ordersByDeadWorker);
      const held = await h.records.get(id);
      expect(held?.lease?.owner).toBe(`doomed-${point}`);

      // While the dead worker's lease lives, nobody else touches the record.
      const early = await engineTick(h.worker(), TICK);
      expect(early.outcomes.find((o) => o.id === id)?.outcome).toBe('busy');

      // Once it has expired, the next worker finishes the job.
      h.clock.advance(10 * 60_000 + 1);
      const report = await engineTick(h.worker(), TICK);
      expect(report.outcomes.find((o) => o.id === id)?.outcome).toBe('issued');
      // Exactly one order in all: a finished or still-valid order is resumed, not placed again.
      expect(h.orders.byDomains.get(name)).toBe(1);

      const record = await h.records.get(id);
      expect(record).toMatchObject({ status: 'active', failures: 0 });
      expect(record?.lease).toBeUndefined();
      expect(record?.order).toBeUndefined();
      const current = await h.secrets.readCertificate(id, 'current');
      expect(current?.serial).toBe(record?.current?.serial);
      const leaf = new X509Certificate(current?.fullchain ?? '');
      expect(leaf.checkPrivateKey(createPrivateKey(current?.privateKey.reveal() ?? ''))).toBe(true);
      // One published version: a retried write of the same certificate made no second one.
      expect(await h.secrets.readCertificate(id, 'previous')).toBeUndefined();
    },
  );
});
