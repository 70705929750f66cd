/**
 * Drill R3: the real engine against a faulty CA.
 *
 * What it proves: with a fault-injecting HTTPS proxy (test/support/fault-proxy.ts) between
 * AcmeClientCa and pebble answering 5xx, 429 with Retry-After, badNonce, timeouts, lost
 * answers and slow answers on every ACME step, every certificate is issued eventually,
 * exactly once, with its own key; failures back off by the table (src/core/backoff.ts) and
 * a CA's Retry-After is obeyed: no request for that order (and no new order for that
 * record) reaches the CA before it has passed.
 *
 * The engine is the real one (dynalite records, the directory secret store, challtestsrv
 * DNS-01, pebble), on a manual clock, with an AcmeClientCa pointed at the proxy (trusting
 * the proxy's certificate) and a 1.5 s request timeout (its `requestTimeoutMs` option), so
 * a held request costs 1.5 s instead of 30 s. Each tick is a cold worker (a fresh
 * AcmeClientCa: directory, nonce and account requests every time), except in the storm,
 * where a worker stays warm for four ticks, as a warm Lambda or local mode would.
 *
 * Scenarios: (a) each fault alone on each step where it means something: issued in the
 * same attempt when a retry inside the adapter/acme-client absorbs it, else on the next
 * tick; (b) 429 with Retry-After on newOrder: nothing before the Retry-After; (c) a step
 * that answers 5xx for several attempts: the record follows the backoff table, then
 * issues and its failure count resets; (d) 30 records in a storm of random faults (seeded)
 * until all are issued; plus (e) a 503 with a long Retry-After and (f) a 429 while
 * polling, which the adapter must hand to the scheduler rather than sleep or poll over.
 *
 * Run: npx vitest run --project drill test/drills/faulty-ca.test.ts   (a few minutes;
 * needs pebble: sudo apt-get install -y pebble). A summary is printed at the end.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcmeClientCa } from '../../src/adapters/acme/acme-client-ca.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { BACKOFF_JITTER, BACKOFF_TABLE } from '../../src/core/backoff.js';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { MINUTE, SECOND } from '../../src/core/time.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import type { PlanAndIssueReport } from '../../src/services/plan-and-issue.js';
import { type EngineHarness, startEngineHarness } from '../support/engine-harness.js';
import { engineTick } from '../support/engine-tick.js';
import {
  type AcmeStep,
  type Fault,
  type FaultProxy,
  type FaultType,
  type ProxyLogEntry,
  startFaultProxy,
} from '../support/fault-proxy.js';
import { intercept } from '../support/faults.js';

const TICK = { batchSize: 50, maxRecords: 500 };
const POLLING = { attempts: 40, minDelayMs: 50, maxDelayMs: 250 };
const REQUEST_TIMEOUT_MS = 1_500;
const STORM_RECORDS = 30;
const STORM_SEED = 20261123;
const STORM_PROBABILITY = 0.25;
/** The scheduler's period in the storm: records due within one period share a tick. */
const STORM_TICK_PERIOD = 15 * MINUTE;
const STORM_MAX_TICKS = 30;
/** A worker stays warm (one AcmeClientCa, as a warm Lambda or local mode) for this many ticks. */
const STORM_COLD_START_EVERY = 4;

/** Steps of one issuance, in the order a cold worker meets them. */
const STEPS: readonly AcmeStep[] = [
  'directory',
  'newNonce',
  'newAccount',
  'account',
  'newOrder',
  'orderPoll',
  'authz',
  'challenge',
  'finalize',
  'certificate',
];
const SIGNED_STEPS: readonly AcmeStep[] = STEPS.filter(
  (step) => step !== 'directory' && step !== 'newNonce',
);
/** Steps the adapter may send twice when no answer came: GET, HEAD and POST-as-GET. */
const REPEATABLE_STEPS: readonly AcmeStep[] = [
  'directory',
  'newNonce',
  'account',
  'orderPoll',
  'authz',
  'certificate',
];

const domainOf = (id: string) => `${id}.example.test`;

