import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKOFF_JITTER } from '../../src/core/backoff.js';
import { CertloopError } from '../../src/core/errors.js';
import { DAY, HOUR, MINUTE } from '../../src/core/time.js';
import type { AcmeCa } from '../../src/ports/acme-ca.js';
import type { Dns01Solver, TxtRecord } from '../../src/ports/dns01-solver.js';
import { type EngineHarness, startEngineHarness } from '../support/engine-harness.js';
import { engineTick } from '../support/engine-tick.js';
import { intercept } from '../support/faults.js';

const TICK = { batchSize: 50, maxRecords: 500 };

describe('failures, backoff and bad names on dynalite and pebble', () => {
  let h: EngineHarness;
  const faults = { ca: true, dns: true, rateLimit: true, rejected: true };

  const faultyCa = (ca: AcmeCa) =>
    intercept(ca, {
      placeOrder: (real, request) => {
        const names = request.domains.join(' ');
        if (faults.ca && names.includes('ca-down')) {
          return Promise.reject(
            new CertloopError('transient', 'the CA answered 503 (injected)', { source: 'ca' }),
          );
        }
        if (faults.rateLimit && names.includes('limited')) {
          return Promise.reject(
            new CertloopError('rate-limited', 'too many new orders (injected)', {
              source: 'ca',
              retryAfterMs: 2 * HOUR,
            }),
          );
        }
        if (faults.rejected && names.includes('refused')) {
          return Promise.reject(
            new CertloopError(
              'permanent',
              'CAA record forbids issuance for refused.example.test (injected)',
              { source: 'ca' },
            ),
          );
        }
        return real.placeOrder(request);
      },
    });
  // DNS that silently fails to publish one name: pebble then fails the validation for real.
  const lossyDns = (dns: Dns01Solver) => {
    const keep = (records: TxtRecord[]) =>
      records.filter((r) => !(faults.dns && r.name.includes('dns-broken')));
    return intercept(dns, {
      present: (real, records) => real.present(keep(records)),
      waitForPropagation: (real, records) => real.waitForPropagation(keep(records)),
    });
  };
  const worker = () => h.worker({ ca: faultyCa, dns: lossyDns });

  beforeAll(async () => {
    h = await startEngineHarness();
    for (const id of ['ok-1', 'ok-2', 'ca-down', 'dns-broken', 'limited', 'refused']) {
      await h.register({ id, domains: [`${id}.example.test`] });
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  it('backs off a CA failure and a DNS failure from the table, and issues the others', async () => {
    const start = h.clock.now();
    const report = await engineTick(worker(), TICK);
    expect(report.counts).toMatchObject({ issued: 2, failed: 3, invalid: 1 });

    for (const id of ['ok-1', 'ok-2'])
      expect(await h.records.get(id)).toMatchObject({ status: 'active', failures: 0 });
    for (const id of ['ca-down', 'dns-broken']) {
      const record = await h.records.get(id);
      expect(record).toMatchObject({
        status: 'failing',
        failures: 1,
        lastError: { kind: 'transient' },
      });
      expect(record?.nextAttemptAt).toBeGreaterThanOrEqual(start + MINUTE * (1 - BACKOFF_JITTER));
      expect(record?.nextAttemptAt).toBeLessThanOrEqual(start + MINUTE);
      expect(record?.lease).toBeUndefined();
    }
    expect((await h.records.get('dns-broken'))?.lastError?.message).toMatch(
      /dns-broken\.example\.test/,
    );
  });

  it("waits for the CA's Retry-After when it is longer than the table", async () => {
    const record = await h.records.get('limited');
    expect(record).toMatchObject({
      status: 'failing',
      failures: 1,
      lastError: { kind: 'rate-limited' },
    });
    expect(record?.nextAttemptAt).toBe((record?.lastError?.at ?? 0) + 2 * HOUR);
  });

  it('makes a CA refusal that waiting cannot fix invalid, with the reason, and unscheduled', async () => {
    const record = await h.records.get('refused');
    expect(record).toMatchObject({
      status: 'invalid',
      statusMessage: expect.stringMatching(/CAA/),
    });
    expect(record?.nextAttemptAt).toBeUndefined();
  });

  it('is not due again before the backoff delay, and the next failure waits longer', async () => {
    expect((await engineTick(worker(), TICK)).due).toBe(0);
    h.clock.advance(MINUTE + 1);
    const report = await engineTick(worker(), TICK);
    expect(report.counts.failed).toBe(2);
    for (const id of ['ca-down', 'dns-broken']) {
      const record = await h.records.get(id);
      expect(record?.failures).toBe(2);
      expect(record?.nextAttemptAt).toBeGreaterThanOrEqual(
        h.clock.now() + 2 * MINUTE * (1 - BACKOFF_JITTER),
      );
    }
  });

  it('resets the failure count when the next attempt succeeds', async () => {
    faults.ca = false;
    faults.dns = false;
    faults.rateLimit = false;
    h.clock.advance(3 * HOUR);
    const report = await engineTick(worker(), TICK);
    expect(report.counts.issued).toBe(3);
    for (const id of ['ca-down', 'dns-broken', 'limited']) {
      const record = await h.records.get(id);
      expect(record).toMatchObject({ status: 'active', failures: 0 });
      expect(record?.lastError).toBeUndefined();
    }
  });

  it('never retries the invalid record on a timer', async () => {
    faults.rejected = false;
    const placed = h.orders.placed;
    h.clock.advance(30 * DAY);
    await engineTick(worker(), TICK);
    expect(h.orders.byDomains.get('refused.example.test')).toBeUndefined();
    expect((await h.records.get('refused'))?.status).toBe('invalid');
    expect(h.orders.placed).toBe(placed);
  });
});

describe('bad names on dynalite and pebble', () => {
  let h: EngineHarness;
  const bad: Array<[string, { domains: string[]; wildcards?: string[] }, RegExp]> = [
    [
      'star-inside-label',
      { domains: ['w*w.example.test'] },
      /wildcard must be the whole first label/,
    ],
    ['ip-address', { domains: ['192.0.2.10'] }, /IP address/],
    ['long-label', { domains: [`${'x'.repeat(64)}.example.test`] }, /at most 63/],
    ['outside-suffix', { domains: ['www.example.com'] }, /outside the allowed suffixes/],
    [
      'too-many',
      { domains: Array.from({ length: 101 }, (_, i) => `n${i}.example.test`) },
      /101 names requested; one certificate holds at most 100/,
    ],
    ['empty', { domains: [] }, /no names requested/],
  ];

  beforeAll(async () => {
    h = await startEngineHarness();
    for (const [id, names] of bad) await h.register({ id, ...names });
    await h.register({ id: 'good-1', domains: ['good-1.example.test'] });
    await h.register({
      id: 'good-2',
      domains: ['good-2.example.test'],
      wildcards: ['good-2.example.test'],
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each(bad)(
    'makes "%s" invalid with a message a person can act on',
    async (id, _names, message) => {
      const record = await h.records.get(id);
      expect(record?.status).toBe('invalid');
      expect(record?.statusMessage).toMatch(message);
      expect(record?.nextAttemptAt).toBeUndefined();
    },
  );

  it('issues the good records in the same tick and never attempts the bad ones', async () => {
    const report = await engineTick(h.worker(), TICK);
    expect(report.counts.issued).toBe(2);
    expect(report.due).toBe(2);
    h.clock.advance(7 * DAY);
    expect((await engineTick(h.worker(), TICK)).due).toBe(0);
    expect(h.orders.placed).toBe(2);
  });

  it('schedules an invalid record again once its names are corrected, and issues it', async () => {
    await h.register({ id: 'outside-suffix', domains: ['www.example.test'] });
    expect(await h.records.get('outside-suffix')).toMatchObject({
      status: 'pending',
      nextAttemptAt: h.clock.now(),
    });
    const report = await engineTick(h.worker(), TICK);
    expect(report.counts.issued).toBe(1);
    expect((await h.records.get('outside-suffix'))?.current?.domains).toEqual(['www.example.test']);
  });
});
