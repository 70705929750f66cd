import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EngineHarness, startEngineHarness } from '../support/engine-harness.js';
import { engineTick } from '../support/engine-tick.js';

describe('four ticks in parallel over 40 due records (dynalite + pebble)', () => {
  let h: EngineHarness;
  const ids = Array.from({ length: 40 }, (_, i) => `parallel-${String(i).padStart(2, '0')}`);

  beforeAll(async () => {
    h = await startEngineHarness();
    for (const id of ids) await h.register({ id, domains: [`${id}.example.test`] });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('place exactly 40 orders: every record issued once, none twice', async () => {
    // Small batches and low concurrency make the four workers interleave over the list.
    const reports = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        engineTick(h.worker({ owner: `tick-${n}`, concurrency: 3 }), {
          batchSize: 5,
          maxRecords: 500,
        }),
      ),
    );
    expect(h.orders.placed).toBe(40);
    expect([...h.orders.byDomains.values()].every((count) => count === 1)).toBe(true);
    expect(reports.reduce((sum, r) => sum + r.counts.issued, 0)).toBe(40);
    // Every tick saw the due records; the ones it did not issue were busy or no longer due.
    for (const report of reports) expect(report.due).toBe(40);
    const lostWork = reports
      .flatMap((r) => r.outcomes)
      .filter((o) => ['failed', 'conflict', 'deferred'].includes(o.outcome));
    expect(lostWork).toEqual([]);

    for (const id of ids) {
      const record = await h.records.get(id);
      expect(record?.status).toBe('active');
      expect(record?.lease).toBeUndefined();
      expect(await h.secrets.readCertificate(id, 'previous')).toBeUndefined();
    }
  });
});