describe('R3: the engine against a fault-injecting proxy in front of pebble', () => {
  let h: EngineHarness;
  let proxy: FaultProxy;
  const startedWall = Date.now();
  /** New secret versions written per record (created: true). */
  const versions = new Map<string, number>();
  const summary: Record<string, unknown> = {};

  beforeAll(async () => {
    h = await startEngineHarness();
    proxy = await startFaultProxy({
      upstreamDirectoryUrl: h.pebble.directoryUrl,
      upstreamCaPem: h.pebble.listenerCaPem,
      clock: () => h.clock.now(),
    });
  });

  afterAll(async () => {
    if (proxy) {
      const faults: Partial<Record<FaultType, number>> = {};
      const steps: Partial<Record<AcmeStep, number>> = {};
      for (const entry of proxy.log) {
        steps[entry.step] = (steps[entry.step] ?? 0) + 1;
        if (entry.fault) faults[entry.fault] = (faults[entry.fault] ?? 0) + 1;
      }
      console.log(
        `R3 faulty-CA drill: ${JSON.stringify({
          requests: proxy.log.length,
          requestsByStep: steps,
          faultsByKind: faults,
          urlRewrites: proxy.rewrites,
          ...summary,
          wallSeconds: Math.round((Date.now() - startedWall) / 1000),
        })}`,
      );
    }
    await proxy?.stop();
    await h?.close();
  });

  /** A cold worker: the harness's adapters, with an AcmeClientCa pointed at the proxy. */
  function worker(): IssuanceDeps {
    const base = h.worker({ concurrency: STORM_RECORDS });
    const secrets = intercept(base.secrets, {
      writeCertificate: async (real, id, bundle, token) => {
        const result = await real.writeCertificate(id, bundle, token);
        if (result.created) versions.set(id, (versions.get(id) ?? 0) + 1);
        return result;
      },
    });
    const ca = new AcmeClientCa({
      directoryUrl: proxy.directoryUrl,
      trustedCaPem: proxy.caPem,
      secrets,
      keys: new NodeKeyFactory(),
      logger: h.logger,
      polling: POLLING,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    });
    return { ...base, secrets, issuers: (name) => (name === 'default' ? ca : undefined) };
  }

  const tick = (): Promise<PlanAndIssueReport> => engineTick(worker(), TICK);

  async function record(id: string): Promise<CertificateRecord> {
    const found = await h.records.get(id);
    if (!found) throw new Error(`record ${id} is missing`);
    return found;
  }

  /** Issued, counted as healthy, one new secret version, and the published key matches. */
  async function expectIssuedOnce(id: string): Promise<void> {
    const stored = await record(id);
    expect(stored).toMatchObject({ status: 'active', failures: 0 });
    expect(stored.lastError).toBeUndefined();
    expect(stored.order).toBeUndefined();
    const bundle = await h.secrets.readCertificate(id);
    if (!bundle) throw new Error(`no certificate published for ${id}`);
    expect(bundle.serial).toBe(stored.current?.serial);
    expect(bundle.domains).toEqual([domainOf(id)]);
    const leaf = new X509Certificate(bundle.certificate);
    expect(leaf.checkPrivateKey(createPrivateKey(bundle.privateKey.reveal()))).toBe(true);
    expect(versions.get(id)).toBe(1);
    const folders = await readdir(join(h.secrets.certificateDirectory(id), 'versions'));
    expect(folders.filter((name) => !name.startsWith('+tmp-'))).toHaveLength(1);
  }

  /** Requests of an order (its names as the proxy learned them) from log index `from`. */
  const requestsOf = (id: string, from = 0): ProxyLogEntry[] =>
    proxy.since(from).filter((entry) => entry.subject === domainOf(id));

  it('issues through the proxy with no fault, every ACME URL rewritten to the proxy', async () => {
    // The first worker creates the account at once (the store holds no key, so there is
    // nothing to look up): no request fails.
    let from = proxy.log.length;
    await h.register({ id: 'warm-up-1', domains: [domainOf('warm-up-1')] });
    expect((await tick()).counts.issued).toBe(1);
    await expectIssuedOnce('warm-up-1');
    const failures = (entries: ProxyLogEntry[]) =>
      entries
        .filter((entry) => !entry.answered || (entry.status ?? 0) >= 400)
        .map((entry) => [entry.step, entry.status]);
    expect(failures(proxy.since(from))).toEqual([]);

    // Every later cold worker finds the account (newAccount, then a POST-as-GET of it).
    from = proxy.log.length;
    await h.register({ id: 'warm-up-2', domains: [domainOf('warm-up-2')] });
    expect((await tick()).counts.issued).toBe(1);
    await expectIssuedOnce('warm-up-2');
    const entries = proxy.since(from);
    expect(failures(entries)).toEqual([]);
    expect(new Set(entries.map((entry) => entry.step))).toEqual(new Set(STEPS));
    // One HEAD newNonce per cold worker: every later signed request uses the Replay-Nonce
    // of the answer before it (acme-client alone fetches a nonce for each one).
    const signed = entries.filter((entry) => SIGNED_STEPS.includes(entry.step));
    expect(signed.length).toBeGreaterThan(5);
    expect(entries.filter((entry) => entry.step === 'newNonce')).toHaveLength(1);
    expect(proxy.rewrites).toBeGreaterThan(0);
  });

  // -------------------------------------------------------------------------------------
  // (a) Each fault alone on each step.
  // -------------------------------------------------------------------------------------

  /**
   * Absorbed in the same attempt: 5xx (acme-client retries it, after its Retry-After or
   * 5 s), badNonce (acme-client retries with the nonce of the answer), a slow answer, no
   * answer at all to a request that is safe to send twice (the adapter sends it once more:
   * REPEATABLE_STEPS), and a lost answer to a challenge (the adapter reads the
   * authorization, finds it processing or valid, and waits). Everything else fails the
   * attempt and the next tick issues.
   */
  const noAnswer = (fault: FaultType) => fault === 'timeout' || fault === 'lostResponse';
  const sameAttempt = (fault: FaultType, step: AcmeStep) =>
    fault === 'serverError' ||
    fault === 'badNonce' ||
    fault === 'slow' ||
    (noAnswer(fault) && REPEATABLE_STEPS.includes(step)) ||
    (fault === 'lostResponse' && step === 'challenge');

  const RATE_LIMIT_SECONDS = 300;
  const singleFaults: Array<[string, Fault, readonly AcmeStep[]]> = [
    ['503 + Retry-After 1', { type: 'serverError', status: 503, retryAfterSeconds: 1 }, STEPS],
    [
      '500',
      { type: 'serverError', status: 500 },
      ['directory', 'newOrder', 'finalize', 'certificate'],
    ],
    [
      `429 + Retry-After ${RATE_LIMIT_SECONDS}`,
      { type: 'rateLimited', retryAfterSeconds: RATE_LIMIT_SECONDS },
      STEPS,
    ],
    ['badNonce', { type: 'badNonce' }, SIGNED_STEPS],
    ['timeout', { type: 'timeout' }, STEPS],
    ['lost response', { type: 'lostResponse' }, STEPS],
    ['slow (600 ms)', { type: 'slow', delayMs: 600 }, STEPS],
  ];
  const singleCases = singleFaults.flatMap(([label, fault, steps]) =>
    steps.map((step) => [label, step, fault] as const),
  );
  let singleIndex = 0;

  it.each(singleCases)('(a) %s on %s: issued, once, with its key', async (_label, step, fault) => {
    singleIndex += 1;
    const id = `a${String(singleIndex).padStart(2, '0')}-${fault.type.toLowerCase()}-${step.toLowerCase()}`;
    await h.register({ id, domains: [domainOf(id)] });
    const from = proxy.log.length;
    proxy.inject({ step, fault, times: 1 });
    const startedAt = h.clock.now();
    const first = await tick();

    const injected = proxy.since(from).filter((entry) => entry.fault !== undefined);
    expect(injected.map((entry) => [entry.step, entry.fault])).toEqual([[step, fault.type]]);
    expect(proxy.pendingRules()).toBe(0);

    const tally = (summary.singleFaults ?? { cases: 0, sameAttempt: 0, nextTick: 0 }) as {
      cases: number;
      sameAttempt: number;
      nextTick: number;
    };
    summary.singleFaults = tally;
    tally.cases += 1;
    if (sameAttempt(fault.type, step)) {
      tally.sameAttempt += 1;
      expect(first.counts).toMatchObject({ issued: 1, failed: 0 });
      if (noAnswer(fault.type) && REPEATABLE_STEPS.includes(step)) {
        // Sent once more at once: the very next request of that step was answered.
        const [unanswered] = injected;
        const again = proxy
          .since(from)
          .find((entry) => entry.step === step && entry.seq > (unanswered?.seq ?? 0));
        expect(again).toMatchObject({ answered: true });
        expect(again?.fault).toBeUndefined();
      }
    } else {
      tally.nextTick += 1;
      expect(first.counts).toMatchObject({ issued: 0, failed: 1 });
      const failed = await record(id);
      expect(failed).toMatchObject({ status: 'failing', failures: 1 });
      const delay = (failed.nextAttemptAt ?? 0) - startedAt;
      const outcome = first.outcomes.find((o) => o.id === id);
      if (fault.type === 'rateLimited') {
        expect(failed.lastError?.kind).toBe('rate-limited');
        expect(outcome?.reason).toBe('ca-retry-after');
        expect(delay).toBe(fault.retryAfterSeconds * SECOND);
        // After the 429 nothing more for this order reached the CA in that attempt.
        const limitedAt = injected[0]?.seq ?? 0;
        expect(requestsOf(id, from).filter((entry) => entry.seq > limitedAt)).toEqual([]);
      } else {
        expect(failed.lastError?.kind).toBe('transient');
        expect(outcome?.reason).toBe('backoff-table');
        expect(delay).toBeGreaterThanOrEqual(MINUTE * (1 - BACKOFF_JITTER));
        expect(delay).toBeLessThanOrEqual(MINUTE);
      }
      // Not due a millisecond early; then the next tick issues.
      h.clock.set((failed.nextAttemptAt ?? 0) - 1);
      expect((await tick()).due).toBe(0);
      h.clock.advance(1);
      const second = await tick();
      expect(second.counts).toMatchObject({ issued: 1, failed: 0 });
    }
    await expectIssuedOnce(id);
  });

  // -------------------------------------------------------------------------------------
  // (b) 429 with Retry-After on newOrder: no order before it has passed.
  // -------------------------------------------------------------------------------------

  it.each([
    ['delta seconds', 900, false],
    ['an HTTP date', 1_200, true],
  ] as const)(
    '(b) 429 on newOrder with Retry-After as %s (%i s): no new order before it',
    async (_label, seconds, httpDate) => {
      const id = `b-limited-${seconds}`;
      await h.register({ id, domains: [domainOf(id)] });
      const from = proxy.log.length;
      proxy.inject({
        step: 'newOrder',
        domains: [domainOf(id)],
        fault: { type: 'rateLimited', retryAfterSeconds: seconds, httpDate },
      });
      const failedAt = h.clock.now();
      const report = await tick();
      expect(report.outcomes).toEqual([
        expect.objectContaining({ id, outcome: 'failed', reason: 'ca-retry-after' }),
      ]);
      const failed = await record(id);
      expect(failed.lastError).toMatchObject({ kind: 'rate-limited', at: failedAt });
      const retryAt = failed.nextAttemptAt ?? 0;
      // An HTTP date has whole seconds: up to one second less than asked, never more.
      expect(retryAt - failedAt).toBeLessThanOrEqual(seconds * SECOND);
      expect(retryAt - failedAt).toBeGreaterThanOrEqual(
        (httpDate ? seconds - 1 : seconds) * SECOND,
      );

      // Tick through the waiting time, on the backoff table's steps and just before the end.
      const probes = [MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, retryAt - failedAt - 1];
      for (const offset of probes.filter((o) => o < retryAt - failedAt)) {
        h.clock.set(failedAt + offset);
        expect((await tick()).due).toBe(0);
      }
      const orders = () =>
        proxy.since(from).filter((e) => e.step === 'newOrder' && e.subject === domainOf(id));
      expect(orders()).toHaveLength(1);
      expect(orders()[0]?.fault).toBe('rateLimited');

      h.clock.set(retryAt);
      expect((await tick()).counts.issued).toBe(1);
      const [limited, placed] = orders();
      expect(limited?.at).toBe(failedAt);
      expect(placed?.at).toBeGreaterThanOrEqual(failedAt + (retryAt - failedAt));
      expect(placed?.fault).toBeUndefined();
      await expectIssuedOnce(id);
    },
  );

  // -------------------------------------------------------------------------------------
  // (c) 5xx on one step for N attempts: the backoff table, then success resets the count.
  // -------------------------------------------------------------------------------------

  const PERSISTENT_ATTEMPTS = 4;
  it.each(['newOrder', 'finalize'] as const)(
    `(c) 503 on %s for ${PERSISTENT_ATTEMPTS} attempts: backs off by the table, then issues and resets`,
    async (step) => {
      const id = `c-down-${step.toLowerCase()}`;
      await h.register({ id, domains: [domainOf(id)] });
      const from = proxy.log.length;
      // Retry-After 1 s keeps acme-client's own five retries per attempt short.
      proxy.inject({
        step,
        domains: [domainOf(id)],
        fault: { type: 'serverError', status: 503, retryAfterSeconds: 1 },
        times: Number.POSITIVE_INFINITY,
      });
      const orderUrls = new Set<string>();
      for (let attempt = 1; attempt <= PERSISTENT_ATTEMPTS; attempt++) {
        const before = proxy.log.length;
        const at = h.clock.now();
        const report = await tick();
        expect(report.outcomes).toEqual([
          expect.objectContaining({ id, outcome: 'failed', reason: 'backoff-table' }),
        ]);
        const failed = await record(id);
        expect(failed).toMatchObject({ status: 'failing', failures: attempt });
        expect(failed.lastError).toMatchObject({ kind: 'transient', at });
        expect(failed.lastError?.message).toMatch(/serverInternal \(HTTP 503\)/);
        const base = BACKOFF_TABLE[attempt - 1] ?? 0;
        const delay = (failed.nextAttemptAt ?? 0) - at;
        expect(delay).toBeGreaterThanOrEqual(base * (1 - BACKOFF_JITTER));
        expect(delay).toBeLessThanOrEqual(base);
        // acme-client's own retries on 5xx: the first try and five more, all failed.
        const hits = proxy.since(before).filter((e) => e.step === step && e.fault);
        expect(hits).toHaveLength(6);
        if (failed.order) orderUrls.add(failed.order.url);
        // Not due before the delay.
        h.clock.set((failed.nextAttemptAt ?? 0) - 1);
        expect((await tick()).due).toBe(0);
        h.clock.advance(1);
      }
      if (step === 'finalize') {
        // The one order is resumed on every attempt; no new order is placed.
        expect(orderUrls.size).toBe(1);
        expect(
          proxy.since(from).filter((e) => e.step === 'newOrder' && e.subject === domainOf(id)),
        ).toHaveLength(1);
        expect([...orderUrls][0]?.startsWith(proxy.origin)).toBe(true);
      } else {
        expect(orderUrls.size).toBe(0);
      }
      proxy.clearFaults();
      const report = await tick();
      expect(report.counts.issued).toBe(1);
      await expectIssuedOnce(id);
    },
  );

  // A CA down without a Retry-After: acme-client would retry five times over 75 s; the
  // adapter leaves it one retry (after 5 s), then the backoff table takes over.
  it('(c) 500 without Retry-After on newOrder: one library retry per attempt, then the backoff table', async () => {
    const id = 'c-down-no-retry-after';
    await h.register({ id, domains: [domainOf(id)] });
    proxy.inject({
      step: 'newOrder',
      domains: [domainOf(id)],
      fault: { type: 'serverError', status: 500 },
      times: Number.POSITIVE_INFINITY,
    });
    const before = proxy.log.length;
    const at = h.clock.now();
    const wallStart = Date.now();
    const report = await tick();
    expect(report.outcomes).toEqual([
      expect.objectContaining({ id, outcome: 'failed', reason: 'backoff-table' }),
    ]);
    expect(Date.now() - wallStart).toBeLessThan(15_000);
    const hits = proxy.since(before).filter((e) => e.step === 'newOrder' && e.fault);
    expect(hits).toHaveLength(2);
    const failed = await record(id);
    expect(failed).toMatchObject({ status: 'failing', failures: 1 });
    expect(failed.lastError).toMatchObject({ kind: 'transient', at });
    const delay = (failed.nextAttemptAt ?? 0) - at;
    expect(delay).toBeGreaterThanOrEqual((BACKOFF_TABLE[0] ?? 0) * (1 - BACKOFF_JITTER));
    expect(delay).toBeLessThanOrEqual(BACKOFF_TABLE[0] ?? 0);
    proxy.clearFaults();
    h.clock.set(failed.nextAttemptAt ?? 0);
    expect((await tick()).counts.issued).toBe(1);
    await expectIssuedOnce(id);
  });

  // -------------------------------------------------------------------------------------
  // (e) 503 with a long Retry-After: handed to the scheduler, not slept on in the worker.
  // -------------------------------------------------------------------------------------

  it('(e) 503 with Retry-After 120 s on newOrder: the attempt ends at once and waits 120 s', async () => {
    const id = 'e-maintenance';
    await h.register({ id, domains: [domainOf(id)] });
    const from = proxy.log.length;
    proxy.inject({
      step: 'newOrder',
      domains: [domainOf(id)],
      fault: { type: 'serverError', status: 503, retryAfterSeconds: 120 },
      times: Number.POSITIVE_INFINITY,
    });
    const at = h.clock.now();
    const wallStart = Date.now();
    const report = await tick();
    const wall = Date.now() - wallStart;
    proxy.clearFaults();
    expect(report.outcomes).toEqual([
      expect.objectContaining({ id, outcome: 'failed', reason: 'ca-retry-after' }),
    ]);
    // acme-client would sleep the Retry-After before each of its five retries (10 min).
    expect(wall).toBeLessThan(20_000);
    expect(proxy.since(from).filter((e) => e.step === 'newOrder')).toHaveLength(1);
    const failed = await record(id);
    expect(failed.lastError?.kind).toBe('transient');
    expect((failed.nextAttemptAt ?? 0) - at).toBe(120 * SECOND);
    h.clock.set((failed.nextAttemptAt ?? 0) - 1);
    expect((await tick()).due).toBe(0);
    h.clock.advance(1);
    expect((await tick()).counts.issued).toBe(1);
    await expectIssuedOnce(id);
  });

  // -------------------------------------------------------------------------------------
  // (f) 429 while polling an authorization or an order: no polling over the Retry-After.
  // -------------------------------------------------------------------------------------

  it.each([
    ['the authorization, while it validates', 'authz'],
    ['the order, while it is processing after finalize', 'orderPoll'],
  ] as const)(
    '(f) 429 with Retry-After 600 s polling %s: nothing until it passed, then issued',
    async (_label, step) => {
      const id = `f-poll-${step.toLowerCase()}`;
      await h.register({ id, domains: [domainOf(id)] });
      const from = proxy.log.length;
      const seenBefore = (kind: AcmeStep) =>
        proxy.since(from).some((e) => e.step === kind && e.subject === domainOf(id));
      proxy.inject({
        step,
        domains: [domainOf(id)],
        fault: { type: 'rateLimited', retryAfterSeconds: 600 },
        // The poll after the challenge was answered, or after the order was finalized.
        when: () => seenBefore(step === 'authz' ? 'challenge' : 'finalize'),
      });
      const at = h.clock.now();
      const report = await tick();
      expect(proxy.pendingRules()).toBe(0);
      expect(report.outcomes).toEqual([
        expect.objectContaining({ id, outcome: 'failed', reason: 'ca-retry-after' }),
      ]);
      const failed = await record(id);
      expect(failed.lastError?.kind).toBe('rate-limited');
      expect((failed.nextAttemptAt ?? 0) - at).toBe(600 * SECOND);
      const limited = proxy.since(from).find((e) => e.fault === 'rateLimited');
      expect(requestsOf(id, from).filter((e) => e.seq > (limited?.seq ?? 0))).toEqual([]);
      const orderUrl = failed.order?.url;
      expect(orderUrl).toBeDefined();

      h.clock.set((failed.nextAttemptAt ?? 0) - 1);
      expect((await tick()).due).toBe(0);
      h.clock.advance(1);
      const resumedFrom = proxy.log.length;
      expect((await tick()).counts.issued).toBe(1);
      // The order is resumed, not placed again.
      expect(requestsOf(id, resumedFrom).some((e) => e.step === 'newOrder')).toBe(false);
      await expectIssuedOnce(id);
    },
  );

  // -------------------------------------------------------------------------------------
  // (d) A storm: 30 records, random faults of every kind on every step.
  // -------------------------------------------------------------------------------------

  it(`(d) storm: ${STORM_RECORDS} records, ${STORM_PROBABILITY * 100} % of requests faulty: all issued once, no order early`, async () => {
    const ids = Array.from(
      { length: STORM_RECORDS },
      (_, i) => `d-storm-${String(i).padStart(2, '0')}`,
    );
    for (const id of ids) await h.register({ id, domains: [domainOf(id)] });
    const from = proxy.log.length;
    const wallStart = Date.now();
    const between = (random: () => number, low: number, high: number) =>
      low + Math.floor(random() * (high - low + 1));
    proxy.randomFaults({
      seed: STORM_SEED,
      probability: STORM_PROBABILITY,
      faults: [
        // With a short Retry-After: acme-client sleeps on it before each of its own retries
        // (5 s, 10 s, ... without one, which (a) covers).
        {
          weight: 1,
          make: (r) => ({ type: 'serverError', status: 500, retryAfterSeconds: between(r, 1, 2) }),
        },
        {
          weight: 1,
          make: (r) => ({ type: 'serverError', status: 503, retryAfterSeconds: between(r, 1, 3) }),
        },
        {
          weight: 1,
          make: (r) => ({
            type: 'rateLimited',
            retryAfterSeconds: between(r, 60, 1_800),
            httpDate: r() < 0.3,
          }),
        },
        { weight: 1, make: () => ({ type: 'badNonce' }) },
        { weight: 1, make: () => ({ type: 'timeout' }) },
        { weight: 1, make: () => ({ type: 'lostResponse' }) },
        { weight: 1, make: (r) => ({ type: 'slow', delayMs: between(r, 100, 800) }) },
      ],
    });

    /** Each tick's time, and every record as it stood right before that tick. */
    const history: Array<{ at: number; records: Map<string, CertificateRecord> }> = [];
    const outcomes: Record<string, number> = {};
    let ticks = 0;
    let deps = worker();
    const startedAt = h.clock.now();
    const progress = { ticks: 0, waiting: STORM_RECORDS, outcomes, dueByTick: [] as number[] };
    summary.storm = progress;
    for (;;) {
      const records = new Map<string, CertificateRecord>();
      for (const id of ids) records.set(id, await record(id));
      const waiting = [...records.values()].filter((r) => r.status !== 'active');
      progress.waiting = waiting.length;
      if (waiting.length === 0) break;
      const why = waiting.map(
        (r) =>
          `${r.id} ${r.status} failures=${r.failures} next=${r.nextAttemptAt} order=${r.order?.url ?? '-'} ${r.lastError?.kind ?? ''}: ${r.lastError?.message ?? ''}`,
      );
      expect(ticks, `ticks needed; still waiting:\n${why.join('\n')}`).toBeLessThan(
        STORM_MAX_TICKS,
      );
      // Skip to the first scheduler tick at or after the earliest retry of a waiting record.
      const next = Math.min(...waiting.map((r) => r.nextAttemptAt ?? Number.POSITIVE_INFINITY));
      expect(Number.isFinite(next)).toBe(true);
      const now = h.clock.now();
      if (next > now)
        h.clock.set(now + Math.ceil((next - now) / STORM_TICK_PERIOD) * STORM_TICK_PERIOD);
      history.push({ at: h.clock.now(), records });
      if (ticks % STORM_COLD_START_EVERY === 0) deps = worker();
      const report = await engineTick(deps, TICK);
      ticks += 1;
      progress.ticks = ticks;
      progress.dueByTick.push(report.due);
      expect(report.counts.invalid).toBe(0);
      for (const outcome of report.outcomes) {
        outcomes[outcome.outcome] = (outcomes[outcome.outcome] ?? 0) + 1;
      }
    }
    proxy.clearFaults();
    const stormLog = proxy.since(from);

    for (const id of ids) await expectIssuedOnce(id);

    // No order for a record before its nextAttemptAt as it stood when the tick began.
    const orders = stormLog.filter((e) => e.step === 'newOrder');
    for (const order of orders) {
      const id = order.subject?.replace(/\.example\.test$/, '') ?? '';
      const tickState = history.findLast((state) => state.at <= order.at);
      const before = tickState?.records.get(id);
      expect(before, `a newOrder for ${order.subject} outside any tick`).toBeDefined();
      expect(before?.nextAttemptAt ?? 0).toBeLessThanOrEqual(order.at);
    }

    // Retry-After obeyed: after a 429 for an order, nothing for that order until it passed.
    const limited = stormLog.filter((e) => e.fault === 'rateLimited' && e.subject);
    for (const hit of limited) {
      const waitUntil = hit.at + (hit.retryAfterSeconds ?? 0) * SECOND - SECOND; // HTTP date: whole s
      const early = stormLog.filter(
        (e) => e.subject === hit.subject && e.seq > hit.seq && e.at < waitUntil,
      );
      expect(early, `requests for ${hit.subject} inside its Retry-After`).toEqual([]);
    }
    // ... and every record that failed rate-limited was scheduled no earlier than asked.
    // Two seconds of slack, both from HTTP-date answers: the date carries whole seconds
    // (up to 1 s lost), and the adapter reads it against real time, which goes on between
    // the proxy writing the date and the client reading it while the drill's manual clock
    // (the record's times) stands still. Together they once came to 1.04 s on a loaded
    // 2-core machine.
    // A Retry-After ignored or read wrong is off by minutes (asked: 60-1800 s).
    const RETRY_AFTER_SLACK = 2 * SECOND;
    for (const state of history) {
      for (const [id, before] of state.records) {
        const error = before.lastError;
        if (error?.kind !== 'rate-limited' || before.status !== 'failing') continue;
        const asked = Math.max(
          ...[...error.message.matchAll(/retry after (\d+) s/g)].map((m) => Number(m[1])),
        );
        if (Number.isFinite(asked)) {
          expect(before.nextAttemptAt ?? 0, id).toBeGreaterThanOrEqual(
            error.at + asked * SECOND - RETRY_AFTER_SLACK,
          );
        }
      }
    }
    // Every order the engine kept went through the proxy.
    for (const state of history) {
      for (const before of state.records.values()) {
        if (before.order) expect(before.order.url.startsWith(proxy.origin)).toBe(true);
      }
    }

    const faults: Record<string, number> = {};
    for (const entry of stormLog)
      if (entry.fault) faults[entry.fault] = (faults[entry.fault] ?? 0) + 1;
    const faulty = stormLog.filter((e) => e.fault).length;
    expect(faulty / stormLog.length).toBeGreaterThan(0.15);
    expect(faulty / stormLog.length).toBeLessThan(0.35);
    summary.storm = {
      records: STORM_RECORDS,
      requests: stormLog.length,
      faulty,
      faultsByKind: faults,
      ordersPlaced: orders.length,
      ticks,
      outcomes,
      maxFailures: Math.max(
        ...history.flatMap((state) => [...state.records.values()].map((r) => r.failures)),
      ),
      errorsOfWorst: errorsOfWorst(history),
      clockHours: Math.round(((h.clock.now() - startedAt) / 3_600_000) * 10) / 10,
      wallSeconds: Math.round((Date.now() - wallStart) / 1000),
    };
  });
});

/** The record that failed most often in a storm, and each distinct error it met, counted. */
function errorsOfWorst(
  history: ReadonlyArray<{ records: Map<string, CertificateRecord> }>,
): { id: string; errors: Record<string, number> } | undefined {
  let worst: CertificateRecord | undefined;
  for (const state of history)
    for (const r of state.records.values()) if (!worst || r.failures > worst.failures) worst = r;
  if (!worst) return undefined;
  const errors: Record<string, number> = {};
  let previous: number | undefined;
  for (const state of history) {
    const error = state.records.get(worst.id)?.lastError;
    if (!error || error.at === previous) continue;
    previous = error.at;
    const key = `${error.kind}: ${error.message.replace(/\d+/g, 'N').slice(0, 160)}`;
    errors[key] = (errors[key] ?? 0) + 1;
  }
  return { id: worst.id, errors };
}
