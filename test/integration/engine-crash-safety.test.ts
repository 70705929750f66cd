import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificates } from '../../src/services/issue-certificates.js';
import { runTick } from '../../src/services/run-tick.js';
import { type EngineHarness, startEngineHarness } from '../support/engine-harness.js';
import { intercept, SimulatedCrash } from '../support/faults.js';

const TICK = { batchSize: 50, maxRecords: 500 };

type CrashPoint =
  | 'after-lease'
  | 'after-order'
  | 'after-challenge'
  | 'after-finalize'
  | 'after-secret-write'
  | 'before-record-update';

describe('a worker that dies in the middle of an issuance (dynalite + pebble)', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A worker whose process dies at `point`: from then on none of its calls get through. */
  function crashingWorker(point: CrashPoint) {
    const crash = new SimulatedCrash();
    const base = h.worker({
      owner: `doomed-${point}`,
      ca: (ca) =>
        crash.guard(
          intercept(ca, {
            answerChallenges: async (real, challenges) => {
              await real.answerChallenges(challenges);
              if (point === 'after-challenge') crash.kill(point);
            },
            finalize: async (real, url, csr) => {
              const state = await real.finalize(url, csr);
              if (point === 'after-finalize') crash.kill(point);
              return state;
            },
          }),
        ),
      dns: (dns) => crash.guard(dns),
    });
    let puts = 0;
    return {
      ...base,
      records: crash.guard(
        intercept(base.records, {
          acquireLease: async (real, ...args) => {
            const record = await real.acquireLease(...args);
            if (point === 'after-lease' && record) crash.kill(point);
            return record;
          },
          put: async (real, record, version) => {
            puts += 1;
            // The first put of an issuance stores the order; the last one records the certificate.
            if (point === 'before-record-update' && record.current) crash.kill(point);
            const stored = await real.put(record, version);
            if (point === 'after-order' && puts === 1) crash.kill(point);
            return stored;
          },
        }),
      ),
      secrets: crash.guard(
        intercept(base.secrets, {
          writeCertificate: async (real, ...args) => {
            const result = await real.writeCertificate(...args);
            if (point === 'after-secret-write') crash.kill(point);
            return result;
          },
        }),
      ),
    };
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

      const outcomes = await issueCertificates(crashingWorker(point), [id]);
      expect(outcomes[0]?.outcome).not.toBe('issued');
      expect(h.orders.placed - placedBefore).toBe(ordersByDeadWorker);
      const held = await h.records.get(id);
      expect(held?.lease?.owner).toBe(`doomed-${point}`);

      // While the dead worker's lease lives, nobody else touches the record.
      const early = await runTick(h.worker(), TICK);
      expect(early.outcomes.find((o) => o.id === id)?.outcome).toBe('busy');

      // Once it has expired, the next worker finishes the job.
      h.clock.advance(10 * 60_000 + 1);
      const report = await runTick(h.worker(), TICK);
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
